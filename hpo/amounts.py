"""Amounts of training data: a number of epochs, or of training examples.

``training.report_every`` and the pruner's ``min_resource`` are written this way. A bare
number counts epochs; training examples (texts, sentence pairs) carry their unit::

    report_every: 0.25              # a quarter of an epoch
    report_every: "0.25 epoch"      # the same
    report_every: "5000 examples"   # every 5000 training examples
    min_resource: 2                 # two epochs
    min_resource: "20000 examples"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from hpo.errors import BadInput

_AMOUNT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(epochs?|examples?)?$")


@dataclass(frozen=True)
class DataAmount:
    """``count`` epochs or ``count`` training examples, exactly (no binary rounding).

    Example:
        >>> amount = parse_amount("0.25 epoch")
        >>> amount.examples(epoch_examples=1000), str(amount)
        (Fraction(250, 1), '0.25 epoch')
    """

    count: Fraction
    unit: Literal["epochs", "examples"]

    def examples(self, epoch_examples: int) -> Fraction:
        """The amount in training examples, for an epoch of ``epoch_examples``."""
        return self.count * epoch_examples if self.unit == "epochs" else self.count

    def __str__(self) -> str:
        number = _decimal(self.count)
        if self.unit == "examples":
            return f"{number} examples"
        return f"{number} epoch" if self.count <= 1 else f"{number} epochs"


def parse_amount(value: Any, name: str = "amount") -> DataAmount:
    """Read ``0.5``, ``"2 epochs"`` or ``"5000 examples"``; a bare number is epochs.

    Example:
        >>> parse_amount("5000 examples")
        DataAmount(count=Fraction(5000, 1), unit='examples')
        >>> parse_amount(2).unit
        'epochs'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadInput(f"{name}: expected e.g. 0.5 (epochs) or '5000 examples', got {value!r}")
    match = _AMOUNT.match(str(value).strip().lower())
    if match is None:
        raise BadInput(f"{name}: expected e.g. 0.5 (epochs) or '5000 examples', got {value!r}")
    count = Fraction(match.group(1))
    unit: Literal["epochs", "examples"] = (
        "examples" if (match.group(2) or "").startswith("example") else "epochs"
    )
    if count <= 0:
        raise BadInput(f"{name}: must be more than zero, got {value!r}")
    if unit == "examples" and count.denominator != 1:
        raise BadInput(f"{name}: a number of examples is a whole number, got {value!r}")
    return DataAmount(count, unit)


def parse_report_every(value: Any) -> DataAmount | None:
    """``training.report_every``: None for ``auto``; at most one epoch (every epoch's end
    is reported anyway).

    Example:
        >>> str(parse_report_every(0.5)), parse_report_every("auto")
        ('0.5 epoch', None)
    """
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    amount = parse_amount(value, "report_every")
    if amount.unit == "epochs" and amount.count > 1:
        raise BadInput(
            f"report_every: {value!r} is more than one epoch (a bare number counts epochs, "
            f"and every epoch's end is reported); for training examples write "
            f"'{_decimal(amount.count)} examples'"
        )
    return amount


def _decimal(count: Fraction) -> str:
    """The shortest decimal text of a count parsed from decimal text.

    Example:
        >>> _decimal(Fraction(1, 8)), _decimal(Fraction(3))
        ('0.125', '3')
    """
    text = str(Decimal(count.numerator) / Decimal(count.denominator))
    return text.rstrip("0").rstrip(".") if "." in text else text
