"""The ``hpo`` command line: parse, call one library function, print.

Exit codes: 0 done, 1 a run-time failure, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
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
DeviceOption = Annotated[
    str | None,
    typer.Option(help="auto, cpu, cuda or cuda:N (default: the study's training.device)."),
]


def _timeout(text: str | None) -> float | None:
    from hpo.durations import parse_duration

    return None if text is None else parse_duration(text)


def _finish(summary) -> None:
    typer.echo(summary.text())
    if summary.interrupted or summary.failed:
        raise typer.Exit(130 if summary.interrupted else 1)


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
        warm_start=warm_start,
        top=5 if top is None else top,
        echo=(lambda _: None) if quiet else typer.echo,
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
    device: DeviceOption = None,
) -> None:
    """Lottery tickets: iterative magnitude pruning of a trial's classifier."""
    from hpo.config import load_study_config
    from hpo.lottery import LotterySettings, parse_skip, run_lottery

    settings = LotterySettings(trial, rounds, percent, reset, scope, parse_skip(skip), epochs)
    config = load_study_config(study)
    summary = run_lottery(config, settings, storage=storage, device=device, echo=typer.echo)
    typer.echo(summary.text())


TrialOption = Annotated[str, typer.Option(help="'best' or a trial number.")]
InputOption = Annotated[
    str, typer.Option("--input", help="File of input texts, one per line; - for stdin.")
]


@app.command()
def translate(
    study: StudyOption,
    trial: TrialOption = "best",
    beam: Annotated[int, typer.Option(help="Beam size; 1 is greedy decoding.")] = 5,
    length_penalty: Annotated[
        float, typer.Option(help="Length penalty alpha of beam search (0 = none).")
    ] = 1.0,
    input_path: InputOption = "-",
    device: DeviceOption = None,
    storage: StorageOption = None,
) -> None:
    """Translate text with a trial's model: one output line per input line."""
    from hpo.study.trial_lookup import find_trial_checkpoint
    from hpo.tasks.translation.use import translate_lines
    from hpo.text_input import read_input_lines

    found = find_trial_checkpoint(study, trial, storage, task="translation", command="translate")
    lines = read_input_lines(input_path)
    for line in translate_lines(found, lines, beam, length_penalty, device):
        typer.echo(line)


@app.command()
def predict(
    study: StudyOption,
    trial: TrialOption = "best",
    input_path: InputOption = "-",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a line, with every class's probability.")
    ] = False,
    device: DeviceOption = None,
    storage: StorageOption = None,
) -> None:
    """Classify text with a trial's model: one line per input line, label and probability."""
    from hpo.study.trial_lookup import find_trial_checkpoint
    from hpo.tasks.classification.use import predict_lines
    from hpo.text_input import read_input_lines

    found = find_trial_checkpoint(study, trial, storage, task="classification", command="predict")
    result = predict_lines(found, read_input_lines(input_path), device)
    if result.notice():
        typer.echo(result.notice(), err=True)
    for prediction in result.predictions:
        typer.echo(prediction.json() if as_json else prediction.text())


@app.command()
def evaluate(
    study: StudyOption,
    trial: TrialOption = "best",
    split: Annotated[str, typer.Option(help="dev or test.")] = "test",
    beam: Annotated[
        int | None, typer.Option(help="Beam size (translation); 1, the default, is greedy.")
    ] = None,
    length_penalty: Annotated[
        float | None, typer.Option(help="Length penalty alpha (translation; default 1.0).")
    ] = None,
    device: DeviceOption = None,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score a trial's model on dev or test: accuracy, F1, per class; or BLEU and chrF."""
    from dataclasses import asdict

    from hpo.study.evaluate import evaluate_trial
    from hpo.study.trial_lookup import find_trial_checkpoint

    found = find_trial_checkpoint(study, trial, storage)
    result = evaluate_trial(found, split, device=device, beam=beam, length_penalty=length_penalty)
    typer.echo(json.dumps(asdict(result), indent=2) if as_json else result.text())


@app.command()
def train(
    study: StudyOption,
    trial: TrialOption = "best",
    epochs: Annotated[
        int | None, typer.Option(help="Epochs in all (default: the study's max_epochs).")
    ] = None,
    device: DeviceOption = None,
    storage: StorageOption = None,
) -> None:
    """Train a trial's configuration for its full epochs (resuming if begun); keep the model."""
    from hpo.config import load_study_config
    from hpo.study.retrain import train_trial

    config = load_study_config(study)
    summary = train_trial(
        config, trial, storage=storage, epochs=epochs, device=device, echo=typer.echo
    )
    typer.echo(summary.text())


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
