"""What a training run reports: one record per report, and the result of the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class EpochRecord:
    """One report: at an epoch's end (all of dev) or within an epoch (the dev subset).

    ``epoch`` is the epoch's number at its end, and the epochs done so far within one
    (``1.25``: a quarter into the second); ``examples`` and ``tokens`` count the training
    data seen since the run began (``examples`` is the pruner's step). ``train_seconds``
    is the training since the report before, ``val_seconds`` this report's validation;
    ``seconds`` and ``tokens_per_s`` cover the epoch so far. ``metrics`` holds the
    validation metrics by name.

    Example:
        >>> record = EpochRecord(1.5, 0.7, 0.6, {"accuracy": 0.8}, 0.01, 3.0, 900.0)
        >>> record.value("accuracy"), record.at_epoch_end
        (0.8, False)
    """

    epoch: float
    train_loss: float
    val_loss: float
    metrics: dict[str, float]
    lr: float
    seconds: float
    tokens_per_s: float
    padding: float | None = None  # share of padded positions in the training batches
    examples: int = 0
    tokens: int = 0
    subset: bool = False  # validated on the dev subset, not all of dev
    train_seconds: float = 0.0
    val_seconds: float = 0.0
    epoch_examples: int = 0  # training examples in one epoch

    def value(self, metric: str) -> float:
        return self.val_loss if metric == "loss" else self.metrics[metric]

    @property
    def at_epoch_end(self) -> bool:
        """Whether this is an epoch's last report (validated on all of dev)."""
        return float(self.epoch).is_integer()


def where(record: EpochRecord) -> str:
    """``epoch 3``, or ``epoch 2.5 (dev subset)`` for a report within an epoch.

    Example:
        >>> where(EpochRecord(2.5, 0.7, 0.6, {}, 0.01, 3.0, 900.0, subset=True))
        'epoch 2.5 (dev subset)'
    """
    epochs = f"{round(record.epoch, 2):g}"
    return f"epoch {epochs}" + (" (dev subset)" if record.subset else "")


@dataclass
class FitResult:
    """A run's reports, its best epoch (from epoch ends only) and what it cost so far."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stop_reason: str = "max_epochs"
    examples_seen: int = 0
    tokens_seen: int = 0
    train_seconds: float = 0.0
    val_seconds: float = 0.0

    def epoch_record(self, epoch: int) -> EpochRecord:
        """The report at the end of ``epoch``."""
        return next(r for r in self.history if r.at_epoch_end and r.epoch == epoch)
