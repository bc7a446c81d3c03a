"""The one training loop of every task, read top to bottom as in JoeyNMT's TrainManager; what
differs between tasks (batches, the units a loss is normalised by, the loss, the validation) is
behind :class:`TrainingTask`.

Every epoch: the task's training batches in a seeded order, taken ``accumulate`` at a time (a
window); each batch's summed loss is divided by the units (examples, target tokens) of the whole
window, so a window weighs every unit alike and the last, shorter window of an epoch by its own
units; mixed precision where ``amp`` pays (:mod:`~hpo.training.precision`), clipping, one optimizer
step per window at its rate, and the ``after_step`` hooks.

The run reports every ``report_every`` training examples (at the first optimizer step at or after
each multiple, :mod:`hpo.training.report_schedule`) and at every epoch's end. A report validates
(within an epoch on the task's fixed dev subset, at an epoch's end on all of dev), appends an
:class:`EpochRecord` and calls the callbacks (the log, pruning; they may raise to stop). The best
state and value come from epoch ends only. An epoch's end then steps the epoch schedule. With a
checkpoint folder every report writes ``last.pt`` (within an epoch only where it costs little:
:func:`~hpo.training.resume.checkpoint_due`; at a new best the same file is ``best.pt`` too)
holding model, optimizer, schedule, scaler, counters, the best so far, every random generator and,
within an epoch, how far it got (:mod:`hpo.training.epoch_progress`), from which ``resume``
continues to the same weights as an uninterrupted run. A ``time_limit`` stops training early enough
for the report at the cut (on all of dev: until it has been validated once, its time is scaled from
the subset's) to end by it; until its first report a run times its first steps and stops with
:class:`TooSlowError` if that report would come past ``first_report_limit``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.training.builders import build_optimizer
from hpo.training.epoch_progress import EpochProgress
from hpo.training.first_report import FirstReportProbe, ReportLimit, TooSlowError
from hpo.training.lr_schedule import LearningRate
from hpo.training.metrics import is_better
from hpo.training.precision import autocast, keep_kernels, training_dtype
from hpo.training.records import EpochRecord, FitResult
from hpo.training.report_schedule import ReportSchedule
from hpo.training.resume import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    checkpoint_due,
    load_state,
    random_state,
    restore_random_state,
    save_states,
)
from hpo.training.task import Batch, TrainingTask, windows

__all__ = [
    "Batch",
    "DivergedError",
    "EpochCallback",
    "EpochRecord",
    "FitResult",
    "LoopSettings",
    "ReportLimit",
    "StepCallback",
    "TooSlowError",
    "TrainingTask",
    "fit",
]


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


EpochCallback = Callable[[EpochRecord], None]
StepCallback = Callable[[nn.Module], None]


@dataclass
class LoopSettings:
    """How the loop trains: limits, reports, accumulation, clipping, warm-up, seed, AMP.

    ``report_every`` is ``auto``, a fraction of an epoch or a number of training examples
    (:mod:`hpo.amounts`). ``first_report_limit``: the time by which the first report must
    come. Each task's settings extend these (batches, loss, decoding limits; defaults) and
    are handed to :func:`fit` as they are: the loop reads only the fields declared here.
    """

    max_epochs: int
    metric: str
    maximize: bool
    accumulate: int = 1
    clip_grad: float = 0.0
    warmup_steps: int = 0
    time_limit: float | None = None
    seed: int = 0
    amp: bool = True
    report_every: str = "auto"
    first_report_limit: ReportLimit | None = None


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
    """Train ``model`` on ``task``, reporting within epochs and at every epoch's end.

    ``params`` give the optimizer and the learning-rate schedule. Callbacks run after every report
    and may stop training by raising (the pruning callback raises ``optuna.TrialPruned``).
    ``after_step`` hooks run after every optimizer step (magnitude pruning's masks). With
    ``checkpoint_dir``, ``last.pt`` is written at every report (within an epoch where it costs
    little), ``best.pt`` at every new best; ``resume`` continues from ``last.pt`` where it exists.
    ``result`` may be a subclass of :class:`FitResult` to fill. A run too slow for
    ``settings.first_report_limit`` raises :class:`TooSlowError`.

    Example:
        .. code-block:: python

            task = ClassificationTask(splits.train, splits.dev, batch_size=32, num_classes=4)
            settings = LoopSettings(max_epochs=5, metric="accuracy", maximize=True)
            result = fit(model, task, params, settings, checkpoint_dir=Path("run"), resume=True)
            print(result.best_epoch, result.best_value, result.examples_seen)
    """
    device = device or torch.device("cpu")
    keep_kernels()
    run = _Run(model, task, params, settings, device, result, callbacks, checkpoint_dir)
    if resume and checkpoint_dir is not None and (checkpoint_dir / LAST_CHECKPOINT).is_file():
        run.restore(checkpoint_dir)
    started = time.monotonic()
    deadline = started + settings.time_limit if settings.time_limit else None
    if settings.first_report_limit is not None and not run.result.history:
        limit = settings.first_report_limit
        run.probe = FirstReportProbe.for_run(limit, started, task, run.schedule)
    first = run.epoch if run.progress is not None else run.epoch + 1
    for epoch in range(first, settings.max_epochs + 1):
        # No room left for another epoch's report (the first epoch always trains).
        out_of_time = bool(run.result.history) and run.out_of_time(deadline)
        if not out_of_time:
            run.epoch = epoch
            out_of_time = run.train_epoch(epoch, deadline, after_step)
            improved = run.report(epoch_end=True)
            run.rate.after_epoch(run.result.history[-1].value(settings.metric), run.step)
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
        callbacks: Sequence[EpochCallback],
        checkpoint_dir: Path | None,
    ):
        self.model = model.to(device)
        self.task, self.settings, self.device = task, settings, device
        self.optimizer = build_optimizer(model, params)
        self.rate = LearningRate(
            self.optimizer,
            params,
            max_epochs=settings.max_epochs,
            maximize=settings.maximize,
            warmup_steps=settings.warmup_steps,
        )
        self.amp_dtype = training_dtype(device, settings.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.result = result if result is not None else FitResult()
        self.epoch_examples = task.epoch_examples()
        self.schedule = ReportSchedule(settings.report_every, self.epoch_examples)
        self.callbacks, self.checkpoint_dir = callbacks, checkpoint_dir
        self.epoch, self.step = 0, 0
        # Since the run began: the pruner's step, and the cost of the run.
        self.examples, self.tokens, self.train_seconds, self.val_seconds = 0, 0, 0.0, 0.0
        # The epoch in progress (set when resuming within one); the clock of its training.
        self.progress: EpochProgress | None = None
        self.clock = time.perf_counter()
        # Until the first report: whether it can come in time (set by ``fit``).
        self.probe: FirstReportProbe | None = None
        # What a report at a time limit's cut takes: all of dev (see ``report``), a checkpoint.
        self.full_val_seconds, self.save_seconds, self.saved_at = 0.0, 0.0, time.monotonic()
        self.full_val_known = False

    def train_epoch(
        self, epoch: int, deadline: float | None, after_step: Sequence[StepCallback]
    ) -> bool:
        """One epoch of optimizer steps and the reports within it; True when the time limit
        cut it short."""
        self.model.train()
        if self.progress is None:
            self.progress = EpochProgress(self.generator.get_state())
        progress, totals = self.progress, self.progress.totals
        # A run resumed within the epoch draws the same order again and skips what it
        # trained; every other generator is already where the checkpoint found it.
        self.generator.set_state(progress.generator_state)
        batches = islice(self.task.batches(self.generator), progress.batches, None)
        self.clock = time.perf_counter()
        for window in windows(batches, self.settings.accumulate):
            # Units are counted on the host, before the batches move: no device sync.
            window_units = sum(self.task.units(batch) for batch in window)
            window_examples = sum(self.task.examples(batch) for batch in window)
            window_loss = torch.zeros((), device=self.device)
            # Zeroed here, not after the step: magnitude pruning reads the last step's gradients.
            self.optimizer.zero_grad(set_to_none=True)
            window_tokens = 0
            for batch in window:
                tokens = self.task.tokens(batch)
                totals.count(tokens, self.task.padding(batch))
                window_tokens += tokens
                batch = batch.to(self.device)
                with autocast(self.device, self.amp_dtype):
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
            progress.batches += len(window)
            progress.examples += window_examples
            before, self.examples = self.examples, self.examples + window_examples
            self.tokens += window_tokens
            if self.out_of_time(deadline):
                return True
            if self.probe is not None:
                self._probe_first_report()
            # A multiple reached near the epoch's end is left to the epoch's report.
            trained = self.train_seconds + time.perf_counter() - self.clock
            due = self.schedule.due(before, self.examples, trained)
            if due and self.schedule.within_epoch(progress.examples):
                self.report(epoch_end=False)
                if self.checkpoint_dir is not None:
                    self.save(self.checkpoint_dir, improved=False, within_epoch=True)
                self.model.train()
                self.clock = time.perf_counter()
        return False

    def out_of_time(self, deadline: float | None) -> bool:
        """Whether training must stop now for a report at the cut, and its checkpoint, to end
        by ``deadline`` (with a tenth to spare, as validations vary)."""
        reserve = 1.1 * (self.full_val_seconds + self.save_seconds)
        return deadline is not None and time.monotonic() + reserve > deadline

    def _probe_first_report(self) -> None:
        """Stop the run here if its first report cannot come in time."""
        assert self.probe is not None
        estimate = self.probe.after_step(self.examples, time.monotonic())
        if estimate is None:
            return
        self.probe = None
        if estimate.too_slow:
            trained = self.train_seconds + time.perf_counter() - self.clock
            raise TooSlowError(estimate, self.examples, self.tokens, trained)

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

    def report(self, epoch_end: bool) -> bool:
        """Validate, record the report, call the callbacks; True at a new best (which only
        an epoch's end, validated on all of dev, can be)."""
        progress = self.progress
        assert progress is not None
        self.probe = None  # the first report came
        started = time.perf_counter()
        train_seconds = started - self.clock
        subset = None if epoch_end else self.task.validate_subset(self.model)
        val_loss, metrics = subset if subset is not None else self.task.validate(self.model)
        val_seconds = time.perf_counter() - started
        if subset is None:
            self.full_val_seconds, self.full_val_known = val_seconds, True
        elif not self.full_val_known:  # the subset's time, scaled to all of dev
            dev, part = (self.task.validation_examples(s) for s in (False, True))
            self.full_val_seconds = val_seconds * dev / max(1, part)
        progress.train_seconds += train_seconds
        progress.val_seconds += val_seconds
        self.train_seconds += train_seconds
        self.val_seconds += val_seconds
        totals = progress.totals
        record = EpochRecord(
            epoch=self.epoch
            if epoch_end
            else progress.epochs_done(self.epoch, self.epoch_examples),
            train_loss=totals.loss / max(1, totals.units),
            val_loss=val_loss,
            metrics=metrics,
            lr=self.optimizer.param_groups[0]["lr"],
            seconds=progress.train_seconds + progress.val_seconds,
            tokens_per_s=totals.tokens / progress.train_seconds
            if progress.train_seconds > 0
            else 0.0,
            padding=totals.padding_share(),
            examples=self.examples,
            tokens=self.tokens,
            subset=subset is not None,
            train_seconds=train_seconds,
            val_seconds=val_seconds,
            epoch_examples=self.epoch_examples,
        )
        result = self.result
        result.history.append(record)
        result.examples_seen, result.tokens_seen = self.examples, self.tokens
        result.train_seconds, result.val_seconds = self.train_seconds, self.val_seconds
        improved = False
        if epoch_end:
            self.progress = None
            value = record.value(self.settings.metric)
            improved = math.isfinite(value) and is_better(
                value, result.best_value, self.settings.maximize
            )
            if improved:
                result.best_epoch, result.best_value = self.epoch, value
                result.best_state = {
                    k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()
                }
        for callback in self.callbacks:
            callback(record)
        return improved

    def save(self, directory: Path, improved: bool, within_epoch: bool = False) -> None:
        if within_epoch and not checkpoint_due(time.monotonic() - self.saved_at, self.save_seconds):
            return
        started = time.perf_counter()
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.rate.state_dict(),
            "scaler": self.scaler.state_dict(),
            **random_state(self.generator, self.device),
            "epoch": self.epoch,
            "step": self.step,
            "examples": self.examples,
            "tokens": self.tokens,
            "train_seconds": self.train_seconds,
            "val_seconds": self.val_seconds,
            # Within an epoch: how far it got. None at an epoch's end.
            "in_epoch": self.progress.state() if self.progress is not None else None,
            "history": [asdict(r) for r in self.result.history],
            "best_epoch": self.result.best_epoch,
            "best_value": self.result.best_value,
            "task": self.task.state(),
        }
        best = directory / BEST_CHECKPOINT if improved else None
        save_states(state, directory / LAST_CHECKPOINT, best)
        self.save_seconds = time.perf_counter() - started
        self.saved_at = time.monotonic()

    def restore(self, directory: Path) -> None:
        state = load_state(directory / LAST_CHECKPOINT)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rate.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        restore_random_state(state, self.generator, self.device)
        self.epoch, self.step = state["epoch"], state["step"]
        # Checkpoints from before reports within epochs were written at epochs' ends only.
        self.examples = state.get("examples", self.epoch * self.epoch_examples)
        self.tokens, self.train_seconds = state.get("tokens", 0), state.get("train_seconds", 0.0)
        self.val_seconds = state.get("val_seconds", 0.0)
        self.progress = EpochProgress.from_state(s) if (s := state.get("in_epoch")) else None
        result = self.result
        result.history = [EpochRecord(**r) for r in state["history"]]
        full = [r.val_seconds for r in result.history if not r.subset]  # for a cut's report
        self.full_val_seconds, self.full_val_known = (full[-1], True) if full else (0.0, False)
        result.best_epoch, result.best_value = state["best_epoch"], state["best_value"]
        result.examples_seen, result.tokens_seen = self.examples, self.tokens
        result.train_seconds, result.val_seconds = self.train_seconds, self.val_seconds
        self.task.load_state(state.get("task", {}))
        if (directory / BEST_CHECKPOINT).is_file():
            result.best_state = load_state(directory / BEST_CHECKPOINT)["model"]
