"""The search-space language: typed parameters, ``trial.suggest_*`` and grid enumeration.

A search space is a mapping of parameter names to definitions::

    params:
      arch: {type: categorical, choices: [cnn, lstm, gru]}
      lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      hidden_size: {type: int, low: 32, high: 256, step: 32, when: {arch: [lstm, gru]}}
      filter_sizes: {type: categorical, choices: ["3,4,5", "2,3"], when: {arch: cnn}}
      optimizer: adam                     # a fixed value

``when`` makes a parameter conditional: it exists only when every named parameter has the
given value (or one of the listed values).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    import optuna

Scalar = bool | int | float | str | None


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


class FloatParam(_Param):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None
    grid: list[float] | None = None

    @model_validator(mode="after")
    def _check_range(self) -> FloatParam:
        _check_numeric_range(self.low, self.high, self.log, self.step, self.grid)
        return self

    def grid_values(self) -> list[float] | None:
        if self.grid is not None:
            return list(self.grid)
        if self.step is None:
            return None
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]


class IntParam(_Param):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1
    grid: list[int] | None = None

    @model_validator(mode="after")
    def _check_range(self) -> IntParam:
        _check_numeric_range(self.low, self.high, self.log, self.step, self.grid)
        if self.log and self.step != 1:
            raise ValueError("log scale and a step other than 1 cannot be combined")
        return self

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


class SearchSpace(BaseModel):
    """A validated search space: parameter definitions in dependency order."""

    model_config = ConfigDict(extra="forbid")

    name: str = "inline"
    description: str = ""
    params: dict[str, Param]
    start: dict[str, Scalar] | None = None

    @model_validator(mode="before")
    @classmethod
    def _expand_fixed_shorthand(cls, data: Any) -> Any:
        # `optimizer: adam` is shorthand for `optimizer: {type: fixed, value: adam}`.
        if isinstance(data, dict) and isinstance(data.get("params"), dict):
            params = {}
            for name, spec in data["params"].items():
                if not isinstance(spec, dict):
                    spec = {"type": "fixed", "value": spec}
                params[name] = spec
            data = {**data, "params": params}
        return data

    @model_validator(mode="after")
    def _check_conditions(self) -> SearchSpace:
        if not self.params:
            raise ValueError("params must not be empty")
        for name, param in self.params.items():
            for parent, wanted in param.when.items():
                if parent not in self.params:
                    raise ValueError(
                        f"parameter {name!r} has a condition on unknown parameter {parent!r}"
                    )
                if parent == name:
                    raise ValueError(f"parameter {name!r} has a condition on itself")
                parent_param = self.params[parent]
                if isinstance(parent_param, (CategoricalParam, FixedParam)):
                    possible = parent_param.grid_values()
                    for value in wanted if isinstance(wanted, list) else [wanted]:
                        if value not in possible:
                            raise ValueError(
                                f"parameter {name!r} has a condition {parent}={value!r}, "
                                f"which is not one of {possible}"
                            )
        self.params = dict(_dependency_order(self.params))
        if self.start is not None:
            self.start = check_point(self, self.start, "start")
        return self


def value_problem(param: Any, value: Any) -> str | None:
    """Why ``value`` is not a value ``param`` can take, or None if it is one."""
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


def check_point(space: SearchSpace, point: dict[str, Any], where: str) -> dict[str, Any]:
    """A configuration checked against ``space``: its Optuna parameters, ready to enqueue.

    Every value must be one the space can take; fixed values may be repeated. Active
    parameters the point leaves out are sampled as usual; a value for a parameter whose
    condition does not hold is refused (it would never be used).

    Example:
        >>> space = SearchSpace(params={"lr": {"type": "float", "low": 1e-4, "high": 1e-1},
        ...                             "optimizer": "adam"})
        >>> check_point(space, {"lr": 1e-3, "optimizer": "adam"}, "start")
        {'lr': 0.001}
    """
    unknown = sorted(set(point) - set(space.params))
    if unknown:
        raise ValueError(f"{where}: {unknown[0]!r} is not a parameter of the search space")
    assigned: dict[str, Any] = {}
    for name, param in space.params.items():
        undecided = [parent for parent in param.when if parent not in assigned]
        if name in point and undecided:
            raise ValueError(f"{where}: {name!r} depends on {undecided[0]!r}: give it too")
        active = param.condition_holds(assigned)
        if name not in point:
            if active and isinstance(param, FixedParam):
                assigned[name] = param.value
            continue
        if not active:
            raise ValueError(f"{where}: {name!r} does not apply here (its condition: {param.when})")
        problem = value_problem(param, point[name])
        if problem:
            raise ValueError(f"{where}: {name} value {point[name]!r} {problem}")
        assigned[name] = point[name]
    return {k: v for k, v in assigned.items() if not isinstance(space.params[k], FixedParam)}


def _dependency_order(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """Order parameters so that every parameter follows those its condition names."""
    ordered: list[tuple[str, Any]] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ValueError(f"conditions form a cycle through parameter {name!r}")
        visiting.add(name)
        for parent in params[name].when:
            visit(parent)
        visiting.discard(name)
        done.add(name)
        ordered.append((name, params[name]))

    for name in params:
        visit(name)
    return ordered


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Ask ``trial`` for every active parameter of ``space``; fixed values are added as they are.

    Example:
        .. code-block:: python

            def objective(trial):
                params = hpo.space.suggest(trial, space)
                return train(params)
    """
    params: dict[str, Any] = {}
    for name, param in space.params.items():
        if not param.condition_holds(params):
            continue
        if isinstance(param, FixedParam):
            params[name] = param.value
        elif isinstance(param, CategoricalParam):
            params[name] = trial.suggest_categorical(name, param.choices)
        elif isinstance(param, IntParam):
            params[name] = trial.suggest_int(
                name, param.low, param.high, step=param.step, log=param.log
            )
        else:
            params[name] = trial.suggest_float(
                name, param.low, param.high, step=param.step, log=param.log
            )
    return params


