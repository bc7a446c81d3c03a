"""Training a classifier: the trial's settings, and :func:`fit` over the one training loop.

The loop itself is :func:`hpo.training.loop.fit`; the classification step and validation
are :class:`hpo.training.classification_step.ClassificationTask`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.data.batching import EncodedDataset
from hpo.params import integer, read_params, real
from hpo.training import loop
from hpo.training.builders import OPTIMIZER_PARAMS, SCHEDULE_PARAMS
from hpo.training.classification_step import ClassificationTask, SplitOutput, run_split
from hpo.training.loop import (
    DivergedError,
    EpochCallback,
    EpochRecord,
    FitResult,
    LoopSettings,
    ReportLimit,
    StepCallback,
)

__all__ = [
    "FIT_PARAMS",
    "TRAINER_PARAMS",
    "DivergedError",
    "EpochCallback",
    "EpochRecord",
    "FitResult",
    "FitSettings",
    "SplitOutput",
    "StepCallback",
    "evaluate",
    "fit",
    "run_split",
]

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
    report_every: str = "auto"
    first_report_limit: ReportLimit | None = None  # set by a study's trial

    @classmethod
    def from_params(cls, params: dict[str, Any], **limits: Any) -> FitSettings:
        return cls(**read_params(FIT_PARAMS, params), **limits)


def fit(
    model: nn.Module,
    train_data: EncodedDataset,
    dev_data: EncodedDataset,
    params: dict[str, Any],
    settings: FitSettings,
    callbacks: Sequence[EpochCallback] = (),
    device: torch.device | None = None,
    after_step: Sequence[StepCallback] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Train a classifier, reporting every ``settings.report_every`` and at every epoch's end.

    Callbacks run after every report and may stop training by raising (the pruning
    callback raises ``optuna.TrialPruned``); the result so far is then lost to the caller,
    which already saw every epoch through the callbacks. ``after_step`` hooks run after
    every optimizer step (weight masks of magnitude pruning are re-applied there). With
    ``checkpoint_dir`` and ``resume``, as in :func:`hpo.training.loop.fit`.

    Example:
        .. code-block:: python

            settings = FitSettings.from_params(params, max_epochs=5, num_classes=4)
            result = fit(model, splits.train, splits.dev, params, settings, [log_epoch])
            print(result.best_epoch, result.best_value)
    """
    device = device or torch.device("cpu")
    task = ClassificationTask(
        train_data,
        dev_data,
        batch_size=settings.batch_size,
        num_classes=settings.num_classes,
        amp=settings.amp,
        device=device,
    )
    return loop.fit(
        model,
        task,
        params,
        loop_settings(settings),
        callbacks,
        device,
        after_step,
        checkpoint_dir,
        resume,
    )


def loop_settings(settings: FitSettings) -> LoopSettings:
    """The loop's part of a classifier's settings: one batch per step, no warm-up."""
    return LoopSettings(
        max_epochs=settings.max_epochs,
        metric=settings.metric,
        maximize=settings.maximize,
        clip_grad=settings.clip_grad,
        time_limit=settings.time_limit,
        seed=settings.seed,
        amp=settings.amp,
        report_every=settings.report_every,
        first_report_limit=settings.first_report_limit,
    )


def evaluate(
    model: nn.Module, data: EncodedDataset, settings: FitSettings, device: torch.device
) -> tuple[float, dict[str, float]]:
    """Mean cross-entropy and the classification metrics of ``model`` on ``data``."""
    output = run_split(model, data, settings, device)
    return output.loss, output.metrics(settings.num_classes)
