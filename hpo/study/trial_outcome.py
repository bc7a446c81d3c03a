"""How a training run's failure is recorded on its trial, for every task.

A trial whose configuration fails (out of memory, a model that cannot be built with its
params, any error raised while it trains) ends FAIL with a ``fail_reason`` and the study
goes on; errors of the tool itself (bad input, a store that failed) still stop the study.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import TYPE_CHECKING

import optuna

from hpo.errors import HpoError
from hpo.training import DivergedError, FitResult

if TYPE_CHECKING:
    import torch

OUT_OF_MEMORY = "out_of_memory"
OTHER_ERROR = "error"
# What a ``retry.on`` list may name: the kinds a failed trial's ``fail_kind`` can have.
FAILURE_KINDS = (OUT_OF_MEMORY, OTHER_ERROR)


class TrialFailed(Exception):
    """A trial's own configuration failed; its reason is recorded, the study goes on."""


def failure_kind(exc: BaseException) -> str:
    """``out_of_memory`` for any allocator's out-of-memory error, else ``error``.

    Example:
        >>> failure_kind(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
        'out_of_memory'
        >>> failure_kind(ValueError("d_model 30 is not divisible by heads 4"))
        'error'
    """
    import torch

    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return OUT_OF_MEMORY
    # CPU and MPS allocators raise plain RuntimeErrors.
    if isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower():
        return OUT_OF_MEMORY
    return OTHER_ERROR


def failure_reason(exc: BaseException) -> str:
    """``<kind>: <first line>``; the kind is the exception's type unless it is out of memory,
    so that an error of the code (a ``TypeError``, say) shows as one.

    Example:
        >>> failure_reason(ValueError("d_model 30 is not divisible by heads 4\\nmore"))
        'ValueError: d_model 30 is not divisible by heads 4'
    """
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else ""
    kind = OUT_OF_MEMORY if failure_kind(exc) == OUT_OF_MEMORY else type(exc).__name__
    return f"{kind}: {first}" if first else kind


def _tool_error(exc: BaseException) -> bool:
    # Pruning, the tool's own errors and store failures are not a configuration's fault.
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, (optuna.exceptions.OptunaError, HpoError, SQLAlchemyError))


@contextlib.contextmanager
def recording_failure(trial: optuna.Trial) -> Iterator[None]:
    """Give a trial that fails its ``fail_reason`` (diverged, interrupted, an error of its
    configuration) before it ends.

    An error of the configuration is raised again as :class:`TrialFailed`, which the study
    catches; ``fail_kind`` (``out_of_memory`` or ``error``) says whether ``retry`` applies.
    """
    try:
        yield
    except DivergedError as exc:
        if "fail_reason" not in trial.user_attrs:
            trial.set_user_attr("fail_reason", f"diverged: {exc}")
        raise
    except KeyboardInterrupt:
        trial.set_user_attr("fail_reason", "interrupted")
        raise
    except Exception as exc:
        if _tool_error(exc):
            raise
        trial.set_user_attr("fail_reason", failure_reason(exc))
        trial.set_user_attr("fail_kind", failure_kind(exc))
        raise TrialFailed(failure_reason(exc)) from exc


def release_memory() -> None:
    """Free what a failed trial left behind (its model, optimizer, activations).

    Called once the trial has ended, when its traceback no longer holds its tensors.
    """
    gc.collect()
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def require_finite_value(
    trial: optuna.Trial, result: FitResult
) -> tuple[float, dict[str, torch.Tensor]]:
    """The best value and the weights that gave it; a run whose every epoch gave NaN or
    infinity ends as a failed trial."""
    if result.best_value is None or result.best_state is None:
        trial.set_user_attr("fail_reason", "no finite validation value")
        raise DivergedError("no epoch gave a finite validation value")
    return result.best_value, result.best_state
