"""The file of a SQLite store, checked before Optuna opens it: one line for each way it can
be wrong (a folder, a data file, an empty or foreign database, a folder that is read-only)."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import quote

from hpo.errors import BadInput


def check_store_file(path: Path, shown: str, *, existing: bool) -> None:
    """Refuse, as :class:`BadInput`, a path that cannot be the file of an Optuna store.

    ``shown`` is the storage URL as it may be printed (password masked). Readers
    (``existing``) need a SQLite file that holds Optuna's tables; a writer may also start
    from a missing or empty file.
    """
    if path.is_dir():
        raise BadInput(f"storage {shown}: {path} is a folder, not a SQLite file")
    if not path.exists():
        if existing:
            raise BadInput(f"no store at {path}: run hpo optimize first, or give --storage")
        return
    # The file is only ever opened through SQLite: a plain open() and close() of a database
    # drops the POSIX locks of this process's SQLite connections to it (see SQLite's "How To
    # Corrupt An SQLite Database File", 2.2), after which another process may reset the WAL
    # under them.
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise BadInput(f"storage {shown}: cannot read {path}: {exc.strerror or exc}") from None
    if empty:
        if existing:
            raise BadInput(f"storage {shown}: {path} is empty, not an Optuna store")
        return
    _check_tables(path, shown, existing=existing)


# Tables Optuna creates first; a writer may find a store that another process is setting up.
_OPTUNA_TABLES = {"studies", "version_info", "alembic_version", "study_directions"}


def _check_tables(path: Path, shown: str, *, existing: bool) -> None:
    # A database with tables but none of Optuna's is someone else's: never write into it.
    # One with no tables is fine for a writer (which creates them), not for a reader.
    # Opened for writing though only read: a read-only connection to a store in WAL mode
    # leaves its -wal and -shm files behind, where the last writable one to close removes
    # them. mode=rw never creates the file, and reads a write-protected one read-only.
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=120)
        try:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = sorted(name for (name,) in rows)
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise BadInput(f"storage {shown}: {path} is not a SQLite database") from None
        raise BadInput(f"storage {shown}: cannot read {path}: {exc}") from None
    if "studies" in tables or (not existing and _OPTUNA_TABLES & set(tables)):
        return
    if tables:
        listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise BadInput(f"storage {shown}: {path} is not an Optuna store (it holds {listed})")
    if existing:
        raise BadInput(f"storage {shown}: {path} holds no Optuna tables")


def check_writable_folder(folder: Path, shown: str) -> None:
    """Refuse a store whose folder cannot be written (nor created), without writing anything.

    The nearest folder that exists must take a new file: a temporary one, gone at once.
    """
    existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("."))
    if not existing.is_dir():
        raise BadInput(f"storage {shown}: {existing} is not a folder")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as exc:
        reason = exc.strerror or exc
        raise BadInput(f"storage {shown}: cannot write in {existing}: {reason}") from None


__all__ = ["check_store_file", "check_writable_folder"]
