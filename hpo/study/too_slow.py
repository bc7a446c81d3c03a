"""Trials too slow to reach their first report in time: pruned before they spend the time.

A trial's first report must come within its time limit (:func:`trial_limit`: the smallest
of ``training.trial_time_limit``, ``training.trial_share`` of the study's ``timeout`` and
what is left of the study when the trial starts). The training loop measures the
trial's first optimizer steps (:mod:`hpo.training.first_report`) and stops a trial that
would miss it; the trial then ends PRUNED, with nothing reported to the pruner, so that
Optuna's TPE ranks it below every pruned trial that reported (its learning curve is the
shortest) and learns to avoid its region. Its ``stop_reason`` says why, in the words of
:meth:`~hpo.training.first_report.FirstReportEstimate.reason`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import optuna

from hpo.durations import format_duration
from hpo.study.trial_cost import record_cost

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from hpo.training.first_report import ReportLimit, TooSlowError


# What a trial stopped at the study's end keeps for its own end (its best checkpoint, the
# store, the CSV logs): a fiftieth of the timeout, at most a minute. Without it a GRU
# translator stopped at a 10-minute study's end still ended past it on a CPU.
END_ALLOWANCE_SHARE, END_ALLOWANCE_S = 0.02, 60.0
# Once the run has measured its trials' own ends, a trial keeps three times the longest
# (a later model may be larger than any measured) and at least 10 s, never more than the
# rule above: of the rule's 36 s a 30-minute translation study left 24 s unused, time its
# best trial could have trained.
MEASURED_FACTOR, MEASURED_FLOOR_S = 3.0, 10.0


def end_allowance(timeout: float | None, longest_end: float | None = None) -> float:
    """What a trial stopped at the study's end keeps for its own end, in seconds, given the
    longest time a trial of this run has spent outside its training loop after its limit
    was set (``longest_end``, :class:`TrialOverheads`; None before any was measured).

    Example:
        >>> end_allowance(600.0), end_allowance(12 * 3600.0), end_allowance(None)
        (12.0, 60.0, 0.0)
        >>> end_allowance(1800.0, longest_end=1.5), end_allowance(1800.0, longest_end=5.0)
        (10.0, 15.0)
        >>> end_allowance(600.0, longest_end=30.0)
        12.0
    """
    rule = min(END_ALLOWANCE_S, END_ALLOWANCE_SHARE * (timeout or 0.0))
    if longest_end is None:
        return rule
    return min(rule, max(MEASURED_FLOOR_S, MEASURED_FACTOR * longest_end))


class TrialOverheads:
    """The longest time a trial of this run spent outside its training loop once its time
    limit was set: taking a training state over before the loop, and after it its
    checkpoint, the store and the CSV logs. A limit that the loop keeps (its cut leaves time
    for its last report and checkpoint) ends a trial that late past it. The objective marks
    the limit and the loop (:meth:`limit_set`, :meth:`loop`); the runner calls it after each
    trial's logs are written, as a ``study.optimize`` callback.

    Example:
        >>> overheads = TrialOverheads()
        >>> overheads.limit_set()
        >>> with overheads.loop():
        ...     pass
        >>> overheads.longest is None
        True
        >>> overheads(None, None)
        >>> overheads.longest < 1.0
        True
    """

    def __init__(self) -> None:
        self.longest: float | None = None
        self._limit_set_at: float | None = None
        self._before: float | None = None  # from the limit to the loop's start
        self._ended_at: float | None = None  # the loop's end

    def limit_set(self) -> None:
        """The trial's time limit is set now (measured from here)."""
        self._limit_set_at, self._before, self._ended_at = time.monotonic(), None, None

    @contextlib.contextmanager
    def loop(self) -> Iterator[None]:
        """Around the training loop: the time before and after it is the trial's own."""
        if self._limit_set_at is not None:
            self._before = time.monotonic() - self._limit_set_at
        try:
            yield
        finally:
            self._ended_at = time.monotonic()

    def __call__(self, study: optuna.Study | None, trial: FrozenTrial | None) -> None:
        if self._before is None or self._ended_at is None:
            return  # ended before its loop began: nothing of a loop's end to learn from
        spent = self._before + time.monotonic() - self._ended_at
        self.longest = max(spent, self.longest or 0.0)
        self._limit_set_at = self._before = self._ended_at = None

    def allowance(self, timeout: float | None) -> float:
        """:func:`end_allowance` with what this run has measured."""
        return end_allowance(timeout, self.longest)


