"""The loop settings every task takes from the study file, the same way for each task."""

from __future__ import annotations

from typing import Any

from hpo.config import StudyConfig


def study_limits(config: StudyConfig, seed: int, max_epochs: int | None = None) -> dict[str, Any]:
    """Epochs, metric and its direction, time limit, seed, AMP and reports of ``config``, as
    keyword arguments of a task's settings; ``max_epochs`` overrides the study's.

    Example:
        >>> from hpo.config import StudyConfig
        >>> config = StudyConfig(
        ...     name="s", task="classification", data={"source": "builtin"},
        ...     search_space={"params": {"lr": 0.01}}, training={"max_epochs": 4})
        >>> limits = study_limits(config, seed=7)
        >>> limits["max_epochs"], limits["metric"], limits["maximize"], limits["seed"]
        (4, 'accuracy', True, 7)
    """
    return {
        "max_epochs": max_epochs or config.training.max_epochs,
        "metric": config.metric,
        "maximize": config.direction == "maximize",
        "time_limit": config.training.trial_time_limit,
        "seed": seed,
        "amp": config.training.amp,
        "report_every": config.training.report_every,
    }
