"""The best configuration trains on: a study's last stretch goes to its best trial.

Every sampled trial stops at ``max_epochs``, so a search compares configurations at that
length; a configuration still improving there would gain more from training on than the
study gains from one more short trial (on a 32-program classification corpus Kim's CNN goes
from 0.62 dev accuracy at 10 epochs to 0.71 at 130). With a timeout and
``training.train_on`` (the default), a complete trial still improving at its last epochs
(its best is its last or the one before; stopped by ``max_epochs``, or by its time limit as
the slow configurations of a short study are) keeps its training state (``last.pt``,
``best.pt``: model, optimizer, schedule, generators) instead of dropping it, for as long as
it is the one to train on or the study's best: the one to train on is the kept trial whose
learning curve, extended by the stretch, points highest (:mod:`hpo.study.equal_time`: a
fast configuration still climbing steeply can pass a slower best near its peak). Sampled
trials then end by the last ``trial_share`` of the timeout; in that last stretch the study
enqueues one trial that takes the state over and trains on from where it stopped, without
``max_epochs``, until the study's end: the same learning curve a longer run of that
configuration would have drawn (:mod:`hpo.study.trial_state`). Its value is its best dev
value, the earlier epochs included, so it is never worse than the trial it continues. It is
not pruned, and records only its own cost and reports.

The stretch begins earlier where the search has too little room left: once the time before
it holds fewer than :data:`SEARCH_ROOM_TRIALS` more trials at the pace of the run's trials
so far, their time goes to the stretch instead (a study whose start point alone takes
more than a third of the budget, as a translator's does on a CPU, trains it on at once
rather than start sampled trials before the stretch).

Schedules tied to ``max_epochs`` (``cosine``, at its floor by then) do not train on.
"""

from __future__ import annotations

import datetime
import math
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config import StudyConfig, TrainingConfig
from hpo.run_layout import trial_dir
from hpo.study.equal_time import after_stretch
from hpo.study.kept_trials import complete_best_first
from hpo.study.start_points import ORIGIN_ATTR, START_ATTR
from hpo.study.too_slow import end_allowance, room_for_another_trial
from hpo.study.trial_cost import trial_cost, wall_seconds
from hpo.study.trial_state import KEPT_STATE_ATTR, RESUME_ATTR, drop_state, kept_states
from hpo.study.trial_steps import epoch_end_values

CONTINUES_ATTR = "continues"  # on a trial training on: the number of the trial it continues
# Epochs a trial training on may run: in effect none, the study's end stops it.
TRAIN_ON_EPOCHS = 100_000
# Schedules whose rate depends on max_epochs: training on past it means nothing to them.
ENDS_WITH_MAX_EPOCHS = ("cosine",)
# Trials the time before the final stretch must hold, at the run's pace, for the search to
# go on: with room for one or two more, the last of them would be cut by the stretch, and
# the few that finish rarely pass a best that has had the whole search to be found, while
# the best (still improving, or it would not be trained on) gains from every minute.
SEARCH_ROOM_TRIALS = 3
# Validations of all of dev a trial training on must have time for: the one at its cut, and
# as long again to train before it.
TRAIN_ON_MIN_VALIDATIONS = 2
# How a trial that may train on stopped: its epochs ran out, or its time did.
KEEPS_STATE_AFTER = ("max_epochs", "time_limit")


def final_stretch(training: TrainingConfig, timeout: float | None) -> float:
    """Seconds at the study's end kept for the best trial to train on (0 where none is).

    Example:
        >>> from hpo.config import TrainingConfig
        >>> final_stretch(TrainingConfig(), 600.0), final_stretch(TrainingConfig(), None)
        (150.0, 0.0)
        >>> final_stretch(TrainingConfig(train_on=False), 600.0)
        0.0
    """
    if not training.train_on or not timeout or not training.trial_share:
        return 0.0
    return training.trial_share * timeout


def worth_keeping(
    trial: optuna.Trial,
    config: StudyConfig,
    params: dict[str, Any],
    value: float,
    epochs: tuple[int | None, int],
    stop_reason: str,
    stretch: float,
) -> bool:
    """Whether a trial ending now keeps its training state, to train on if it becomes the
    :func:`candidate`: it is not itself a trial training on, and was still improving where
    it stopped: of ``epochs`` (its best epoch, its last), the best is the last or the one
    before (one epoch's dev value is noisy by more than an epoch's gain near a plateau),
    and it stopped at ``max_epochs`` or at its time limit (its share of the study, the final
    stretch, or ``trial_time_limit``: a slow configuration's best is often cut there).
    ``stretch``: the study's final stretch (0: none). The states of trials that are neither
    the candidate nor the best are dropped after each trial (:func:`drop_outdated_states`).

    Example:
        >>> improving((9, 10)), improving((10, 10)), improving((8, 10)), improving((None, 1))
        (True, True, False, False)
    """
    if not stretch or config.keep_checkpoints < 1:
        return False
    if CONTINUES_ATTR in trial.user_attrs or stop_reason not in KEEPS_STATE_AFTER:
        return False
    if params.get("lr_schedule") in ENDS_WITH_MAX_EPOCHS:
        return False
    return improving(epochs) and math.isfinite(value)


