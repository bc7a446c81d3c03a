"""What a trial's training cost, recorded on the trial: training examples and tokens seen,
seconds spent training and validating.

A trial that completes records its :class:`~hpo.training.FitResult`'s totals; a pruned one
raises out of training, so the pruning callback records the totals of the reports it saw.
The attributes (``examples_seen``, ``tokens_seen``, ``train_seconds``, ``val_seconds``)
land in the store and in ``trials.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import optuna

    from hpo.training import EpochRecord

COST_ATTRS = ("examples_seen", "tokens_seen", "train_seconds", "val_seconds")


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


def record_cost(trial: optuna.Trial, cost: Cost) -> None:
    """Set the trial's cost attributes (seconds to the millisecond)."""
    trial.set_user_attr("examples_seen", int(cost.examples_seen))
    trial.set_user_attr("tokens_seen", int(cost.tokens_seen))
    trial.set_user_attr("train_seconds", round(cost.train_seconds, 3))
    trial.set_user_attr("val_seconds", round(cost.val_seconds, 3))
