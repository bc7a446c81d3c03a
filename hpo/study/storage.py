"""Storage URLs: validation, password masking, and opening Optuna's RDB storage."""

from __future__ import annotations

import contextlib
import fcntl
import re
import sqlite3
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from hpo.errors import BadInput, HpoError
from hpo.study.sqlite_file import check_store_file, check_writable_folder

if TYPE_CHECKING:
    import optuna

    from hpo.config import HeartbeatConfig


CONNECT_TIMEOUT_S = 30


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
    """The URL with every secret replaced by ``***``, whether or not SQLAlchemy can parse it.

    Masked are the password of ``user:password@host`` (up to the last ``@`` before the
    query, so that a password holding an unencoded ``@`` is hidden whole) and the value of
    every query parameter whose name speaks of a password (``password``, ``sslpassword``,
    ``passwd``, ...), however its name or value is percent-encoded.

    Example:
        >>> mask_url("postgresql+psycopg://hpo:s3cret@db.example.org/hpo")
        'postgresql+psycopg://hpo:***@db.example.org/hpo'
        >>> mask_url("postgresql+psycopg://hpo@db/hpo?sslmode=require&pass%77ord=s3cret")
        'postgresql+psycopg://hpo@db/hpo?sslmode=require&pass%77ord=***'
        >>> mask_url("sqlite:///runs/hpo.db")
        'sqlite:///runs/hpo.db'
    """
    spans = sorted(_password_span(url) + _secret_query_spans(url))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    masked, done = [], 0
    for start, end in merged:
        masked += [url[done:start], "***"]
        done = end
    return "".join([*masked, url[done:]])


# Query parameters that hold secrets, in any driver's spelling (psycopg's password and
# sslpassword, MySQL drivers' passwd, tokens of cloud databases).
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _password_span(url: str) -> list[tuple[int, int]]:
    # SQLAlchemy reads ``user:password@``: a user without ':' or '/', a password without '@'.
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    user_end = re.compile(r"[^:/]*").match(url, start).end()  # type: ignore[union-attr]
    if url[user_end : user_end + 1] != ":" or "@" not in url[user_end:]:
        return []
    query = url.find("?", url.index("@", user_end))
    last_at = url.rfind("@", user_end, query if query != -1 else len(url))
    return [(user_end + 1, last_at)]


