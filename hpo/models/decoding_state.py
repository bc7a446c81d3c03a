"""The decoding interface that every translation model family implements.

Greedy and beam search (:mod:`hpo.training.decoding`) know nothing of recurrent states or
attention caches: they start from a source batch, ask for one step at a time, and reorder
or copy the per-row state between steps. A model offers

- ``encode(src, src_lengths) -> state``: what decoding a batch of sources starts from;
- ``step(prev_tokens, state) -> (logits, state)``: the next token's logits [B, V] given
  the previous token [B] of every row;

and its state offers ``select(index)`` (keep, reorder or copy rows: beam search moves
hypotheses so) and ``repeat(times)`` (each row ``times`` times in a row: one copy per
beam). The recurrent model's state is its hidden (and cell) states with the encoder memory;
the Transformer's is the keys and values cached per layer, the encoder memory and the
position reached.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

import torch

State = TypeVar("State", bound="DecodingState")


class DecodingState(Protocol):
    """Everything a model carries from one decoding step to the next, one row per hypothesis."""

    def select(self: State, index: torch.Tensor) -> State:
        """The rows ``index`` [N] of every tensor, in that order (rows may repeat)."""
        ...

    def repeat(self: State, times: int) -> State:
        """Every row ``times`` times in a row: rows ``0, 0, 1, 1`` for ``times=2``."""
        ...


@runtime_checkable
class StepDecoder(Protocol[State]):
    """A translation model that decodes one target token per step from its own state.

    Example:
        .. code-block:: python

            state = model.encode(src, src_lengths)
            tokens = torch.full((src.size(0),), BOS_ID)
            for _ in range(limit):
                logits, state = model.step(tokens, state)
                tokens = logits.argmax(-1)
    """

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> State:
        """The state decoding starts from, for source ids [B, S] of the given lengths [B]."""
        ...

    def step(self, prev_tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Logits [B, V] of the next token after ``prev_tokens`` [B], and the new state."""
        ...
