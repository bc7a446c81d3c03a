"""Where the rounds are recorded: ``runs/<study>/lottery-<reset>.csv`` and the store.

In the store each reset mode has a study of its own, ``<study>-lottery-<reset>``, with
one COMPLETE trial per round: value = the round's validation metric, params ``round`` and
``remaining``, epochs as intermediate values, everything else as user attributes. Plain
``optuna`` and ``optuna-dashboard`` read it like any study.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import math
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution, IntDistribution

from hpo.atomic_files import atomic_write_text
from hpo.config import Direction
from hpo.lottery.experiment import RoundResult
from hpo.study.storage import open_storage

CSV_COLUMNS = [
    "round",
    "reset",
    "scope",
    "remaining",
    "metric",
    "value",
    "epoch",
    "epochs",
    "val_loss",
    "test_loss",
    "seconds",
]  # then val_<metric> and test_<metric> for each metric of the task, then the layers
LAYER_PREFIX = "remaining:"


def csv_path(study_dir: Path, reset: str) -> Path:
    """``runs/<study>/lottery-<reset>.csv``."""
    return study_dir / f"lottery-{reset}.csv"


def lottery_study_name(study: str, reset: str) -> str:
    """The name of the store's study that holds one reset mode's rounds."""
    return f"{study}-lottery-{reset}"


def round_row(result: RoundResult, *, reset: str, scope: str, metric: str) -> dict[str, Any]:
    """One CSV row: the round's scores and the share of weights left, overall and per layer.

    Example:
        .. code-block:: python

            row = round_row(result, reset="original", scope="global", metric="accuracy")
            row["remaining"], row["remaining:convs.0.weight"], row["test_accuracy"]
    """
    test = result.test_metrics or {}
    row: dict[str, Any] = {
        "round": result.round,
        "reset": reset,
        "scope": scope,
        "remaining": round(result.remaining, 6),
        "metric": metric,
        "value": result.value,
        "epoch": result.epoch,
        "epochs": result.epochs,
        "val_loss": result.val_loss,
        "test_loss": result.test_loss,
        "seconds": round(result.seconds, 3),
    }
    for name, value in result.val_metrics.items():
        row[f"val_{name}"] = value
        row[f"test_{name}"] = test.get(name)
    for layer, share in result.remaining_by_layer.items():
        row[LAYER_PREFIX + layer] = round(share, 6)
    return row


class LotteryCsv:
    """The CSV of one reset mode, rewritten whole (atomically) after every round.

    Example:
        .. code-block:: python

            log = LotteryCsv(csv_path(Path("runs/demo"), "original"))
            log.append(round_row(result, reset="original", scope="global", metric="accuracy"))
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        columns = CSV_COLUMNS + [c for c in self.rows[0] if c not in CSV_COLUMNS]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, text.getvalue())


def read_lottery_csvs(study_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Every ``lottery-<reset>.csv`` of a study, by reset mode, rows as text."""
    runs = {}
    for path in sorted(study_dir.glob("lottery-*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if rows:
            runs[path.stem.removeprefix("lottery-")] = rows
    return runs


class LotteryStore:
    """The study ``<study>-lottery-<reset>`` in the store, one trial per round.

    A new run of the same reset mode replaces the study, as it replaces the CSV.

    Example:
        .. code-block:: python

            store = LotteryStore("sqlite:///runs/hpo.db", "demo-lottery-original",
                                 direction="maximize", rounds=20, attrs={"source_trial": 7})
            store.add_round(result, metric="accuracy")
    """

    def __init__(
        self,
        storage_url: str,
        name: str,
        *,
        direction: Direction,
        rounds: int,
        attrs: dict[str, Any],
    ):
        storage = open_storage(storage_url)
        # A rerun replaces the earlier rounds, as it replaces the CSV.
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=name, storage=storage)
        self.study = optuna.create_study(study_name=name, storage=storage, direction=direction)
        for key, value in attrs.items():
            self.study.set_user_attr(key, value)
        self.distributions = {
            "round": IntDistribution(0, max(1, rounds - 1)),
            "remaining": FloatDistribution(0.0, 1.0),
        }

    def add_round(self, result: RoundResult, *, metric: str) -> None:
        test = result.test_metrics or {}
        trial = optuna.trial.create_trial(
            params={"round": result.round, "remaining": result.remaining},
            distributions=self.distributions,
            value=result.value,
            intermediate_values={
                int(record.epoch): record.value(metric)
                for record in result.history
                if math.isfinite(record.value(metric))
            },
            user_attrs={
                "round": result.round,
                "remaining": result.remaining,
                "remaining_by_layer": result.remaining_by_layer,
                "epoch": result.epoch,
                "epochs": result.epochs,
                "val_loss": result.val_loss,
                **{f"val_{name}": value for name, value in result.val_metrics.items()},
                **({"test_loss": result.test_loss} if result.test_loss is not None else {}),
                **{f"test_{name}": value for name, value in test.items()},
                "seconds": round(result.seconds, 3),
            },
        )
        # create_trial stamps both times "now"; the round really took its seconds.
        completed = trial.datetime_complete
        if completed is not None:
            trial.datetime_start = completed - datetime.timedelta(seconds=result.seconds)
        self.study.add_trial(trial)
