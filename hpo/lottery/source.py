"""The trial a lottery experiment starts from: its parameters and its seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optuna.trial import TrialState

from hpo.config import StudyConfig
from hpo.errors import BadInput
from hpo.study.objective import trial_seed
from hpo.study.stored import load_stored_study


@dataclass
class SourceTrial:
    """One stored trial's configuration, fixed parameters merged in."""

    study: str
    number: int
    value: float | None
    params: dict[str, Any]
    seed: int


def select_trial(config: StudyConfig, which: str, storage_url: str) -> SourceTrial:
    """The study's best trial (``which="best"``) or the trial numbered ``which``.

    A numbered trial must have run to the end or been pruned: its parameters are then
    complete. Anything else is :class:`BadInput`.

    Example:
        .. code-block:: python

            source = select_trial(load_study_config("demo"), "best", "sqlite:///runs/hpo.db")
            print(source.number, source.params["lr"], source.seed)
    """
    study = load_stored_study(config.name, storage_url)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if which == "best":
        if not complete:
            states = ", ".join(sorted({t.state.name.lower() for t in trials})) or "none"
            raise BadInput(
                f"study {config.name!r} has no complete trial yet (trial states: {states})"
            )
        trial = study.best_trial
    else:
        by_number = {t.number: t for t in trials}
        number = int(which)
        if number not in by_number:
            raise BadInput(
                f"study {config.name!r} has no trial {number} (it has {len(trials)} trials)"
            )
        trial = by_number[number]
        if trial.state not in (TrialState.COMPLETE, TrialState.PRUNED):
            raise BadInput(
                f"trial {number} of study {config.name!r} is {trial.state.name.lower()}; "
                "choose a complete or pruned trial"
            )
    return SourceTrial(
        study=config.name,
        number=trial.number,
        value=trial.value,
        params={**trial.user_attrs.get("fixed_params", {}), **trial.params},
        seed=int(trial.user_attrs.get("seed", trial_seed(config.seed, trial.number))),
    )
