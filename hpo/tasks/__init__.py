"""Tasks as plugins: each task is one package behind :class:`hpo.tasks.protocol.Task`.

A task package has two parts. Its ``__init__`` is light (no torch): the metrics the task
reports with their directions, and the checks a study file of the task must pass; the study
config reads these at load time. Its ``task`` module holds ``TASK``, the object the
objective, ``hpo train``, ``hpo evaluate``, the lottery and the runner use: data, models,
the training step and validation, checkpoints and how a kept model is used.

Adding a task is one new package and one line in :data:`TASKS` (as sacrebleu adds a
tokenizer: one file and one registry entry, imported only when named).

Example:
    >>> task_names()
    ('classification', 'translation')
    >>> task_metrics("translation")
    {'bleu': 'maximize', 'chrf': 'maximize', 'ppl': 'minimize'}
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.tasks.protocol import Task

# Task name -> its package. The package's ``task`` module is imported only when a study of
# that task runs, so loading a study file stays free of torch.
TASKS: dict[str, str] = {
    "classification": "hpo.tasks.classification",
    "translation": "hpo.tasks.translation",
}


def task_names() -> tuple[str, ...]:
    """Every registered task, in registration order."""
    return tuple(TASKS)


def task_metrics(name: str) -> dict[str, str]:
    """The metrics a task reports, each with its direction; the first is the default."""
    return dict(_spec(name).METRICS)


def check_task_config(name: str, config: Any) -> None:
    """Raise ``ValueError`` (or ``BadInput``) where a study file does not fit its task."""
    _spec(name).check_config(config)


def get_task(name: str) -> Task:
    """The :class:`~hpo.tasks.protocol.Task` registered as ``name``."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    task: Task = import_module(TASKS[name] + ".task").TASK
    return task


def _spec(name: str) -> Any:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return import_module(TASKS[name])


__all__ = ["TASKS", "check_task_config", "get_task", "task_metrics", "task_names"]
