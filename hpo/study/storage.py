"""Storage URLs: validation, password masking, and opening Optuna's RDB storage."""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hpo.errors import BadInput, HpoError

if TYPE_CHECKING:
    import optuna

    from hpo.config import HeartbeatConfig


def parse_storage_url(url: str):
    """Parse and check a SQLAlchemy URL; a bad one raises :class:`BadInput` (password masked)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise BadInput(
            f"malformed storage URL {mask_url(url)!r}: expected e.g. sqlite:///runs/hpo.db "
            "or postgresql+psycopg://user@host/db"
        ) from None
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise BadInput(
            f"storage URL {mask_url(url)!r}: unknown database driver {parsed.drivername!r}"
        ) from None
    except ImportError as exc:
        raise BadInput(
            f"storage URL {mask_url(url)!r} needs a database driver that is not installed "
            f"({exc.name or exc}); for PostgreSQL: pip install 'hpo[postgres]'"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise BadInput("storage URL 'sqlite://' names no file: use sqlite:///path/to/file.db")
    return parsed


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, whether or not SQLAlchemy can parse it."""
    credentials, at, host = url.rpartition("@")
    if not at:
        return url
    scheme, slashes, user_info = credentials.rpartition("//")
    user, colon, _password = user_info.partition(":")
    if not colon:
        return url
    return f"{scheme}{slashes}{user}:***@{host}"


def open_storage(
    url: str, heartbeat: HeartbeatConfig | None = None, *, existing: bool = False
) -> optuna.storages.RDBStorage:
    """Open (and create the tables of) the store at ``url``.

    ``existing=True`` is for commands that only look (``best``, ``trials``, ``report``): the
    store must exist already, and its schema is neither created nor checked, which saves
    most of the start-up time.

    With ``heartbeat``, running trials beat every ``interval`` seconds; a trial whose worker
    stopped beating for ``grace_period`` seconds is failed and retried with the same params
    (Optuna runs the check at the start of every trial of :meth:`optuna.Study.optimize`).
    """
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    parsed = parse_storage_url(url)
    engine_kwargs: dict = {}
    creation_lock: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        if existing and not path.is_file():
            raise BadInput(f"no store at {path}: run hpo optimize first, or give --storage")
        if not existing:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Even a reader stamps Optuna's version tables of a store it finds new.
        creation_lock = path.with_name(path.name + ".lock")
        # Writers wait for each other instead of failing with "database is locked".
        engine_kwargs["connect_args"] = {"timeout": 120}
    else:
        engine_kwargs["pool_pre_ping"] = True
    attempts = 0
    while True:
        try:
            # On SQLite a lock file serialises table creation between local processes.
            with _file_lock(creation_lock):
                if creation_lock is not None and not existing:
                    _enable_wal(Path(parsed.database))
                return _rdb_storage(url, engine_kwargs, heartbeat, existing)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
            attempts += 1
            # Two machines setting up a new database at once: the loser sees "already exists"
            # or a duplicate version row, and finds everything in place when it tries again.
            setting_up = isinstance(exc, IntegrityError) or "already exists" in reason
            if setting_up and attempts < 3:
                time.sleep(attempts)
                continue
            raise HpoError(f"cannot open storage {mask_url(url)}: {reason}") from None


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    try:
        handle = open(path, "a") if path is not None else None  # noqa: SIM115
    except OSError:  # a read-only folder: readers go on without the lock
        handle = None
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rdb_storage(
    url: str, engine_kwargs: dict, heartbeat: HeartbeatConfig | None, existing: bool
) -> optuna.storages.RDBStorage:
    import optuna

    with warnings.catch_warnings():
        # Heartbeats are marked experimental in Optuna; they are what recovery rests on.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        beats: dict = {}
        if heartbeat is not None:
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=heartbeat.max_retry)
            beats = dict(
                heartbeat_interval=heartbeat.interval,
                grace_period=heartbeat.grace_period,
                heartbeat_stale_trial_callback=retry,
            )
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            skip_compatibility_check=existing,
            skip_table_creation=existing,
            **beats,
        )


def _enable_wal(path: Path) -> None:
    # WAL mode is a property of the database file: set once, it holds for every connection.
    with sqlite3.connect(path, timeout=120) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
