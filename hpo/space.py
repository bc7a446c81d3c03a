"""The search-space language: typed parameters, ``trial.suggest_*`` and grid enumeration.

A search space is a mapping of parameter names to definitions::

    params:
      arch: {type: categorical, choices: [cnn, lstm, gru]}
      optimizer: {type: categorical, choices: [adam, sgd]}
      lr: {type: float, low: 1.0e-4, high: 3.0e-3, log: true,
           by: {optimizer: {sgd: {low: 1.0e-2, high: 0.3}}}}
      hidden_size: {type: int, low: 32, high: 256, step: 32, when: {arch: [lstm, gru]}}
      filter_sizes: {type: categorical, choices: ["3,4,5", "2,3"], when: {arch: cnn}}
      weight_decay: 0.0                   # a fixed value

``when`` makes a parameter conditional: it exists only when every named parameter has the
given value (or one of the listed values). ``by`` gives a numeric parameter another range
for some values of a categorical or fixed parameter (see :mod:`hpo.space_params`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, model_validator

from hpo.space_params import (
    CategoricalParam,
    FixedParam,
    FloatParam,
    IntParam,
    Param,
    Scalar,
    same_value,
    value_problem,
)

if TYPE_CHECKING:
    import optuna


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
            if isinstance(param, (FloatParam, IntParam)):
                _check_by(self.params, name, param)
        self.params = dict(_dependency_order(self.params))
        if self.start is not None:
            self.start = check_point(self, self.start, "start")
        return self


def _check_by(params: dict[str, Any], name: str, param: FloatParam | IntParam) -> None:
    for parent, ranges in param.by.items():
        if parent == name:
            raise ValueError(f"parameter {name!r} takes its range by itself")
        if parent not in params:
            raise ValueError(f"parameter {name!r} takes its range by unknown parameter {parent!r}")
        parent_param = params[parent]
        if not isinstance(parent_param, (CategoricalParam, FixedParam)):
            raise ValueError(
                f"parameter {name!r} takes its range by {parent!r}, which is a range: "
                "by names a categorical or fixed parameter"
            )
        possible = parent_param.grid_values()
        for value in ranges:
            if not any(same_value(value, p) for p in possible):
                raise ValueError(
                    f"parameter {name!r} has a range for {parent}={value!r}, "
                    f"which is not one of {possible}"
                )


def range_note(param: Any, assigned: dict[str, Any]) -> str:
    """Which of ``param``'s ranges holds under ``assigned``, for messages: `` (the range for
    optimizer='sgd')``, or nothing where the parameter has one range."""
    for parent, ranges in getattr(param, "by", {}).items():
        value = assigned.get(parent)
        if any(same_value(value, k) for k in ranges):
            return f" (its range for {parent}={value!r})"
    return ""


def check_point(space: SearchSpace, point: dict[str, Any], where: str) -> dict[str, Any]:
    """A configuration checked against ``space``: its Optuna parameters, ready to enqueue.

    Every value must be one the space can take (a parameter with ``by``: one of the range
    its parameter's value selects); fixed values may be repeated. Active parameters the point
    leaves out are sampled as usual; a value for a parameter whose condition does not hold is
    refused (it would never be used).

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
    sampled: set[str] = set()  # active, left out of the point: the sampler decides
    for name, param in space.params.items():
        undecided = [parent for parent in param.when if parent not in assigned]
        undecided += [parent for parent in param.parents() if parent in sampled]
        if name in point and undecided:
            raise ValueError(f"{where}: {name!r} depends on {undecided[0]!r}: give it too")
        active = param.condition_holds(assigned)
        if name not in point:
            if active and isinstance(param, FixedParam):
                assigned[name] = param.value
            elif active:
                sampled.add(name)
            continue
        if not active:
            raise ValueError(f"{where}: {name!r} does not apply here (its condition: {param.when})")
        problem = value_problem(_range_for(param, assigned), point[name])
        if problem:
            note = range_note(param, assigned)
            raise ValueError(f"{where}: {name} value {point[name]!r} {problem}{note}")
        assigned[name] = point[name]
    return {k: v for k, v in assigned.items() if not isinstance(space.params[k], FixedParam)}


def _dependency_order(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """Order parameters so that every parameter follows those its ``when`` and ``by`` name."""
    ordered: list[tuple[str, Any]] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ValueError(f"conditions form a cycle through parameter {name!r}")
        visiting.add(name)
        for parent in params[name].parents():
            visit(parent)
        visiting.discard(name)
        done.add(name)
        ordered.append((name, params[name]))

    for name in params:
        visit(name)
    return ordered


def _range_for(param: Any, assigned: dict[str, Any]) -> Any:
    return param.range_for(assigned) if isinstance(param, (FloatParam, IntParam)) else param


def reachable_ranges(space: SearchSpace, name: str) -> list[Any]:
    """The definitions parameter ``name`` can have in a trial: one, or with ``by`` one per
    named value, and its own range unless every value of the ``by`` parameter has another.

    Example:
        >>> space = SearchSpace(params={
        ...     "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        ...     "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True,
        ...            "by": {"optimizer": {"sgd": {"low": 1e-2, "high": 0.3}}}}})
        >>> [(r.low, r.high) for r in reachable_ranges(space, "lr")]
        [(0.0001, 0.003), (0.01, 0.3)]
    """
    param = space.params[name]
    if not isinstance(param, (FloatParam, IntParam)) or not param.by:
        return [param]
    (parent, ranges), *_ = param.by.items()
    chooser = space.params[parent]
    values = chooser.grid_values() if isinstance(chooser, (CategoricalParam, FixedParam)) else []
    covered = not chooser.when and all(any(same_value(v, k) for k in ranges) for v in values)
    own = [] if covered else [param.range_for({})]
    return own + [r for _, r in param.by_ranges()]


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
        param = _range_for(param, params)
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
    """Names of the parameters that have no finite set of values (floats without step/grid,
    in any of their ranges)."""
    return [
        name
        for name, param in space.params.items()
        if isinstance(param, FloatParam)
        and any(r.grid_values() is None for r in reachable_ranges(space, name))
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
        values = _range_for(param, assigned).grid_values()
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
    "range_note",
    "reachable_ranges",
    "suggest",
    "value_problem",
]
