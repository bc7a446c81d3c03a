"""Stored trials placed in training time: what each had reached by a given time, and what
its learning curve points to after a further stretch of time.

A search compares configurations at equal data seen (the pruner's rungs, every sampled
trial's ``max_epochs``), which is fair to each configuration's learning curve but not to
its speed. Which trial a last stretch of S seconds should train on (:mod:`hpo.study.train_on`)
is a question of time, and of where each curve is going: :func:`after_stretch` fits each
trial's dev values against the logarithm of its training time over the second half of its
epochs and extends the line by the stretch. A fast model still climbing steeply can pass a
slower one that leads now; one near its plateau cannot.

Read from the program task's runs (10 minutes, 2026-11-28, RESULTS 7), against the rule
it replaced (a trial *ahead* of the best at equal time, at its own time, takes the
stretch: asynchronous successive halving's assumption): that rule sent seed 0's stretch to
a CNN at 0.652 after 24 s, ahead of the best's first epoch and at its plateau (123 s
bought it 0.661); the curves point to 0.693 for it, 0.763 for the best (an LSTM at 0.752
after 148 s) and 0.781 for a CNN at 0.734 after 82 s. On seed 2 both choose Kim's CNN at
0.616 after 47 s (0.713; it reached 0.703) over the best, a GRU cut at its fourth epoch at
0.656, too short a curve to read a slope from. They remain optimistic (they only rank the
trials), and were read from logs: the rule has not run end to end on that corpus.

A trial's time is its training and validation seconds (``train_seconds``, ``val_seconds``,
:mod:`hpo.study.trial_cost`), spread evenly over its epochs, and its values are those of
all of dev at its epochs' ends (:func:`hpo.study.trial_steps.epoch_end_values`).

Example:
    >>> import optuna
    >>> def trial(values, seconds):
    ...     steps = {100 * (i + 1): v for i, v in enumerate(values)}
    ...     return optuna.trial.create_trial(value=max(values), intermediate_values=steps,
    ...         user_attrs={"epoch_examples": 100, "train_seconds": seconds, "val_seconds": 0})
    >>> cnn = trial([0.40, 0.45, 0.50, 0.55, 0.59, 0.62], 12.0)  # 2 s an epoch, climbing
    >>> gru = trial([0.45, 0.58, 0.64, 0.67, 0.68], 75.0)  # 15 s an epoch, near its peak
    >>> value_by(gru, 12.0, maximize=True), value_by(cnn, 12.0, maximize=True)
    (None, 0.62)
    >>> round(after_stretch(cnn, 60.0, maximize=True), 3)  # +0.12 a doubling; 6x the time
    0.82
    >>> round(after_stretch(gru, 60.0, maximize=True), 3)
    0.729
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hpo.study.trial_cost import trial_cost
from hpo.study.trial_steps import epoch_end_values, epochs_reached

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

CURVE_EPOCHS = 3  # epochs in a curve's second half for a slope to be read from them


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


def after_stretch(trial: FrozenTrial, stretch: float, maximize: bool) -> float | None:
    """The value a trial's learning curve points to after ``stretch`` more seconds of
    training: its best value, plus the slope of its dev values against the logarithm of
    time (least squares over the second half of its epochs, where that half has at least
    three: over fewer, the steep start of every curve reads as promise) gives what its last
    doubling of time gained; each further doubling gains half what the one before did (a
    straight line in log time overstated what the stretch bought every trial it was read
    for, and most the short, steep curves of fast trials: Kim's CNN at 0.585 after 51 s
    pointed to 0.759 and reached 0.679). A curve that is flat or going the wrong way
    points to its best value; None where the trial has no timed epoch.
    """
    timed = _timed_values(trial)
    if not timed:
        return None
    values = [v for _, v in timed]
    best = max(values) if maximize else min(values)
    recent = timed[-math.ceil(len(timed) / 2) :]
    if len(recent) < CURVE_EPOCHS:
        return best
    logs = [math.log(t) for t, _ in recent]
    mean_log = sum(logs) / len(logs)
    mean_value = sum(v for _, v in recent) / len(recent)
    spread = sum((x - mean_log) ** 2 for x in logs)
    if spread <= 0:
        return best
    covariance = sum(
        (x - mean_log) * (v - mean_value) for x, (_, v) in zip(logs, recent, strict=True)
    )
    slope = covariance / spread
    per_doubling = max(0.0, slope if maximize else -slope) * math.log(2)
    doublings = math.log2(1 + stretch / timed[-1][0])
    gain = 2 * per_doubling * (1 - 0.5**doublings)  # each doubling gains half the last's
    return best + gain if maximize else best - gain


__all__ = ["after_stretch", "seconds_trained", "value_by"]
