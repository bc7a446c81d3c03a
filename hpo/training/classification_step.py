"""The classification task of the training loop: cross-entropy per text, accuracy and
macro-F1 on the dev split (within an epoch on a fixed subset of it); and the validation
pass that ``hpo evaluate`` and ``hpo predict`` run too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from hpo.data.batching import ClassificationBatch, EncodedDataset
from hpo.training.metrics import accuracy, macro_f1
from hpo.training.precision import autocast, training_dtype
from hpo.training.report_schedule import dev_subset

# Dev texts validated at a report within an epoch: one forward pass each; 1000 took about
# 5% of the training between two reports of 5000 texts, 500 half that
# (benchmarks/report_cost.py), and an epoch's end validates all of dev anyway.
DEV_SUBSET_TEXTS = 500


class ClassificationTask:
    """Texts in length-bucketed batches of ``batch_size``; the loss is normalised by texts.

    Reports within an epoch validate on at most ``dev_subset`` texts of dev, evenly spread.

    Example:
        >>> train = EncodedDataset([[5, 6], [7], [8, 9, 10]], [0, 1, 0])
        >>> task = ClassificationTask(train, train, batch_size=2, num_classes=2)
        >>> [task.units(b) for b in task.batches(torch.Generator().manual_seed(0))]
        [2, 1]
    """

    def __init__(
        self,
        train: EncodedDataset,
        dev: EncodedDataset,
        *,
        batch_size: int,
        num_classes: int,
        amp: bool = True,
        device: torch.device | None = None,
        dev_subset: int = DEV_SUBSET_TEXTS,
    ):
        self.train, self.dev = train, dev
        self.batch_size, self.num_classes, self.amp = batch_size, num_classes, amp
        self.device = device or torch.device("cpu")
        self.loss_fn = nn.CrossEntropyLoss(reduction="sum")
        self.dev_subset = _subset(dev, dev_subset)

    def batches(self, generator: torch.Generator) -> Iterator[ClassificationBatch]:
        return self.train.batches(self.batch_size, generator)

    def epoch_examples(self) -> int:
        return len(self.train)

    def examples(self, batch: ClassificationBatch) -> int:
        return len(batch.labels)

    def units(self, batch: ClassificationBatch) -> int:
        return len(batch.labels)

    def tokens(self, batch: ClassificationBatch) -> int:
        return batch.n_tokens

    def padding(self, batch: ClassificationBatch) -> None:
        return None

    def loss_sum(self, model: nn.Module, batch: ClassificationBatch) -> torch.Tensor:
        logits = model(batch.tokens, batch.lengths)
        return self.loss_fn(logits.float(), batch.labels)

    def validate(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        output = run_split(model, self.dev, self, self.device)
        return output.loss, output.metrics(self.num_classes)

    def validate_subset(self, model: nn.Module) -> tuple[float, dict[str, float]] | None:
        if self.dev_subset is None:
            return None
        output = run_split(model, self.dev_subset, self, self.device)
        return output.loss, output.metrics(self.num_classes)

    def validation_examples(self, subset: bool) -> int:
        return len(self.dev_subset if subset and self.dev_subset is not None else self.dev)

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


def _subset(dev: EncodedDataset, cap: int) -> EncodedDataset | None:
    index = dev_subset(len(dev), cap)
    if index is None:
        return None
    return EncodedDataset([dev.ids[i] for i in index], [dev.labels[i] for i in index])


class SplitSettings(Protocol):
    """What the validation pass reads from the training settings."""

    batch_size: int
    amp: bool


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
    model: nn.Module, data: EncodedDataset, settings: SplitSettings, device: torch.device
) -> SplitOutput:
    """Run ``model`` over ``data`` in length-sorted batches, in training's precision
    (:func:`~hpo.training.precision.training_dtype`: with ``amp``, float16 on CUDA and
    bfloat16 on a CPU that computes it natively).

    This is the validation pass of every trial; ``hpo evaluate`` and ``hpo predict`` use it
    too, so they compute exactly what a trial recorded.
    """
    model.eval()
    loss_sum, logits_by_batch, labels_by_batch, order = 0.0, [], [], []
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    dtype = training_dtype(device, settings.amp)
    for batch in data.batches(max(settings.batch_size, 256)):
        batch = batch.to(device)
        with autocast(device, dtype):
            logits = model(batch.tokens, batch.lengths).float()
        loss_sum += float(loss_fn(logits, batch.labels))
        logits_by_batch.append(logits)
        labels_by_batch.append(batch.labels)
        order.extend(batch.index)
    # The batches are sorted by length; this puts every example back in its place.
    restore = torch.argsort(torch.tensor(order)).to(device)
    logits, labels = torch.cat(logits_by_batch)[restore], torch.cat(labels_by_batch)[restore]
    return SplitOutput(loss_sum / max(1, len(data)), logits, labels)
