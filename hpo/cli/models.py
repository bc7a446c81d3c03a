"""Commands that train or use a trial's model: train, evaluate, translate, predict, lottery."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hpo.cli.app import app
from hpo.cli.options import DeviceOption, InputOption, StorageOption, StudyOption, TrialOption


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
    """Lottery tickets: iterative magnitude pruning of a trial's model."""
    from hpo.config import load_study_config
    from hpo.lottery import LotterySettings, parse_skip, run_lottery

    settings = LotterySettings(trial, rounds, percent, reset, scope, parse_skip(skip), epochs)
    config = load_study_config(study)
    summary = run_lottery(config, settings, storage=storage, device=device, echo=typer.echo)
    typer.echo(summary.text())


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
