"""The parameter definitions of a search space: types, ranges, ``when`` and ``by``.

A numeric parameter may take its range from another parameter's value with ``by``: the
learning rate of momentum SGD lies a decade or two above Adam's, and one range over both
spends most SGD trials where SGD learns nothing::

    lr:
      type: float
      log: true
      low: 1.0e-4             # adam, adamw: every value `by` does not name
      high: 3.0e-3
      by: {optimizer: {sgd: {low: 1.0e-2, high: 0.3}}}

A value named under ``by`` replaces ``low``, ``high``, ``step`` or ``grid`` (those it gives);
the parameter keeps its name, so a trial stores ``lr`` whatever the optimizer. ``log`` and
the type cannot differ: Optuna refuses one name with two scales.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)
from typing_extensions import Self

Scalar = bool | int | float | str | None

# What a value named under `by` may change; the rest of the definition stays.
RANGE_FIELDS = ("low", "high", "step", "grid")


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)

    def condition_holds(self, assigned: dict[str, Any]) -> bool:
        for parent, wanted in self.when.items():
            if parent not in assigned:
                return False
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if assigned[parent] not in allowed:
                return False
        return True

    def parents(self) -> list[str]:
        """The parameters that must be decided first: those ``when`` (and ``by``) name."""
        return list(self.when)


class RangeOverride(BaseModel):
    """The range a numeric parameter takes for one value of its ``by`` parameter."""

    model_config = ConfigDict(extra="forbid")

    low: float | None = None
    high: float | None = None
    step: float | None = None
    grid: list[float] | None = None

    @model_serializer
    def _as_given(self) -> dict[str, Any]:
        # `step: null` removes the parameter's step; a field left out keeps it. A stored
        # config must say which.
        return {name: getattr(self, name) for name in RANGE_FIELDS if name in self.model_fields_set}


class _Range(_Param):
    """A numeric parameter: a range, maybe per value of another parameter (``by``)."""

    by: dict[str, dict[Scalar, RangeOverride]] = Field(default_factory=dict)

    @field_validator("by", mode="before")
    @classmethod
    def _by_shape(cls, by: Any) -> Any:
        if not isinstance(by, dict) or len(by) != 1:
            raise ValueError(
                "names one parameter and a range per value, "
                "like {optimizer: {sgd: {low: 0.01, high: 0.3}}}"
            )
        (parent, ranges), *_ = by.items()
        if not isinstance(ranges, dict) or not ranges:
            raise ValueError(f"{parent}: give a range per value, like {{sgd: {{low: 0.01}}}}")
        for value, override in ranges.items():
            where = f"{parent}={value!r}"
            if not isinstance(override, dict):
                raise ValueError(f"{where}: {override!r} is not a range like {{low: 0.01}}")
            fixed = sorted(set(override) - set(RANGE_FIELDS))
            if fixed:
                raise ValueError(
                    f"{where}: only low, high, step and grid can differ by value, not {fixed[0]!r}"
                )
        return by

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        self._check_own_range()
        for parent, ranges in self.by.items():
            for value, override in ranges.items():
                try:
                    self._variant(override)._check_own_range()
                except ValueError as exc:
                    raise ValueError(f"by {parent}={value!r}: {exc}") from None
        return self

    def _check_own_range(self) -> None:
        raise NotImplementedError

    def parents(self) -> list[str]:
        return [*self.when, *(p for p in self.by if p not in self.when)]

    def _variant(self, override: RangeOverride) -> Self:
        return self.model_copy(update={**override.model_dump(), "by": {}})

    def range_for(self, assigned: dict[str, Any]) -> Self:
        """The definition that holds where the parameters decided so far have ``assigned``
        values: the range ``by`` gives for its parameter's value, else the parameter's own.

        Example:
            >>> lr = FloatParam(type="float", low=1e-4, high=3e-3, log=True,
            ...                 by={"optimizer": {"sgd": {"low": 1e-2, "high": 0.3}}})
            >>> lr.range_for({"optimizer": "sgd"}).high, lr.range_for({"optimizer": "adam"}).high
            (0.3, 0.003)
        """
        for parent, ranges in self.by.items():
            override = _lookup(ranges, assigned[parent]) if parent in assigned else None
            if override is not None:
                return self._variant(override)
        return self.model_copy(update={"by": {}}) if self.by else self

    def by_ranges(self) -> list[tuple[Scalar, Self]]:
        """Each value named under ``by`` with the range it selects."""
        return [(v, self._variant(o)) for ranges in self.by.values() for v, o in ranges.items()]


def same_value(a: Any, b: Any) -> bool:
    """Equal and of one type: ``True == 1``, but a choice of ``[1, true]`` has two values."""
    return bool(a == b) and type(a) is type(b)


def _lookup(ranges: dict[Scalar, RangeOverride], value: Any) -> RangeOverride | None:
    return next((o for key, o in ranges.items() if same_value(key, value)), None)


class FloatParam(_Range):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None
    grid: list[float] | None = None

    def _check_own_range(self) -> None:
        _check_numeric_range(self.low, self.high, self.log, self.step, self.grid)

    def grid_values(self) -> list[float] | None:
        if self.grid is not None:
            return list(self.grid)
        if self.step is None:
            return None
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]


class IntParam(_Range):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1
    grid: list[int] | None = None

    def _check_own_range(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if not float(value).is_integer():
                raise ValueError(f"{name} ({value}) is not an integer")
        _check_numeric_range(self.low, self.high, self.log, self.step, self.grid)
        if self.log and self.step != 1:
            raise ValueError("log scale and a step other than 1 cannot be combined")

    def _variant(self, override: RangeOverride) -> Self:
        # An override is read as floats; an int parameter keeps integer bounds.
        variant = super()._variant(override)
        for name in ("low", "high", "step"):
            value = getattr(variant, name)
            if isinstance(value, float) and value.is_integer():
                setattr(variant, name, int(value))
        if variant.grid is not None:
            variant.grid = [int(v) if float(v).is_integer() else v for v in variant.grid]
        return variant

    def grid_values(self) -> Sequence[int]:
        if self.grid is not None:
            return list(self.grid)
        # A range, not a list: a space may span 10**12 integers.
        return range(self.low, self.high + 1, self.step)


class CategoricalParam(_Param):
    type: Literal["categorical"]
    choices: list[Scalar]

    @field_validator("choices")
    @classmethod
    def _non_empty(cls, choices: list[Scalar]) -> list[Scalar]:
        if not choices:
            raise ValueError("choices must not be empty")
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError("choices must be distinct")
        return choices

    def grid_values(self) -> list[Scalar]:
        return list(self.choices)


class FixedParam(_Param):
    type: Literal["fixed"]
    value: Scalar | list[Scalar]

    def grid_values(self) -> list[Any]:
        return [self.value]


Param = Annotated[
    FloatParam | IntParam | CategoricalParam | FixedParam, Field(discriminator="type")
]


def _check_numeric_range(
    low: float, high: float, log: bool, step: float | None, grid: list | None
) -> None:
    if low > high:
        raise ValueError(f"low ({low}) is greater than high ({high})")
    if log and low <= 0:
        raise ValueError(f"log scale needs low > 0, got low={low}")
    if step is not None and step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    if log and step is not None and not isinstance(step, int):
        raise ValueError("log scale and step cannot be combined")
    if step is not None and high > low:
        _check_step_fits(low, high, step)
    if grid is not None:
        if not grid:
            raise ValueError("grid must not be empty")
        outside = [v for v in grid if not low <= v <= high]
        if outside:
            raise ValueError(f"grid values {outside} lie outside [{low}, {high}]")


def _check_step_fits(low: float, high: float, step: float) -> None:
    # Optuna would quietly shrink such a range (with a warning about its own source file).
    span = Decimal(str(high)) - Decimal(str(low))
    if Decimal(str(step)) > span:
        raise ValueError(
            f"step ({step}) is larger than the range [{low}, {high}]: the only value would be {low}"
        )
    if span % Decimal(str(step)):
        top = Decimal(str(low)) + (span // Decimal(str(step))) * Decimal(str(step))
        raise ValueError(
            f"the range [{low}, {high}] is not a whole number of steps of {step}: "
            f"end it at {top} or {top + Decimal(str(step))}"
        )


def value_problem(param: Any, value: Any) -> str | None:
    """Why ``value`` is not a value ``param`` can take, or None if it is one.

    A parameter with ``by`` is checked against one of its ranges: pass
    ``param.range_for(assigned)``.
    """
    if isinstance(param, FixedParam):
        return None if value == param.value else f"is fixed at {param.value!r}"
    if isinstance(param, CategoricalParam):
        return None if value in param.choices else f"is not one of {param.choices}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a number"
    if isinstance(param, IntParam) and not float(value).is_integer():
        return "is not an integer"
    values = param.grid_values()
    if param.grid is not None or (values is not None and isinstance(param, FloatParam)):
        on_grid = any(math.isclose(value, v, rel_tol=1e-9, abs_tol=1e-12) for v in values)
        return None if on_grid else f"is not one of {values}"
    if not param.low <= value <= param.high:
        return f"lies outside [{param.low}, {param.high}]"
    if isinstance(param, IntParam) and (int(value) - param.low) % param.step:
        return f"is not {param.low} plus a multiple of {param.step}"
    return None


__all__ = [
    "CategoricalParam",
    "FixedParam",
    "FloatParam",
    "IntParam",
    "Param",
    "RangeOverride",
    "Scalar",
    "same_value",
    "value_problem",
]
