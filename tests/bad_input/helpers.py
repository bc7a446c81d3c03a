"""Study files, data files and the checks shared by the bad-input tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import yaml

from hpo.cli import main

TINY_PARAMS = {
    "arch": "cnn",
    "embedding_dim": 8,
    "num_filters": 4,
    "filter_sizes": "2",
    "lr": 0.01,
    "batch_size": 32,
}


def tiny_study(name: str = "tiny", **fields) -> dict:
    """A study that trains in a second: fixed tiny CNN on 200 built-in sentences, one epoch."""
    study = {
        "name": name,
        "task": "classification",
        "data": {"source": "builtin", "size": 200},
        "tokenizer": {"vocab_size": 100},
        "search_space": {"params": copy.deepcopy(TINY_PARAMS)},
        "training": {"max_epochs": 1},
        "sampler": {"type": "random"},
    }
    study.update(fields)
    return study


def write_study(directory: Path, study: dict, filename: str | None = None) -> Path:
    path = directory / (filename or f"{study['name']}.yaml")
    path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


def write_tsv(path: Path, rows: list[tuple[str, str]], header: str = "text\tlabel") -> Path:
    lines = [header, *(f"{text}\t{label}" for text, label in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SPORTS = [("the team won the match", "sports"), ("a late goal in the league", "sports")]
SCIENCE = [("a telescope found a new orbit", "science"), ("the genome study", "science")]


def files_study(directory: Path, **data) -> dict:
    """A study over train.tsv / dev.tsv in ``directory``, both good unless overridden."""
    write_tsv(directory / "train.tsv", SPORTS + SCIENCE)
    write_tsv(directory / "dev.tsv", SPORTS[:1] + SCIENCE[:1])
    section = {"source": "files", "train": "train.tsv", "dev": "dev.tsv", **data}
    return tiny_study(data=section)


def lr_by_optimizer(by: dict, log: bool = True) -> dict:
    """Searched optimizer and an lr whose range depends on it (``by``)."""
    return {
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": log, "by": by},
    }


def store_file(directory: Path) -> Path:
    return directory / "runs" / "hpo.db"


def store_contents(directory: Path) -> dict[str, list[tuple]]:
    """Every study in the default store with its trials: number, state, value, params."""
    url = f"sqlite:///{store_file(directory).as_posix()}"
    storage = optuna.storages.RDBStorage(url)
    try:
        contents = {}
        for summary in optuna.get_all_study_summaries(storage):
            study = optuna.load_study(study_name=summary.study_name, storage=storage)
            contents[summary.study_name] = [
                (t.number, t.state.name, t.value, t.params) for t in study.get_trials()
            ]
        return contents
    finally:
        storage.engine.dispose()


def everything_in(directory: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder below ``directory``."""
    return {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else None
        for p in sorted(directory.rglob("*"))
    }


@dataclass(frozen=True)
class Stored:
    """What the default store and runs/ held before the bad command."""

    contents: dict[str, list[tuple]]
    files: dict[str, bytes | None]


def hpo(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *names: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    line = lines[0]
    assert line.startswith("error:"), line
    for name in names:
        assert name in line, f"{name!r} not named in: {line}"
    return line


def assert_stored_study_unchanged(here: Path, stored: Stored) -> None:
    """The store holds the same studies and trials, and every file below runs/ (the store,
    the study's logs, models and tokenizers) has the same bytes; none came or went."""
    files = everything_in(here / "runs")
    changed = sorted({name for name, _ in files.items() ^ stored.files.items()})
    assert not changed, f"the bad command changed, added or removed in runs/: {changed}"
    assert store_contents(here) == stored.contents
