"""The epoch loop: train, validate, let callbacks see every epoch, remember the best state."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hpo.data.batching import EncodedDataset
from hpo.params import integer, read_params, real
from hpo.training.builders import (
    OPTIMIZER_PARAMS,
    SCHEDULE_PARAMS,
    build_optimizer,
    build_scheduler,
)
from hpo.training.metrics import accuracy, is_better, macro_f1


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class EpochRecord:
    """What one epoch produced; ``metrics`` holds the validation metrics by name."""

    epoch: int
    train_loss: float
    val_loss: float
    metrics: dict[str, float]
    lr: float
    seconds: float
    tokens_per_s: float
    padding: float | None = None  # share of padded positions in the training batches

    def value(self, metric: str) -> float:
        return self.val_loss if metric == "loss" else self.metrics[metric]


FIT_PARAMS = (
    integer("batch_size", 64, "texts per batch", low=1),
    real("clip_grad", 0.0, "largest gradient norm; 0 = no clipping", low=0.0),
)
# Everything the classification loop reads from a trial.
TRAINER_PARAMS = (*FIT_PARAMS, *OPTIMIZER_PARAMS, *SCHEDULE_PARAMS)


@dataclass
class FitSettings:
    """What a trial's parameters and the study's limits say about one training run."""

    max_epochs: int
    metric: str = "accuracy"
    maximize: bool = True
    batch_size: int = 64
    clip_grad: float = 0.0
    time_limit: float | None = None
    seed: int = 0
    amp: bool = True
    num_classes: int = 2

    @classmethod
    def from_params(cls, params: dict[str, Any], **limits: Any) -> FitSettings:
        return cls(**read_params(FIT_PARAMS, params), **limits)


@dataclass
class FitResult:
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stop_reason: str = "max_epochs"


EpochCallback = Callable[[EpochRecord], None]
StepCallback = Callable[[nn.Module], None]


def fit(
    model: nn.Module,
    train_data: EncodedDataset,
    dev_data: EncodedDataset,
    params: dict[str, Any],
    settings: FitSettings,
    callbacks: Sequence[EpochCallback] = (),
    device: torch.device | None = None,
    after_step: Sequence[StepCallback] = (),
) -> FitResult:
    """Train ``model`` epoch by epoch and validate after each epoch.

    Callbacks run after every validation and may stop training by raising (the pruning
    callback raises ``optuna.TrialPruned``); the result so far is then lost to the caller,
    which already saw every epoch through the callbacks. ``after_step`` hooks run after
    every optimizer step (weight masks of magnitude pruning are re-applied there).
    """
    device = device or torch.device("cpu")
    model.to(device)
    optimizer = build_optimizer(model, params)
    scheduler = build_scheduler(
        optimizer, params, max_epochs=settings.max_epochs, maximize=settings.maximize
    )
    use_amp = settings.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(settings.seed)
    deadline = time.monotonic() + settings.time_limit if settings.time_limit else None
    result = FitResult()

    for epoch in range(1, settings.max_epochs + 1):
        started = time.perf_counter()
        model.train()
        total_loss, total_examples, total_tokens = 0.0, 0, 0
        out_of_time = False
        for batch in train_data.batches(settings.batch_size, generator):
            batch = batch.to(device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=use_amp):
                logits = model(batch.tokens, batch.lengths)
                loss = loss_fn(logits.float(), batch.labels)
            if not torch.isfinite(loss):
                raise DivergedError(f"loss became {loss.item()} in epoch {epoch}")
            scaler.scale(loss).backward()
            if settings.clip_grad > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad)
            scaler.step(optimizer)
            scaler.update()
            for hook in after_step:
                hook(model)
            total_loss += loss.item() * len(batch.labels)
            total_examples += len(batch.labels)
            total_tokens += batch.n_tokens
            if deadline is not None and time.monotonic() > deadline:
                out_of_time = True
                break
        train_seconds = time.perf_counter() - started

        val_loss, metrics = evaluate(model, dev_data, settings, device)
        record = EpochRecord(
            epoch=epoch,
            train_loss=total_loss / max(1, total_examples),
            val_loss=val_loss,
            metrics=metrics,
            lr=optimizer.param_groups[0]["lr"],
            seconds=time.perf_counter() - started,
            tokens_per_s=total_tokens / train_seconds if train_seconds > 0 else 0.0,
        )
        result.history.append(record)
        value = record.value(settings.metric)
        if math.isfinite(value) and is_better(value, result.best_value, settings.maximize):
            result.best_epoch, result.best_value = epoch, value
            result.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
            }
        for callback in callbacks:
            callback(record)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(value)
        elif scheduler is not None:
            scheduler.step()
        if out_of_time:
            result.stop_reason = "time_limit"
            break
    return result


@dataclass
class SplitOutput:
    """What a classifier gives on one split: the mean loss, and logits in the split's order."""

    loss: float
    logits: torch.Tensor  # [examples, classes], float32
    labels: torch.Tensor  # [examples]

    @property
    def predictions(self) -> torch.Tensor:
        return self.logits.argmax(dim=1)

    def metrics(self, num_classes: int) -> dict[str, float]:
        """The metrics a trial records for every epoch: accuracy and macro-F1."""
        return {
            "accuracy": accuracy(self.predictions, self.labels),
            "f1": macro_f1(self.predictions, self.labels, num_classes),
        }


@torch.no_grad()
def run_split(
    model: nn.Module, data: EncodedDataset, settings: FitSettings, device: torch.device
) -> SplitOutput:
    """Run ``model`` over ``data`` in length-sorted batches (AMP on CUDA when asked for).

    This is the validation pass of every trial; ``hpo evaluate`` and ``hpo predict`` use it
    too, so they compute exactly what a trial recorded.
    """
    model.eval()
    loss_sum, logits_by_batch, labels_by_batch, order = 0.0, [], [], []
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    use_amp = settings.amp and device.type == "cuda"
    for batch in data.batches(max(settings.batch_size, 256)):
        batch = batch.to(device)
        with torch.autocast(device.type, enabled=use_amp):
            logits = model(batch.tokens, batch.lengths).float()
        loss_sum += float(loss_fn(logits, batch.labels))
        logits_by_batch.append(logits)
        labels_by_batch.append(batch.labels)
        order.extend(batch.index)
    # The batches are sorted by length; this puts every example back in its place.
    restore = torch.argsort(torch.tensor(order)).to(device)
    logits, labels = torch.cat(logits_by_batch)[restore], torch.cat(labels_by_batch)[restore]
    return SplitOutput(loss_sum / max(1, len(data)), logits, labels)


def evaluate(
    model: nn.Module, data: EncodedDataset, settings: FitSettings, device: torch.device
) -> tuple[float, dict[str, float]]:
    """Mean cross-entropy and the classification metrics of ``model`` on ``data``."""
    output = run_split(model, data, settings, device)
    return output.loss, output.metrics(settings.num_classes)