def improving(epochs: tuple[int | None, int]) -> bool:
    """Whether a run's best epoch is its last or the one before (``epochs``: best, last)."""
    best_epoch, last_epoch = epochs
    return best_epoch is not None and best_epoch >= last_epoch - 1


def candidate(study: optuna.Study, study_dir: Path, stretch: float) -> FrozenTrial | None:
    """The complete trial to train on in a final stretch of ``stretch`` seconds, among those
    that kept their training state: the one whose learning curve points highest after the
    stretch (:func:`hpo.study.equal_time.after_stretch`); the best trial where it kept its
    state and no other points higher; None where none kept its state or none points past
    the best's value.
    """
    ranked = complete_best_first(study)
    if not ranked:
        return None
    best_value, best = ranked[0]
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    still_kept = kept_states([trial for _, trial in ranked], study_dir)
    choice: FrozenTrial | None = None
    bar = best_value
    if best.number in still_kept:
        choice = best
        points = after_stretch(best, stretch, maximize)
        bar = best_value if points is None else points
    for _, trial in ranked[1:]:
        points = after_stretch(trial, stretch, maximize) if trial.number in still_kept else None
        if points is not None and (points > bar if maximize else points < bar):
            choice, bar = trial, points
    return choice


def sampled_reserve(study: optuna.Study, study_dir: Path, stretch: float) -> float:
    """Seconds at the study's end a sampled trial starting now must leave free: the final
    stretch, where there is a best trial to train on."""
    return stretch if stretch and candidate(study, study_dir, stretch) is not None else 0.0


def trial_pace(study: optuna.Study, since: datetime.datetime) -> float | None:
    """Mean wall-clock seconds of the study's trials that started at or after ``since`` and
    have ended (complete, pruned or failed), trials training on aside; None where none has.

    Example:
        >>> study = optuna.create_study()
        >>> start = datetime.datetime(2026, 1, 1)
        >>> for seconds in (20, 40):
        ...     trial = optuna.trial.create_trial(value=1.0)
        ...     trial.datetime_start = start
        ...     trial.datetime_complete = start + datetime.timedelta(seconds=seconds)
        ...     study.add_trial(trial)
        >>> trial_pace(study, start), trial_pace(study, start + datetime.timedelta(1))
        (30.0, None)
    """
    ended = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    lengths = [
        seconds
        for trial in study.get_trials(deepcopy=False, states=ended)
        if trial.datetime_start is not None
        and trial.datetime_start >= since
        and CONTINUES_ATTR not in trial.user_attrs
        and (seconds := wall_seconds(trial)) is not None
    ]
    return sum(lengths) / len(lengths) if lengths else None


def time_to_train_on(
    stretch: float,
    timeout: float | None,
    deadline: float | None,
    pace: float | None = None,
    longest_end: float | None = None,
) -> bool:
    """Whether the final stretch has (all but) begun: a sampled trial starting now would get
    less than a tenth of it before the stretch (its own end allowance aside), or the time
    before it holds fewer than :data:`SEARCH_ROOM_TRIALS` trials of ``pace`` seconds (the
    run's mean trial so far, :func:`trial_pace`); ``longest_end`` as in
    :func:`~hpo.study.too_slow.end_allowance`.

    Example:
        >>> time_to_train_on(150.0, 600.0, time.monotonic() + 170.0)
        True
        >>> time_to_train_on(150.0, 600.0, time.monotonic() + 300.0)
        False
        >>> time_to_train_on(150.0, 600.0, time.monotonic() + 300.0, pace=60.0)
        True
    """
    if not stretch or deadline is None:
        return False
    before_stretch = deadline - time.monotonic() - stretch - end_allowance(timeout, longest_end)
    return before_stretch < max(0.1 * stretch, SEARCH_ROOM_TRIALS * (pace or 0.0))


