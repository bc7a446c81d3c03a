"""``hpo optimize`` and ``hpo grid-search``: run a study's trials."""

from __future__ import annotations

from typing import Annotated

import typer

from hpo.cli.app import app
from hpo.cli.options import (
    SeedOption,
    StorageOption,
    StudyOption,
    TimeoutOption,
    finish,
    parse_timeout,
)
from hpo.errors import BadInput


@app.command()
def optimize(
    study: StudyOption,
    timeout: TimeoutOption = None,
    n_trials: Annotated[int | None, typer.Option(help="Number of new trials to run.")] = None,
    storage: StorageOption = None,
    seed: SeedOption = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes on this machine sharing the study.")
    ] = 1,
    quiet: Annotated[bool, typer.Option(hidden=True)] = False,
    warm_start: Annotated[
        str | None,
        typer.Option(help="Run the best configurations of this study (name or file) first."),
    ] = None,
    top: Annotated[
        int | None, typer.Option(help="How many of --warm-start's best to run [default: 5].")
    ] = None,
) -> None:
    """Run (or continue) a study: sample, train, prune, record."""
    if top is not None and warm_start is None:
        raise BadInput("--top goes with --warm-start")
    if n_trials is not None and n_trials < 1:
        raise BadInput(f"--n-trials must be at least 1, got {n_trials}")
    if workers < 1:
        raise BadInput(f"--workers must be at least 1, got {workers}")
    seconds = parse_timeout(timeout)
    from hpo.config import load_study_config
    from hpo.study import optimize as run_optimize

    config = load_study_config(study)
    summary = run_optimize(
        config,
        storage=storage,
        n_trials=n_trials,
        timeout=seconds,
        seed=seed,
        workers=workers,
        quiet=quiet,
        warm_start=warm_start,
        top=5 if top is None else top,
        echo=(lambda _: None) if quiet else typer.echo,
    )
    if not quiet or summary.interrupted:
        finish(summary)


@app.command("grid-search")
def grid_search(
    study: StudyOption,
    timeout: TimeoutOption = None,
    storage: StorageOption = None,
    seed: SeedOption = None,
) -> None:
    """Run every point of a finite search space; points already done are skipped."""
    seconds = parse_timeout(timeout)
    from hpo.config import load_study_config
    from hpo.study import grid_search as run_grid

    config = load_study_config(study)
    finish(run_grid(config, storage=storage, timeout=seconds, seed=seed, echo=typer.echo))
