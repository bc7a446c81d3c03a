"""A stored trial's steps read as epochs.

A trial's steps count the training examples it has seen, and its ``epoch_examples``
attribute (set at its first report) says how many make an epoch; in trials stored before
steps counted examples, a step was an epoch. No torch: ``hpo trials`` and ``hpo report``
read these.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


def epochs_at(trial: FrozenTrial, step: int) -> float:
    """The epochs a trial had trained at ``step``.

    Example:
        >>> import optuna
        >>> trial = optuna.trial.create_trial(value=0.5, intermediate_values={300: 0.5},
        ...                                   user_attrs={"epoch_examples": 200})
        >>> epochs_at(trial, 300)
        1.5
    """
    epoch_examples = trial.user_attrs.get("epoch_examples")
    return step / epoch_examples if epoch_examples else float(step)


def epochs_reached(trial: FrozenTrial) -> float:
    """The epochs a trial trained up to its last report (0 without reports)."""
    steps = trial.intermediate_values
    return epochs_at(trial, max(steps)) if steps else 0.0


def epoch_end_values(trial: FrozenTrial) -> dict[int, float]:
    """The values a trial reported at epochs' ends, by epoch.

    A trial stopped by its time limit reported the end of its last epoch early.

    Example:
        >>> import optuna
        >>> trial = optuna.trial.create_trial(value=0.7,
        ...     intermediate_values={100: 0.5, 200: 0.6, 250: 0.7},
        ...     user_attrs={"epoch_examples": 200, "stop_reason": "time_limit"})
        >>> epoch_end_values(trial)
        {1: 0.6, 2: 0.7}
    """
    values = {}
    steps = trial.intermediate_values
    for step, value in steps.items():
        epochs = epochs_at(trial, step)
        if epochs.is_integer():
            values[int(epochs)] = value
    if steps and trial.user_attrs.get("stop_reason") == "time_limit":
        last = max(steps)
        values[math.ceil(epochs_at(trial, last))] = steps[last]
    return values


def format_epochs(epochs: float) -> str:
    """Epochs as people write them: ``2``, ``1.25``, ``0.33``.

    Example:
        >>> format_epochs(2.0), format_epochs(1.25), format_epochs(1 / 3)
        ('2', '1.25', '0.33')
    """
    return f"{round(epochs, 2):g}"
