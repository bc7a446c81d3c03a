"""Bad storage URLs, and stores that cannot be opened or written: one line, exit 2, the
stored study left as it was."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
from pathlib import Path

import pytest

from tests.bad_input.helpers import (
    SCIENCE,
    SPORTS,
    assert_one_line_error,
    assert_stored_study_unchanged,
    everything_in,
    hpo,
    tiny_study,
    write_study,
    write_tsv,
)
from tests.read_only import read_only_folder

# --- storage URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("not a url", ["malformed storage URL", "'not a url'"]),
        ("postgresql+nodriver://u@h/db", ["postgresql+nodriver", "driver"]),
        ("sqlite://", ["sqlite://", "names no file"]),
    ],
    ids=["not-a-url", "unknown-driver", "sqlite-without-file"],
)
def test_malformed_storage_url(here, capsys, stored, url, names):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path), "--storage", url)

    assert_one_line_error(code, err, *names)
    assert_stored_study_unchanged(here, stored)


def test_malformed_storage_url_from_the_environment(here, capsys, stored, monkeypatch):
    monkeypatch.setenv("HPO_STORAGE", "not a url")
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "malformed storage URL", "'not a url'")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://user:s3cret@127.0.0.1:1/db",
        "postgresql+nodriver://user:s3cret@127.0.0.1/db",
        "postgresql://user:s3cret@127.0.0.1:notaport/db",
    ],
    ids=["unreachable", "unknown-driver", "bad-port"],
)
def test_storage_password_is_never_printed(here, capsys, stored, url):
    path = write_study(here, tiny_study())

    code, out, err = hpo(capsys, "optimize", "--study", str(path), "--storage", url)

    assert code != 0
    assert "s3cret" not in out
    assert "s3cret" not in err
    assert "Traceback" not in err
    assert_stored_study_unchanged(here, stored)


def test_storage_password_is_never_printed_in_a_url_without_scheme(here, capsys, stored):
    path = write_study(here, tiny_study())

    code, out, err = hpo(capsys, "optimize", "--study", str(path), "--storage", "user:s3cret@h/db")

    assert_one_line_error(code, err, "malformed storage URL")
    assert "s3cret" not in out + err
    assert_stored_study_unchanged(here, stored)


@pytest.mark.skipif(
    importlib.util.find_spec("MySQLdb") is not None, reason="a MySQL driver is installed here"
)
def test_storage_driver_not_installed(here, capsys, stored):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path), "--storage", "mysql://u@h/db")

    assert_one_line_error(code, err, "mysql", "driver")
    assert_stored_study_unchanged(here, stored)


# --- stores that cannot be opened ----------------------------------------------------------


def _empty_file(here: Path) -> str:
    (here / "empty.db").touch()
    return "empty.db"


def _foreign_database(here: Path) -> str:
    import sqlite3

    with contextlib.closing(sqlite3.connect(here / "inventory.db")) as connection:
        connection.execute("CREATE TABLE parts (name TEXT)")
        connection.commit()
    return "inventory.db"


def _data_file(here: Path) -> str:
    write_tsv(here / "train.tsv", SPORTS + SCIENCE)
    return "train.tsv"


def _study_file(here: Path) -> str:
    write_study(here, tiny_study())
    return "tiny.yaml"


def _folder(here: Path) -> str:
    (here / "results").mkdir()
    return "results"


READ_ONLY_COMMANDS = {
    "studies": ["studies"],
    "trials": ["trials", "--study", "tiny"],
    "best": ["best", "--study", "tiny"],
    "report": ["report", "--study", "tiny"],
    "delete": ["delete", "--study", "tiny", "--yes"],
}
NO_STORES = [_empty_file, _foreign_database, _data_file, _study_file, _folder]


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS.values(), ids=READ_ONLY_COMMANDS)
@pytest.mark.parametrize("no_store", NO_STORES, ids=lambda f: f.__name__.strip("_"))
def test_read_only_command_on_a_file_that_is_no_store(here, capsys, stored, command, no_store):
    name = no_store(here)
    before = everything_in(here)

    code, _, err = hpo(capsys, *command, "--storage", f"sqlite:///{here / name}")

    assert_one_line_error(code, err, f"sqlite:///{here / name}")
    assert everything_in(here) == before
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS.values(), ids=READ_ONLY_COMMANDS)
def test_read_only_command_on_a_missing_database(here, capsys, stored, postgres_server, command):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server).set(database="no_such_db", password="s3cret")
    url_text = url.render_as_string(hide_password=False)

    code, out, err = hpo(capsys, *command, "--storage", url_text)

    line = assert_one_line_error(code, err, "no_such_db", "does not exist")
    assert "s3cret" not in out + err and ":***@" in line
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS.values(), ids=READ_ONLY_COMMANDS)
def test_read_only_command_on_a_server_that_does_not_answer(here, capsys, stored, command):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://hpo@127.0.0.1:{port}/hpo?password=s3cret"

    code, out, err = hpo(capsys, *command, "--storage", url)

    # Nothing the user typed need be wrong: a run-time failure, exit code 1.
    assert code == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"127.0.0.1:{port}/hpo?password=***" in err
    assert "s3cret" not in out + err
    assert_stored_study_unchanged(here, stored)


def _unwritable_folder(here: Path) -> tuple[str, str]:
    (here / "archive").mkdir()
    return "archive/hpo.db", "archive"


def _under_an_unwritable_folder(here: Path) -> tuple[str, str]:
    (here / "archive").mkdir()
    return "archive/2024/hpo.db", "archive"


@pytest.mark.parametrize(
    "location",
    [_unwritable_folder, _under_an_unwritable_folder],
    ids=["folder", "folder-to-create"],
)
def test_optimize_into_a_folder_that_cannot_be_written(here, capsys, stored, location):
    path = write_study(here, tiny_study())
    database, folder = location(here)
    before = everything_in(here)

    with read_only_folder(here / folder):
        code, _, err = hpo(
            capsys, "optimize", "--study", str(path), "--storage", f"sqlite:///{database}"
        )

    assert_one_line_error(code, err, f"sqlite:///{database}", "cannot write in", folder)
    assert everything_in(here) == before
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("no_store", "names"),
    [
        (_folder, ["is a folder"]),
        (_data_file, ["not a SQLite database"]),
        (_foreign_database, ["not an Optuna store", "parts"]),
    ],
    ids=["folder", "data-file", "foreign-database"],
)
def test_optimize_into_a_file_that_is_no_store(here, capsys, stored, no_store, names):
    name = no_store(here)
    before = everything_in(here)

    code, _, err = hpo(
        capsys, "optimize", "--study", "tiny.yaml", "--storage", f"sqlite:///{here / name}"
    )

    assert_one_line_error(code, err, name, *names)
    assert everything_in(here) == before
    assert_stored_study_unchanged(here, stored)
