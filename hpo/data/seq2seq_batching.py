"""Parallel token ids in length-bucketed batches under a token budget.

Sentences of similar lengths go together so that little compute goes to padding; a batch
holds as many pairs as fit ``batch_tokens`` counted with padding, and the batch order is
shuffled every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from hpo.data.tokenizer import BOS_ID, EOS_ID, PAD_ID


@dataclass
class TranslationBatch:
    """Padded source ids and target ids (decoder input ``BOS y``, output ``y EOS``)."""

    src: torch.Tensor  # [batch, src_time]
    src_lengths: torch.Tensor  # [batch]
    tgt_in: torch.Tensor  # [batch, tgt_time]
    tgt_out: torch.Tensor  # [batch, tgt_time]
    index: list[int]  # positions of the pairs in their dataset

    @property
    def n_tgt_tokens(self) -> int:
        return int((self.tgt_out != PAD_ID).sum())

    @property
    def n_real(self) -> int:
        return int(self.src_lengths.sum()) + self.n_tgt_tokens

    @property
    def n_padded(self) -> int:
        return self.src.numel() + self.tgt_out.numel()

    def to(self, device: torch.device) -> TranslationBatch:
        return TranslationBatch(
            self.src.to(device, non_blocking=True),
            self.src_lengths.to(device, non_blocking=True),
            self.tgt_in.to(device, non_blocking=True),
            self.tgt_out.to(device, non_blocking=True),
            self.index,
        )


def token_budget_batches(
    src_lengths: list[int],
    tgt_lengths: list[int],
    batch_tokens: int,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Index lists of batches of neighbouring lengths, each within ``batch_tokens``.

    A batch of ``n`` pairs costs ``n * max(longest source, longest target)`` tokens, its
    padded size; a pair longer than the budget gets a batch of its own. With a
    ``generator``, ties in length are broken at random and the batch order is shuffled.

    Example:
        >>> token_budget_batches([3, 1, 2, 3], [3, 1, 2, 4], batch_tokens=7)
        [[1, 2], [0], [3]]
    """
    n = len(src_lengths)
    if n == 0:
        return []
    src = torch.tensor(src_lengths, dtype=torch.double)
    tgt = torch.tensor(tgt_lengths, dtype=torch.double)
    key = src * (float(tgt.max()) + 1) + tgt
    if generator is not None:
        key = key + torch.rand(n, generator=generator, dtype=torch.double) * 0.999
    order = torch.argsort(key, stable=True).tolist()
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        length = max(src_lengths[i], tgt_lengths[i])
        if current and (len(current) + 1) * max(longest, length) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    batches.append(current)
    if generator is not None:
        permutation = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in permutation]
    return batches


class ParallelDataset:
    """Source and target token ids of one split.

    Example:
        >>> data = ParallelDataset([[5, 6], [7]], [[8], [9, 10]])
        >>> [b.src.shape[0] for b in data.batches(batch_tokens=100)]
        [2]
    """

    def __init__(self, src_ids: list[list[int]], tgt_ids: list[list[int]]):
        self.src_ids = src_ids
        self.tgt_ids = tgt_ids

    def __len__(self) -> int:
        return len(self.src_ids)

    def batches(
        self, batch_tokens: int, generator: torch.Generator | None = None
    ) -> Iterator[TranslationBatch]:
        src_lengths = [len(s) for s in self.src_ids]
        tgt_lengths = [len(t) + 1 for t in self.tgt_ids]  # + BOS or EOS
        for index in token_budget_batches(src_lengths, tgt_lengths, batch_tokens, generator):
            yield self.collate(index)

    def collate(self, index: list[int]) -> TranslationBatch:
        src = _pad([self.src_ids[i] for i in index])
        tgt_in = _pad([[BOS_ID, *self.tgt_ids[i]] for i in index])
        tgt_out = _pad([[*self.tgt_ids[i], EOS_ID] for i in index])
        lengths = torch.tensor([len(self.src_ids[i]) for i in index], dtype=torch.long)
        return TranslationBatch(src, lengths, tgt_in, tgt_out, list(index))


def _pad(sequences: list[list[int]]) -> torch.Tensor:
    longest = max(len(s) for s in sequences)
    out = torch.full((len(sequences), longest), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out
