"""The decoding state of the recurrent translator (:mod:`hpo.models.seq2seq`): the decoder's
per-layer states and the encoder memory it attends to, narrowed or repeated as a batch's
sentences end or a beam widens (see :mod:`hpo.models.decoding_state`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Memory:
    """What the decoder attends to: encoder states, their padding mask and projected keys."""

    states: torch.Tensor  # [B, S, M]
    mask: torch.Tensor  # [B, S], True at real tokens
    keys: torch.Tensor | None  # [B, S, K]

    def select(self, index: torch.Tensor) -> Memory:
        keys = None if self.keys is None else self.keys.index_select(0, index)
        return Memory(self.states.index_select(0, index), self.mask.index_select(0, index), keys)

    def repeat(self, times: int) -> Memory:
        keys = None if self.keys is None else self.keys.repeat_interleave(times, dim=0)
        states = self.states.repeat_interleave(times, dim=0)
        return Memory(states, self.mask.repeat_interleave(times, dim=0), keys)


@dataclass
class RecurrentState:
    """The decoding state of :class:`Seq2Seq`: per-layer hidden (and LSTM cell) states of the
    decoder, and the encoder memory it attends to (see :mod:`hpo.models.decoding_state`)."""

    hidden: torch.Tensor  # [L, B, H]
    cell: torch.Tensor | None  # [L, B, H] for LSTM
    memory: Memory

    def select(self, index: torch.Tensor) -> RecurrentState:
        cell = None if self.cell is None else self.cell.index_select(1, index)
        return RecurrentState(self.hidden.index_select(1, index), cell, self.memory.select(index))

    def repeat(self, times: int) -> RecurrentState:
        cell = None if self.cell is None else self.cell.repeat_interleave(times, dim=1)
        hidden = self.hidden.repeat_interleave(times, dim=1)
        return RecurrentState(hidden, cell, self.memory.repeat(times))


__all__ = ["Memory", "RecurrentState"]
