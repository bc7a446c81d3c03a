"""How much a study's pruner cut: epochs trained against epochs allowed, and rung shares.

SuccessiveHalving means to let 1 in ``reduction_factor`` of the trials that reach a rung go
on past it; the share that really did says whether the pruner cuts as designed (an adaptive
sampler such as TPE proposes trials that rank high, so more of them go on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState


@dataclass
class RungShare:
    """Of the trials that reached ``epoch``, how many trained past it."""

    epoch: int
    reached: int
    went_on: int

    def text(self) -> str:
        share = self.went_on / self.reached if self.reached else 0.0
        return f"epoch {self.epoch}: {self.went_on}/{self.reached} ({share:.0%})"


def rung_epochs(config: dict) -> list[int]:
    """The epochs at which the study's SuccessiveHalving pruner decides, below the last one.

    Empty for other pruners and for ``min_resource: auto``, whose rungs are not known
    before the first trial ends.

    Example:
        >>> rung_epochs({"pruner": {"type": "successive_halving", "min_resource": 1,
        ...   "reduction_factor": 3}, "training": {"max_epochs": 12}})
        [1, 3, 9]
    """
    pruner = config.get("pruner") or {}
    max_epochs = (config.get("training") or {}).get("max_epochs")
    min_resource = pruner.get("min_resource", 1)
    if pruner.get("type", "successive_halving") != "successive_halving" or not max_epochs:
        return []
    if not isinstance(min_resource, int):
        return []
    factor = int(pruner.get("reduction_factor", 3))
    epoch = min_resource * factor ** int(pruner.get("min_early_stopping_rate", 0))
    epochs = []
    while epoch < max_epochs:
        epochs.append(epoch)
        epoch *= factor
    return epochs


def rung_shares(trials: Sequence[FrozenTrial], epochs: Sequence[int]) -> list[RungShare]:
    """For each rung epoch, the finished trials that reached it and those that went on."""
    trained = [
        max(t.intermediate_values, default=0)
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
    ]
    return [
        RungShare(epoch, sum(n >= epoch for n in trained), sum(n > epoch for n in trained))
        for epoch in epochs
    ]


def epochs_trained(trials: Sequence[FrozenTrial], max_epochs: int) -> tuple[int, int]:
    """Epochs the finished trials trained, and what they would have trained unpruned (a
    pruned trial all ``max_epochs``, a complete one its own)."""
    trained = unpruned = 0
    for trial in trials:
        epochs = len(trial.intermediate_values)
        if trial.state == TrialState.COMPLETE:
            trained, unpruned = trained + epochs, unpruned + epochs
        elif trial.state == TrialState.PRUNED:
            trained, unpruned = trained + epochs, unpruned + max(epochs, max_epochs)
    return trained, unpruned


__all__ = ["RungShare", "epochs_trained", "rung_epochs", "rung_shares"]
