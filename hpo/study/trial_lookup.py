"""Which trial ``--trial best|N`` means, and where its kept model lies.

``evaluate``, ``translate``, ``predict`` and ``train`` all start here. A model written by
``hpo train`` (``runs/<study>/train-<n>/``) is preferred to the trial's own
(``runs/<study>/trial-<n>/``): it is the same configuration trained for its full epochs.
No torch is imported: the lookup is done before any model is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.checkpoints import CHECKPOINT_FILE
from hpo.config import StudyConfig, study_dir_for
from hpo.errors import BadInput, HpoError
from hpo.run_layout import train_dir, trial_dir

if TYPE_CHECKING:
    import torch


def parse_trial(text: str) -> str | int:
    """``best`` or a trial number; anything else is bad input.

    Example:
        >>> parse_trial("best"), parse_trial("7")
        ('best', 7)
    """
    if text == "best":
        return text
    if text.isdigit():
        return int(text)
    raise BadInput(f"--trial must be 'best' or a trial number, got {text!r}")


def recorded_threads(device: str | None) -> int | None:
    """The CPU thread count of a trial, from its ``device`` attribute (``cpu (N threads)``,
    and since trials record their precision too, ``cpu (N threads, float32)``).

    Example:
        >>> recorded_threads("cpu (2 threads)"), recorded_threads("cpu (4 threads, bfloat16)")
        (2, 4)
        >>> recorded_threads("cuda:0 (NVIDIA H100, float16)") is None
        True
    """
    match = re.fullmatch(r"cpu \((\d+) threads?(?:, \w+)?\)", device or "")
    return int(match.group(1)) if match else None


def find_trial(study: optuna.Study, wanted: str | int) -> FrozenTrial:
    """The study's best trial (``"best"``) or the trial numbered ``wanted``.

    A study without a complete trial has no best one yet (a run-time state, exit 1); a
    number the study does not hold is bad input.
    """
    trials = study.get_trials(deepcopy=False)
    if wanted == "best":
        if not any(t.state == TrialState.COMPLETE for t in trials):
            raise HpoError(f"study {study.study_name!r} has no complete trial yet")
        return study.best_trial
    for trial in trials:
        if trial.number == wanted:
            return trial
    raise BadInput(f"study {study.study_name!r} has no trial {wanted}")


def kept_model_dir(study_dir: Path, number: int) -> Path | None:
    """The folder of trial ``number``'s kept model (``train-<n>/`` first), if there is one."""
    for directory in (train_dir(study_dir, number), trial_dir(study_dir, number)):
        if (directory / CHECKPOINT_FILE).is_file():
            return directory
    return None


@dataclass
class TrialCheckpoint:
    """A trial's kept model, the study it belongs to and how that study runs models."""

    study: str
    config: StudyConfig | None  # None for a stored study that has no study file here
    task: str
    number: int
    directory: Path
    device: str  # the study's training.device: auto, cpu or cuda
    amp: bool  # the study's training.amp
    threads: int | None  # training.threads, else the CPU thread count the trial ran with

    def torch_device(self, override: str | None = None) -> torch.device:
        """``override`` (``--device``) if given, else the study's ``training.device``."""
        from hpo.training.device import choose_device

        return choose_device(override, self.device)


def find_trial_checkpoint(
    ref: str, trial: str, storage: str | None, *, task: str | None = None, command: str = ""
) -> TrialCheckpoint:
    """The kept model of trial ``trial`` (``best`` or a number) of the study ``ref``.

    With ``task``, a study of another task is bad input naming ``command``.

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("demo", "best", None, task="classification")
            print(found.number, found.directory)
    """
    from hpo.study.stored import load_stored_study, resolve_study

    wanted = parse_trial(trial)
    name, config, storage_url = resolve_study(ref, storage)
    study = load_stored_study(name, storage_url)
    stored_config: dict[str, Any] = study.user_attrs.get("config") or {}
    study_task = study.user_attrs.get("task") or (config.task if config else "classification")
    if task is not None and study_task != task:
        raise BadInput(
            f"hpo {command} needs a {task} study; study {name!r} is a {study_task} study"
        )
    frozen = find_trial(study, wanted)
    number = frozen.number
    study_dir = study_dir_for(name)
    directory = kept_model_dir(study_dir, number)
    if directory is None:
        raise HpoError(
            f"trial {number} of study {name!r} has no kept checkpoint in {study_dir} "
            "(only the best keep_checkpoints trials keep theirs; `hpo train` makes one)"
        )
    training = config.training.model_dump() if config else stored_config.get("training", {})
    return TrialCheckpoint(
        study=name,
        config=config,
        task=study_task,
        number=number,
        directory=directory,
        device=training.get("device", "auto"),
        amp=training.get("amp", True),
        threads=training.get("threads") or recorded_threads(frozen.user_attrs.get("device")),
    )


__all__ = [
    "TrialCheckpoint",
    "find_trial",
    "find_trial_checkpoint",
    "kept_model_dir",
    "parse_trial",
    "recorded_threads",
    "train_dir",
]
