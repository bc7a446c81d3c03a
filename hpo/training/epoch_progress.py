"""How far the loop is into the epoch in progress: enough to report from it and to resume it.

A checkpoint written within an epoch holds the data-order generator's state from before the
epoch drew its batch order, and how many batches it has trained; a resumed run draws the
same order again, skips those batches and goes on with the same sums.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch


@dataclass
class EpochTotals:
    """Sums over the epoch's training batches so far."""

    loss: float = 0.0
    units: int = 0
    tokens: int = 0
    real: int = 0
    padded: int = 0
    has_padding: bool = False

    def count(self, tokens: int, padding: tuple[int, int] | None) -> None:
        self.tokens += tokens
        if padding is not None:
            self.has_padding = True
            self.real, self.padded = self.real + padding[0], self.padded + padding[1]

    def padding_share(self) -> float | None:
        """Share of padded positions, where the task records padding.

        Example:
            >>> totals = EpochTotals()
            >>> totals.count(tokens=6, padding=(6, 8))
            >>> totals.padding_share()
            0.25
        """
        if not self.has_padding:
            return None
        return 1.0 - self.real / self.padded if self.padded else 0.0


@dataclass
class EpochProgress:
    """The epoch in progress: where its batch order came from and what it trained so far.

    Example:
        >>> progress = EpochProgress(torch.Generator().manual_seed(0).get_state(), batches=3)
        >>> EpochProgress.from_state(progress.state()).batches
        3
    """

    generator_state: torch.Tensor  # the data-order generator before the epoch's draw
    batches: int = 0
    examples: int = 0
    train_seconds: float = 0.0
    val_seconds: float = 0.0
    totals: EpochTotals = field(default_factory=EpochTotals)

    def epochs_done(self, epoch: int, epoch_examples: int) -> float:
        """Epochs done in all, ``epoch`` being the one in progress (between two ends)."""
        return epoch - 1 + self.examples / max(1, epoch_examples)

    def state(self) -> dict[str, Any]:
        """What a checkpoint stores (tensors and plain values only: ``weights_only`` loads it)."""
        return {
            "generator_state": self.generator_state,
            "batches": self.batches,
            "examples": self.examples,
            "train_seconds": self.train_seconds,
            "val_seconds": self.val_seconds,
            "totals": asdict(self.totals),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EpochProgress:
        return cls(
            state["generator_state"],
            state["batches"],
            state["examples"],
            state["train_seconds"],
            state["val_seconds"],
            EpochTotals(**state["totals"]),
        )
