"""SuccessiveHalving that decides at its rungs by what trials had reached in equal time.

SuccessiveHalving compares the trials that reached a rung at equal data seen: fair to a
learning curve, blind to speed. On a short budget that keeps the wrong trials: on a
32-program classification corpus a GRU at 49 s an epoch led Kim's CNN at its first epoch,
while the CNN, seven times faster, had trained seven epochs and was ahead in those same 49
seconds; the GRU went on to its share of the study's timeout, cut there at its third epoch
(RESULTS 7, program seed 2). :class:`TimeHalvingPruner` keeps SuccessiveHalving's rungs (in
training examples, recorded as ``completed_rung_<k>`` so the rung-fitted sampler reads
them as before), and decides there by time, as asynchronous successive halving with time
as its resource does: a trial at a rung after ``T`` seconds of training and validation goes
on if its value is in the best ``1 / reduction_factor`` of the values that every trial
had reached on all of dev within ``T`` seconds (:func:`hpo.study.equal_time.value_by`,
itself included at its value now); trials that had finished no epoch by then do not
compete.

It favours fast learners, by design: on a long budget a slow model that would lead late is
stopped where a faster one leads, and trials that ran on faster hardware (another worker's
GPU) look better at equal time than they are. So equal time for every trial is a choice
(``pruner: {compare: time}``). ``compare: auto`` (``max_epochs`` given) keeps it for the
trials the budget binds: a trial whose ``max_epochs``, at the pace it has trained so far,
take more than ``1 / reduction_factor`` of its time limit (``time_limit_s``: its share of
the study's timeout, or the trial time limit) is decided at equal time; one that needs less
is decided as SuccessiveHalving does, by the values the trials had at that rung. The margin
is the pruner's own ratio: rungs at equal data keep 1 trial in ``reduction_factor`` as if
trials cost alike, and a trial that alone takes most of its limit costs the search
several others (on a 30-minute study of a 32-program corpus, a two-layer GRU took 400 of
its 450 seconds for 10 epochs, Kim's CNN 70; RESULTS 7). A study without a time limit, or
a long one where every configuration is cheap beside its limit, prunes as
SuccessiveHalving.

Example:
    >>> import optuna
    >>> def trial(values, seconds, state=optuna.trial.TrialState.COMPLETE):
    ...     steps = {100 * (i + 1): v for i, v in enumerate(values)}
    ...     done = state == optuna.trial.TrialState.COMPLETE
    ...     return optuna.trial.create_trial(state=state, value=values[-1] if done else None,
    ...         intermediate_values=steps, user_attrs={"epoch_examples": 100,
    ...         "train_seconds": seconds, "val_seconds": 0.0},
    ...         system_attrs={"completed_rung_0": values[0]} if done else {})
    >>> def study_of(pruner):
    ...     study = optuna.create_study(direction="maximize", pruner=pruner)
    ...     for values in ([0.40, 0.50, 0.55, 0.59], [0.20, 0.25, 0.30, 0.32], [0.1, 0.1]):
    ...         study.add_trial(trial(values, 4.0 * len(values)))  # 4 s an epoch
    ...     return study
    >>> def judge(study, running):
    ...     number = study._storage.create_new_trial(study._study_id, template_trial=running)
    ...     return study.pruner.prune(study, study._storage.get_trial(number))
    >>> study = study_of(TimeHalvingPruner(min_resource=100, reduction_factor=3))
    >>> slow = trial([0.45], 15.0, optuna.trial.TrialState.RUNNING)  # 15 s an epoch
    >>> judge(study, slow)  # the best first epoch, but by 15 s the CNN had 0.55
    True

    With ``max_epochs``, only a trial whose epochs take more than a third of its limit is:

    >>> study = study_of(TimeHalvingPruner(100, reduction_factor=3, max_epochs=4))
    >>> slow.set_user_attr("time_limit_s", 200.0)  # 4 epochs take 60 s, 3 times 180 s
    >>> judge(study, slow)
    False
    >>> slower = trial([0.45], 30.0, optuna.trial.TrialState.RUNNING)  # 120 s, 3 times 360
    >>> slower.set_user_attr("time_limit_s", 200.0)
    >>> judge(study, slower)
    True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from hpo.study.equal_time import seconds_trained, value_by
from hpo.study.train_on import CONTINUES_ATTR

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

_RUNG_KEY = "completed_rung_{}"  # SuccessiveHalvingPruner's name, read by the rung sampler


class TimeHalvingPruner(optuna.pruners.BasePruner):
    """SuccessiveHalving's rungs, its decisions at equal training time.

    Args:
        min_resource: The step of the first rung, in training examples; ``"auto"``: a
            hundredth of the longest complete trial's last step, as SuccessiveHalving's.
        reduction_factor: 1 in ``reduction_factor`` of the trials compared at a rung go
            on (at least the best one).
        min_early_stopping_rate: The first rung is at ``min_resource * reduction_factor **
            min_early_stopping_rate``.
        max_epochs: The epochs a sampled trial trains at most. Given, a trial is decided at
            equal time only where they take more than ``1 / reduction_factor`` of its time
            limit, and at equal data (its rung's values) otherwise; None: every trial at
            equal time.
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        max_epochs: int | None = None,
    ):
        if min_resource != "auto" and (not isinstance(min_resource, int) or min_resource < 1):
            raise ValueError(f"min_resource must be 'auto' or a positive int, not {min_resource}")
        if reduction_factor < 2:
            raise ValueError(f"reduction_factor must be at least 2, not {reduction_factor}")
        self._min_resource: int | None = None if min_resource == "auto" else int(min_resource)
        self._reduction_factor = reduction_factor
        self._min_early_stopping_rate = min_early_stopping_rate
        self._max_epochs = max_epochs

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        value = trial.intermediate_values[step]
        rung = 0
        while _RUNG_KEY.format(rung) in trial.system_attrs:
            rung += 1
        trials: list[FrozenTrial] | None = None
        if self._min_resource is None:
            trials = study.get_trials(deepcopy=False)
            self._min_resource = _estimate_min_resource(trials)
            if self._min_resource is None:
                return False
        first = self._min_resource * self._reduction_factor**self._min_early_stopping_rate
        if step < first * self._reduction_factor**rung:
            return False
        if math.isnan(value):
            return True
        # A step may pass several rungs at once; they are recorded together and decided once,
        # at the time the trial has now.
        while step >= first * self._reduction_factor ** (rung + 1):
            study._storage.set_trial_system_attr(trial._trial_id, _RUNG_KEY.format(rung), value)
            rung += 1
        study._storage.set_trial_system_attr(trial._trial_id, _RUNG_KEY.format(rung), value)
        seconds = seconds_trained(trial)
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        if trials is None:
            trials = study.get_trials(deepcopy=False)
        cheap = self._max_epochs is not None and fits(
            trial, seconds, step, self._max_epochs, times=self._reduction_factor
        )
        if cheap:
            key = _RUNG_KEY.format(rung)
            at_rung = [
                other.system_attrs[key]
                for other in trials
                if other.number != trial.number and key in other.system_attrs
            ]
            return not goes_on(value, at_rung, self._reduction_factor, maximize)
        if seconds is None:  # a trial that records no cost cannot be placed in time
            return False
        rivals = [
            reached
            for other in trials
            if other.number != trial.number and CONTINUES_ATTR not in other.user_attrs
            for reached in [value_by(other, seconds, maximize)]
            if reached is not None and not math.isnan(reached)
        ]
        return not goes_on(value, rivals, self._reduction_factor, maximize)


