"""Model families: which ``arch`` values select them, the parameters they read, their builder.

A family is registered by one line next to its code::

    CNN = register(Family("cnn", "classification", ("cnn",), CNN_PARAMS, build_cnn))

and :func:`hpo.models.build` looks the family up by the task and the trial's ``arch``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from hpo.errors import BadInput
from hpo.params import Param, choice, read_params

# The family a trial gets when its space has no ``arch``: what studies trained before
# ``arch`` could be searched.
DEFAULT_ARCH = {"classification": "cnn", "translation": "rnn"}

_FAMILIES: dict[tuple[str, str], Family] = {}


@dataclass(frozen=True)
class Family:
    """A model family of one task.

    Args:
        name: What the family is called in messages and docs.
        task: The study task it serves (``classification`` or ``translation``).
        arch: The values of the ``arch`` parameter that select it; a family with several
            (``lstm``, ``gru``) gets the selected one as ``values["arch"]``.
        params: The parameters it reads, with their defaults and ranges.
        build: ``build(values, **sizes) -> nn.Module``, where ``values`` holds every declared
            parameter (the trial's value or the default) and ``arch``, and ``sizes`` the
            vocabulary sizes (and number of classes) of the task.
    """

    name: str
    task: str
    arch: tuple[str, ...]
    params: tuple[Param, ...]
    build: Callable[..., nn.Module]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def values(self, arch: str, params: dict[str, Any]) -> dict[str, Any]:
        """Every declared parameter's value for ``params`` (defaults filled in), and ``arch``."""
        return {**read_params(self.params, params), "arch": arch}


def register(family: Family) -> Family:
    """Make ``family`` selectable by its ``arch`` values; returns it."""
    for arch in family.arch:
        taken = _FAMILIES.get((family.task, arch))
        if taken is not None and taken is not family:
            raise ValueError(f"{family.task} arch {arch!r} is already the {taken.name} family")
        _FAMILIES[(family.task, arch)] = family
    return family


def archs(task: str) -> tuple[str, ...]:
    """Every ``arch`` value of ``task``, in registration order."""
    return tuple(arch for t, arch in _FAMILIES if t == task)


def families(task: str) -> list[Family]:
    """The registered families of ``task``, each once."""
    found: list[Family] = []
    for (t, _), family in _FAMILIES.items():
        if t == task and family not in found:
            found.append(family)
    return found


def arch_param(task: str) -> Param:
    """The ``arch`` selector of ``task`` as a declared parameter."""
    return choice("arch", DEFAULT_ARCH[task], archs(task), f"the {task} model family")


def family_for(task: str, arch: str) -> Family:
    """The family that ``arch`` selects in ``task``; :class:`BadInput` when none does."""
    family = _FAMILIES.get((task, arch)) if isinstance(arch, str) else None
    if family is None:
        known = ", ".join(archs(task))
        raise BadInput(f"unknown {task} arch {arch!r}; expected one of {known}")
    return family


__all__ = ["DEFAULT_ARCH", "Family", "arch_param", "archs", "families", "family_for", "register"]
