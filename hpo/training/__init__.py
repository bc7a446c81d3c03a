"""Training of one model: the epoch loop, metrics, optimizers and devices."""

from hpo.training.trainer import (
    DivergedError,
    EpochRecord,
    FitResult,
    FitSettings,
    evaluate,
    fit,
)

__all__ = ["DivergedError", "EpochRecord", "FitResult", "FitSettings", "evaluate", "fit"]
