"""What studies found: ``hpo best``, the HTML report, listings, deletion and the dashboard.

These read the store (and ``runs/``) and never train, so they import no torch.

Example:
    .. code-block:: python

        from hpo.results import best

        print(best("demo")["params"])
"""

from __future__ import annotations

from hpo.results.best import best, format_best

__all__ = ["best", "format_best"]
