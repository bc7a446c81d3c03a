"""Translation checkpoints of kept trials: weights, params, both sentencepiece models, and
what is needed to decode and score the way the trial was scored."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.atomic_files import atomic_copy
from hpo.study.checkpoints import load_checkpoint, write_model_file

if TYPE_CHECKING:
    import torch

SRC_TOKENIZER_FILE = "src.model"
TGT_TOKENIZER_FILE = "tgt.model"


def save_translation_checkpoint(
    directory: Path,
    *,
    state_dict: dict[str, torch.Tensor],
    params: dict[str, Any],
    src_tokenizer_model: Path,
    tgt_tokenizer_model: Path,
    meta: dict[str, Any],
) -> Path:
    """Write ``model.pt`` (weights, params, meta), ``params.json`` and both tokenizers.

    Example:
        .. code-block:: python

            save_translation_checkpoint(Path("runs/demo/trial-3"), state_dict=best_state,
                                        params=params, src_tokenizer_model=src.model_path,
                                        tgt_tokenizer_model=tgt.model_path, meta=meta)
    """
    # model.pt comes last: where it is, its tokenizers are (each file renamed into place).
    atomic_copy(src_tokenizer_model, directory / SRC_TOKENIZER_FILE)
    atomic_copy(tgt_tokenizer_model, directory / TGT_TOKENIZER_FILE)
    write_model_file(directory, state_dict=state_dict, params=params, meta=meta)
    return directory


def load_translator(directory: Path, device: torch.device | str = "cpu"):
    """The model (on ``device``, in eval mode), source and target tokenizers and metadata of a
    translation checkpoint.

    Example:
        .. code-block:: python

            model, src_tok, tgt_tok, meta = load_translator(Path("runs/demo/trial-3"))
            print(meta["bleu"], meta["signature"])
    """
    from hpo.data.tokenizer import Tokenizer
    from hpo.errors import HpoError
    from hpo.models import build

    checkpoint = load_checkpoint(directory, device)
    if checkpoint.get("task") != "translation":
        raise HpoError(f"{directory} holds a {checkpoint.get('task')} model, not a translator")
    model = build(
        "translation",
        checkpoint["params"],
        src_vocab_size=checkpoint["src_vocab_size"],
        tgt_vocab_size=checkpoint["tgt_vocab_size"],
    )
    model.load_state_dict(checkpoint["state_dict"])
    model.to(device).eval()
    max_length = checkpoint["max_length"]
    src = Tokenizer(directory / SRC_TOKENIZER_FILE, max_length=max_length)
    tgt = Tokenizer(directory / TGT_TOKENIZER_FILE, max_length=max_length)
    meta = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    return model, src, tgt, meta
