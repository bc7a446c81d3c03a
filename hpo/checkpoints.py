"""The checkpoint of a kept model: ``model.pt`` (weights, params, the task's metadata),
``params.json`` and the files the task needs to use it (its tokenizer models).

Every task writes and reads its checkpoints here; what goes into ``meta`` and which files
travel with the weights is the task's :meth:`~hpo.tasks.protocol.Task.checkpoint`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.atomic_files import atomic_copy, atomic_path, atomic_write_text

if TYPE_CHECKING:
    import torch

CHECKPOINT_FILE = "model.pt"


def save_checkpoint(
    directory: Path,
    *,
    state_dict: dict[str, torch.Tensor],
    params: dict[str, Any],
    files: dict[str, Path],
    meta: dict[str, Any],
) -> Path:
    """Write ``files`` (name in ``directory`` -> source), ``params.json`` and ``model.pt``.

    Every file is written under a temporary name and renamed, ``model.pt`` last, so a
    reader never loads a half-written file and finds the tokenizers wherever the model is.

    Example:
        .. code-block:: python

            save_checkpoint(Path("runs/demo/trial-3"), state_dict=best_state, params=params,
                            files={"tokenizer.model": tokenizer.model_path}, meta=meta)
    """
    for name, source in files.items():
        atomic_copy(source, directory / name)
    write_model_file(directory, state_dict=state_dict, params=params, meta=meta)
    return directory


def write_model_file(
    directory: Path, *, state_dict: dict[str, torch.Tensor], params: dict[str, Any], meta: dict
) -> None:
    """``params.json``, then ``model.pt`` (weights, params, meta), each replaced in one step."""
    import torch

    atomic_write_text(
        directory / "params.json", json.dumps(params, indent=2, sort_keys=True) + "\n"
    )
    with atomic_path(directory / CHECKPOINT_FILE) as tmp:
        torch.save({"state_dict": state_dict, "params": params, **meta}, tmp)


def load_checkpoint(
    directory: Path, device: torch.device | str = "cpu", task: str | None = None
) -> dict[str, Any]:
    """The saved dictionary of ``directory/model.pt``, its tensors on ``device``.

    A file torch cannot read (truncated, foreign), or one of another task than ``task``, is
    one-line :class:`HpoError`.
    """
    import pickle

    import torch

    from hpo.errors import HpoError

    path = directory / CHECKPOINT_FILE
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HpoError(f"cannot load the checkpoint {path}: {reason}") from None
    # Classifier checkpoints of the first versions carry no task.
    found = checkpoint.get("task", "classification")
    if task is not None and found != task:
        raise HpoError(f"{directory} holds a {found} model, not a {task} model")
    return checkpoint
