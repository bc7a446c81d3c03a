"""Which trials keep their model: the best K complete trials, best first.

After every trial the checkpoints of finished trials outside the best ``keep_checkpoints``
are removed; a running trial saves its model only if its value would enter the best K.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna


def complete_best_first(study: optuna.Study) -> list[tuple[float, optuna.trial.FrozenTrial]]:
    """Every complete trial with its value, best first (an earlier trial wins a tie)."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    scored = [(t.value, t) for t in complete if t.value is not None]
    if not scored:  # study.direction: asked only where there is something to rank
        return []
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1
    return sorted(scored, key=lambda pair: (sign * pair[0], pair[1].number))


def kept_trial_numbers(study: optuna.Study, keep: int) -> list[int]:
    """Numbers of the best ``keep`` complete trials, best first (earlier wins a tie)."""
    return [t.number for _, t in complete_best_first(study)[:keep]]


def would_be_kept(study: optuna.Study, value: float, keep: int) -> bool:
    """Whether a trial with ``value`` would enter the best ``keep`` complete trials."""
    import optuna

    if keep <= 0:
        return False
    ranked = complete_best_first(study)
    if len(ranked) < keep:
        return True
    threshold, _ = ranked[keep - 1]
    if study.direction == optuna.study.StudyDirection.MAXIMIZE:
        return value > threshold
    return value < threshold


def prune_checkpoints(study: optuna.Study, study_dir: Path, keep: int) -> None:
    """Delete checkpoints of finished trials outside the best ``keep``.

    The folder of a dead trial whose retry has not yet taken over its training state stays
    (:mod:`hpo.study.trial_state`), nor that of a trial whose training state is kept for
    training on (:mod:`hpo.study.train_on` drops those it does not train on).
    """
    from hpo.study.trial_state import awaited_states, kept_states

    trials = study.get_trials(deepcopy=False)
    kept = set(kept_trial_numbers(study, keep)) | awaited_states(trials)
    kept |= kept_states(trials, study_dir)
    finished = {t.number for t in trials if t.state.is_finished()}
    for path in study_dir.glob("trial-*"):
        number = path.name.removeprefix("trial-")
        if number.isdigit() and int(number) in finished and int(number) not in kept:
            shutil.rmtree(path, ignore_errors=True)
