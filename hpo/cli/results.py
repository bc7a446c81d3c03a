"""Commands that read what studies found: best, report, trials, studies, delete, dashboard."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from hpo.cli.app import app
from hpo.cli.options import StorageOption, StudyOption


@app.command()
def best(
    study: StudyOption,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the best trial of a study: value, params, counts by state, checkpoint."""
    from hpo.results.best import best as best_of
    from hpo.results.best import format_best

    info = best_of(study, storage)
    typer.echo(json.dumps(info, indent=2) if as_json else format_best(info))


@app.command()
def report(
    study: StudyOption,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the page [default: runs/STUDY/report.html].")
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Write one self-contained HTML page of a study: plots, top trials, config."""
    from hpo.results.report import write_report

    typer.echo(write_report(study, storage, out).text())


@app.command()
def trials(
    study: StudyOption,
    state: Annotated[
        str | None, typer.Option(help="Only trials in this state: complete|pruned|fail|running.")
    ] = None,
    sort: Annotated[
        str, typer.Option(help="number, value (best first) or duration (longest first).")
    ] = "number",
    limit: Annotated[int | None, typer.Option(help="Show at most this many trials.")] = None,
    csv_path: Annotated[
        str | None, typer.Option("--csv", help="Write CSV (trials.csv columns) here; - for stdout.")
    ] = None,
    storage: StorageOption = None,
) -> None:
    """List the trials of a study: state, value, epochs, duration, params."""
    from hpo.results.listing import list_trials, trials_csv, trials_table, write_text

    listing = list_trials(study, storage, state=state, sort=sort, limit=limit)
    if csv_path is None:
        _print_table(trials_table(listing))
    elif csv_path == "-":
        typer.echo(trials_csv(listing), nl=False)
    else:
        write_text(Path(csv_path), trials_csv(listing))
        typer.echo(f"wrote {len(listing.trials)} trial(s) to {csv_path}")


@app.command()
def studies(storage: StorageOption = None) -> None:
    """List the studies in the store: task, trials by state, best value, last activity."""
    from hpo.results.listing import list_studies, studies_table

    url, found = list_studies(storage)
    if found:
        _print_table(studies_table(url, found))
    else:
        typer.echo(f"no studies in {url}")


@app.command()
def delete(
    study: StudyOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    storage: StorageOption = None,
) -> None:
    """Delete a study from the store, and its runs/STUDY/ folder; asks first."""
    from hpo.results.delete import delete_study, find_study_to_delete

    target = find_study_to_delete(study, storage)
    if not yes:
        _confirm_or_exit(target.question(), f"nothing deleted: study {target.name} kept")
    typer.echo(delete_study(target))


def _print_table(table) -> None:
    from rich.console import Console

    # Piped output gets room for every column instead of rich's 80-column default.
    console = Console() if sys.stdout.isatty() else Console(width=240)
    console.print(table)


def _confirm_or_exit(question: str, refused: str) -> None:
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort as exc:
        # No answer: closed input (exit 1) or Ctrl-C at the prompt (exit 130).
        typer.echo()  # end the prompt's line
        typer.echo(refused, err=True)
        raise typer.Exit(130 if isinstance(exc.__context__, KeyboardInterrupt) else 1) from None
    if not agreed:
        typer.echo(refused, err=True)
        raise typer.Exit(1)


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
    from hpo.results.dashboard import serve

    serve(storage=storage, study=study, host=host, port=port, echo=typer.echo)
