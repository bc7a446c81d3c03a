"""Studies: optimize, grid search and what they found.

Example:
    .. code-block:: python

        from hpo.config import load_study_config
        from hpo.study import best, optimize

        optimize(load_study_config("demo"), n_trials=10)
        print(best("demo")["params"])
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunSummary", "best", "grid_search", "optimize"]


def __getattr__(name: str) -> Any:
    # Training pulls in torch; `hpo best` needs none of it, so the runner loads on first use.
    if name in ("RunSummary", "grid_search", "optimize"):
        from hpo.study import runner

        return getattr(runner, name)
    if name == "best":
        from hpo.study.summary import best

        return best
    raise AttributeError(name)
