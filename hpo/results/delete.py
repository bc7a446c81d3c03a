"""``hpo delete``: remove a study from its store and its folder under runs/.

Finding the study and deleting it are two steps, so that the command line can ask for
confirmation in between with the facts in hand.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import optuna

from hpo.config import study_dir_for
from hpo.study.storage import mask_url, open_storage
from hpo.study.stored import load_stored_study, resolve_study


@dataclass
class DeletionTarget:
    """A stored study about to be deleted, with what goes with it."""

    name: str
    storage_url: str
    n_trials: int
    study_dir: Path

    def question(self) -> str:
        folder = f" and {self.study_dir}/" if self.folder_to_remove() else ""
        return (
            f"Delete study {self.name!r} ({self.n_trials} trials) from "
            f"{mask_url(self.storage_url)}{folder}?"
        )

    def folder_to_remove(self) -> Path | None:
        return self.study_dir if self.study_dir.is_dir() else None


def find_study_to_delete(ref: str, storage: str | None = None) -> DeletionTarget:
    """The stored study named by ``ref``; an unknown one is :class:`hpo.errors.BadInput`.

    Example:
        .. code-block:: python

            target = find_study_to_delete("demo")
            print(target.question())
            delete_study(target)
    """
    name, _, storage_url = resolve_study(ref, storage)
    study = load_stored_study(name, storage_url)
    return DeletionTarget(
        name=name,
        storage_url=storage_url,
        n_trials=len(study.get_trials(deepcopy=False)),
        study_dir=study_dir_for(name),
    )


def delete_study(target: DeletionTarget) -> str:
    """Delete the study from its store, then its folder; returns a line saying what went."""
    folder = target.folder_to_remove()
    optuna.delete_study(study_name=target.name, storage=open_storage(target.storage_url))
    if folder is not None:
        shutil.rmtree(folder)
    removed = f" and {folder}/" if folder is not None else ""
    return f"deleted study {target.name} ({target.n_trials} trials) from store{removed}"


__all__ = ["DeletionTarget", "delete_study", "find_study_to_delete"]
