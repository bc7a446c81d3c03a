"""Translation: sentence pairs, scored by BLEU, chrF or perplexity.

This module is what a study file of the task is checked against (no torch here); the task
itself is :data:`hpo.tasks.translation.task.TASK`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.config_sections import is_parallel_data
from hpo.errors import BadInput

if TYPE_CHECKING:
    from hpo.config import StudyConfig

METRICS = {"bleu": "maximize", "chrf": "maximize", "ppl": "minimize"}


def check_config(config: StudyConfig) -> None:
    """A translation study reads sentence pairs and keeps the targets' case for BLEU."""
    if not is_parallel_data(config.data):
        raise ValueError(f"data source {config.data.source} does not fit task translation")
    if config.tokenizer.lowercase:
        raise BadInput(
            "tokenizer.lowercase: not for translation: BLEU is scored against the "
            "references as written, case included"
        )
