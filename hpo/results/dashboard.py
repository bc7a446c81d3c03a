"""optuna-dashboard on the configured store; imported only by ``hpo dashboard``."""

from __future__ import annotations

from collections.abc import Callable

from hpo.config import load_study_config, resolve_storage
from hpo.errors import BadInput, HpoError
from hpo.study.storage import mask_url, open_storage


def serve(
    storage: str | None = None,
    study: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve optuna-dashboard until interrupted.

    The store is ``storage``, else ``HPO_STORAGE``, else the study file's, else the default
    SQLite file. The storage object, not the URL, is handed over, so the password is never
    printed.

    Example:
        .. code-block:: python

            serve("sqlite:///runs/hpo.db", port=8080)
    """
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise HpoError(
            "hpo dashboard needs optuna-dashboard: pip install 'hpo[dashboard]'"
        ) from None
    if not 0 < port < 65536:
        raise BadInput(f"--port must be between 1 and 65535, got {port}")
    config = load_study_config(study) if study else None
    url = resolve_storage(storage, config)
    store = open_storage(url)
    echo(f"optuna-dashboard on http://{host}:{port}/ for {mask_url(url)} (Ctrl-C stops it)")
    try:
        run_server(store, host=host, port=port)
    except OSError as exc:
        raise HpoError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
