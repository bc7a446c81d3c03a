"""What a trial cost, as its user attributes record it.

Training records ``examples_seen`` and ``tokens_seen`` (training examples and tokens, all
epochs together), ``train_seconds`` and ``val_seconds`` (time in training steps and in
validation) and ``device``. Trials of older stores have none of them, and a store written by
other programs may hold anything under these names: a value that is not of its kind reads as
missing, never as an error.

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
from typing import Any

from optuna.trial import FrozenTrial

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


__all__ = ["COST_ATTRS", "TrialCost", "trial_cost"]
