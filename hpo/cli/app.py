"""The typer application every ``hpo`` command registers with."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hpo",
    help="Hyperparameter optimization of PyTorch NLP models with Optuna.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
