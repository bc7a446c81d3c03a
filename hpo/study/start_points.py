"""Known-good configurations run first: a space's ``start``, a study's ``start_with`` and
``--warm-start OTHER_STUDY``.

A sampler's first trials are random; on a real corpus a random configuration can spend the
first minutes of a budget learning nothing. A configuration that is known to work (a seed
notebook's, or the best of a study on a smaller corpus) gives the pruner a good trial to
compare with from the first rung on. They are enqueued (``Study.enqueue_trial``), so the
sampler's own trials follow and every worker takes them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from hpo.config import StudyConfig
from hpo.errors import BadInput, HpoError
from hpo.space import FixedParam, FloatParam, IntParam, SearchSpace, value_problem

ORIGIN_ATTR = "origin"
# Set on a known-good configuration's trial (and kept by its retries): it is not held to
# ``training.trial_share`` of the study's timeout.
START_ATTR = "start_point"


@dataclass
class StartPoint:
    """One configuration to run before the sampler's own, and where it came from."""

    params: dict[str, Any]
    origin: str


def configured_points(config: StudyConfig) -> list[StartPoint]:
    """The space's ``start`` point, then the study file's ``start_with`` points, in order."""
    points = []
    if config.search_space.start is not None:
        points.append(StartPoint(config.search_space.start, f"start of {config.search_space.name}"))
    for i, params in enumerate(config.start_with):
        points.append(StartPoint(params, f"start_with {i + 1}"))
    return points


def project(space: SearchSpace, point: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The part of ``point`` that ``space`` can take, and the names it had to leave out.

    Another study's configuration may come from another space: values this space cannot take
    (and parameters it does not have) are left to the sampler, and so is a value whose range
    depends (``by``) on a parameter left to the sampler.

    Example:
        >>> space = SearchSpace(params={"lr": {"type": "float", "low": 1e-4, "high": 1e-2},
        ...                             "dropout": {"type": "float", "low": 0.0, "high": 0.5}})
        >>> project(space, {"lr": 0.5, "dropout": 0.1, "momentum": 0.9})
        ({'dropout': 0.1}, ['lr', 'momentum'])
        >>> space = SearchSpace(params={
        ...     "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        ...     "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True,
        ...            "by": {"optimizer": {"sgd": {"low": 1e-2, "high": 0.3}}}}})
        >>> project(space, {"optimizer": "sgd", "lr": 0.05})
        ({'optimizer': 'sgd', 'lr': 0.05}, [])
        >>> project(space, {"optimizer": "adam", "lr": 0.05})
        ({'optimizer': 'adam'}, ['lr'])
    """
    kept: dict[str, Any] = {}
    assigned: dict[str, Any] = {}
    sampled: set[str] = set()
    for name, param in space.params.items():
        decided = all(parent in assigned for parent in param.when)
        if not decided or not param.condition_holds(assigned):
            continue
        if isinstance(param, FixedParam):
            assigned[name] = param.value
            continue
        # A range `by` a parameter the sampler will choose is not known yet.
        fits = not sampled.intersection(param.parents()) and name in point
        if isinstance(param, (FloatParam, IntParam)):
            param = param.range_for(assigned)
        if fits and value_problem(param, point[name]) is None:
            kept[name] = assigned[name] = point[name]
        else:
            sampled.add(name)
    left_out = sorted(n for n in point if n not in kept and not _fixed_here(space, n, point[n]))
    return kept, left_out


def _fixed_here(space: SearchSpace, name: str, value: Any) -> bool:
    param = space.params.get(name)
    return isinstance(param, FixedParam) and param.value == value


def warm_start_points(
    ref: str, top: int, config: StudyConfig, storage_url: str, cli_storage: str | None
) -> tuple[list[StartPoint], list[str]]:
    """The ``top`` best complete configurations of study ``ref``, best first, fitted to this
    study's space; and one note per configuration that lost parameters on the way.

    ``ref`` is a study file or the name of a stored study; a bare name is looked up in this
    study's store. Bad input (no such study, no complete trial) is refused before anything
    is stored.
    """
    from hpo.study.kept_trials import complete_best_first
    from hpo.study.stored import load_stored_study, resolve_study

    if top < 1:
        raise BadInput(f"--top must be at least 1, got {top}")
    try:
        name, other_config, url = resolve_study(ref, cli_storage)
        other = load_stored_study(name, storage_url if other_config is None else url)
    except HpoError as exc:
        raise type(exc)(f"--warm-start {ref}: {exc}") from None
    complete = complete_best_first(other)
    if not complete:
        raise BadInput(f"--warm-start: study {name!r} has no complete trial to start from")
    points, notes = [], []
    for _, trial in complete[:top]:
        full = {**trial.user_attrs.get("fixed_params", {}), **trial.params}
        params, left_out = project(config.search_space, full)
        points.append(StartPoint(params, f"warm start: {name} trial {trial.number}"))
        if left_out:
            notes.append(
                f"warm start: trial {trial.number} of {name}: {', '.join(left_out)} "
                "outside this space, sampled instead"
            )
    return points, notes


def enqueue(study: optuna.Study, points: list[StartPoint], echo: Callable[[str], None]) -> None:
    """Put ``points`` in the study's queue, skipping any configuration it already has."""
    before = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    for point in points:
        attrs = {ORIGIN_ATTR: point.origin, START_ATTR: True}
        study.enqueue_trial(point.params, attrs, skip_if_exists=True)
    added = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,))) - before
    if points:
        skipped = f", {len(points) - added} already run" if added < len(points) else ""
        echo(f"queued {added} start configuration(s) first{skipped}")
