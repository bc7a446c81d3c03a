"""Length-bucketed batches of token ids, so that little compute goes to padding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from hpo.data.tokenizer import PAD_ID


@dataclass
class ClassificationBatch:
    tokens: torch.Tensor  # [batch, time], padded with PAD_ID
    lengths: torch.Tensor  # [batch]
    labels: torch.Tensor  # [batch]
    index: list[int] = field(default_factory=list)  # positions of the examples in their dataset

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())

    def to(self, device: torch.device) -> ClassificationBatch:
        return ClassificationBatch(
            self.tokens.to(device, non_blocking=True),
            self.lengths.to(device, non_blocking=True),
            self.labels.to(device, non_blocking=True),
            self.index,
        )


class EncodedDataset:
    """Token ids and label ids of one split, batched by length."""

    def __init__(self, ids: list[list[int]], labels: list[int]):
        self.ids = ids
        self.labels = labels
        self.lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[ClassificationBatch]:
        """Batches of similar lengths; with a ``generator`` the batch order is shuffled."""
        for index in bucketed_batches(self.lengths, batch_size, generator):
            yield self._collate(index.tolist())

    def _collate(self, index: list[int]) -> ClassificationBatch:
        longest = max(len(self.ids[i]) for i in index)
        tokens = torch.full((len(index), longest), PAD_ID, dtype=torch.long)
        for row, i in enumerate(index):
            seq = self.ids[i]
            tokens[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        lengths = self.lengths[index]
        labels = torch.tensor([self.labels[i] for i in index], dtype=torch.long)
        return ClassificationBatch(tokens, lengths, labels, list(index))


def bucketed_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """Index tensors of batches whose members have neighbouring lengths.

    Examples are sorted by length (ties broken at random when shuffling), cut into batches
    of ``batch_size``, and the batches are shuffled, so every epoch sees new neighbours.
    """
    n = len(lengths)
    if generator is not None:
        jitter = torch.rand(n, generator=generator)
        order = torch.argsort(lengths.double() + jitter * 0.999, stable=True)
    else:
        order = torch.argsort(lengths, stable=True)
    batches = list(torch.split(order, batch_size))
    if generator is not None:
        permutation = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in permutation]
    return batches


def padding_fraction(batch_lengths: list[torch.Tensor]) -> float:
    """Share of padded positions over all positions of the given batches."""
    real = sum(int(b.sum()) for b in batch_lengths)
    total = sum(int(b.max()) * len(b) for b in batch_lengths)
    return 1.0 - real / total if total else 0.0
