"""The options the ``hpo`` commands share, and small helpers of their output."""

from __future__ import annotations

from typing import Annotated

import typer

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


def parse_timeout(text: str | None) -> float | None:
    from hpo.durations import parse_duration

    return None if text is None else parse_duration(text)


def finish(summary) -> None:
    typer.echo(summary.text())
    if summary.interrupted or summary.failed:
        raise typer.Exit(130 if summary.interrupted else 1)


TrialOption = Annotated[str, typer.Option(help="'best' or a trial number.")]
InputOption = Annotated[
    str, typer.Option("--input", help="File of input texts, one per line; - for stdin.")
]
