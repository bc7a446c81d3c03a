"""Declared parameters: what a model family, a trainer or a tokenizer reads from a trial.

Each piece of code that reads trial parameters declares them next to itself, once, with
type, default, allowed range or choices and a one-line help. The declaration is the single
source of the default (:func:`read_params` fills it in) and of what a search space may ask
for (``hpo.study.params_check`` checks every value a space can produce against it).

Example:
    >>> dropout = fraction("dropout", 0.3, "dropout probability")
    >>> dropout.accepts()
    'a number in [0, 1)'
    >>> dropout.problem(1.5)
    'is outside [0, 1)'
    >>> read_params([dropout, flag("bidirectional", True, "read both ways")], {"dropout": 0.1})
    {'dropout': 0.1, 'bidirectional': True}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from hpo.errors import BadInput

ParamType = Literal["int", "float", "bool", "choice", "sizes"]


@dataclass(frozen=True)
class Param:
    """One parameter a piece of code reads from a trial's parameters.

    Args:
        name: The key in a trial's parameters (and in a search space).
        type: ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``) or ``sizes`` (a
            list of integers such as ``"3,4,5"``, ``[3, 4, 5]`` or ``3``).
        default: The value used when a trial does not set the parameter; ``None`` when the
            study file decides (``vocab_size`` falls back to ``tokenizer.vocab_size``).
        help: One line: what the parameter does.
        low: Smallest allowed value (for ``sizes``: of every entry); ``None``: unbounded.
        high: Largest allowed value; ``None``: unbounded.
        low_inclusive: Whether ``low`` itself is allowed.
        high_inclusive: Whether ``high`` itself is allowed.
        choices: The allowed values of a ``choice``.
    """

    name: str
    type: ParamType
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    choices: tuple[Any, ...] = ()

    def interval(self) -> str:
        """The allowed range in interval notation, such as ``[0, 1)`` or ``[1, inf)``."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        left = "[" if self.low_inclusive and self.low is not None else "("
        right = "]" if self.high_inclusive and self.high is not None else ")"
        return f"{left}{low:g}, {high:g}{right}"

    def accepts(self) -> str:
        """What the parameter accepts, in words."""
        if self.type == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.type == "bool":
            return "true or false"
        if self.type == "sizes":
            return f"a list of integers >= {self.low} like '3,4,5'"
        kind = "an integer" if self.type == "int" else "a number"
        return f"{kind} in {self.interval()}"

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this parameter (``None``: nothing)."""
        if self.type == "choice":
            fits = _is_choice(value, self.choices)
        elif self.type == "bool":
            fits = isinstance(value, bool)
        elif self.type == "sizes":
            entries = _sizes(value) or ()
            fits = bool(entries) and min(entries) >= (1 if self.low is None else self.low)
        else:
            fits = _is_number(value) and (self.type == "float" or float(value).is_integer())
            if fits and not self._within(float(value)):
                return f"is outside {self.interval()}"
        return None if fits else f"is not {self.accepts()}"

    def read(self, value: Any) -> Any:
        """``value`` as the type the code uses; :class:`BadInput` when it is not allowed."""
        problem = self.problem(value)
        if problem is not None:
            raise BadInput(f"{self.name} value {value!r} {problem}")
        if self.type == "int":
            return int(value)
        if self.type == "float":
            return float(value)
        if self.type == "sizes":
            return _sizes(value)
        return value

    def _within(self, value: float) -> bool:
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        above = value >= low if self.low_inclusive else value > low
        below = value <= high if self.high_inclusive else value < high
        return above and below  # NaN is in no range: it compares false


def integer(
    name: str, default: int | None, help: str, *, low: int | None = None, high: int | None = None
) -> Param:
    """An integer parameter in ``[low, high]``."""
    return Param(name, "int", default, help, low=low, high=high)


def real(
    name: str,
    default: float,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Param:
    """A real-valued parameter between ``low`` and ``high``."""
    return Param(name, "float", default, help, low, high, low_inclusive, high_inclusive)


def fraction(name: str, default: float, help: str, *, one_allowed: bool = False) -> Param:
    """A share or probability: a number in ``[0, 1)``, or ``[0, 1]`` with ``one_allowed``."""
    return real(name, default, help, low=0.0, high=1.0, high_inclusive=one_allowed)


def flag(name: str, default: bool, help: str) -> Param:
    """A parameter that is ``true`` or ``false``."""
    return Param(name, "bool", default, help)


def choice(name: str, default: str, choices: Iterable[Any], help: str) -> Param:
    """A parameter that takes one of ``choices``."""
    return Param(name, "choice", default, help, choices=tuple(choices))


def sizes(name: str, default: str, help: str, *, low: int = 1) -> Param:
    """A list of integers, each at least ``low``, written ``"3,4,5"``, ``[3, 4, 5]`` or ``3``."""
    return Param(name, "sizes", default, help, low=low)


def read_params(declared: Iterable[Param], params: dict[str, Any]) -> dict[str, Any]:
    """The value of every declared parameter, as its type: the trial's, else the default.

    Raises:
        BadInput: A value the declaration does not allow.
    """
    values = {}
    for param in declared:
        value = params.get(param.name, param.default)
        # A default of None leaves the choice to the study file (vocab_size).
        values[param.name] = None if value is None and param.default is None else param.read(value)
    return values


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_choice(value: Any, choices: tuple[Any, ...]) -> bool:
    # ``True == 1``: a flag or a number is never taken for a choice that merely equals it.
    return any(type(value) is type(c) and value == c for c in choices)


def _sizes(value: Any) -> tuple[int, ...] | None:
    """``"3,4,5"``, ``[3, 4, 5]`` or ``3`` -> ``(3, 4, 5)``; ``None`` when it is none of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,)
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        items = [v for v in value.replace(" ", "").split(",") if v]
    else:
        return None
    try:
        return tuple(_integer(v) for v in items)
    except ValueError:
        return None


def _integer(value: Any) -> int:
    if isinstance(value, (bool, float)):
        raise ValueError(value)
    return int(value)


__all__ = ["Param", "choice", "flag", "fraction", "integer", "read_params", "real", "sizes"]
