"""A running trial's training state on disk, so that a trial whose worker died goes on from
its last report instead of starting again.

While a trial trains, the one loop writes ``runs/<study>/trial-<n>/last.pt`` (model,
optimizer, schedule, scaler, every random generator, the reports so far and how far into
its epoch it got) at every report, and ``best.pt`` at every new best. When the trial ends,
however it ends short of its process being killed, both files go. A trial whose worker was
killed is failed as stale by a live worker and enqueued again (:mod:`hpo.study.stale_trials`)
with ``resume_from`` naming it; the retry moves the dead trial's files into its own folder
and the loop continues from them, with the dead trial's seed, so that its learning curve is
the one an uninterrupted run would have drawn.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from hpo.run_layout import trial_dir

if TYPE_CHECKING:
    import optuna

    from hpo.training import EpochRecord

RESUME_ATTR = "resume_from"  # on a retry of a stale trial: the dead trial's number
KEPT_STATE_ATTR = "kept_training_state"  # on a trial that kept its state to train on
RETRY_DUE_ATTR = "retry_due"  # on a stale trial about to be enqueued again


def _state_files() -> tuple[str, str]:
    # The loop's file names; imported here only, as the stale-trial hooks of read-only
    # commands import this module and must not load torch.
    from hpo.training.resume import BEST_CHECKPOINT, LAST_CHECKPOINT

    return LAST_CHECKPOINT, BEST_CHECKPOINT


def take_over_state(trial: optuna.Trial, study_dir: Path) -> bool:
    """Move the training state of the trial ``trial`` retries into ``trial``'s folder.

    Returns whether there was one to resume from (a retry of a trial killed before its
    first report has none, and starts from the beginning).

    Example:
        .. code-block:: python

            resume = take_over_state(trial, Path("runs/demo"))
            task.fit(model, splits, params, settings, callbacks, device,
                     checkpoint_dir=trial_dir(Path("runs/demo"), trial.number), resume=resume)
    """
    source = trial.user_attrs.get(RESUME_ATTR)
    if not isinstance(source, int) or source == trial.number:
        return False
    last, best = _state_files()
    old, new = trial_dir(study_dir, source), trial_dir(study_dir, trial.number)
    if not (old / last).is_file():
        return False
    new.mkdir(parents=True, exist_ok=True)
    # best.pt first: where last.pt is, the best state it speaks of is there too.
    for name in (best, last):
        if (old / name).is_file():
            (old / name).replace(new / name)
    return True


def reports_so_far(directory: Path) -> list[EpochRecord]:
    """The reports a taken-over state holds, in order: the retry gives them to its callbacks
    again (the epoch log, pruning), as they belong to its own learning curve now."""
    from hpo.training import EpochRecord
    from hpo.training.resume import load_state

    last, _ = _state_files()
    return [EpochRecord(**r) for r in load_state(directory / last)["history"]]


def drop_state(directory: Path) -> None:
    """Remove a finished trial's training state (its kept model, if any, stays)."""
    for name in _state_files():
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()  # only if nothing else (a kept model) is there


def awaited_states(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of dead trials whose state a waiting or running retry has yet to take over,
    or whose retry is due but not yet enqueued (:mod:`hpo.study.stale_trials`)."""
    retried = {t.user_attrs.get(RESUME_ATTR) for t in trials}
    pending = {
        source
        for t in trials
        if not t.state.is_finished() and isinstance(source := t.user_attrs.get(RESUME_ATTR), int)
    }
    due = {t.number for t in trials if t.user_attrs.get(RETRY_DUE_ATTR) and t.number not in retried}
    return pending | due


def kept_states(trials: list[optuna.trial.FrozenTrial], study_dir: Path) -> set[int]:
    """Numbers of finished trials whose kept training state is still there: one of them may
    yet train on (:mod:`hpo.study.train_on`), which drops the others'."""
    marked = [t.number for t in trials if t.user_attrs.get(KEPT_STATE_ATTR)]
    if not marked:  # the loop's file names import torch: not for stores without any
        return set()
    last, _ = _state_files()
    return {n for n in marked if (trial_dir(study_dir, n) / last).is_file()}


__all__ = [
    "KEPT_STATE_ATTR",
    "RESUME_ATTR",
    "RETRY_DUE_ATTR",
    "awaited_states",
    "drop_state",
    "kept_states",
    "reports_so_far",
    "take_over_state",
]