def goes_on(value: float, rivals: list[float], reduction_factor: int, maximize: bool) -> bool:
    """Whether ``value`` is among the best ``1 / reduction_factor`` of itself and ``rivals``
    (the best one always is, as in SuccessiveHalving while few trials compete).

    Example:
        >>> goes_on(0.5, [0.6, 0.2], 3, maximize=True)  # 3 compete: only the best goes on
        False
        >>> goes_on(0.5, [0.6, 0.4, 0.3, 0.2, 0.1], 3, maximize=True)  # 6: the best two
        True
    """
    ranked = sorted([value, *rivals], reverse=maximize)
    keep = max(1, len(ranked) // reduction_factor)
    bar = ranked[keep - 1]
    return value >= bar if maximize else value <= bar


def fits(
    trial: FrozenTrial, seconds: float | None, step: int, max_epochs: int, times: int = 1
) -> bool:
    """Whether ``max_epochs`` of ``trial``, at the pace of its ``seconds`` for ``step``
    training examples, fit ``times`` over in its time limit; a trial without a limit, or
    that recorded no time, fits.

    Example:
        >>> import optuna
        >>> trial = optuna.trial.create_trial(value=0.5, intermediate_values={100: 0.5},
        ...     user_attrs={"epoch_examples": 100, "time_limit_s": 450.0})
        >>> fits(trial, 40.0, 100, max_epochs=10), fits(trial, 40.0, 100, 10, times=3)
        (True, False)
    """
    limit = trial.user_attrs.get("time_limit_s")
    epoch_examples = trial.user_attrs.get("epoch_examples")
    if seconds is None or not isinstance(limit, (int, float)) or not epoch_examples or step <= 0:
        return True
    return times * seconds * max_epochs * int(epoch_examples) / step <= limit


def _estimate_min_resource(trials: list[FrozenTrial]) -> int | None:
    """A hundredth of the longest complete trial's last step; None before one completes."""
    steps = [t.last_step for t in trials if t.state == TrialState.COMPLETE and t.last_step]
    return max(max(steps) // 100, 1) if steps else None


__all__ = ["TimeHalvingPruner", "fits", "goes_on"]