def _secret_query_spans(url: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[?&]([^=&?#]*)=([^&]*)", url):
        if _SECRET_KEY.search(unquote_plus(match.group(1))):
            spans.append((match.start(2), match.end(2)))
    return spans


def _secrets_in(url: str) -> set[str]:
    """Every secret of ``url`` as text, raw and decoded, to keep out of error messages."""
    found = {url[start:end] for start, end in _password_span(url) + _secret_query_spans(url)}
    found |= {unquote_plus(secret) for secret in found}
    return {secret for secret in found if secret}


def storage_failure(url: str, exc: BaseException, doing: str = "open storage") -> HpoError:
    """One line for a store that failed: the reason, with every secret of ``url`` masked.

    A server that answered with a refusal (no such database, no such role, a wrong
    password) or a local file that is no Optuna store is bad input (exit 2); a server that
    does not answer is a run-time failure (exit 1): nothing the user typed may be wrong.
    """
    from sqlalchemy.exc import SQLAlchemyError

    cause = exc
    while cause.__cause__ is not None and not isinstance(cause, SQLAlchemyError):
        cause = cause.__cause__
    detail = getattr(cause, "orig", None) or cause
    lines = str(detail).strip().splitlines() or [type(detail).__name__]
    reason = " ".join(lines[0].split())
    for secret in sorted(_secrets_in(url), key=len, reverse=True):
        reason = reason.replace(secret, "***")
    error = BadInput if _refused(url, reason) else HpoError
    return error(f"cannot {doing} {mask_url(url)}: {reason}")


def _refused(url: str, reason: str) -> bool:
    if url.startswith("sqlite"):
        return "locked" not in reason
    return any(sign in reason for sign in _SERVER_REFUSALS)


# What a server says when it answered but will not serve (libpq prefixes FATAL, MySQL
# drivers quote the server); anything else (refused, timed out, unknown host) is the
# network's, not the URL's, fault.
_SERVER_REFUSALS = ("FATAL:", "does not exist", "authentication failed", "Access denied")


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
    import optuna
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    parsed = check_storage(url, existing=existing)
    engine_kwargs: dict = {}
    creation_lock: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        if not existing:
            _make_folder(Path(parsed.database).parent, url)
        # Even a reader stamps Optuna's version tables of a store it finds new.
        creation_lock = _lock_path(Path(parsed.database))
        # Writers wait for each other instead of failing with "database is locked".
        engine_kwargs["connect_args"] = {"timeout": 120}
    else:
        engine_kwargs["pool_pre_ping"] = True
        if parsed.get_driver_name() in ("psycopg", "psycopg2") and not any(
            key.lower() == "connect_timeout" for key in parsed.query
        ):
            # libpq waits for a silent server forever; a user's own timeout wins.
            engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    attempts = 0
    while True:
        try:
            # On SQLite a lock file serialises table creation between local processes.
            with _file_lock(creation_lock, url, required=not existing):
                if creation_lock is not None and not existing:
                    _enable_wal(Path(parsed.database))
                return _rdb_storage(url, engine_kwargs, heartbeat, existing)
        except (SQLAlchemyError, optuna.exceptions.StorageInternalError, sqlite3.Error) as exc:
            failure = storage_failure(url, exc)
            attempts += 1
            # Two machines setting up a new database at once: the loser sees "already exists"
            # or a duplicate row (a version row, or PostgreSQL's own catalog entry of a table
            # created at the same moment), and finds everything in place when it tries again.
            # SQLAlchemy raises IntegrityError itself; Optuna wraps it as the cause.
            setting_up = any(isinstance(e, IntegrityError) for e in (exc, exc.__cause__)) or any(
                sign in str(failure) for sign in ("already exists", "duplicate key")
            )
            if setting_up and attempts < 5:
                time.sleep(attempts)
                continue
            raise failure from None


def check_storage(url: str, *, existing: bool = False):
    """Parse ``url`` and, for SQLite, check its file and folder without opening the store.

    Cheap enough to run before anything else, so that a store that cannot be used is
    :class:`BadInput` before data is prepared. ``existing`` as in :func:`open_storage`.
    """
    parsed = parse_storage_url(url)
    if parsed.get_backend_name() != "sqlite":
        return parsed
    path = Path(parsed.database)
    check_store_file(path, mask_url(url), existing=existing)
    if not existing:
        check_writable_folder(path.parent, mask_url(url))
    return parsed


def _make_folder(folder: Path, url: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(
            f"storage {mask_url(url)}: cannot create folder {folder}: {exc.strerror or exc}"
        ) from None


def _lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def _file_lock(path: Path | None, url: str, *, required: bool) -> Iterator[None]:
    try:
        handle = open(path, "a") if path is not None else None  # noqa: SIM115
    except OSError as exc:  # a read-only folder: readers go on without the lock
        if required and path is not None:
            raise BadInput(
                f"storage {mask_url(url)}: cannot write in {path.parent}: {exc.strerror or exc}"
            ) from None
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

    from hpo.study.stale_trials import HeartbeatStorage, RetryStaleTrial

    with warnings.catch_warnings():
        # Heartbeats are marked experimental in Optuna; they are what recovery rests on.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        beats: dict = {}
        if heartbeat is not None:
            retry = RetryStaleTrial(max_retry=heartbeat.max_retry)
            beats = dict(
                heartbeat_interval=heartbeat.interval,
                grace_period=heartbeat.grace_period,
                heartbeat_stale_trial_callback=retry,
            )
        return HeartbeatStorage(
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
