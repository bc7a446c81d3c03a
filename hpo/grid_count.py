"""Counting the points of a finite search space without listing them.

A grid can be finite and still far too large to enqueue (``int`` from 1 to 10**12), so
grid search counts it first. Ranges are counted by arithmetic; only parameters that a
``when`` condition names are followed value by value, and of a range only the values a
condition names (the rest of the range counts as one branch, times its size).
"""

from __future__ import annotations

import math
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

    def count(index: int, assigned: dict[str, Any]) -> int:
        if index == len(items):
            return 1
        name, param = items[index]
        if not param.condition_holds(assigned):
            return count(index + 1, assigned)
        listed = _listed_values(param)
        if name not in named:
            size = len(listed) if listed is not None else _range_size(name, param)
            return size * count(index + 1, assigned)
        if listed is not None:
            return sum(count(index + 1, {**assigned, name: value}) for value in listed)
        members = _range_members(param, named[name])
        total = sum(count(index + 1, {**assigned, name: value}) for value in members)
        others = _range_size(name, param) - len(members)
        # A value no condition names satisfies none: every such value leads to one count.
        return total + others * count(index + 1, {**assigned, name: object()})

    return count(0, {})


def _listed_values(param: Any) -> list[Any] | None:
    if isinstance(param, (CategoricalParam, FixedParam)) or param.grid is not None:
        return param.grid_values()
    return None


def _range_size(name: str, param: IntParam | FloatParam) -> int:
    if param.step is None:
        raise ValueError(f"parameter {name!r} has no finite set of values")
    span = Decimal(str(param.high)) - Decimal(str(param.low))
    return int(span // Decimal(str(param.step))) + 1


def _range_members(param: IntParam | FloatParam, candidates: list[Any]) -> list[Any]:
    """The distinct values of ``param``'s range that equal one of ``candidates``."""
    members: list[Any] = []
    size = _range_size("", param)
    for value in candidates:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        index = round((value - param.low) / param.step)
        if not 0 <= index < size:
            continue
        member = param.low + index * param.step
        if isinstance(param, FloatParam):
            member = round(member, 12)
        if member == value and not any(math.isclose(member, m) for m in members):
            members.append(member)
    return members


__all__ = ["MAX_GRID_POINTS", "count_grid_points"]
