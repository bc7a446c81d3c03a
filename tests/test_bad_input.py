"""A user gives hpo something wrong: one line saying what, exit code 2, no traceback, and the
study already stored (every test's folder holds a copy of one stored under the same name,
"tiny", that most bad study files use) left as it was: the same studies and trials in the
store, the same bytes in every file below runs/.

The catalog holds 72 kinds of bad input, a kind being one bad input (a value, a field, a file,
a source of it), counted once however many commands are given it: config 19, search space
25, data 10, store 15, CLI 3. One more, a database server that does not answer, is exit 1
by design: nothing the user typed need be wrong.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import importlib.util
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import yaml

from hpo.cli import main
from tests.read_only import read_only_folder

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


@pytest.fixture(scope="module")
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


# --- study files ---------------------------------------------------------------------------


def test_malformed_yaml_names_the_file_and_line(here, capsys, stored):
    path = here / "broken.yaml"
    path.write_text("name: broken\ntask: [classification\n", encoding="utf-8")

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "broken.yaml", "malformed YAML", "line")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("field", "section", "value"),
    [
        ("colour", None, "blue"),
        ("max_epoch", "training", 3),
        ("vocab", "tokenizer", 100),
    ],
    ids=["top-level", "training.max_epoch", "tokenizer.vocab"],
)
def test_unknown_field_is_named_with_its_section(here, capsys, stored, field, section, value):
    study = tiny_study()
    if section is None:
        study[field] = value
    else:
        study[section][field] = value
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    dotted = f"{section}.{field}" if section else field
    assert_one_line_error(code, err, "tiny.yaml", dotted, "unknown field")
    assert_stored_study_unchanged(here, stored)


def test_unknown_study_name_lists_the_known_ones(here, capsys, stored):
    code, _, err = hpo(capsys, "optimize", "--study", "no-such-study")

    assert_one_line_error(code, err, "no-such-study", "demo")
    assert_stored_study_unchanged(here, stored)


def test_study_file_that_is_not_utf8(here, capsys, stored):
    path = here / "latin.yaml"
    path.write_bytes("name: café\ntask: classification\n".encode("latin-1"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "latin.yaml")
    assert_stored_study_unchanged(here, stored)


# --- search spaces -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (
            {"lr": {"type": "float", "low": 0.1, "high": 0.01}},
            ["search_space.params.lr", "low (0.1) is greater than high (0.01)"],
        ),
        (
            {"embedding_dim": {"type": "int", "low": 64, "high": 8}},
            ["search_space.params.embedding_dim", "greater than high"],
        ),
        (
            {"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}},
            ["search_space.params.lr", "log scale needs low > 0"],
        ),
        (
            {"lr": {"type": "float", "low": -1.0, "high": 0.1, "log": True}},
            ["search_space.params.lr", "log scale needs low > 0"],
        ),
        (
            {"arch": {"type": "categorical", "choices": []}},
            ["search_space.params.arch", "choices must not be empty"],
        ),
        (
            {"num_filters": {"type": "int", "low": 2, "high": 8, "when": {"model": "cnn"}}},
            ["search_space", "'num_filters'", "unknown parameter 'model'"],
        ),
        (
            {"flux_capacitor": 1.21},
            ["unknown parameter 'flux_capacitor' for classification", "known:", "num_filters"],
        ),
        (
            {
                "arch": {"type": "categorical", "choices": ["cnn", "gru"]},
                "bidirectional": {"type": "fixed", "value": "maybe", "when": {"arch": "gru"}},
            },
            ["bidirectional value 'maybe' is not true or false"],
        ),
        ({"momentum": -5}, ["momentum value -5 is outside [0, 1)"]),
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 1.5}},
            ["dropout value 1.5 is outside [0, 1)"],
        ),
        ({"optimizer": "adagrad"}, ["optimizer value 'adagrad' is not one of adam, adamw, sgd"]),
        ({"hidden_size": 64}, ["unknown parameter 'hidden_size'", "with arch cnn"]),
        (
            lr_by_optimizer({"optimiser": {"sgd": {"low": 0.01, "high": 0.3}}}),
            ["search_space", "'lr' takes its range by unknown parameter 'optimiser'"],
        ),
        (
            lr_by_optimizer({"optimizer": {"rmsprop": {"low": 0.01, "high": 0.3}}}),
            ["'lr' has a range for optimizer='rmsprop', which is not one of ['adam', 'sgd']"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": 0.1}}),
            ["search_space.params.lr.by", "optimizer='sgd': 0.1 is not a range"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": {"low": 0.3, "high": 0.01}}}),
            ["search_space.params.lr", "by optimizer='sgd': low (0.3) is greater than high"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": {"low": 0.01, "high": 0.3, "log": False}}}),
            ["search_space.params.lr.by", "not 'log'"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": {"low": 0.0, "high": 0.3}}}, log=False),
            ["lr value 0.0 is outside (0, inf)"],
        ),
    ],
    ids=[
        "float-low>high",
        "int-low>high",
        "log-low=0",
        "log-low<0",
        "empty-choices",
        "when",
        "unknown-param",
        "wrong-type",
        "momentum-range",
        "dropout-range",
        "no-such-choice",
        "other-arch-param",
        "by-unknown-param",
        "by-unknown-value",
        "by-not-a-range",
        "by-low>high",
        "by-log",
        "by-out-of-declared-range",
    ],
)
def test_bad_search_space_is_refused_before_anything_runs(here, capsys, stored, params, names):
    study = tiny_study()
    study["search_space"]["params"].update(params)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", *names)
    assert_stored_study_unchanged(here, stored)


def test_arch_the_task_does_not_have_is_named(here, capsys, stored):
    study = tiny_study()
    study["search_space"]["params"]["arch"] = "transformer"
    write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", "tiny.yaml", "--n-trials", "1")

    assert_one_line_error(code, err, "'transformer'")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 0.1, "step": 0.5}},
            ["search_space.params.dropout", "step (0.5) is larger than the range [0.0, 0.1]"],
        ),
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.2}},
            ["search_space.params.dropout", "not a whole number of steps", "0.4 or 0.6"],
        ),
        (
            {"num_filters": {"type": "int", "low": 2, "high": 9, "step": 4}},
            ["search_space.params.num_filters", "end it at 6 or 10"],
        ),
    ],
    ids=["step>range", "float-step", "int-step"],
)
def test_step_that_does_not_fit_the_range_is_refused(here, capsys, stored, params, names):
    study = tiny_study()
    study["search_space"]["params"].update(params)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", *names)
    assert "optuna" not in err.lower()
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("section", "value", "names"),
    [
        ("tokenizer", {"vocab_size": 10**12}, ["tokenizer.vocab_size", "1000000"]),
        (
            "params",
            {"vocab_size": {"type": "int", "low": 100, "high": 10**12}},
            ["vocab_size", "1000000000000", "1000000"],
        ),
    ],
    ids=["tokenizer", "searched"],
)
def test_vocabulary_size_beyond_what_sentencepiece_takes(
    here, capsys, stored, section, value, names
):
    study = tiny_study()
    if section == "tokenizer":
        study["tokenizer"].update(value)
    else:
        study["search_space"]["params"].update(value)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, *names)
    assert_stored_study_unchanged(here, stored)


def test_grid_search_over_an_enormous_finite_space_gives_its_size(here, capsys, stored):
    study = tiny_study()
    study["search_space"]["params"]["num_filters"] = {"type": "int", "low": 1, "high": 10**12}
    path = write_study(here, study)

    code, _, err = hpo(capsys, "grid-search", "--study", str(path))

    assert_one_line_error(code, err, "grid search", "1,000,000,000,000 points", "10,000")
    assert_stored_study_unchanged(here, stored)


# --- data files ----------------------------------------------------------------------------


def test_missing_data_file_is_named(here, capsys, stored):
    path = write_study(here, files_study(here, dev="nowhere.tsv"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "nowhere.tsv", "does not exist")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    "content", ["", "text\tlabel\n", "\n\n"], ids=["no-bytes", "header", "blank"]
)
def test_empty_data_file_is_named(here, capsys, stored, content):
    study = files_study(here)
    (here / "train.tsv").write_text(content, encoding="utf-8")
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "train.tsv", "empty")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("header", "missing"),
    [("text\tcategory", "'label'"), ("body\tlabel", "'text'")],
    ids=["label-column", "text-column"],
)
def test_missing_column_is_named_with_the_columns_found(here, capsys, stored, header, missing):
    study = files_study(here)
    write_tsv(here / "dev.tsv", SPORTS + SCIENCE, header=header)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    found = header.replace("\t", ", ")
    assert_one_line_error(code, err, "dev.tsv", missing, found)
    assert_stored_study_unchanged(here, stored)


def test_missing_column_named_in_the_study_file(here, capsys, stored):
    path = write_study(here, files_study(here, label_column="topic"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "train.tsv", "'topic'")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_label_unseen_in_train_is_named_with_its_split(here, capsys, stored, split):
    study = files_study(here, test="test.tsv")
    write_tsv(here / "test.tsv", SPORTS + SCIENCE)
    write_tsv(here / f"{split}.tsv", [*SPORTS, ("prices fell on the market", "business")])
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "'business'", split, "train")
    assert_stored_study_unchanged(here, stored)


def test_data_file_that_is_not_utf8(here, capsys, stored):
    study = files_study(here)
    (here / "dev.tsv").write_bytes("text\tlabel\ncafé au lait\tsports\n".encode("latin-1"))
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "dev.tsv")
    assert_stored_study_unchanged(here, stored)


# --- durations -----------------------------------------------------------------------------


def test_bad_timeout_on_the_command_line(here, capsys, stored):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path), "--timeout", "12x")

    assert_one_line_error(code, err, "'12x'", "duration")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("section", "field"),
    [("training", "trial_time_limit"), (None, "timeout")],
    ids=["training.trial_time_limit", "timeout"],
)
def test_bad_duration_in_the_study_file(here, capsys, stored, section, field):
    study = tiny_study()
    if section is None:
        study[field] = "12x"
    else:
        study[section][field] = "12x"
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    dotted = f"{section}.{field}" if section else field
    assert_one_line_error(code, err, "tiny.yaml", dotted, "'12x'")
    assert_stored_study_unchanged(here, stored)


# --- reports and the pruner's resource ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (5000, ["more than one epoch", "'5000 examples'"]),
        ("2 epochs", ["more than one epoch"]),
        ("0.25 parsecs", ["expected e.g. 0.5 (epochs) or '5000 examples'", "'0.25 parsecs'"]),
        (0, ["more than zero"]),
        ("-1", ["expected e.g."]),
        ("12.5 examples", ["whole number"]),
        (True, ["expected e.g."]),
    ],
    ids=["bare-examples", "two-epochs", "unknown-unit", "zero", "negative", "half-example", "bool"],
)
def test_bad_report_every_is_one_line(here, capsys, stored, value, names):
    study = tiny_study()
    study["training"]["report_every"] = value
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", "training.report_every", *names)
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (5000, ["5000 epochs is more than training.max_epochs (1)", "'5000 examples'"]),
        ("20 zebras", ["pruner.min_resource", "expected e.g."]),
        (0, ["pruner.min_resource", "more than zero"]),
    ],
    ids=["bare-examples", "unknown-unit", "zero"],
)
def test_bad_min_resource_is_one_line(here, capsys, stored, value, names):
    path = write_study(
        here, tiny_study(pruner={"type": "successive_halving", "min_resource": value})
    )

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", *names)
    assert_stored_study_unchanged(here, stored)


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


# --- arguments -----------------------------------------------------------------------------


def test_zero_trials_is_refused(here, capsys, stored):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path), "--n-trials", "0")

    assert_one_line_error(code, err, "--n-trials", "0")
    assert_stored_study_unchanged(here, stored)


def test_grid_search_over_an_infinite_space_names_the_float(here, capsys, stored):
    study = tiny_study()
    study["search_space"]["params"]["lr"] = {"type": "float", "low": 1e-3, "high": 1e-1}
    path = write_study(here, study)

    code, _, err = hpo(capsys, "grid-search", "--study", str(path))

    assert_one_line_error(code, err, "grid search", "'lr'", "step")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize("command", ["optimize", "grid-search", "best"])
def test_unknown_option_is_named(here, capsys, stored, command):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, command, "--study", str(path), "--colour", "blue")

    assert_one_line_error(code, err, "--colour")
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
