"""``hpo evaluate``: score a trial's kept model on a split, the way its task scores it.

The task's :meth:`~hpo.tasks.protocol.Task.evaluate` does the scoring: a classifier gets
accuracy, macro-F1, per-class scores and the confusion matrix; a translator BLEU and chrF
with their signatures.
"""

from __future__ import annotations

from typing import Any

from hpo.errors import BadInput
from hpo.study.trial_lookup import TrialCheckpoint
from hpo.tasks import get_task, task_names
from hpo.tasks.protocol import UseOptions


def evaluate_trial(
    found: TrialCheckpoint,
    split: str = "test",
    *,
    device: str | None = None,
    beam: int | None = None,
    length_penalty: float | None = None,
) -> Any:
    """The evaluation of ``found``'s model on ``split``: a dataclass with ``text()``.

    On dev (and, for translation, with beam 1) it gives the value the trial recorded.

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("demo", "best", None)
            print(evaluate_trial(found, "dev").text())
    """
    if found.task not in task_names():
        raise BadInput(f"study {found.study!r} has task {found.task!r}, which hpo cannot evaluate")
    options = UseOptions(device=device, beam=beam, length_penalty=length_penalty)
    return get_task(found.task).evaluate(found, split, options)


__all__ = ["evaluate_trial"]
