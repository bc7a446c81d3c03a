"""Training a translator: the trial's settings, and :func:`fit_seq2seq` over the one loop.

The loop (:func:`hpo.training.loop.fit`) owns accumulation, clipping, AMP, warm-up and
schedules (``inverse_sqrt`` among them, set per optimizer step), checkpoints and resume;
:class:`hpo.training.translation_step.TranslationTask` gives token-budget batches, the
label-smoothed loss over real target tokens, and validation by perplexity and greedy
BLEU/chrF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.data.prepare_translation import TranslationSplits
from hpo.params import fraction, integer, read_params, real
from hpo.training import loop
from hpo.training.builders import OPTIMIZER_PARAMS, SEQ2SEQ_SCHEDULE_PARAMS
from hpo.training.loop import EpochCallback, FitResult, LoopSettings, StepCallback
from hpo.training.resume import BEST_CHECKPOINT, LAST_CHECKPOINT
from hpo.training.translation_step import TranslationTask

__all__ = [
    "BEST_CHECKPOINT",
    "LAST_CHECKPOINT",
    "SEQ2SEQ_FIT_PARAMS",
    "SEQ2SEQ_TRAINER_PARAMS",
    "Seq2SeqResult",
    "Seq2SeqSettings",
    "eval_batch_tokens",
    "fit_seq2seq",
    "translation_task",
]


SEQ2SEQ_FIT_PARAMS = (
    integer("batch_tokens", 2000, "token budget of a batch, padding counted", low=1),
    integer("accumulate", 1, "batches whose gradients make one optimizer step", low=1),
    real("clip_grad", 1.0, "largest gradient norm; 0 = no clipping", low=0.0),
    fraction("label_smoothing", 0.0, "label smoothing of the loss"),
    fraction(
        "teacher_forcing", 1.0, "share of steps fed the gold previous token", one_allowed=True
    ),
    integer("warmup_steps", 0, "optimizer steps of linear learning-rate warm-up", low=0),
)
# Everything the translation loop reads from a trial.
SEQ2SEQ_TRAINER_PARAMS = (*SEQ2SEQ_FIT_PARAMS, *OPTIMIZER_PARAMS, *SEQ2SEQ_SCHEDULE_PARAMS)


@dataclass
class Seq2SeqSettings(LoopSettings):
    """What a trial's parameters and the study's limits say about one translation run: the
    loop's settings and the translator's batches, loss and decoding limits.

    Example:
        >>> settings = Seq2SeqSettings.from_params({"batch_tokens": 800}, max_epochs=3)
        >>> settings.batch_tokens, settings.metric, settings.clip_grad
        (800, 'bleu', 1.0)
    """

    metric: str = "bleu"
    maximize: bool = True
    clip_grad: float = 1.0
    batch_tokens: int = 2000
    label_smoothing: float = 0.0
    teacher_forcing: float = 1.0
    max_output_ratio: float = 1.5
    max_output_offset: int = 10
    bleu_tokenize: str = "13a"

    @classmethod
    def from_params(cls, params: dict[str, Any], **limits: Any) -> Seq2SeqSettings:
        return cls(**read_params(SEQ2SEQ_FIT_PARAMS, params), **limits)


@dataclass
class Seq2SeqResult(FitResult):
    """:class:`FitResult` plus the sacrebleu signature of the validation BLEU."""

    signature: str = ""


def fit_seq2seq(
    model: nn.Module,
    splits: TranslationSplits,
    params: dict[str, Any],
    settings: Seq2SeqSettings,
    callbacks: Sequence[EpochCallback] = (),
    device: torch.device | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    after_step: Sequence[StepCallback] = (),
) -> Seq2SeqResult:
    """Train a translation ``model``, reporting every ``settings.report_every`` and at every
    epoch's end. Where ``settings.metric`` is BLEU or chrF, every report's loss and
    perplexity are of the dev subset; with ``ppl``, an epoch's end measures them on all
    of dev.

    With ``checkpoint_dir``, ``last.pt`` is written at every report and ``best.pt`` at
    every new best; with ``resume`` training continues from ``last.pt`` when it exists.
    ``after_step`` hooks run after every optimizer step (the lottery's weight masks).

    Example:
        .. code-block:: python

            settings = Seq2SeqSettings.from_params(params, max_epochs=10, metric="bleu")
            result = fit_seq2seq(model, splits, params, settings, callbacks=[log_epoch])
            print(result.best_value, result.signature)
    """
    device = device or torch.device("cpu")
    task = translation_task(splits, settings, device, loss_on_subset=settings.metric != "ppl")
    result = Seq2SeqResult()
    loop.fit(
        model,
        task,
        params,
        settings,
        callbacks,
        device,
        after_step,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        result=result,
    )
    result.signature = task.signature
    return result


def translation_task(
    splits: TranslationSplits,
    settings: Seq2SeqSettings,
    device: torch.device,
    *,
    loss_on_subset: bool = False,
) -> TranslationTask:
    """The translation step and validation that ``settings`` describe (``loss_on_subset``:
    as :class:`~hpo.training.translation_step.TranslationTask` has it)."""
    return TranslationTask(
        splits,
        batch_tokens=settings.batch_tokens,
        label_smoothing=settings.label_smoothing,
        teacher_forcing=settings.teacher_forcing,
        eval_batch_tokens=eval_batch_tokens(settings),
        bleu_tokenize=settings.bleu_tokenize,
        max_output_ratio=settings.max_output_ratio,
        max_output_offset=settings.max_output_offset,
        amp=settings.amp,
        device=device,
        loss_on_subset=loss_on_subset,
    )


def eval_batch_tokens(settings: Seq2SeqSettings) -> int:
    """Validation batches: no gradients are kept, so they can be larger than training ones."""
    return max(settings.batch_tokens, 4000)
