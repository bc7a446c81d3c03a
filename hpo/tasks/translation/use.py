"""Using a tuned translator: translate text (``hpo translate``), score a split (``hpo evaluate``).

Which trial and which of its checkpoints is :mod:`hpo.study.trial_lookup`'s business; both
functions run on the study's ``training.device`` unless ``device`` (``--device``) says
otherwise, with AMP on CUDA where the study asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.errors import BadInput
from hpo.study.trial_lookup import TrialCheckpoint

if TYPE_CHECKING:
    import torch


# The sizes a translator is built with, as its checkpoint records them.
TRANSLATOR_SIZES = ("src_vocab_size", "tgt_vocab_size")


def load_translator(directory: Path, device: torch.device | str = "cpu"):
    """The model (on ``device``, in eval mode), source and target tokenizers and metadata of a
    translation checkpoint.

    Example:
        .. code-block:: python

            model, src_tok, tgt_tok, meta = load_translator(Path("runs/demo/trial-3"))
            print(meta["bleu"], meta["signature"])
    """
    from hpo.checkpoints import rebuild_model
    from hpo.data.tokenizer import Tokenizer
    from hpo.tasks.translation.task import SRC_TOKENIZER_FILE, TGT_TOKENIZER_FILE

    model, meta = rebuild_model(
        directory, "translation", TRANSLATOR_SIZES, device, needed=("max_length",)
    )
    max_length = meta["max_length"]
    src = Tokenizer(directory / SRC_TOKENIZER_FILE, max_length=max_length)
    tgt = Tokenizer(directory / TGT_TOKENIZER_FILE, max_length=max_length)
    return model, src, tgt, meta


def _decoding_options(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "ratio": meta["max_output_ratio"],
        "offset": meta["max_output_offset"],
        "batch_tokens": meta.get("eval_batch_tokens", 4000),
    }


def translate_lines(
    found: TrialCheckpoint,
    lines: list[str],
    beam: int = 5,
    length_penalty: float = 1.0,
    device: str | None = None,
) -> list[str]:
    """One translation per input line (an empty line gives an empty line).

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("translation-demo", "best", None, task="translation")
            print(translate_lines(found, ["Open file"]))
    """
    from hpo.data.seq2seq_batching import ParallelDataset
    from hpo.training.translation_eval import translate_dataset

    if beam < 1:
        raise BadInput(f"--beam must be at least 1, got {beam}")
    texts = [line.strip() for line in lines]
    if not any(texts):
        raise BadInput("the input is empty: no line to translate")
    target = found.torch_device(device)
    model, src_tok, tgt_tok, meta = load_translator(found.directory, target)
    data = ParallelDataset(src_tok.encode(texts), [[] for _ in texts])
    output = translate_dataset(
        model,
        data,
        tgt_tok,
        target,
        beam_size=beam,
        length_penalty=length_penalty,
        amp=found.amp,
        **_decoding_options(meta),
    )
    return [out if text else "" for text, out in zip(texts, output, strict=True)]


@dataclass
class Evaluation:
    """BLEU and chrF of a trial's model on one split, with sacrebleu's signatures."""

    study: str
    trial: int
    checkpoint: str
    split: str
    sentences: int
    beam: int
    device: str
    bleu: float
    chrf: float
    signature: str
    chrf_signature: str

    def text(self) -> str:
        return "\n".join(
            [
                f"study {self.study}, trial {self.trial} ({self.checkpoint}), {self.split} split, "
                f"{self.sentences} sentences, beam {self.beam}, on {self.device}",
                f"BLEU = {self.bleu:.2f}  {self.signature}",
                f"chrF = {self.chrf:.2f}  {self.chrf_signature}",
            ]
        )


def evaluate_split(
    found: TrialCheckpoint,
    split: str = "test",
    beam: int = 1,
    length_penalty: float = 1.0,
    device: str | None = None,
) -> Evaluation:
    """Score a trial's model on the study's dev or test split against the raw references.

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("multi30k", "best", None, task="translation")
            print(evaluate_split(found, "test", beam=5).text())
    """
    from hpo.data.parallel_sources import load_translation_corpus
    from hpo.data.seq2seq_batching import ParallelDataset
    from hpo.training.device import describe
    from hpo.training.translation_eval import evaluate_translation

    if split not in ("dev", "test"):
        raise BadInput(f"--split must be dev or test, got {split!r}")
    if beam < 1:
        raise BadInput(f"--beam must be at least 1, got {beam}")
    target = found.torch_device(device)
    if found.config is None:
        raise BadInput(f"study {found.study!r}: evaluate needs its study file for the data")
    corpus = load_translation_corpus(found.config.data)
    pairs = corpus.dev if split == "dev" else corpus.test
    if pairs is None:
        raise BadInput(f"study {found.study!r} has no test split")
    model, src_tok, tgt_tok, meta = load_translator(found.directory, target)
    data = ParallelDataset(src_tok.encode(pairs.src), tgt_tok.encode(pairs.tgt))
    scores = evaluate_translation(
        model,
        data,
        pairs.tgt,
        tgt_tok,
        target,
        bleu_tokenize=meta["bleu_tokenize"],
        beam_size=beam,
        length_penalty=length_penalty,
        amp=found.amp,
        **_decoding_options(meta),
    )
    return Evaluation(
        found.study,
        found.number,
        str(found.directory),
        split,
        len(pairs),
        beam,
        describe(target),
        scores.bleu,
        scores.chrf,
        scores.signature,
        scores.chrf_signature,
    )
