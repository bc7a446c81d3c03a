"""Trial checkpoints: the best state of the best K trials, with what is needed to load it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.atomic_files import atomic_copy, atomic_path, atomic_write_text

if TYPE_CHECKING:
    import optuna
    import torch

CHECKPOINT_FILE = "model.pt"
TOKENIZER_FILE = "tokenizer.model"


def save_checkpoint(
    directory: Path,
    *,
    state_dict: dict[str, torch.Tensor],
    params: dict[str, Any],
    tokenizer_model: Path,
    meta: dict[str, Any],
) -> Path:
    """Write model weights, params and the tokenizer model into ``directory``.

    Every file is written under a temporary name and renamed, ``model.pt`` last, so a
    reader never loads a half-written file and finds the tokenizer wherever the model is.
    """
    atomic_copy(tokenizer_model, directory / TOKENIZER_FILE)
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


def load_checkpoint(directory: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The saved dictionary of ``directory/model.pt``, its tensors on ``device``.

    A file torch cannot read (truncated, foreign) is one-line :class:`HpoError`.
    """
    import pickle

    import torch

    from hpo.errors import HpoError

    path = directory / CHECKPOINT_FILE
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HpoError(f"cannot load the checkpoint {path}: {reason}") from None


# What a classifier checkpoint must hold to be used without its study's data.
CLASSIFIER_KEYS = ("params", "vocab_size", "num_classes", "label_names", "max_length")


def load_model(directory: Path, device: torch.device | str = "cpu"):
    """The model (on ``device``, in eval mode), tokenizer and metadata of a kept classifier.

    A checkpoint that lacks something a model needs to be used (written by an older hpo) is
    one-line :class:`HpoError`.

    Example:
        .. code-block:: python

            model, tokenizer, meta = load_model(Path("runs/demo/trial-7"))
            print(meta["label_names"], meta["value"])
    """
    from hpo.data.tokenizer import Tokenizer
    from hpo.errors import HpoError
    from hpo.models import build

    checkpoint = load_checkpoint(directory, device)
    if checkpoint.get("task", "classification") != "classification":
        raise HpoError(f"{directory} holds a {checkpoint.get('task')} model, not a classifier")
    missing = [key for key in CLASSIFIER_KEYS if key not in checkpoint]
    if missing:
        raise HpoError(
            f"the checkpoint in {directory} lacks {', '.join(missing)} (written by an older "
            "hpo); `hpo train` writes a complete one"
        )
    model = build(
        "classification",
        checkpoint["params"],
        vocab_size=checkpoint["vocab_size"],
        num_classes=checkpoint["num_classes"],
    )
    model.load_state_dict(checkpoint["state_dict"])
    model.to(device).eval()
    tokenizer = Tokenizer(directory / TOKENIZER_FILE, max_length=checkpoint["max_length"])
    meta = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    return model, tokenizer, meta


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
    """Delete checkpoints of finished trials outside the best ``keep``."""
    kept = set(kept_trial_numbers(study, keep))
    finished = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    for path in study_dir.glob("trial-*"):
        number = path.name.removeprefix("trial-")
        if number.isdigit() and int(number) in finished and int(number) not in kept:
            shutil.rmtree(path, ignore_errors=True)
