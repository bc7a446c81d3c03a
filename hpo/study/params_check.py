"""Check a search space against what the models and trainer accept, before a study starts.

A value that only the objective would refuse (``arch: transformer``) must be bad input,
found before anything is stored, not a failed trial.
"""

from __future__ import annotations

from typing import Any

from hpo.errors import BadInput
from hpo.models.attention import ATTENTIONS
from hpo.models.factory import CLASSIFIER_ARCHS, parse_sizes
from hpo.models.init import INIT_SCHEMES
from hpo.models.seq2seq import CELLS
from hpo.space import CategoricalParam, FixedParam, SearchSpace
from hpo.training.builders import OPTIMIZERS, SCHEDULES

KNOWN_CHOICES = {
    "arch": CLASSIFIER_ARCHS,
    "optimizer": OPTIMIZERS,
    "lr_schedule": SCHEDULES,
    "init": INIT_SCHEMES,
    # translation models
    "cell": CELLS,
    "attention": ATTENTIONS,
    "residual": (True, False),
    "tie_embeddings": (True, False),
}
INF = float("inf")
# name -> (low, high, whether low is allowed, whether high is allowed)
NUMERIC_LIMITS = {
    "dropout": (0.0, 1.0, True, False),
    "lr": (0.0, INF, False, False),
    "weight_decay": (0.0, INF, True, False),
    "clip_grad": (0.0, INF, True, False),
    "batch_size": (1, INF, True, False),
    "embedding_dim": (1, INF, True, False),
    "hidden_size": (1, INF, True, False),
    "num_layers": (1, INF, True, False),
    "num_filters": (1, INF, True, False),
    "vocab_size": (8, INF, True, False),
    # translation models and their trainer
    "src_vocab_size": (8, INF, True, False),
    "tgt_vocab_size": (8, INF, True, False),
    "batch_tokens": (1, INF, True, False),
    "accumulate": (1, INF, True, False),
    "warmup_steps": (0, INF, True, False),
    "label_smoothing": (0.0, 1.0, True, False),
    "teacher_forcing": (0.0, 1.0, True, True),
}


def _within(value: float, low: float, high: float, low_ok: bool, high_ok: bool) -> bool:
    above = value >= low if low_ok else value > low
    below = value <= high if high_ok else value < high
    return above and below


def _values(param: Any) -> list[Any]:
    if isinstance(param, (CategoricalParam, FixedParam)):
        return param.grid_values()
    return [param.low, param.high]


def check_search_space(space: SearchSpace) -> None:
    """Raise :class:`BadInput` naming the first parameter value no model or trainer accepts."""
    for name, param in space.params.items():
        values = _values(param)
        if name in KNOWN_CHOICES:
            for value in values:
                if value not in KNOWN_CHOICES[name]:
                    known = ", ".join(KNOWN_CHOICES[name])
                    raise BadInput(
                        f"search space {space.name}: {name} value {value!r} is not one of {known}"
                    )
        if name == "filter_sizes":
            for value in values:
                try:
                    sizes = parse_sizes(value)
                except (TypeError, ValueError):
                    sizes = ()
                if not sizes or min(sizes) < 1:
                    raise BadInput(
                        f"search space {space.name}: filter_sizes value {value!r} is not "
                        "a list of positive widths like '3,4,5'"
                    )
        if name in NUMERIC_LIMITS:
            for value in values:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise BadInput(
                        f"search space {space.name}: {name} value {value!r} is not a number"
                    )
                if not _within(value, *NUMERIC_LIMITS[name]):
                    low, high, low_ok, high_ok = NUMERIC_LIMITS[name]
                    interval = f"{'[' if low_ok else '('}{low}, {high}{']' if high_ok else ')'}"
                    raise BadInput(
                        f"search space {space.name}: {name} value {value} is outside {interval}"
                    )
