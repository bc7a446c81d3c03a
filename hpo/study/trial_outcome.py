"""How a training run's failure is recorded on its trial, for every task."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import optuna

from hpo.training import DivergedError, FitResult


@contextlib.contextmanager
def recording_failure(trial: optuna.Trial) -> Iterator[None]:
    """Give a trial that fails its ``fail_reason`` (diverged, interrupted) before it ends."""
    try:
        yield
    except DivergedError as exc:
        trial.set_user_attr("fail_reason", f"diverged: {exc}")
        raise
    except KeyboardInterrupt:
        trial.set_user_attr("fail_reason", "interrupted")
        raise


def require_finite_value(trial: optuna.Trial, result: FitResult) -> None:
    """A run whose every epoch gave NaN or infinity ends as a failed trial."""
    if result.best_value is None:
        trial.set_user_attr("fail_reason", "no finite validation value")
        raise DivergedError("no epoch gave a finite validation value")
