"""The translation training loop, read top to bottom as in JoeyNMT's TrainManager.

Every epoch: batches under a token budget in a seeded random order; cross-entropy over real
target tokens (optionally label-smoothed), gradients accumulated over ``accumulate`` batches,
clipped, scaled under AMP on CUDA; the learning rate warmed up over the first optimizer
steps (with ``cosine``, set at every step to the warm-up share times the epoch's cosine
share, so that the two combine exactly and a resumed run stays on the same curve; with
``inverse_sqrt``, set at every step by the inverse-square-root schedule, warm-up included);
then validation (perplexity, greedy BLEU and chrF), epoch callbacks (epoch log, pruning),
the schedule step, and, with a checkpoint folder, the last and best checkpoints holding
model, optimizer, scheduler and scaler state and the random state (the CUDA generators'
too on a GPU), from which training can resume.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.atomic_files import atomic_path
from hpo.data.prepare_translation import TranslationSplits
from hpo.data.tokenizer import PAD_ID
from hpo.params import fraction, integer, read_params, real
from hpo.training.builders import (
    OPTIMIZER_PARAMS,
    SEQ2SEQ_SCHEDULE_PARAMS,
    build_optimizer,
    build_scheduler,
    cosine_factor,
    inverse_sqrt_factor,
)
from hpo.training.metrics import is_better
from hpo.training.trainer import DivergedError, EpochCallback, EpochRecord, FitResult
from hpo.training.translation_eval import TranslationScores, evaluate_translation

LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"


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
class Seq2SeqSettings:
    """What a trial's parameters and the study's limits say about one translation run.

    Example:
        >>> Seq2SeqSettings.from_params({"batch_tokens": 800}, max_epochs=3).batch_tokens
        800
    """

    max_epochs: int
    metric: str = "bleu"
    maximize: bool = True
    batch_tokens: int = 2000
    accumulate: int = 1
    clip_grad: float = 1.0
    label_smoothing: float = 0.0
    teacher_forcing: float = 1.0
    warmup_steps: int = 0
    time_limit: float | None = None
    seed: int = 0
    amp: bool = True
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
) -> Seq2SeqResult:
    """Train a translation ``model`` epoch by epoch and validate after each epoch.

    With ``checkpoint_dir``, ``last.pt`` is written after every epoch and ``best.pt`` after
    every new best; with ``resume`` training continues from ``last.pt`` when it exists.

    Example:
        .. code-block:: python

            settings = Seq2SeqSettings.from_params(params, max_epochs=10, metric="bleu")
            result = fit_seq2seq(model, splits, params, settings, callbacks=[log_epoch])
            print(result.best_value, result.signature)
    """
    device = device or torch.device("cpu")
    model.to(device)
    optimizer = build_optimizer(model, params)
    # Cosine and inverse_sqrt are computed per step below, where they combine with warm-up
    # exactly and resume from the stored step on the same curve.
    cosine = params.get("lr_schedule") == "cosine"
    inverse_sqrt = params.get("lr_schedule") == "inverse_sqrt"
    scheduler = None
    if not (cosine or inverse_sqrt):
        scheduler = build_scheduler(
            optimizer, params, max_epochs=settings.max_epochs, maximize=settings.maximize
        )
    use_amp = settings.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss(
        ignore_index=PAD_ID, label_smoothing=settings.label_smoothing, reduction="sum"
    )
    generator = torch.Generator().manual_seed(settings.seed)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    result = Seq2SeqResult()
    step, first_epoch = 0, 1
    if resume and checkpoint_dir is not None and (checkpoint_dir / LAST_CHECKPOINT).is_file():
        state = torch.load(checkpoint_dir / LAST_CHECKPOINT, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        generator.set_state(state["generator"])
        _restore_rng(state, device)
        step, first_epoch = state["step"], state["epoch"] + 1
        result.history = [EpochRecord(**r) for r in state["history"]]
        result.best_epoch, result.best_value = state["best_epoch"], state["best_value"]
        result.signature = state["signature"]
        if (checkpoint_dir / BEST_CHECKPOINT).is_file():
            best = torch.load(
                checkpoint_dir / BEST_CHECKPOINT, map_location="cpu", weights_only=True
            )
            result.best_state = best["model"]
    deadline = time.monotonic() + settings.time_limit if settings.time_limit else None

    for epoch in range(first_epoch, settings.max_epochs + 1):
        started = time.perf_counter()
        model.train()
        loss_sum, n_tokens, real, padded = 0.0, 0, 0, 0
        out_of_time = False
        optimizer.zero_grad(set_to_none=True)
        batches = list(splits.train.batches(settings.batch_tokens, generator))
        for i, batch in enumerate(batches, start=1):
            batch = batch.to(device)
            with torch.autocast(device.type, enabled=use_amp):
                logits = model(batch.src, batch.src_lengths, batch.tgt_in, settings.teacher_forcing)
                loss = loss_fn(logits.float().flatten(0, 1), batch.tgt_out.flatten())
            if not torch.isfinite(loss):
                raise DivergedError(f"loss became {loss.item()} in epoch {epoch}")
            # Mean over target tokens, spread over the accumulated batches.
            scaler.scale(loss / (batch.n_tgt_tokens * settings.accumulate)).backward()
            loss_sum += loss.item()
            n_tokens += batch.n_tgt_tokens
            real, padded = real + batch.n_real, padded + batch.n_padded
            if deadline is not None and time.monotonic() > deadline:
                out_of_time = True
            if i % settings.accumulate == 0 or i == len(batches) or out_of_time:
                step += 1
                if cosine:
                    share = _warm_up_share(step, settings.warmup_steps)
                    _set_lr(optimizer, base_lrs, share * cosine_factor(epoch, settings.max_epochs))
                elif inverse_sqrt:
                    _set_lr(optimizer, base_lrs, inverse_sqrt_factor(step, settings.warmup_steps))
                elif step <= settings.warmup_steps:
                    _set_lr(optimizer, base_lrs, _warm_up_share(step, settings.warmup_steps))
                if settings.clip_grad > 0:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
            if out_of_time:
                break
        train_seconds = time.perf_counter() - started

        scores = validate(model, splits, settings, device)
        record = EpochRecord(
            epoch=epoch,
            train_loss=loss_sum / max(1, n_tokens),
            val_loss=scores.loss,
            metrics=scores.metrics(),
            lr=optimizer.param_groups[0]["lr"],
            seconds=time.perf_counter() - started,
            tokens_per_s=n_tokens / train_seconds if train_seconds > 0 else 0.0,
            padding=1.0 - real / padded if padded else 0.0,
        )
        result.history.append(record)
        result.signature = scores.signature
        value = record.value(settings.metric)
        improved = math.isfinite(value) and is_better(value, result.best_value, settings.maximize)
        if improved:
            result.best_epoch, result.best_value = epoch, value
            result.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
            }
        for callback in callbacks:
            callback(record)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if step > settings.warmup_steps:  # the plateau watches trained epochs, not warm-up
                scheduler.step(value)
        elif scheduler is not None:
            scheduler.step()
        if checkpoint_dir is not None:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict(),
                "generator": generator.get_state(),
                **_rng_state(device),
                "epoch": epoch,
                "step": step,
                "history": [asdict(r) for r in result.history],
                "best_epoch": result.best_epoch,
                "best_value": result.best_value,
                "signature": result.signature,
            }
            _save(state, checkpoint_dir / LAST_CHECKPOINT)
            if improved:
                _save(state, checkpoint_dir / BEST_CHECKPOINT)
        if out_of_time:
            result.stop_reason = "time_limit"
            break
    return result


def validate(
    model: nn.Module, splits: TranslationSplits, settings: Seq2SeqSettings, device: torch.device
) -> TranslationScores:
    """Dev perplexity and greedy-decoded BLEU/chrF against the raw dev references."""
    return evaluate_translation(
        model,
        splits.dev,
        splits.dev_references,
        splits.tgt_tokenizer,
        device,
        bleu_tokenize=settings.bleu_tokenize,
        ratio=settings.max_output_ratio,
        offset=settings.max_output_offset,
        batch_tokens=eval_batch_tokens(settings),
        amp=settings.amp,
    )


def eval_batch_tokens(settings: Seq2SeqSettings) -> int:
    """Validation batches: no gradients are kept, so they can be larger than training ones."""
    return max(settings.batch_tokens, 4000)


def _rng_state(device: torch.device) -> dict[str, Any]:
    """Torch's random state: the CPU generator, and every CUDA generator where CUDA is used.

    Dropout on a GPU draws from the CUDA generators, so a resumed run reproduces the
    uninterrupted one only if they are restored too.
    """
    cuda = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
    return {"torch_rng": torch.get_rng_state(), "cuda_rng": cuda}


def _restore_rng(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch_rng"])
    cuda = state.get("cuda_rng")  # absent in checkpoints written before it was saved
    if cuda and device.type == "cuda":
        # Resumed on a machine with fewer GPUs: restore those that are there.
        for index, rng in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(rng, index)


def _warm_up_share(step: int, warmup: int) -> float:
    """Linear warm-up: the share of the learning rate at optimizer step ``step`` (from 1)."""
    return min(1.0, step / warmup) if warmup > 0 else 1.0


def _set_lr(optimizer: torch.optim.Optimizer, base_lrs: list[float], share: float) -> None:
    for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
        group["lr"] = base * share


def _save(state: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:  # a killed run never leaves a half-written checkpoint
        torch.save(state, tmp)
