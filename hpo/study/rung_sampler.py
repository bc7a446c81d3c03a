"""TPE fitted where the pruner compares trials: at the highest rung enough trials reached.

Optuna's TPE ranks a study's finished trials as complete ones by their final value, then
pruned ones by how far they got and their last report. With SuccessiveHalving, the few
trials that run to the end are compared on values of other budgets than the many that stop
early, and a trial that ran longer counts as better whatever its value. BOHB (Falkner et
al., 2018) fits its model on the largest budget that has enough observations instead, every
trial compared on its value at that budget. :class:`RungTPESampler` does that with Optuna's
TPE: the rungs are SuccessiveHalving's (``completed_rung_<k>``, the value a trial had when
it reached rung ``k``); the trials that reached the chosen rung are ranked by their value
there, and those that stopped below it keep Optuna's order after them.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Sequence
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

_RUNG_KEY = "completed_rung_{}"  # SuccessiveHalvingPruner's record of a trial at rung k
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def rung_value(trial: FrozenTrial, rung: int) -> float | None:
    """The value ``trial`` had when it reached ``rung``; None if it did not reach it.

    Example:
        >>> import optuna
        >>> trial = optuna.trial.create_trial(
        ...     value=0.8, system_attrs={"completed_rung_0": 0.5, "completed_rung_1": 0.7})
        >>> rung_value(trial, 1), rung_value(trial, 2)
        (0.7, None)
    """
    value = trial.system_attrs.get(_RUNG_KEY.format(rung))
    return float(value) if isinstance(value, (int, float)) else None


def fitting_rung(trials: Sequence[FrozenTrial], min_trials: int) -> int | None:
    """The highest rung that at least ``min_trials`` of ``trials`` reached; None if none did.

    Example:
        >>> import optuna
        >>> reached = [{"completed_rung_0": 0.1}] * 4 + [
        ...     {"completed_rung_0": 0.2, "completed_rung_1": 0.3}] * 2
        >>> trials = [optuna.trial.create_trial(value=0.0, system_attrs=a) for a in reached]
        >>> fitting_rung(trials, 3), fitting_rung(trials, 2), fitting_rung(trials, 7)
        (0, 1, None)
    """
    rung = None
    while sum(rung_value(t, 0 if rung is None else rung + 1) is not None for t in trials) >= (
        min_trials
    ):
        rung = 0 if rung is None else rung + 1
    return rung


def rung_view(study: Study, min_trials: int) -> Study:
    """``study`` with its finished trials as TPE should rank them.

    Each trial that reached the fitting rung is complete there, with its value at that rung;
    the other finished ones are pruned, with their own reports; running trials stay as they
    are (TPE's constant liar counts them). Without a rung that ``min_trials`` reached,
    ``study`` itself.
    """
    trials = study.get_trials(deepcopy=False)
    rung = fitting_rung([t for t in trials if t.state in _FINISHED], min_trials)
    if rung is None:
        return study
    return _RungStudy(study, [_at_rung(t, rung) for t in trials])


def _at_rung(trial: FrozenTrial, rung: int) -> FrozenTrial:
    if trial.state not in _FINISHED:
        return trial
    seen = copy.copy(trial)  # the attributes set below are replaced, not changed in place
    value = rung_value(trial, rung)
    if value is None:
        seen.state, seen.values = TrialState.PRUNED, None
    else:
        seen.state, seen.values, seen.intermediate_values = TrialState.COMPLETE, [value], {}
    return seen


class _RungStudy(Study):
    """The study, its trials replaced: what the sampler writes (a trial's relative
    parameters, for other workers' constant liar) still goes to the study's own storage."""

    def __init__(self, study: Study, trials: list[FrozenTrial]) -> None:
        super().__init__(
            study_name=study.study_name,
            storage=study._storage,
            sampler=study.sampler,
            pruner=study.pruner,
        )
        self._trials = trials

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        found = [t for t in self._trials if states is None or t.state in states]
        return copy.deepcopy(found) if deepcopy else found

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)


class RungTPESampler(BaseSampler):
    """Optuna's TPE, fitted at the highest SuccessiveHalving rung that ``min_trials`` reached.

    Until any rung has that many trials it samples as TPE does (its first
    ``n_startup_trials`` at random). With a pruner that records no rungs, it is TPE.

    Args:
        seed: The random seed.
        n_startup_trials: Trials sampled at random before TPE is fitted.
        multivariate: Whether TPE models the parameters jointly.
        min_trials: Trials a rung needs before it is the one fitted on; by default
            ``n_startup_trials``, at least 3.

    Example:
        .. code-block:: python

            study = optuna.create_study(
                direction="maximize",
                sampler=RungTPESampler(seed=0),
                pruner=optuna.pruners.SuccessiveHalvingPruner(),
            )
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 5,
        multivariate: bool = True,
        min_trials: int | None = None,
    ) -> None:
        self._tpe = TPESampler(
            seed=seed, n_startup_trials=n_startup_trials, multivariate=multivariate
        )
        self.min_trials = max(3, n_startup_trials) if min_trials is None else min_trials
        # One view per trial: each of its parameters is sampled against the same trials.
        self._view: tuple[int, Study] | None = None

    def _view_for(self, study: Study, trial: FrozenTrial) -> Study:
        if self._view is None or self._view[0] != trial._trial_id:
            self._view = (trial._trial_id, rung_view(study, self.min_trials))
        return self._view[1]

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._tpe.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._tpe.sample_relative(self._view_for(study, trial), trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        view = self._view_for(study, trial)
        return self._tpe.sample_independent(view, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._view = None
        self._tpe.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._tpe.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._tpe.reseed_rng()


__all__ = ["RungTPESampler", "fitting_rung", "rung_value", "rung_view"]
