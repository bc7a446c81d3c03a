"""A real PostgreSQL server for the tests.

The server on 127.0.0.1:5432 (or ``HPO_TEST_POSTGRES_URL``) is used when it answers;
otherwise the tests start their own with initdb/pg_ctl as an ordinary user, in a temporary
directory on a free port. Each test session works in a database of its own, dropped at the
end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _answers(url: str) -> bool:
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@contextlib.contextmanager
def own_server() -> Iterator[str]:
    """initdb + pg_ctl in a temporary directory; as root, run as an unprivileged user."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("no PostgreSQL server answers and initdb/pg_ctl are not installed")
    run_as: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    root = Path(tempfile.mkdtemp(prefix="hpo-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        user = "postgres" if _user_exists("postgres") else "nobody"
        run_as = ["runuser", "-u", user, "--"]
        shutil.chown(root, user=user)
    data, port = root / "data", _free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-A", "trust", "-U", user],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """The URL of an administrative connection to a running server."""
    url = os.environ.get("HPO_TEST_POSTGRES_URL") or DEFAULT_URL
    if os.environ.get("HPO_TEST_POSTGRES") != "own" and _answers(url):
        yield url
        return
    with own_server() as url:
        yield url


@contextlib.contextmanager
def fresh_database(admin_url: str, password_user: tuple[str, str] | None = None) -> Iterator[str]:
    """Create a database for one test session (and optionally a role with a password)."""
    name = f"hpo_test_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    url = make_url(admin_url).set(database=name)
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        if password_user:
            role, password = password_user
            connection.execute(
                sqlalchemy.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
            )
            connection.execute(sqlalchemy.text(f'ALTER DATABASE "{name}" OWNER TO "{role}"'))
            url = url.set(username=role, password=password)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if password_user:
                connection.execute(sqlalchemy.text(f'DROP ROLE IF EXISTS "{password_user[0]}"'))
        engine.dispose()
