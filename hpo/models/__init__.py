"""Models built from trial parameters."""

from hpo.models.factory import build, build_classifier, count_parameters

__all__ = ["build", "build_classifier", "count_parameters"]
