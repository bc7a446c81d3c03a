"""The one training loop of every task, read top to bottom as in JoeyNMT's TrainManager.

Every epoch: the task's training batches in a seeded order, taken ``accumulate`` at a time
(a window); each batch's summed loss is divided by the units (examples, target tokens) of
the whole window, so a window weighs every unit alike and the last, shorter window of an
epoch by its own units; gradients scaled under AMP on CUDA, clipped, one optimizer step per
window with the learning rate of that step (:mod:`hpo.training.lr_schedule`) and the
``after_step`` hooks. Then the task's validation, the epoch record, the best state, the
epoch callbacks (the epoch log, pruning; they may raise to stop), the epoch schedule, and,
with a checkpoint folder, ``last.pt`` (and ``best.pt`` at a new best) holding model,
optimizer, schedule, scaler, counters, the best so far and every random generator, from
which ``resume`` continues to the same weights as an uninterrupted run.

What differs between tasks is behind :class:`TrainingTask`: the batches, what a batch's loss
is normalised by, the loss itself and the validation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from hpo.training.builders import build_optimizer
from hpo.training.lr_schedule import LearningRate
from hpo.training.metrics import is_better
from hpo.training.resume import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    load_state,
    random_state,
    restore_random_state,
    save_state,
)


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


@dataclass
class FitResult:
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stop_reason: str = "max_epochs"


EpochCallback = Callable[[EpochRecord], None]
StepCallback = Callable[[nn.Module], None]


class Batch(Protocol):
    def to(self, device: torch.device) -> Any: ...


B = TypeVar("B", bound=Batch)
T = TypeVar("T")


class TrainingTask(Protocol[B]):
    """What one task gives the loop: its batches, their loss and the validation."""

    def batches(self, generator: torch.Generator) -> Iterable[B]:
        """One epoch's training batches, in an order drawn from ``generator``."""
        ...

    def units(self, batch: B) -> int:
        """What the loss is normalised by: examples, or real target tokens."""
        ...

    def tokens(self, batch: B) -> int:
        """Tokens the batch trains on, for the throughput of an epoch."""
        ...

    def padding(self, batch: B) -> tuple[int, int] | None:
        """Real and padded positions of the batch, where padding is worth recording."""
        ...

    def loss_sum(self, model: nn.Module, batch: B) -> torch.Tensor:
        """The batch's loss summed over its units (not averaged), a float32 scalar."""
        ...

    def validate(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        """The validation loss and metrics of ``model``."""
        ...

    def state(self) -> dict[str, Any]:
        """What the task keeps across a resume (stored in the checkpoints)."""
        ...

    def load_state(self, state: dict[str, Any]) -> None: ...


@dataclass
class LoopSettings:
    """How the loop trains: limits, accumulation, clipping, warm-up, seed, AMP."""

    max_epochs: int
    metric: str
    maximize: bool
    accumulate: int = 1
    clip_grad: float = 0.0
    warmup_steps: int = 0
    time_limit: float | None = None
    seed: int = 0
    amp: bool = True


def fit(
    model: nn.Module,
    task: TrainingTask[Any],
    params: dict[str, Any],
    settings: LoopSettings,
    callbacks: Sequence[EpochCallback] = (),
    device: torch.device | None = None,
    after_step: Sequence[StepCallback] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    result: FitResult | None = None,
) -> FitResult:
    """Train ``model`` on ``task`` epoch by epoch and validate after each epoch.

    ``params`` give the optimizer and the learning-rate schedule. Callbacks run after
    every validation and may stop training by raising (the pruning callback raises
    ``optuna.TrialPruned``). ``after_step`` hooks run after every optimizer step (weight
    masks of magnitude pruning are re-applied there). With ``checkpoint_dir``, ``last.pt``
    is written after every epoch and ``best.pt`` after every new best; with ``resume``
    training continues from ``last.pt`` when it exists. ``result`` may be a subclass of
    :class:`FitResult` to fill.

    Example:
        .. code-block:: python

            task = ClassificationTask(splits.train, splits.dev, batch_size=32, num_classes=4)
            settings = LoopSettings(max_epochs=5, metric="accuracy", maximize=True)
            result = fit(model, task, params, settings, checkpoint_dir=Path("run"), resume=True)
            print(result.best_epoch, result.best_value)
    """
    run = _Run(model, task, params, settings, device or torch.device("cpu"), result)
    if resume and checkpoint_dir is not None and (checkpoint_dir / LAST_CHECKPOINT).is_file():
        run.restore(checkpoint_dir)
    deadline = time.monotonic() + settings.time_limit if settings.time_limit else None
    for epoch in range(run.epoch + 1, settings.max_epochs + 1):
        run.epoch = epoch
        started = time.perf_counter()
        out_of_time = run.train_epoch(epoch, deadline, after_step)
        train_seconds = time.perf_counter() - started
        record, improved = run.validate(epoch, started, train_seconds)
        for callback in callbacks:
            callback(record)
        run.rate.after_epoch(record.value(settings.metric), run.step)
        if checkpoint_dir is not None:
            run.save(checkpoint_dir, improved)
        if out_of_time:
            run.result.stop_reason = "time_limit"
            break
    return run.result


class _Run:
    """The state of one run: model, optimizer, rate, scaler, counters, generators, result."""

    def __init__(
        self,
        model: nn.Module,
        task: TrainingTask[Any],
        params: dict[str, Any],
        settings: LoopSettings,
        device: torch.device,
        result: FitResult | None,
    ):
        self.model = model.to(device)
        self.task = task
        self.settings = settings
        self.device = device
        self.optimizer = build_optimizer(model, params)
        self.rate = LearningRate(
            self.optimizer,
            params,
            max_epochs=settings.max_epochs,
            maximize=settings.maximize,
            warmup_steps=settings.warmup_steps,
        )
        self.use_amp = settings.amp and device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.result = result if result is not None else FitResult()
        self.epoch, self.step = 0, 0
        self.epoch_totals = _Totals()

    def train_epoch(
        self, epoch: int, deadline: float | None, after_step: Sequence[StepCallback]
    ) -> bool:
        """One epoch of optimizer steps; True when the time limit cut it short."""
        self.model.train()
        self.epoch_totals = totals = _Totals()
        for window in _windows(self.task.batches(self.generator), self.settings.accumulate):
            # Units are counted on the host, before the batches move: no device sync.
            window_units = sum(self.task.units(batch) for batch in window)
            window_loss = torch.zeros((), device=self.device)
            # Zeroed before the window, not after the step: the last step's gradients stay
            # for a caller to look at (magnitude pruning checks the pruned ones).
            self.optimizer.zero_grad(set_to_none=True)
            for batch in window:
                totals.count(self.task, batch)
                batch = batch.to(self.device)
                with torch.autocast(self.device.type, enabled=self.use_amp):
                    loss = self.task.loss_sum(self.model, batch)
                self.scaler.scale(loss / max(1, window_units)).backward()
                window_loss += loss.detach()
            # One host sync per optimizer step: the divergence check reads the window's loss.
            loss_value = float(window_loss)
            if not math.isfinite(loss_value):
                raise DivergedError(f"loss became {loss_value} in epoch {epoch}")
            self._optimizer_step(epoch, after_step)
            totals.loss += loss_value
            totals.units += window_units
            if deadline is not None and time.monotonic() > deadline:
                return True
        return False

    def _optimizer_step(self, epoch: int, after_step: Sequence[StepCallback]) -> None:
        self.step += 1
        self.rate.before_step(self.step, epoch)
        if self.settings.clip_grad > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        for hook in after_step:
            hook(self.model)

    def validate(
        self, epoch: int, started: float, train_seconds: float
    ) -> tuple[EpochRecord, bool]:
        """Validate, record the epoch, keep the best state; True when it is a new best."""
        val_loss, metrics = self.task.validate(self.model)
        totals = self.epoch_totals
        record = EpochRecord(
            epoch=epoch,
            train_loss=totals.loss / max(1, totals.units),
            val_loss=val_loss,
            metrics=metrics,
            lr=self.optimizer.param_groups[0]["lr"],
            seconds=time.perf_counter() - started,
            tokens_per_s=totals.tokens / train_seconds if train_seconds > 0 else 0.0,
            padding=totals.padding_share(),
        )
        result = self.result
        result.history.append(record)
        value = record.value(self.settings.metric)
        improved = math.isfinite(value) and is_better(
            value, result.best_value, self.settings.maximize
        )
        if improved:
            result.best_epoch, result.best_value = epoch, value
            result.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()
            }
        return record, improved

    def save(self, directory: Path, improved: bool) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.rate.state_dict(),
            "scaler": self.scaler.state_dict(),
            **random_state(self.generator, self.device),
            "epoch": self.epoch,
            "step": self.step,
            "history": [asdict(r) for r in self.result.history],
            "best_epoch": self.result.best_epoch,
            "best_value": self.result.best_value,
            "task": self.task.state(),
        }
        save_state(state, directory / LAST_CHECKPOINT)
        if improved:
            save_state(state, directory / BEST_CHECKPOINT)

    def restore(self, directory: Path) -> None:
        state = load_state(directory / LAST_CHECKPOINT)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rate.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        restore_random_state(state, self.generator, self.device)
        self.epoch, self.step = state["epoch"], state["step"]
        result = self.result
        result.history = [EpochRecord(**r) for r in state["history"]]
        result.best_epoch, result.best_value = state["best_epoch"], state["best_value"]
        self.task.load_state(state.get("task", {}))
        if (directory / BEST_CHECKPOINT).is_file():
            result.best_state = load_state(directory / BEST_CHECKPOINT)["model"]


@dataclass
class _Totals:
    """Sums over one epoch's training batches."""

    loss: float = 0.0
    units: int = 0
    tokens: int = 0
    real: int = 0
    padded: int = 0
    has_padding: bool = False

    def count(self, task: TrainingTask[Any], batch: Any) -> None:
        self.tokens += task.tokens(batch)
        padding = task.padding(batch)
        if padding is not None:
            self.has_padding = True
            self.real, self.padded = self.real + padding[0], self.padded + padding[1]

    def padding_share(self) -> float | None:
        if not self.has_padding:
            return None
        return 1.0 - self.real / self.padded if self.padded else 0.0


def _windows(batches: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` batches; the last may be shorter.

    Example:
        >>> list(_windows(range(5), 2))
        [[0, 1], [2, 3], [4]]
    """
    iterator = iter(batches)
    while window := list(islice(iterator, size)):
        yield window
