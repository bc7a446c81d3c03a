"""``hpo evaluate``: score a trial's kept model on a split, the way its task scores it.

One evaluator per task, in a registry: a classifier gets accuracy, macro-F1, per-class
scores and the confusion matrix; a translator BLEU and chrF with their signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpo.errors import BadInput
from hpo.study.trial_lookup import TrialCheckpoint

Evaluator = Callable[[TrialCheckpoint, str, str | None, int | None, float | None], Any]


def _classification(
    found: TrialCheckpoint,
    split: str,
    device: str | None,
    beam: int | None,
    length_penalty: float | None,
) -> Any:
    from hpo.study.classification_use import evaluate_classifier

    if beam is not None or length_penalty is not None:
        raise BadInput("--beam and --length-penalty apply to translation studies only")
    return evaluate_classifier(found, split, device)


def _translation(
    found: TrialCheckpoint,
    split: str,
    device: str | None,
    beam: int | None,
    length_penalty: float | None,
) -> Any:
    from hpo.study.translation.use import evaluate_split

    return evaluate_split(
        found,
        split,
        beam=1 if beam is None else beam,
        length_penalty=1.0 if length_penalty is None else length_penalty,
        device=device,
    )


EVALUATORS: dict[str, Evaluator] = {
    "classification": _classification,
    "translation": _translation,
}


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
    if found.task not in EVALUATORS:
        raise BadInput(f"study {found.study!r} has task {found.task!r}, which hpo cannot evaluate")
    return EVALUATORS[found.task](found, split, device, beam, length_penalty)


__all__ = ["EVALUATORS", "evaluate_trial"]
