"""Sentencepiece models trained on the train split only, cached by content hash."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Literal

import sentencepiece as spm

from hpo.errors import BadInput

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def tokenizer_key(texts: list[str], settings: dict) -> str:
    """The cache key: a hash of the training texts and every setting that shapes the model."""
    digest = hashlib.sha256()
    for name in sorted(settings):
        digest.update(f"{name}={settings[name]}\n".encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:20]


def train_sentencepiece(
    texts: list[str],
    cache_dir: Path,
    *,
    vocab_size: int,
    model_type: str = "unigram",
    character_coverage: float = 1.0,
    lowercase: bool = False,
    normalization: Literal["nmt_nfkc", "identity"] = "nmt_nfkc",
) -> Path:
    """Return the path of a sentencepiece model for ``texts``, training it if not cached.

    ``normalization="identity"`` keeps the text as written (no NFKC, no case folding), so
    decoding gives back what was encoded: translation targets need it, because BLEU compares
    the decoded output with the raw references. ``lowercase`` folds case on top of NFKC.

    Training writes to a temporary name and renames, so workers sharing a cache never read a
    half-written model.
    """
    if lowercase and normalization == "identity":
        raise ValueError("an identity normalization keeps case; it cannot lowercase")
    settings = dict(
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        lowercase=lowercase,
        normalization=normalization,
    )
    key = tokenizer_key(texts, settings)
    model_path = cache_dir / f"spm-{key}.model"
    if model_path.is_file():
        return model_path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        prefix = Path(tmp) / "spm"
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_prefix=str(prefix),
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                normalization_rule_name=normalization + ("_cf" if lowercase else ""),
                hard_vocab_limit=False,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                num_threads=max(1, min(4, os.cpu_count() or 1)),
                minloglevel=2,
                input_sentence_size=2_000_000,
                shuffle_input_sentence=True,
            )
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1]
            raise BadInput(
                f"cannot train a sentencepiece model of size {vocab_size}: {reason}"
            ) from None
        os.replace(f"{prefix}.model", model_path)
    return model_path


class Tokenizer:
    """A loaded sentencepiece model: text -> ids, ids -> text."""

    def __init__(self, model_path: Path, max_length: int = 256):
        self.model_path = Path(model_path)
        self.max_length = max_length
        self._sp = spm.SentencePieceProcessor(model_file=str(model_path))

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, cut to ``max_length`` (never empty: unk stands in)."""
        return self.encode_counting_cuts(texts)[0]

    def encode_counting_cuts(self, texts: list[str]) -> tuple[list[list[int]], int]:
        """:meth:`encode`, and how many of the texts were longer than ``max_length``."""
        encoded = self._sp.encode(texts)
        cut = sum(len(ids) > self.max_length for ids in encoded)
        return [ids[: self.max_length] or [UNK_ID] for ids in encoded], cut

    def decode(self, ids: list[list[int]]) -> list[str]:
        return self._sp.decode(ids)
