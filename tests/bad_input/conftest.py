"""The stored study every bad-input test runs beside, and the folder each test starts in."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from hpo.cli import main
from tests.bad_input.helpers import Stored, everything_in, store_contents, tiny_study, write_study


@pytest.fixture(scope="package")
def stored_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Stored]:
    """A good tiny study run once, in a folder that every test copies: a run costs seconds."""
    folder = tmp_path_factory.mktemp("stored")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("HPO_STORAGE", raising=False)
        patch.setenv("HPO_RUNS_DIR", str(folder / "runs"))
        path = write_study(folder, tiny_study())
        assert main(["optimize", "--study", str(path), "--n-trials", "1"]) == 0
    # The run's store connections close when collected, and SQLite then folds its WAL into
    # the file: collect now, so that this happens neither in a copy nor after the snapshot.
    gc.collect()
    contents = store_contents(folder)
    assert [trial[1] for trial in contents["tiny"]] == ["COMPLETE"]
    return folder, Stored(contents, everything_in(folder / "runs"))


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored_once: tuple[Path, Stored]) -> Path:
    """The user's working directory, where the study "tiny" (tiny.yaml) is already stored:
    runs/ and the default SQLite store live inside it."""
    folder, _ = stored_once
    shutil.copytree(folder / "runs", tmp_path / "runs")
    shutil.copy2(folder / "tiny.yaml", tmp_path / "tiny.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPO_STORAGE", raising=False)
    monkeypatch.setenv("HPO_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


@pytest.fixture
def stored(stored_once: tuple[Path, Stored]) -> Stored:
    """What ``here``'s store and runs/ hold before the test's command."""
    return stored_once[1]
