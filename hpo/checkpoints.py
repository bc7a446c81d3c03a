"""The checkpoint of a kept model: ``model.pt`` (weights, params, the task's metadata),
``params.json`` and the files the task needs to use it (its tokenizer models).

Every task writes and reads its checkpoints here, and rebuilds its kept model here
(:func:`rebuild_model`); what goes into ``meta`` and which files travel with the weights is
the task's :meth:`~hpo.tasks.protocol.Task.checkpoint`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.atomic_files import atomic_copy, atomic_path, atomic_write_text

if TYPE_CHECKING:
    import torch
    from torch import nn

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


def rebuild_model(
    directory: Path,
    task: str,
    sizes: Sequence[str],
    device: torch.device | str = "cpu",
    needed: Sequence[str] = (),
) -> tuple[nn.Module, dict[str, Any]]:
    """The kept ``task`` model of ``directory`` (on ``device``, in eval mode) and the rest
    of its checkpoint (params and the task's meta).

    The model is built from its params and the checkpoint's entries named in ``sizes``
    (``vocab_size``...), passed to :func:`hpo.models.build` by those names. A checkpoint
    that lacks one of them, or of ``needed`` (what the task reads to use the model), was
    written by an older hpo: one-line :class:`HpoError`.

    Example:
        .. code-block:: python

            model, meta = rebuild_model(
                Path("runs/demo/trial-7"), "classification", ("vocab_size", "num_classes")
            )
    """
    from hpo.errors import HpoError
    from hpo.models import build

    checkpoint = load_checkpoint(directory, device, task=task)
    missing = [key for key in ("params", *sizes, *needed) if key not in checkpoint]
    if missing:
        raise HpoError(
            f"the checkpoint in {directory} lacks {', '.join(missing)} (written by an older "
            "hpo); `hpo train` writes a complete one"
        )
    model = build(task, checkpoint["params"], **{size: checkpoint[size] for size in sizes})
    model.load_state_dict(checkpoint["state_dict"])
    model.to(device).eval()
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}
