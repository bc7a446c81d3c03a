"""Studies: optimize and grid search over a store, one trial at a time or in workers.

Example:
    .. code-block:: python

        from hpo.config import load_study_config
        from hpo.study import optimize

        summary = optimize(load_study_config("demo"), n_trials=10)
        print(summary.best_value)
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunSummary", "grid_search", "optimize"]


def __getattr__(name: str) -> Any:
    # Training pulls in torch; `hpo best` needs none of it, so the runner loads on first use.
    if name in ("RunSummary", "grid_search", "optimize"):
        from hpo.study import runner

        return getattr(runner, name)
    raise AttributeError(name)
