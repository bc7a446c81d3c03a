"""Stored trials compared at equal training time, for what a study's last stretch buys.

A search compares configurations at equal data seen (the pruner's rungs, every sampled
trial's ``max_epochs``), which is fair to each configuration's learning curve but not to
its speed. Which trial a last stretch of S seconds should train on (:mod:`hpo.study.train_on`)
is a question of time: on a 34-program classification corpus a GRU led Kim's CNN at 10
epochs (0.678 dev accuracy against 0.587) and had peaked there, while the CNN, five times
faster an epoch, was still climbing and reached 0.715 in the time of the GRU's 10 epochs and
a stretch. A trial is *ahead* of another when it trained for less time, was the better at
that time, and the stretch takes it past the other's training time: what
asynchronous successive halving with time as its resource assumes (a configuration ahead at
equal time stays ahead) is assumed here for one stretch. Like that rule, it favours fast
learners; it decides only which trial trains on, never a trial's value.

A trial's time is its training and validation seconds (``train_seconds``, ``val_seconds``,
:mod:`hpo.study.trial_cost`), spread evenly over its epochs, and its values are those of
all of dev at its epochs' ends (:func:`hpo.study.trial_steps.epoch_end_values`).

Example:
    >>> import optuna
    >>> def trial(values, seconds):
    ...     steps = {100 * (i + 1): v for i, v in enumerate(values)}
    ...     return optuna.trial.create_trial(value=max(values), intermediate_values=steps,
    ...         user_attrs={"epoch_examples": 100, "train_seconds": seconds, "val_seconds": 0})
    >>> cnn = trial([0.40, 0.50, 0.55, 0.59], 12.0)  # 3 s an epoch, still climbing
    >>> gru = trial([0.45, 0.58, 0.64, 0.67, 0.68], 75.0)  # 15 s an epoch, at its peak
    >>> value_by(gru, 12.0, maximize=True), value_by(cnn, 12.0, maximize=True)
    (None, 0.59)
    >>> ahead(cnn, gru, stretch=70.0, maximize=True)  # 0.59 in 12 s; the GRU's first 0.45
    True
    >>> ahead(cnn, gru, stretch=30.0, maximize=True)  # 12 + 30 s do not reach the GRU's 75
    False
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.study.trial_cost import trial_cost
from hpo.study.trial_steps import epoch_end_values, epochs_reached

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


def seconds_trained(trial: FrozenTrial) -> float | None:
    """A trial's training and validation seconds, None where it did not record them."""
    cost = trial_cost(trial)
    if cost.train_seconds is None:
        return None
    return cost.train_seconds + (cost.val_seconds or 0.0)


def _timed_values(trial: FrozenTrial) -> list[tuple[float, float]]:
    """(seconds, value) at each epoch's end, in order of time."""
    seconds, epochs = seconds_trained(trial), epochs_reached(trial)
    if seconds is None or not epochs:
        return []
    per_epoch = seconds / epochs
    return sorted((epoch * per_epoch, value) for epoch, value in epoch_end_values(trial).items())


def value_by(trial: FrozenTrial, seconds: float, maximize: bool) -> float | None:
    """The best value a trial had reached on all of dev within ``seconds`` of training and
    validation; None where it had not finished an epoch by then."""
    reached = [v for t, v in _timed_values(trial) if t <= seconds * (1 + 1e-9)]
    if not reached:
        return None
    return max(reached) if maximize else min(reached)


def ahead(trial: FrozenTrial, other: FrozenTrial, stretch: float, maximize: bool) -> bool:
    """Whether ``trial`` would make better use of a stretch of ``stretch`` seconds than
    ``other``: it trained for less time, the stretch takes it past ``other``'s time, and at
    its own time its value is better than what ``other`` had by then (or, where ``other``
    had finished no epoch by then, than ``other``'s first value: the doubt goes to
    ``other``)."""
    mine, theirs = seconds_trained(trial), seconds_trained(other)
    if mine is None or theirs is None or not mine < theirs <= mine + stretch:
        return False
    own = value_by(trial, mine, maximize)
    timed = _timed_values(other)
    if own is None or not timed:
        return False
    rival = value_by(other, mine, maximize)
    if rival is None:
        rival = timed[0][1]
    return own > rival if maximize else own < rival


__all__ = ["ahead", "seconds_trained", "value_by"]
