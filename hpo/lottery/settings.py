"""What one lottery experiment is asked to do, checked before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from hpo.errors import BadInput
from hpo.lottery.masks import DEFAULT_SKIP

RESETS = ("original", "rewind", "random")
SCOPES = ("global", "layer")


def parse_skip(text: str) -> tuple[str, ...]:
    """``"embedding,bias"`` -> ``("embedding", "bias")``; an empty text skips nothing.

    Example:
        >>> parse_skip("embedding, bias")
        ('embedding', 'bias')
    """
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass
class LotterySettings:
    """The rounds, the pruning schedule and where the survivors restart.

    Round 0 trains the dense network; every later round first prunes ``percent`` % of the
    prunable weights still left, by magnitude, then resets the survivors and retrains, so
    round ``r`` trains with ``(1 - percent/100) ** r`` of them.

    Example:
        >>> settings = LotterySettings(rounds=3, percent=20, reset="rewind")
        >>> settings.check()
        >>> round(settings.keep_fraction(2), 2)
        0.64
    """

    trial: str = "best"
    rounds: int = 20
    percent: float = 20.0
    reset: str = "original"
    scope: str = "global"
    skip: tuple[str, ...] = DEFAULT_SKIP
    epochs: int | None = None

    def check(self) -> None:
        """Raise :class:`BadInput` naming the first argument that is out of range."""
        if self.trial != "best" and not self.trial.isdigit():
            raise BadInput(f"--trial must be 'best' or a trial number, got {self.trial!r}")
        if self.rounds < 1:
            raise BadInput(f"--rounds must be at least 1, got {self.rounds}")
        if not 0 < self.percent < 100:
            raise BadInput(f"--percent must be between 0 and 100 (exclusive), got {self.percent:g}")
        if self.reset not in RESETS:
            raise BadInput(f"unknown --reset {self.reset!r}; expected one of {', '.join(RESETS)}")
        if self.scope not in SCOPES:
            raise BadInput(f"unknown --scope {self.scope!r}; expected one of {', '.join(SCOPES)}")
        if self.epochs is not None and self.epochs < 1:
            raise BadInput(f"--epochs must be at least 1, got {self.epochs}")

    def keep_fraction(self, round_number: int) -> float:
        """Share of the prunable weights that round ``round_number`` trains with."""
        return (1.0 - self.percent / 100.0) ** round_number
