"""`hpo trials`, `hpo studies`, `hpo delete` and `hpo best --json`: a user looks after a store."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from hpo.cli import main
from tests.conftest import PROJECT_ROOT, run_hpo, write_study


@pytest.fixture
def store(small_store):
    """Two studies, alpha (8 trials) and beta (2), run by `hpo optimize` into one store."""
    return small_store


@pytest.fixture
def hpo(store, monkeypatch, capsys):
    """`hpo ARGS...` run in the store's directory: (exit code, stdout, stderr)."""
    monkeypatch.chdir(store)
    for variable in ("HPO_STORAGE", "HPO_RUNS_DIR"):
        monkeypatch.delenv(variable, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def store_copy(store, tmp_path):
    """A copy of the store to delete things from."""
    return shutil.copytree(store, tmp_path / "store")


def load(cwd, name="alpha"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{cwd}/runs/hpo.db")


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of a rich table as lists of cell texts."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in stdout.splitlines()
        if line.startswith("│")
    ]


def test_trials_shows_every_trial_as_the_store_has_it(store):
    result = run_hpo("trials", "--study", "alpha", cwd=store)  # a real process, once
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    trials = load(store).get_trials()
    assert [int(r[0]) for r in rows] == [t.number for t in trials]
    for row, trial in zip(rows, trials, strict=True):
        assert row[1] == trial.state.name.lower()
        assert math.isclose(float(row[2]), trial.value, rel_tol=1e-3)
        assert row[3] == str(len(trial.intermediate_values))
        if trial.state == TrialState.PRUNED:
            epoch = max(trial.intermediate_values) / trial.user_attrs["epoch_examples"]
            assert row[-1] == f"pruned at epoch {epoch:g}"


def test_trials_filters_by_state_sorts_by_value_and_limits(store, hpo):
    code, out, _ = hpo("trials", "-s", "alpha", "--state", "pruned", "--sort", "value")
    assert code == 0
    pruned = load(store).get_trials(states=(TrialState.PRUNED,))
    assert pruned
    best_first = sorted(pruned, key=lambda t: (-t.value, t.number))
    assert [int(r[0]) for r in table_rows(out)] == [t.number for t in best_first]

    code, out, _ = hpo("trials", "-s", "alpha", "--sort", "value", "--limit", "2")
    complete = load(store).get_trials(states=(TrialState.COMPLETE,))
    top = [int(r[0]) for r in table_rows(out)]
    assert top[0] == load(store).best_trial.number
    assert len(top) == 2 and top[1] in {t.number for t in complete}


def test_trials_csv_has_the_columns_of_trials_csv(store, hpo, tmp_path):
    path = tmp_path / "pruned.csv"
    code, out, _ = hpo("trials", "-s", "alpha", "--state", "pruned", "--csv", str(path))
    pruned = load(store).get_trials(states=(TrialState.PRUNED,))
    assert (code, out) == (0, f"wrote {len(pruned)} trial(s) to {path}\n")
    rows = list(csv.DictReader(path.open()))
    assert [int(r["number"]) for r in rows] == [t.number for t in pruned]
    for row, trial in zip(rows, pruned, strict=True):
        assert row["state"] == "PRUNED"
        assert float(row["value"]) == trial.value
        assert {k: row[f"param_{k}"] for k in trial.params} == {
            k: str(v) for k, v in trial.params.items()
        }

    # All trials to stdout: the very file `hpo optimize` keeps, row for row.
    code, out, _ = hpo("trials", "-s", "alpha", "--csv", "-")
    kept = (store / "runs/alpha/trials.csv").read_text()
    assert list(csv.reader(io.StringIO(out))) == list(csv.reader(io.StringIO(kept)))


def test_studies_lists_every_study_in_the_store(store, hpo):
    code, out, _ = hpo("studies")
    assert code == 0
    assert "2 studies in sqlite:///runs/hpo.db" in out
    rows = {r[0]: r for r in table_rows(out)}
    summaries = optuna.get_all_study_summaries(f"sqlite:///{store}/runs/hpo.db")
    assert set(rows) == {s.study_name for s in summaries} == {"alpha", "beta"}
    for summary in summaries:
        _, task, metric, total, complete, pruned, fail, running, _, best, last = rows[
            summary.study_name
        ]
        trials = load(store, summary.study_name).get_trials()
        assert (task, metric) == ("classification", "accuracy (max)")
        assert int(total) == summary.n_trials == len(trials)
        for state, shown in [("COMPLETE", complete), ("PRUNED", pruned), ("FAIL", fail)]:
            assert int(shown) == sum(t.state.name == state for t in trials)
        assert running == "0"
        value, number = re.fullmatch(r"(\S+) \(trial (\d+)\)", best).groups()
        assert int(number) == summary.best_trial.number
        assert math.isclose(float(value), summary.best_trial.value, rel_tol=1e-3)
        latest = max(t.datetime_complete for t in trials)
        assert last == latest.strftime("%Y-%m-%d %H:%M:%S")


def test_studies_of_a_store_not_made_yet_makes_nothing(workdir, capsys):
    assert main(["studies"]) == 0
    assert capsys.readouterr().out == "no studies in sqlite:///runs/hpo.db\n"
    assert not (workdir / "runs").exists()


def test_delete_with_yes_removes_the_study_and_its_files_only(store_copy):
    beta_files = sorted(p.name for p in (store_copy / "runs/beta").iterdir())
    beta_trials = len(load(store_copy, "beta").get_trials())

    result = run_hpo("delete", "--study", "alpha", "--yes", cwd=store_copy)
    assert result.returncode == 0, result.stderr
    assert "deleted study alpha" in result.stdout
    summaries = optuna.get_all_study_summaries(f"sqlite:///{store_copy}/runs/hpo.db")
    names = [s.study_name for s in summaries]
    assert names == ["beta"]
    assert not (store_copy / "runs/alpha").exists()
    assert sorted(p.name for p in (store_copy / "runs/beta").iterdir()) == beta_files
    assert len(load(store_copy, "beta").get_trials()) == beta_trials
    assert (store_copy / "runs/.cache").is_dir()


def test_a_study_named_cache_is_deleted_without_the_tokenizer_cache(workdir):
    write_study(workdir, "cache", training={"max_epochs": 1})
    assert (
        run_hpo("optimize", "--study", "cache.yaml", "--n-trials", "1", cwd=workdir).returncode == 0
    )
    tokenizers = sorted(p.name for p in (workdir / "runs/.cache").glob("spm-*.model"))
    assert tokenizers and (workdir / "runs/cache/trials.csv").is_file()

    result = run_hpo("delete", "--study", "cache", "--yes", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert not (workdir / "runs/cache").exists()
    assert sorted(p.name for p in (workdir / "runs/.cache").glob("spm-*.model")) == tokenizers


def hpo_with_input(cwd, text: str | None, *args: str) -> subprocess.CompletedProcess:
    """`hpo` with ``text`` typed at its prompt (None: no input at all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    return subprocess.run(
        [sys.executable, "-m", "hpo", *args],
        cwd=cwd,
        env=env,
        input=text,
        stdin=subprocess.DEVNULL if text is None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("answer", ["n\n", None], ids=["declined", "no-input"])
def test_delete_without_a_yes_deletes_nothing(store_copy, answer):
    result = hpo_with_input(store_copy, answer, "delete", "--study", "alpha")
    assert result.returncode == 1
    assert "Delete study 'alpha' (8 trials) from sqlite:///runs/hpo.db" in result.stdout
    assert result.stderr == "nothing deleted: study alpha kept\n"
    assert len(load(store_copy).get_trials()) == 8
    assert (store_copy / "runs/alpha/trials.csv").exists()


def test_delete_asks_and_goes_on_when_told_yes(store_copy):
    result = hpo_with_input(store_copy, "y\n", "delete", "--study", "beta")
    assert result.returncode == 0, result.stderr
    assert not (store_copy / "runs/beta").exists()
    assert (store_copy / "runs/alpha/trials.csv").exists()


def test_best_json_carries_what_reproduces_the_trial(store, hpo):
    code, out, _ = hpo("best", "--study", "alpha", "--json")
    assert code == 0
    info = json.loads(out)
    best = load(store).best_trial
    assert info["study_file"] == str(store / "alpha.yaml")
    assert info["reproduce"] == {
        "study_file": str(store / "alpha.yaml"),
        "params": {**best.user_attrs["fixed_params"], **best.params},
        "seed": best.user_attrs["seed"],
        "device": best.user_attrs["device"],
        "command": f"hpo train --study {store / 'alpha.yaml'} --trial {best.number}",
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["trials", "--study", "gamma"], "no study 'gamma' in sqlite:///runs/hpo.db"),
        (["trials", "-s", "alpha", "--state", "done"], "--state must be one of complete"),
        (["trials", "-s", "alpha", "--sort", "lr"], "--sort must be one of number"),
        (["trials", "-s", "alpha", "--limit", "0"], "--limit must be at least 1"),
        (["delete", "--study", "gamma", "--yes"], "no study 'gamma'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(hpo, args, message):
    code, _, err = hpo(*args)
    assert code == 2
    assert err.startswith(f"error: {message}")
    assert err.count("\n") == 1


def test_listing_commands_start_without_torch(store):
    for args in (["studies"], ["trials", "--study", "alpha"]):
        code = (
            "import sys; from hpo.cli import main; code = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules and 'plotly' not in sys.modules; sys.exit(code)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=store,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        assert result.returncode == 0, result.stderr