def enqueue_when_due(
    study: optuna.Study,
    study_dir: Path,
    stretch: float,
    timeout: float | None,
    deadline: float | None,
    pace: float | None,
    longest_end: float | None,
) -> bool:
    """Enqueue the trial that trains the best on (:func:`enqueue_train_on`) with the rest
    of the study, if it is time (:func:`time_to_train_on`) and a trial may still start
    (:func:`~hpo.study.too_slow.room_for_another_trial`). Whether the study goes on: not
    where no trial was enqueued now to train the :func:`candidate` on (one already was,
    or too little time is left for it) and the time left is within the final stretch
    (or a tenth of it before), which a sampled trial would have to leave free: it could
    not train. In a 30-minute study whose start point ended 35 s before the end, two
    sampled trials were started there and pruned as too slow at once.
    """
    if deadline is None or not time_to_train_on(stretch, timeout, deadline, pace, longest_end):
        return True
    if not room_for_another_trial(timeout, deadline, longest_end):
        return False
    left = deadline - time.monotonic() - end_allowance(timeout, longest_end)
    best = candidate(study, study_dir, max(stretch, left))
    if best is None or _enqueue(study, best, left):
        return True
    return left - stretch >= 0.1 * stretch  # a sampled trial would still have time


def enqueue_train_on(
    study: optuna.Study, study_dir: Path, stretch: float, time_left: float | None = None
) -> FrozenTrial | None:
    """Enqueue the trial that trains the :func:`candidate` on, once per candidate; the
    candidate, or None. Not where ``time_left`` (the seconds it would have) holds less
    than :data:`TRAIN_ON_MIN_VALIDATIONS` of the candidate's validations
    (:func:`validation_seconds`): its run ends with a validation of all of dev, and one
    that could not train before it would only repeat the candidate's value in a row of
    its own."""
    best = candidate(study, study_dir, stretch)
    return best if best is not None and _enqueue(study, best, time_left) else None


def _enqueue(study: optuna.Study, best: FrozenTrial, time_left: float | None) -> bool:
    """Enqueue the trial that trains ``best`` on; whether it was (see
    :func:`enqueue_train_on`)."""
    validation = validation_seconds(best)
    if (
        time_left is not None
        and validation is not None
        and time_left < (TRAIN_ON_MIN_VALIDATIONS * validation)
    ):
        return False
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get(CONTINUES_ATTR) == best.number:
            return False
    attrs = {
        CONTINUES_ATTR: best.number,
        RESUME_ATTR: best.number,  # takes its training state over (hpo.study.trial_state)
        START_ATTR: True,  # not held to a sampled trial's share
        ORIGIN_ATTR: f"trains trial {best.number} on",
    }
    seed = best.user_attrs.get("seed")
    if isinstance(seed, int):
        attrs["seed"] = seed  # the generators go on as the best's would have
    study.enqueue_trial(best.params, attrs)
    return True


def validation_seconds(trial: FrozenTrial) -> float | None:
    """At most what one validation of all of dev took ``trial``: its validation seconds
    over its epochs' ends (those of reports within epochs counted in); None where it
    recorded neither.

    Example:
        >>> trial = optuna.trial.create_trial(value=0.5, intermediate_values={100: 0.4, 200: 0.5},
        ...     user_attrs={"epoch_examples": 100, "val_seconds": 9.0})
        >>> validation_seconds(trial)
        4.5
    """
    seconds = trial_cost(trial).val_seconds
    ends = len(epoch_end_values(trial))
    return seconds / ends if seconds is not None and ends else None


def drop_outdated_states(study: optuna.Study, study_dir: Path, stretch: float = 0.0) -> None:
    """Drop the training states kept by trials other than the :func:`candidate` for a
    final stretch of ``stretch`` seconds and the best trial (every state, at 0: at the end
    of a run).

    The best's state stays while another trial is the candidate: the candidate is chosen
    anew after every trial, and after a later best the old best may be the one whose curve
    points highest.
    """
    keep: set[int] = set()
    if stretch:
        ranked = complete_best_first(study)
        chosen = candidate(study, study_dir, stretch)
        keep = {t.number for t in (chosen, ranked[0][1] if ranked else None) if t is not None}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if trial.user_attrs.get(KEPT_STATE_ATTR) and trial.number not in keep:
            drop_state(trial_dir(study_dir, trial.number))


__all__ = [
    "CONTINUES_ATTR",
    "KEPT_STATE_ATTR",
    "SEARCH_ROOM_TRIALS",
    "TRAIN_ON_EPOCHS",
    "TRAIN_ON_MIN_VALIDATIONS",
    "candidate",
    "drop_outdated_states",
    "enqueue_train_on",
    "final_stretch",
    "improving",
    "sampled_reserve",
    "time_to_train_on",
    "trial_pace",
    "validation_seconds",
    "worth_keeping",
]
