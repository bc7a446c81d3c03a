"""Text classification: labels from text, scored by accuracy, macro-F1 or loss.

This module is what a study file of the task is checked against (no torch here); the task
itself is :data:`hpo.tasks.classification.task.TASK`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.config_sections import is_parallel_data

if TYPE_CHECKING:
    from hpo.config import StudyConfig

METRICS = {"accuracy": "maximize", "f1": "maximize", "loss": "minimize"}


def check_config(config: StudyConfig) -> None:
    """A classification study reads labelled texts, not sentence pairs."""
    if is_parallel_data(config.data):
        raise ValueError(f"data source {config.data.source} does not fit task classification")
