"""The ``hpo`` command line: parse, call one library function, print.

Exit codes: 0 done, 1 a run-time failure, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Annotated

import typer

from hpo.errors import BadInput, HpoError

app = typer.Typer(
    name="hpo",
    help="Hyperparameter optimization of PyTorch NLP models with Optuna.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StudyOption = Annotated[
    str, typer.Option("--study", "-s", help="Study name (studies/NAME.yaml) or path.")
]
StorageOption = Annotated[
    str | None,
    typer.Option(help="SQLAlchemy URL of the store; overrides HPO_STORAGE and the study file."),
]
TimeoutOption = Annotated[
    str | None, typer.Option(help="Stop starting trials after this long: 90s, 30m, 12h, 1h30m.")
]
SeedOption = Annotated[int | None, typer.Option(help="Study seed (sampler and trial seeds).")]


def _timeout(text: str | None) -> float | None:
    from hpo.durations import parse_duration

    return None if text is None else parse_duration(text)


def _finish(summary) -> None:
    typer.echo(summary.text())
    if summary.interrupted:
        raise typer.Exit(130)


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
) -> None:
    """Run (or continue) a study: sample, train, prune, record."""
    if n_trials is not None and n_trials < 1:
        raise BadInput(f"--n-trials must be at least 1, got {n_trials}")
    if workers < 1:
        raise BadInput(f"--workers must be at least 1, got {workers}")
    seconds = _timeout(timeout)
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
    )
    if not quiet or summary.interrupted:
        _finish(summary)


@app.command("grid-search")
def grid_search(
    study: StudyOption,
    timeout: TimeoutOption = None,
    storage: StorageOption = None,
    seed: SeedOption = None,
) -> None:
    """Run every point of a finite search space; points already done are skipped."""
    seconds = _timeout(timeout)
    from hpo.config import load_study_config
    from hpo.study import grid_search as run_grid

    config = load_study_config(study)
    _finish(run_grid(config, storage=storage, timeout=seconds, seed=seed, echo=typer.echo))


@app.command()
def best(
    study: StudyOption,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the best trial of a study: value, params, counts by state, checkpoint."""
    from hpo.study.summary import best as best_of
    from hpo.study.summary import format_best

    info = best_of(study, storage)
    typer.echo(json.dumps(info, indent=2) if as_json else format_best(info))


@app.command()
def dashboard(
    storage: StorageOption = None,
    study: Annotated[
        str | None, typer.Option("--study", "-s", help="Take the store from this study file.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve optuna-dashboard on the store (127.0.0.1 unless --host says otherwise)."""
    from hpo.study.dashboard import serve

    serve(storage=storage, study=study, host=host, port=port, echo=typer.echo)


@app.command()
def lottery(
    study: StudyOption,
    trial: Annotated[str, typer.Option(help="'best' or a trial number.")] = "best",
    rounds: Annotated[int, typer.Option(help="Training runs; round 0 is the dense model.")] = 20,
    percent: Annotated[
        float, typer.Option(help="Share (%) of the remaining weights pruned per round.")
    ] = 20.0,
    reset: Annotated[
        str, typer.Option(help="Survivors restart from: original | rewind | random.")
    ] = "original",
    scope: Annotated[str, typer.Option(help="Rank magnitudes: global | layer.")] = "global",
    skip: Annotated[
        str, typer.Option(help="Never prune weights whose names contain one of these.")
    ] = "embedding,bias",
    storage: StorageOption = None,
    epochs: Annotated[
        int | None, typer.Option(help="Epochs per round (default: the study's max_epochs).")
    ] = None,
) -> None:
    """Lottery tickets: iterative magnitude pruning of a trial's classifier."""
    from hpo.config import load_study_config
    from hpo.lottery import LotterySettings, parse_skip, run_lottery

    settings = LotterySettings(trial, rounds, percent, reset, scope, parse_skip(skip), epochs)
    settings.check()
    config = load_study_config(study)
    typer.echo(run_lottery(config, settings, storage=storage, echo=typer.echo).text())


def _interrupt_on_sigterm() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hpo`` console script; returns the exit code."""
    _interrupt_on_sigterm()
    try:
        result = app(args=argv, prog_name="hpo", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except HpoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        # Argument errors of the parser (typer's own click, vendored or not).
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            if exc.exit_code == 2 and "help" not in type(exc).__name__.lower():
                print(f"error: {exc.format_message()}", file=sys.stderr)
            return exc.exit_code
        raise


if __name__ == "__main__":
    sys.exit(main())
