"""Counting the points of a finite search space without listing them.

A grid can be finite and still far too large to enqueue (``int`` from 1 to 10**12), so
grid search counts it first. Ranges are counted by arithmetic; only parameters that a
``when`` condition or a ``by`` names are followed value by value, and of a range only the
values a condition names (the rest of the range counts as one branch, times its size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hpo.space import CategoricalParam, FixedParam, FloatParam, IntParam, SearchSpace

MAX_GRID_POINTS = 10_000


def count_grid_points(space: SearchSpace) -> int:
    """The number of points :func:`hpo.space.grid_points` yields, counted by arithmetic.

    Example:
        >>> space = SearchSpace(params={"n": {"type": "int", "low": 1, "high": 10**12},
        ...                             "arch": {"type": "categorical", "choices": ["a", "b"]}})
        >>> count_grid_points(space)
        2000000000000
    """
    items = list(space.params.items())
    named: dict[str, list[Any]] = {}
    for _, param in items:
        for parent, wanted in param.when.items():
            named.setdefault(parent, []).extend(wanted if isinstance(wanted, list) else [wanted])
        for parent, ranges in getattr(param, "by", {}).items():
            named.setdefault(parent, []).extend(ranges)

    def count(index: int, assigned: dict[str, Any]) -> int:
        if index == len(items):
            return 1
        name, param = items[index]
        if not param.condition_holds(assigned):
            return count(index + 1, assigned)
        if isinstance(param, (FloatParam, IntParam)):
            param = param.range_for(assigned)
        listed: Sequence[Any]
        if isinstance(param, (CategoricalParam, FixedParam)):
            listed = param.grid_values()
        elif param.grid is not None:
            listed = param.grid
        else:
            return count_range(index, assigned, name, param)
        if name not in named:
            return len(listed) * count(index + 1, assigned)
        return sum(count(index + 1, {**assigned, name: value}) for value in listed)

    def count_range(
        index: int, assigned: dict[str, Any], name: str, param: IntParam | FloatParam
    ) -> int:
        step = _step(name, param)
        size = _range_size(param, step)
        if name not in named:
            return size * count(index + 1, assigned)
        members = _range_members(param, step, size, named[name])
        total = sum(count(index + 1, {**assigned, name: value}) for value in members)
        # A value no condition names satisfies none: every such value leads to one count.
        return total + (size - len(members)) * count(index + 1, {**assigned, name: object()})

    return count(0, {})


def _step(name: str, param: IntParam | FloatParam) -> float:
    if param.step is None:
        raise ValueError(f"parameter {name!r} has no finite set of values")
    return param.step


def _range_size(param: IntParam | FloatParam, step: float) -> int:
    span = Decimal(str(param.high)) - Decimal(str(param.low))
    return int(span // Decimal(str(step))) + 1


def _range_members(
    param: IntParam | FloatParam, step: float, size: int, candidates: list[Any]
) -> list[Any]:
    """The distinct values of ``param``'s range that equal one of ``candidates``."""
    members: list[Any] = []
    for value in candidates:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        index = round((value - param.low) / step)
        if not 0 <= index < size:
            continue
        member = param.low + index * step
        if isinstance(param, FloatParam):
            member = round(member, 12)
        if member == value and not any(math.isclose(member, m) for m in members):
            members.append(member)
    return members


__all__ = ["MAX_GRID_POINTS", "count_grid_points"]
