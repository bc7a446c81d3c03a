"""Check a search space against the parameters that code declares, before a study starts.

What a trial may set is what its code reads: the task's trainer (optimizer and schedule
included) and tokenizer, the ``init`` scheme, and the parameters of every model family the
space's ``arch`` can select (see :mod:`hpo.models.registry`). A name nobody declares, a value
of the wrong type, out of range, or a choice that does not exist (``arch: transformer`` until
such a family is registered) is bad input, found before anything is stored, not a failed
trial.
"""

from __future__ import annotations

from typing import Any

from hpo.errors import BadInput
from hpo.models import registry
from hpo.params import Param
from hpo.space import CategoricalParam, FixedParam, FloatParam, SearchSpace, reachable_ranges
from hpo.tasks import get_task


def check_search_space(space: SearchSpace, task: str, where: str = "") -> None:
    """Raise :class:`BadInput` naming the first parameter or value no code of ``task`` accepts.

    ``where`` (the study file) is named in the message beside the space's name.

    Example:
        .. code-block:: python

            space = SearchSpace.model_validate({"params": {"flux_capacitor": 1.21}})
            check_search_space(space, "translation")
            # BadInput: search space inline: unknown parameter 'flux_capacitor' for
            # translation; known: accumulate, arch, attention, ...
    """
    label = f"search space {space.name}" + (f" ({where})" if where else "")
    selectable = _selectable_archs(space, task, label)
    shared = {p.name: p for p in get_task(task).trial_params}
    for name, param in space.params.items():
        if name == "arch":
            continue
        archs = _active_archs(param, selectable)
        if name in shared:
            declared = [shared[name]]
        else:
            declared = [p for f in _families(task, archs) if (p := f.param(name)) is not None]
        if not declared:
            raise BadInput(
                f"{label}: unknown parameter {name!r} for "
                f"{task}{_scope(task, archs)}; known: {', '.join(_known(task, archs))}"
            )
        for declaration in declared:
            for values in reachable_ranges(space, name):
                _check_values(label, name, values, declaration)


def _selectable_archs(space: SearchSpace, task: str, label: str) -> list[str]:
    """The ``arch`` values a trial of ``space`` can have; each must select a family."""
    selector = registry.arch_param(task)
    param = space.params.get("arch")
    if param is None:
        return [selector.default]
    _check_values(label, "arch", param, selector)
    archs = list(dict.fromkeys(_values(param)))
    if param.when and selector.default not in archs:
        # Where its condition fails a trial has no arch, and gets the default family.
        archs.append(selector.default)
    return archs


def _active_archs(param: Any, selectable: list[str]) -> list[str]:
    """The archs under which ``param`` can be active (its ``when`` may narrow them)."""
    wanted = param.when.get("arch")
    if wanted is None:
        return selectable
    allowed = wanted if isinstance(wanted, list) else [wanted]
    return [arch for arch in selectable if arch in allowed]


def _families(task: str, archs: list[str]) -> list[registry.Family]:
    found: list[registry.Family] = []
    for arch in archs:
        family = registry.family_for(task, arch)
        if family not in found:
            found.append(family)
    return found


def _known(task: str, archs: list[str]) -> list[str]:
    names = {"arch", *(p.name for p in get_task(task).trial_params)}
    for family in _families(task, archs):
        names.update(p.name for p in family.params)
    return sorted(names)


def _scope(task: str, archs: list[str]) -> str:
    if set(archs) == set(registry.archs(task)):
        return ""
    return f" with arch {', '.join(archs)}"


def _values(param: Any) -> list[Any]:
    """The values to check: every choice, or a range's ends (the checks are monotone).

    A parameter with ``by`` comes here once per range (:func:`hpo.space.reachable_ranges`).
    """
    if isinstance(param, (CategoricalParam, FixedParam)):
        return param.grid_values()
    return [param.low, param.high]


def _check_values(label: str, name: str, param: Any, declaration: Param) -> None:
    if declaration.type == "int" and isinstance(param, FloatParam):
        raise BadInput(f"{label}: {name} takes integers; give it type: int, not a float range")
    for value in _values(param):
        problem = declaration.problem(value)
        if problem is not None:
            raise BadInput(f"{label}: {name} value {value!r} {problem}")