def fixed_values(space: SearchSpace) -> dict[str, Any]:
    """The fixed parameters, which are not Optuna parameters of a trial."""
    return {name: p.value for name, p in space.params.items() if isinstance(p, FixedParam)}


def infinite_params(space: SearchSpace) -> list[str]:
    """Names of the parameters that have no finite set of values (floats without step/grid)."""
    return [
        name
        for name, param in space.params.items()
        if isinstance(param, FloatParam) and param.grid_values() is None
    ]


def grid_points(space: SearchSpace) -> Iterator[dict[str, Any]]:
    """Every point of a finite space; conditional parameters appear only where active.

    Points hold the Optuna parameters only (fixed values are left out), so that they can be
    enqueued with :meth:`optuna.Study.enqueue_trial`.
    """
    items = list(space.params.items())

    def expand(index: int, assigned: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if index == len(items):
            yield {k: v for k, v in assigned.items() if not isinstance(space.params[k], FixedParam)}
            return
        name, param = items[index]
        if not param.condition_holds(assigned):
            yield from expand(index + 1, assigned)
            return
        values = param.grid_values()
        if values is None:
            raise ValueError(f"parameter {name!r} has no finite set of values")
        for value in values:
            yield from expand(index + 1, {**assigned, name: value})

    return expand(0, {})


def grid_size(space: SearchSpace) -> int:
    """The number of grid points, counted without listing them (see :mod:`hpo.grid_count`)."""
    from hpo.grid_count import count_grid_points

    return count_grid_points(space)


def point_key(params: dict[str, Any]) -> str:
    """A canonical text of a grid point, equal for equal points whatever their types."""

    def norm(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return repr(value)

    return ";".join(f"{k}={norm(v)}" for k, v in sorted(params.items()))


__all__ = [
    "CategoricalParam",
    "FixedParam",
    "FloatParam",
    "IntParam",
    "SearchSpace",
    "check_point",
    "fixed_values",
    "grid_points",
    "grid_size",
    "infinite_params",
    "point_key",
    "suggest",
]
