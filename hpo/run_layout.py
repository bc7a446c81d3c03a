"""Where a study's files live: ``runs/`` and, inside it, one folder per study with its trial,
train and cache folders. Every path a study writes is made here.

``runs/<study>/`` holds the CSV logs, ``trial-<n>/`` the kept checkpoint of trial ``n``,
``train-<n>/`` what ``hpo train`` made of it; ``runs/.cache/`` the tokenizer models shared
by all studies.
"""

from __future__ import annotations

import os
from pathlib import Path

from hpo.folder_names import study_folder_name

RUNS_DIR_ENV = "HPO_RUNS_DIR"


def runs_dir() -> Path:
    """The root of the files studies leave (``runs/`` in the working directory)."""
    return Path(os.environ.get(RUNS_DIR_ENV, "runs"))


def cache_dir() -> Path:
    """Where tokenizer models are cached, shared by all studies: ``runs/.cache/``.

    A study name cannot start with a dot, so no study folder can be this one.
    """
    return runs_dir() / ".cache"


def study_dir_for(name: str) -> Path:
    """Where a study's CSV logs and checkpoints live: ``runs/<study>/``, always inside runs/.

    The one place a study name becomes a path: names that are not plain are escaped
    (:func:`hpo.folder_names.study_folder_name`).
    """
    return runs_dir() / study_folder_name(name)


def trial_dir(study_dir: Path, number: int) -> Path:
    """Where trial ``number`` keeps its checkpoint: ``runs/<study>/trial-<n>/``."""
    return study_dir / f"trial-{number}"


def train_dir(study_dir: Path, number: int) -> Path:
    """Where ``hpo train`` keeps the fully trained model of trial ``number``."""
    return study_dir / f"train-{number}"
