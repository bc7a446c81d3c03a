"""How much a study's pruner cut: time per trial state, the time pruning saved, epochs
trained against epochs allowed, and rung shares.

SuccessiveHalving means to let 1 in ``reduction_factor`` of the trials that reach a rung go
on past it; the share that really did says whether the pruner cuts as designed (an adaptive
sampler such as TPE proposes trials that rank high, so more of them go on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from hpo.study.trial_cost import trial_cost

# The states whose time counts as spent; a running trial has not ended.
SPENT_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _wall_seconds(trial: FrozenTrial) -> float | None:
    if trial.datetime_start and trial.datetime_complete:
        return (trial.datetime_complete - trial.datetime_start).total_seconds()
    return None


@dataclass
class StateTime:
    """The time the trials of one state took: wall clock, and where recorded, the seconds
    of training and of validation (``measured`` trials recorded them)."""

    trials: int = 0
    wall_s: float = 0.0
    train_s: float = 0.0
    val_s: float = 0.0
    measured: int = 0


def time_by_state(trials: Sequence[FrozenTrial]) -> dict[TrialState, StateTime]:
    """Seconds spent in complete, pruned and failed trials.

    Example:
        >>> import datetime, optuna
        >>> start = datetime.datetime(2025, 1, 1)
        >>> trial = optuna.trial.create_trial(
        ...     state=TrialState.PRUNED, value=0.5, intermediate_values={1: 0.5},
        ...     user_attrs={"train_seconds": 20.0, "val_seconds": 5.0})
        >>> trial.datetime_start, trial.datetime_complete = start, start.replace(second=30)
        >>> time_by_state([trial])[TrialState.PRUNED]
        StateTime(trials=1, wall_s=30.0, train_s=20.0, val_s=5.0, measured=1)
    """
    spent = {state: StateTime() for state in SPENT_STATES}
    for trial in trials:
        wall = _wall_seconds(trial)
        if trial.state not in spent or wall is None:
            continue
        time = spent[trial.state]
        time.trials += 1
        time.wall_s += wall
        cost = trial_cost(trial)
        if cost.train_seconds is not None or cost.val_seconds is not None:
            time.measured += 1
            time.train_s += cost.train_seconds or 0.0
            time.val_s += cost.val_seconds or 0.0
    return spent


@dataclass
class PruningSaving:
    """An estimate of the seconds pruning saved, and how each pruned trial was estimated."""

    seconds: float = 0.0
    measured: int = 0  # from the trial's own training and validation seconds per example
    from_wall: int = 0  # from its wall-clock seconds per epoch (no cost recorded)


def pruning_saving(trials: Sequence[FrozenTrial], max_epochs: int) -> PruningSaving:
    """What the pruned trials would have taken to reach ``max_epochs``, minus what they took.

    A pruned trial that recorded its cost would have seen ``max_epochs / epochs`` times its
    ``examples_seen``, each at its own measured (training + validation) seconds per example.
    One that did not is estimated from its wall-clock duration per epoch, which also counts
    its set-up (data, model), so that estimate runs a little high.

    Example:
        >>> import optuna
        >>> pruned = optuna.trial.create_trial(
        ...     state=TrialState.PRUNED, value=0.5, intermediate_values={1: 0.4, 2: 0.5},
        ...     user_attrs={"examples_seen": 2000, "train_seconds": 18.0, "val_seconds": 2.0})
        >>> pruning_saving([pruned], max_epochs=8)  # 6 more epochs of 1000 examples at 0.01 s
        PruningSaving(seconds=60.0, measured=1, from_wall=0)
    """
    saving = PruningSaving()
    for trial in trials:
        epochs = max(trial.intermediate_values, default=0)
        if trial.state != TrialState.PRUNED or not epochs or epochs >= max_epochs:
            continue
        cost = trial_cost(trial)
        per_example = cost.seconds_per_example()
        if per_example is not None and cost.examples_seen:
            full_run = cost.examples_seen / epochs * max_epochs
            saving.seconds += per_example * (full_run - cost.examples_seen)
            saving.measured += 1
        elif (wall := _wall_seconds(trial)) is not None:
            saving.seconds += wall / epochs * (max_epochs - epochs)
            saving.from_wall += 1
    return saving


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


__all__ = [
    "SPENT_STATES",
    "PruningSaving",
    "RungShare",
    "StateTime",
    "epochs_trained",
    "pruning_saving",
    "rung_epochs",
    "rung_shares",
    "time_by_state",
]