def trial_limit(
    trial_time_limit: float | None,
    share: float | None,
    timeout: float | None,
    deadline: float | None,
    reserve: float = 0.0,
    longest_end: float | None = None,
) -> ReportLimit | None:
    """How long a trial starting now may train, and what sets that limit, in words: the
    smallest of the trial time limit, ``share`` of the study's ``timeout`` and what is left
    of the study (``deadline``, its end on the ``time.monotonic`` clock) less the trial's
    own end (:func:`end_allowance`, ``longest_end`` as there) and the ``reserve`` it must
    leave free (the final stretch where the best trial trains on, :mod:`hpo.study.train_on`);
    None where none is set. The same limit is the one its first report must come within.

    The share is a quarter of the budget by default, because on a short budget one slow
    trial that leads its rungs (nothing better has reached them yet) would otherwise train
    to its last epoch and leave the search a handful of minutes. The study's end stops a
    trial too: Optuna lets a running trial finish, which would run a study past its
    timeout by up to a trial's length, and a trial that cannot report before the end
    teaches the study nothing.

    Example:
        >>> trial_limit(480.0, 0.25, 600.0, None).what
        "its share of the study's timeout (0.25 x 10m = 2m30s)"
        >>> trial_limit(60.0, 0.25, 600.0, None).what
        'the trial time limit of 1m'
        >>> trial_limit(None, None, 600.0, time.monotonic() + 102.2).what
        "the study's end (its timeout) 1m30s after the trial's start"
        >>> trial_limit(None, None, 600.0, time.monotonic() + 312.2, reserve=150.0).what
        "the study's last 2m30s, kept for its best trial to train on, 2m30s after the trial's start"
        >>> trial_limit(None, None, None, None) is None
        True
    """
    from hpo.training.first_report import ReportLimit

    limits = []
    if trial_time_limit:
        what = f"the trial time limit of {format_duration(trial_time_limit)}"
        limits.append(ReportLimit(trial_time_limit, what))
    if share and timeout:
        what = (
            f"its share of the study's timeout ({share:g} x {format_duration(timeout)} "
            f"= {format_duration(share * timeout)})"
        )
        limits.append(ReportLimit(share * timeout, what))
    if deadline is not None:
        # The trial's own end (its checkpoint, the store, the logs) comes after training.
        allowance = end_allowance(timeout, longest_end)
        left = max(0.0, deadline - time.monotonic() - allowance - reserve)
        what = f"the study's end (its timeout) {format_duration(left)} after the trial's start"
        if reserve:
            what = (
                f"the study's last {format_duration(reserve)}, kept for its best trial to "
                f"train on, {format_duration(left)} after the trial's start"
            )
        limits.append(ReportLimit(left, what))
    return min(limits, key=lambda limit: limit.seconds, default=None)


def room_for_another_trial(
    timeout: float | None, deadline: float | None, longest_end: float | None = None
) -> bool:
    """Whether a new trial is worth starting: not in the study's last twice what a trial
    keeps for its own end (:func:`end_allowance`, ``longest_end`` as there), where it could
    not train, report and end before the study does, and would be pruned as too slow after
    its first steps.

    Example:
        >>> room_for_another_trial(600.0, time.monotonic() + 60)
        True
        >>> room_for_another_trial(600.0, time.monotonic() + 10)
        False
        >>> room_for_another_trial(None, None)
        True
    """
    if deadline is None:
        return True
    return deadline - time.monotonic() > 2 * end_allowance(timeout, longest_end)


def prune_too_slow(trial: optuna.Trial, error: TooSlowError) -> NoReturn:
    """End ``trial`` PRUNED with the reason and the cost of what it trained."""
    reason = error.estimate.reason()
    trial.set_user_attr("stop_reason", reason)
    record_cost(trial, error)
    raise optuna.TrialPruned(reason) from error


def stopped_before_reporting(trial: FrozenTrial) -> str | None:
    """Why a trial was pruned before its first report (too slow to reach it in time), else
    None.

    Example:
        >>> trial = optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED,
        ...     user_attrs={"stop_reason": "too slow: first report expected after 9m"})
        >>> stopped_before_reporting(trial)
        'too slow: first report expected after 9m'
    """
    reason = trial.user_attrs.get("stop_reason")
    pruned = trial.state.name == "PRUNED" and not trial.intermediate_values
    return str(reason) if pruned and reason else None
