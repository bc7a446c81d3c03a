"""How much a study's pruner cut: epochs trained against epochs allowed, and rung shares.

SuccessiveHalving means to let 1 in ``reduction_factor`` of the trials that reach a rung go
on past it; the share that really did says whether the pruner cuts as designed (an adaptive
sampler such as TPE proposes trials that rank high, so more of them go on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from hpo.amounts import parse_amount
from hpo.study.trial_steps import epochs_reached, format_epochs


@dataclass
class RungShare:
    """Of the trials that reached ``epoch`` (a rung, in epochs), how many trained past it."""

    epoch: float
    reached: int
    went_on: int

    def text(self) -> str:
        share = self.went_on / self.reached if self.reached else 0.0
        return f"epoch {format_epochs(self.epoch)}: {self.went_on}/{self.reached} ({share:.0%})"


def rung_epochs(config: dict, epoch_examples: int | None = None) -> list[float]:
    """The epochs at which the study's SuccessiveHalving pruner decides, below the last one.

    A ``min_resource`` in training examples is turned into epochs with ``epoch_examples``
    (the study's ``epoch_examples`` attribute). Empty for other pruners, for
    ``min_resource: auto``, whose rungs are not known before the first trial ends, and for
    examples without ``epoch_examples``.

    Example:
        >>> rung_epochs({"pruner": {"type": "successive_halving", "min_resource": 1,
        ...   "reduction_factor": 3}, "training": {"max_epochs": 12}})
        [1.0, 3.0, 9.0]
        >>> rung_epochs({"pruner": {"min_resource": "500 examples", "reduction_factor": 2},
        ...   "training": {"max_epochs": 2}}, epoch_examples=1000)
        [0.5, 1.0]
    """
    pruner = config.get("pruner") or {}
    max_epochs = (config.get("training") or {}).get("max_epochs")
    min_resource = pruner.get("min_resource", 1)
    if pruner.get("type", "successive_halving") != "successive_halving" or not max_epochs:
        return []
    if min_resource == "auto":
        return []
    amount = parse_amount(min_resource, "min_resource")
    if amount.unit == "epochs":
        first = float(amount.count)
    elif epoch_examples:
        first = float(amount.count / epoch_examples)
    else:
        return []
    factor = int(pruner.get("reduction_factor", 3))
    epoch = first * factor ** int(pruner.get("min_early_stopping_rate", 0))
    epochs = []
    while epoch < max_epochs:
        epochs.append(epoch)
        epoch *= factor
    return epochs


def rung_shares(trials: Sequence[FrozenTrial], epochs: Sequence[float]) -> list[RungShare]:
    """For each rung epoch, the finished trials that reached it and those that went on."""
    trained = [
        epochs_reached(t) for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
    ]
    return [
        RungShare(epoch, sum(n >= epoch for n in trained), sum(n > epoch for n in trained))
        for epoch in epochs
    ]


def epochs_trained(trials: Sequence[FrozenTrial], max_epochs: float) -> tuple[float, float]:
    """Epochs the finished trials trained, and what they would have trained unpruned (a
    pruned trial all ``max_epochs``, a complete one its own)."""
    trained = unpruned = 0.0
    for trial in trials:
        epochs = epochs_reached(trial)
        if trial.state == TrialState.COMPLETE:
            trained, unpruned = trained + epochs, unpruned + epochs
        elif trial.state == TrialState.PRUNED:
            trained, unpruned = trained + epochs, unpruned + max(epochs, max_epochs)
    return trained, unpruned


__all__ = ["RungShare", "epochs_trained", "rung_epochs", "rung_shares"]
