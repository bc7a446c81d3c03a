"""What a task gives the one training loop (:mod:`hpo.training.loop`): its batches, what a
batch's loss is normalised by, the loss itself and the validation.

The classification task is :class:`hpo.training.classification_step.ClassificationTask`, the
translation task :class:`hpo.training.translation_step.TranslationTask`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, Protocol, TypeVar

import torch
from torch import nn


class Batch(Protocol):
    def to(self, device: torch.device) -> Any: ...


B = TypeVar("B", bound=Batch)


class TrainingTask(Protocol[B]):
    """What one task gives the loop: its batches, their loss and the validation."""

    def batches(self, generator: torch.Generator) -> Iterable[B]:
        """One epoch's training batches, in an order drawn from ``generator``."""
        ...

    def epoch_examples(self) -> int:
        """Training examples (texts, sentence pairs) in one epoch's batches."""
        ...

    def examples(self, batch: B) -> int:
        """Training examples in the batch: what the reports and the pruner count."""
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
        """The validation loss and metrics of ``model`` on all of dev."""
        ...

    def validate_subset(self, model: nn.Module) -> tuple[float, dict[str, float]] | None:
        """The same on the fixed dev subset of reports within an epoch; None where that
        subset would be all of dev."""
        ...

    def validation_examples(self, subset: bool) -> int:
        """Dev examples that a report validates: the subset's (all of dev where there is
        none) within an epoch, all of dev at an epoch's end."""
        ...

    def state(self) -> dict[str, Any]:
        """What the task keeps across a resume (stored in the checkpoints)."""
        ...

    def load_state(self, state: dict[str, Any]) -> None: ...


T = TypeVar("T")


def windows(batches: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` batches (the accumulation windows of the loop); the last
    may be shorter.

    Example:
        >>> list(windows(range(5), 2))
        [[0, 1], [2, 3], [4]]
    """
    iterator = iter(batches)
    while window := list(islice(iterator, size)):
        yield window
