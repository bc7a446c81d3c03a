"""``hpo delete``: remove a study from its store and its folder under runs/.

Finding the study and deleting it are two steps, so that the command line can ask for
confirmation in between with the facts in hand. Deleting checks everything it can before
it changes anything: the folder is first moved aside inside runs/ (which proves it can be
removed), then the study leaves the store, and only then does the folder go; if the store
refuses, the folder is moved back.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import optuna

from hpo.config import runs_dir, study_dir_for
from hpo.errors import HpoError
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
        return (
            f"Delete study {self.name!r} ({self.n_trials} trials) from "
            f"{mask_url(self.storage_url)}{self._and_folder()}?"
        )

    def folder_to_remove(self) -> Path | None:
        """The study's entry in runs/: its folder, or a link there (removed as a link)."""
        if self.study_dir.is_symlink() or self.study_dir.is_dir():
            return self.study_dir
        return None

    def _and_folder(self) -> str:
        folder = self.folder_to_remove()
        if folder is None:
            return ""
        if folder.is_symlink():
            return f" and the link {folder} (not what it points to)"
        return f" and {folder}/"


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
    target = DeletionTarget(
        name=name,
        storage_url=storage_url,
        n_trials=len(study.get_trials(deepcopy=False)),
        study_dir=study_dir_for(name),
    )
    folder = target.folder_to_remove()
    if folder is not None:
        _check_removable(folder)
    return target


def delete_study(target: DeletionTarget) -> str:
    """Delete the study from its store, then its folder; returns a line saying what went."""
    removed = target._and_folder()
    folder = target.folder_to_remove()
    parked = _move_aside(folder) if folder is not None else None
    try:
        optuna.delete_study(study_name=target.name, storage=open_storage(target.storage_url))
    except BaseException:
        if parked is not None and folder is not None:
            parked.rename(folder)
        raise
    if parked is not None:
        _remove(parked)
    return f"deleted study {target.name} ({target.n_trials} trials) from store{removed}"


def _check_removable(folder: Path) -> None:
    # study_dir_for keeps every study folder directly inside runs/; make sure of it here too,
    # since what follows removes a tree.
    inside = folder.parent.resolve() == runs_dir().resolve()
    if not inside or folder.name in ("", ".", "..") or folder.name.startswith("."):
        raise HpoError(f"refusing to remove {folder}: not a study folder inside {runs_dir()}")
    if folder.is_symlink():
        return
    for directory, _, _ in os.walk(folder):
        if not os.access(directory, os.W_OK | os.X_OK):
            raise HpoError(f"cannot remove {folder}: {directory} is not writable; nothing deleted")


def _move_aside(folder: Path) -> Path:
    # A hidden name is never a study folder (study names cannot start with a dot).
    parked = folder.with_name(f".deleting-{folder.name}-{os.getpid()}")
    try:
        folder.rename(parked)
    except OSError as exc:
        raise HpoError(f"cannot remove {folder}: {exc.strerror or exc}; nothing deleted") from None
    return parked


def _remove(parked: Path) -> None:
    try:
        if parked.is_symlink():
            parked.unlink()
        else:
            shutil.rmtree(parked)
    except OSError as exc:
        raise HpoError(
            f"the study left the store, but {parked} could not be removed: {exc.strerror or exc}"
        ) from None


__all__ = ["DeletionTarget", "delete_study", "find_study_to_delete"]
