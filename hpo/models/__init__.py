"""Models built from trial parameters.

Each model family registers itself when its module is imported; a new family is one more
import line here (see DESIGN.md, "Adding a model family").
"""

from hpo.models import (  # noqa: F401  (registration)
    cnn_classifier,
    rnn_classifier,
    seq2seq,
    transformer,
)
from hpo.models.factory import build, build_classifier, count_parameters
from hpo.models.registry import Family, register

__all__ = ["Family", "build", "build_classifier", "count_parameters", "register"]
