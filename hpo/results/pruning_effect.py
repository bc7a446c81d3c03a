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

from hpo.amounts import parse_amount
from hpo.study.trial_cost import trial_cost, wall_seconds
from hpo.study.trial_steps import epochs_reached, format_epochs

# The states whose time counts as spent; a running trial has not ended.
SPENT_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


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
        wall = wall_seconds(trial)
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


def pruning_saving(trials: Sequence[FrozenTrial], max_epochs: float) -> PruningSaving:
    """What the pruned trials would have taken to reach ``max_epochs``, minus what they took.

    A pruned trial that recorded its cost would have seen ``max_epochs / epochs`` times its
    ``examples_seen``, each at its own measured (training + validation) seconds per example.
    One that did not is estimated from its wall-clock duration per epoch, which also counts
    its set-up (data, model), so that estimate runs a little high.

    Example:
        >>> import optuna
        >>> pruned = optuna.trial.create_trial(
        ...     state=TrialState.PRUNED, value=0.5, intermediate_values={1000: 0.4, 2000: 0.5},
        ...     user_attrs={"examples_seen": 2000, "train_seconds": 18.0, "val_seconds": 2.0,
        ...                 "epoch_examples": 1000})
        >>> pruning_saving([pruned], max_epochs=8)  # 6 more epochs of 1000 examples at 0.01 s
        PruningSaving(seconds=60.0, measured=1, from_wall=0)
    """
    saving = PruningSaving()
    for trial in trials:
        epochs = epochs_reached(trial)
        if trial.state != TrialState.PRUNED or not epochs or epochs >= max_epochs:
            continue
        cost = trial_cost(trial)
        per_example = cost.seconds_per_example()
        if per_example is not None and cost.examples_seen:
            full_run = cost.examples_seen / epochs * max_epochs
            saving.seconds += per_example * (full_run - cost.examples_seen)
            saving.measured += 1
        elif (wall := wall_seconds(trial)) is not None:
            saving.seconds += wall / epochs * (max_epochs - epochs)
            saving.from_wall += 1
    return saving


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
