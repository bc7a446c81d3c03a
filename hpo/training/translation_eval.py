"""Translating a whole split and scoring it: perplexity, and BLEU and chrF with sacrebleu on
detokenized output against the raw references."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hpo.data.seq2seq_batching import ParallelDataset
from hpo.data.tokenizer import PAD_ID, Tokenizer
from hpo.models.decoding_state import StepDecoder
from hpo.training.decoding import beam_search, greedy_decode
from hpo.training.metrics import corpus_bleu, corpus_chrf, perplexity
from hpo.training.precision import autocast, training_dtype


@dataclass
class TranslationScores:
    """Scores of one split; ``signature`` is sacrebleu's BLEU signature, ``chrf_signature``
    its chrF one."""

    loss: float
    ppl: float
    bleu: float
    chrf: float
    signature: str
    chrf_signature: str
    hypotheses: list[str]

    def metrics(self) -> dict[str, float]:
        return {"bleu": self.bleu, "chrf": self.chrf, "ppl": self.ppl}


@torch.no_grad()
def translate_dataset(
    model: nn.Module,
    data: ParallelDataset,
    tgt_tokenizer: Tokenizer,
    device: torch.device,
    *,
    beam_size: int = 1,
    length_penalty: float = 1.0,
    ratio: float = 1.5,
    offset: int = 10,
    batch_tokens: int = 4000,
    amp: bool = False,
) -> list[str]:
    """Detokenized translations of every source sentence of ``data``, in its order.

    Example:
        .. code-block:: python

            texts = translate_dataset(model, splits.dev, splits.tgt_tokenizer, device, beam_size=5)
    """
    if not isinstance(model, StepDecoder):
        raise TypeError(f"{type(model).__name__} has no encode and step to decode with")
    model.eval()
    outputs: list[list[int]] = [[] for _ in range(len(data))]
    dtype = training_dtype(device, amp)
    for batch in data.batches(batch_tokens):
        batch = batch.to(device)
        with autocast(device, dtype):
            if beam_size == 1:
                ids = greedy_decode(model, batch.src, batch.src_lengths, ratio, offset)
            else:
                ids = beam_search(
                    model, batch.src, batch.src_lengths, beam_size, length_penalty, ratio, offset
                )
        for position, sequence in zip(batch.index, ids, strict=True):
            outputs[position] = sequence
    return tgt_tokenizer.decode(outputs)


@torch.no_grad()
def teacher_forced_nll(
    model: nn.Module,
    data: ParallelDataset,
    device: torch.device,
    *,
    batch_tokens: int = 4000,
    amp: bool = False,
) -> tuple[float, int]:
    """The summed negative log-likelihood of ``data``'s target tokens under teacher forcing,
    and their number (no label smoothing: what perplexity is of)."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID, reduction="sum")
    nll, n_tokens = 0.0, 0
    dtype = training_dtype(device, amp)
    for batch in data.batches(batch_tokens):
        batch = batch.to(device)
        with autocast(device, dtype):
            real = batch.tgt_out != PAD_ID
            logits = model(batch.src, batch.src_lengths, batch.tgt_in, 1.0, real)
        nll += float(loss_fn(logits.float(), batch.tgt_out[real]))
        n_tokens += batch.n_tgt_tokens
    return nll, n_tokens


@torch.no_grad()
def evaluate_translation(
    model: nn.Module,
    data: ParallelDataset,
    references: list[str],
    tgt_tokenizer: Tokenizer,
    device: torch.device,
    *,
    bleu_tokenize: str = "13a",
    ratio: float = 1.5,
    offset: int = 10,
    batch_tokens: int = 4000,
    amp: bool = False,
    beam_size: int = 1,
    length_penalty: float = 1.0,
    loss_data: ParallelDataset | None = None,
) -> TranslationScores:
    """Perplexity under teacher forcing, and corpus BLEU/chrF of the decoded split.

    ``loss_data``: the pairs whose teacher-forced loss and perplexity are measured (by
    default ``data``): a fixed part of it where only BLEU or chrF must be of all of it.
    Perplexity is a mean over tokens, which a few thousand of them estimate well; corpus
    BLEU is not a mean over sentences, so it is always of the whole split.

    Example:
        .. code-block:: python

            scores = evaluate_translation(model, splits.dev, splits.dev_references,
                                          splits.tgt_tokenizer, torch.device("cpu"))
            print(scores.bleu, scores.signature)
    """
    nll, n_tokens = teacher_forced_nll(
        model, data if loss_data is None else loss_data, device, batch_tokens=batch_tokens, amp=amp
    )
    hypotheses = translate_dataset(
        model,
        data,
        tgt_tokenizer,
        device,
        beam_size=beam_size,
        length_penalty=length_penalty,
        ratio=ratio,
        offset=offset,
        batch_tokens=batch_tokens,
        amp=amp,
    )
    bleu = corpus_bleu(hypotheses, references, tokenize=bleu_tokenize)
    chrf = corpus_chrf(hypotheses, references)
    return TranslationScores(
        loss=nll / max(1, n_tokens),
        ppl=perplexity(nll, n_tokens),
        bleu=bleu.value,
        chrf=chrf.value,
        signature=bleu.signature,
        chrf_signature=chrf.signature,
        hypotheses=hypotheses,
    )
