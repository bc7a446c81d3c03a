"""What a trial cost: recorded while it trains, read back by ``hpo trials``, ``trials.csv``
and the report.

Training records ``examples_seen`` and ``tokens_seen`` (training examples and tokens, all
epochs together), ``train_seconds`` and ``val_seconds`` (time in training steps and in
validation); the objective records ``device``. The pruning callback records the totals
of the reports seen so far at each report, so a running, pruned or killed trial has them;
a trial that completes records its :class:`~hpo.training.FitResult`'s totals. Trials of
older stores have none of these, and a store written by other programs may hold anything
under these names: a value that is not of its kind reads as missing, never as an error.

Example:
    >>> import optuna
    >>> trial = optuna.trial.create_trial(
    ...     value=0.9, user_attrs={"examples_seen": 3000, "train_seconds": 12.5, "device": "cpu"})
    >>> cost = trial_cost(trial)
    >>> cost.examples_seen, cost.tokens_seen, cost.train_seconds, cost.device
    (3000, None, 12.5, 'cpu')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from optuna.trial import FrozenTrial

if TYPE_CHECKING:
    import optuna

    from hpo.training import EpochRecord

# The user attributes, in the order trials.csv and `hpo trials` show them.
COST_ATTRS = ("examples_seen", "tokens_seen", "train_seconds", "val_seconds", "device")


@dataclass(frozen=True)
class TrialCost:
    """One trial's recorded cost; None where the trial did not record it."""

    examples_seen: int | None = None
    tokens_seen: int | None = None
    train_seconds: float | None = None
    val_seconds: float | None = None
    device: str | None = None

    def seconds_per_example(self) -> float | None:
        """Training and validation seconds per training example seen, if both are known."""
        if not self.examples_seen or self.train_seconds is None:
            return None
        return (self.train_seconds + (self.val_seconds or 0.0)) / self.examples_seen


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return int(value) if math.isfinite(value) and float(value).is_integer() else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def trial_cost(trial: FrozenTrial) -> TrialCost:
    """The cost attributes of ``trial``, each None where absent or not of its kind."""
    attrs = trial.user_attrs
    device = attrs.get("device")
    return TrialCost(
        examples_seen=_count(attrs.get("examples_seen")),
        tokens_seen=_count(attrs.get("tokens_seen")),
        train_seconds=_seconds(attrs.get("train_seconds")),
        val_seconds=_seconds(attrs.get("val_seconds")),
        device=device if isinstance(device, str) and device else None,
    )


def wall_seconds(trial: FrozenTrial) -> float | None:
    """Wall-clock seconds from ``trial``'s start to its end; None while it runs (or where
    the store lacks either time).

    Example:
        >>> import datetime, optuna
        >>> trial = optuna.trial.create_trial(value=1.0)
        >>> trial.datetime_start = datetime.datetime(2026, 1, 1)
        >>> trial.datetime_complete = trial.datetime_start + datetime.timedelta(seconds=90)
        >>> wall_seconds(trial)
        90.0
    """
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


class Cost(Protocol):
    """Totals since the run began (a ``FitResult`` has them)."""

    examples_seen: int
    tokens_seen: int
    train_seconds: float
    val_seconds: float


@dataclass
class RunningCost:
    """The totals of the reports seen so far.

    Example:
        >>> from hpo.training import EpochRecord
        >>> cost = RunningCost()
        >>> cost.add(EpochRecord(0.5, 1.0, 1.0, {}, 0.1, 2.0, 10.0, examples=50, tokens=400,
        ...                      train_seconds=1.5, val_seconds=0.5))
        >>> cost.examples_seen, cost.train_seconds
        (50, 1.5)
    """

    examples_seen: int = 0
    tokens_seen: int = 0
    train_seconds: float = 0.0
    val_seconds: float = 0.0

    def add(self, record: EpochRecord) -> None:
        self.examples_seen, self.tokens_seen = record.examples, record.tokens
        self.train_seconds += record.train_seconds
        self.val_seconds += record.val_seconds


def since(cost: Cost, before: Cost) -> RunningCost:
    """What ``cost`` adds to ``before``: a trial's own part of totals it took over.

    Example:
        >>> since(RunningCost(500, 4000, 20.0, 2.0), RunningCost(300, 2500, 12.0, 1.5))
        RunningCost(examples_seen=200, tokens_seen=1500, train_seconds=8.0, val_seconds=0.5)
    """
    return RunningCost(
        cost.examples_seen - before.examples_seen,
        cost.tokens_seen - before.tokens_seen,
        cost.train_seconds - before.train_seconds,
        cost.val_seconds - before.val_seconds,
    )


def record_cost(trial: optuna.Trial, cost: Cost) -> None:
    """Set the trial's cost attributes (seconds to the millisecond)."""
    trial.set_user_attr("examples_seen", int(cost.examples_seen))
    trial.set_user_attr("tokens_seen", int(cost.tokens_seen))
    trial.set_user_attr("train_seconds", round(cost.train_seconds, 3))
    trial.set_user_attr("val_seconds", round(cost.val_seconds, 3))


__all__ = [
    "COST_ATTRS",
    "Cost",
    "RunningCost",
    "TrialCost",
    "record_cost",
    "since",
    "trial_cost",
    "wall_seconds",
]
