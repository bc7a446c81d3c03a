"""The translation task of the training loop: token-budget batches, cross-entropy over real
target tokens (optionally label-smoothed) under teacher forcing, and validation by
perplexity and greedy BLEU/chrF on the dev split (within an epoch on a fixed subset)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from hpo.data.prepare_translation import TranslationSplits
from hpo.data.seq2seq_batching import ParallelDataset, TranslationBatch
from hpo.data.tokenizer import PAD_ID
from hpo.training.report_schedule import dev_subset
from hpo.training.translation_eval import evaluate_translation

# Dev sentences decoded (greedy) at a report within an epoch. Decoding a sentence costs
# more than training on a pair (an untrained model decodes to the length limit), and all of
# dev at every epoch's end already takes about 7% of training (benchmarks/report_cost.py).
DEV_SUBSET_SENTENCES = 100


class TranslationTask:
    """Sentence pairs under a token budget; the loss is normalised by real target tokens.

    The sacrebleu signature of the last validation is kept (and resumed) in ``signature``.
    Reports within an epoch validate on at most ``dev_subset`` dev sentences, evenly spread.
    With ``loss_on_subset`` (where the study's metric is BLEU or chrF) every report's loss
    and perplexity are of that subset, an epoch's end included, and only decoding covers
    all of dev: the teacher-forced pass over all of dev took about as long as decoding it
    (benchmarks/RESULTS.md, 8), for values no decision reads, and one subset gives every
    report's loss on the same sentences.

    Example:
        .. code-block:: python

            task = TranslationTask(splits, batch_tokens=2000, label_smoothing=0.1,
                                   teacher_forcing=1.0, eval_batch_tokens=4000,
                                   bleu_tokenize="13a", max_output_ratio=1.5,
                                   max_output_offset=10, amp=True, device=device)
            val_loss, metrics = task.validate(model)  # metrics: bleu, chrf, ppl
    """

    def __init__(
        self,
        splits: TranslationSplits,
        *,
        batch_tokens: int,
        label_smoothing: float,
        teacher_forcing: float,
        eval_batch_tokens: int,
        bleu_tokenize: str,
        max_output_ratio: float,
        max_output_offset: int,
        amp: bool,
        device: torch.device,
        dev_subset: int = DEV_SUBSET_SENTENCES,
        loss_on_subset: bool = False,
    ):
        self.splits = splits
        self.batch_tokens = batch_tokens
        self.teacher_forcing = teacher_forcing
        self.eval_batch_tokens = eval_batch_tokens
        self.bleu_tokenize = bleu_tokenize
        self.max_output_ratio, self.max_output_offset = max_output_ratio, max_output_offset
        self.amp, self.device = amp, device
        self.loss_fn = nn.CrossEntropyLoss(
            ignore_index=PAD_ID, label_smoothing=label_smoothing, reduction="sum"
        )
        self.signature = ""
        self.dev_subset = _subset(splits, dev_subset)
        self.loss_on_subset = loss_on_subset

    def batches(self, generator: torch.Generator) -> Iterator[TranslationBatch]:
        return self.splits.train.batches(self.batch_tokens, generator)

    def epoch_examples(self) -> int:
        return len(self.splits.train)

    def examples(self, batch: TranslationBatch) -> int:
        return len(batch.index)

    def units(self, batch: TranslationBatch) -> int:
        return batch.n_tgt_tokens

    def tokens(self, batch: TranslationBatch) -> int:
        return batch.n_tgt_tokens

    def padding(self, batch: TranslationBatch) -> tuple[int, int]:
        return batch.n_real, batch.n_padded

    def loss_sum(self, model: nn.Module, batch: TranslationBatch) -> torch.Tensor:
        real = batch.tgt_out != PAD_ID
        logits = model(batch.src, batch.src_lengths, batch.tgt_in, self.teacher_forcing, real)
        return self.loss_fn(logits.float(), batch.tgt_out[real])

    def validate(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        """Dev perplexity (of the subset with ``loss_on_subset``) and greedy-decoded
        BLEU/chrF of all of dev against its raw references."""
        loss_data = self.dev_subset[0] if self.loss_on_subset and self.dev_subset else None
        return self._validate(model, self.splits.dev, self.splits.dev_references, loss_data)

    def validate_subset(self, model: nn.Module) -> tuple[float, dict[str, float]] | None:
        if self.dev_subset is None:
            return None
        return self._validate(model, *self.dev_subset)

    def validation_examples(self, subset: bool) -> int:
        return len(
            self.dev_subset[0] if subset and self.dev_subset is not None else self.splits.dev
        )

    def _validate(
        self,
        model: nn.Module,
        dev: ParallelDataset,
        references: list[str],
        loss_data: ParallelDataset | None = None,
    ) -> tuple[float, dict[str, float]]:
        scores = evaluate_translation(
            model,
            dev,
            references,
            self.splits.tgt_tokenizer,
            self.device,
            bleu_tokenize=self.bleu_tokenize,
            ratio=self.max_output_ratio,
            offset=self.max_output_offset,
            batch_tokens=self.eval_batch_tokens,
            amp=self.amp,
            loss_data=loss_data,
        )
        self.signature = scores.signature
        return scores.loss, scores.metrics()

    def state(self) -> dict[str, Any]:
        return {"signature": self.signature}

    def load_state(self, state: dict[str, Any]) -> None:
        self.signature = state.get("signature", self.signature)


def _subset(splits: TranslationSplits, cap: int) -> tuple[ParallelDataset, list[str]] | None:
    """The dev subset's encoded pairs and raw references."""
    index = dev_subset(len(splits.dev), cap)
    if index is None:
        return None
    dev = splits.dev
    pairs = ParallelDataset([dev.src_ids[i] for i in index], [dev.tgt_ids[i] for i in index])
    return pairs, [splits.dev_references[i] for i in index]
