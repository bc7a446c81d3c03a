"""The demo study end to end through the real CLI: trials, pruning, store, CSV logs, best."""

from __future__ import annotations

import csv
import json
import math
import re

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import run_hpo

STORAGE = "sqlite:///runs/hpo.db"


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def same_number(text: str, value: float | None) -> bool:
    if value is None:
        return text == ""
    return math.isclose(float(text), value, rel_tol=1e-12)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run `hpo optimize --study demo --n-trials 8` once for the tests of this module."""
    cwd = tmp_path_factory.mktemp("demo")
    # --timeout lifts the study file's 2-minute cap: a busy machine must still run 8 trials.
    result = run_hpo("optimize", "--study", "demo", "--n-trials", "8", "--timeout", "1h", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return cwd, result


def load(cwd):
    return optuna.load_study(study_name="demo", storage=f"sqlite:///{cwd}/runs/hpo.db")


def test_demo_runs_trials_and_prunes_some(demo_run):
    cwd, result = demo_run
    study = load(cwd)
    trials = study.get_trials()
    states = [t.state for t in trials]
    assert len(trials) >= 8
    assert TrialState.PRUNED in states
    assert TrialState.COMPLETE in states
    # Every trial's learning curve is in the store, pruned ones included, but for a trial
    # too slow to reach its first report within the demo's minute (a GRU on a loaded
    # machine): it was stopped after its first steps, PRUNED with the reason.
    slow = [t for t in trials if not t.intermediate_values]
    for t in slow:
        assert t.state == TrialState.PRUNED
        assert t.user_attrs["stop_reason"].startswith("too slow: first report expected after ")
        assert f"warning: trial {t.number} {t.user_attrs['stop_reason']}\n" in result.stdout
    trials = [t for t in trials if t.intermediate_values]
    max_epochs = study.user_attrs["config"]["training"]["max_epochs"]
    for t in trials:
        # Steps count training examples: the demo's 2100 training texts make an epoch.
        assert t.user_attrs["epoch_examples"] == 2100
        if t.state == TrialState.PRUNED:
            assert max(t.intermediate_values) < max_epochs * 2100
    # The progress display printed one plain line per trial (not a terminal: no escapes).
    lines = [line for line in result.stdout.splitlines() if re.match(r"\[\d+/8\] trial", line)]
    assert len(lines) == len(trials) + len(slow)
    assert "\x1b[" not in result.stdout
    assert "best=" in lines[-1]
    # While a trial trains, a plain line after each of its reports: which report, how far
    # into its epochs, the value and the time left in the study.
    max_epochs = study.user_attrs["config"]["training"]["max_epochs"]
    for t in trials:
        reports = [
            line
            for line in result.stdout.splitlines()
            if line.startswith(f"trial {t.number}: report ")
        ]
        assert len(reports) == len(t.intermediate_values)
        assert re.match(rf"trial {t.number}: report 1, epoch [\d.]+/{max_epochs}, ", reports[0])
        assert reports[0].endswith("left in the study")


def test_complete_trials_return_their_best_epoch(demo_run):
    cwd, _ = demo_run
    for t in load(cwd).get_trials(states=(TrialState.COMPLETE,)):
        best_epoch, epoch = t.user_attrs["best_epoch"], t.user_attrs["epoch_examples"]
        assert t.value == max(t.intermediate_values.values())
        # The end of the best epoch: its last report (early where the time limit cut it).
        end = max(step for step in t.intermediate_values if step <= best_epoch * epoch)
        assert end > (best_epoch - 1) * epoch
        assert t.intermediate_values[end] == t.value


def test_every_finished_trial_records_its_cost(demo_run):
    cwd, _ = demo_run
    finished = load(cwd).get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert {t.state for t in finished} == {TrialState.COMPLETE, TrialState.PRUNED}
    for t in finished:
        if not t.intermediate_values:  # too slow to reach its first report in time
            assert 0 < t.user_attrs["examples_seen"] < t.user_attrs["tokens_seen"]
            assert t.user_attrs["train_seconds"] > 0 and t.user_attrs["val_seconds"] == 0
            continue
        assert t.user_attrs["examples_seen"] == max(t.intermediate_values)
        assert t.user_attrs["tokens_seen"] > t.user_attrs["examples_seen"]
        assert t.user_attrs["train_seconds"] > t.user_attrs["val_seconds"] > 0


def test_csv_logs_match_the_store_row_for_row(demo_run):
    cwd, _ = demo_run
    trials = {t.number: t for t in load(cwd).get_trials()}
    rows = read_csv(cwd / "runs/demo/trials.csv")
    assert [int(r["number"]) for r in rows] == sorted(trials)
    for row in rows:
        trial = trials[int(row["number"])]
        assert row["state"] == trial.state.name
        assert same_number(row["value"], trial.value)
        for name, value in trial.params.items():
            assert row[f"param_{name}"] == str(value)
        assert row["seed"] == str(trial.user_attrs["seed"])

    epochs = read_csv(cwd / "runs/demo/epochs.csv")
    # The demo's corpus is small: one report per epoch, at its end, in trials.csv too.
    by_number = {int(r["number"]): r for r in rows}
    for report in epochs:
        assert float(report["epoch"]).is_integer() and report["subset"] == "0"
        row = by_number[int(report["trial"])]
        assert same_number(row[f"epoch_{int(float(report['epoch']))}"], float(report["accuracy"]))
    logged = {(int(r["trial"]), int(r["examples"])): float(r["accuracy"]) for r in epochs}
    stored = {(n, e): v for n, t in trials.items() for e, v in t.intermediate_values.items()}
    assert logged.keys() == stored.keys()
    for key, value in stored.items():
        assert math.isclose(logged[key], value, rel_tol=1e-9)


def test_best_json_matches_optuna(demo_run):
    cwd, _ = demo_run
    result = run_hpo("best", "--study", "demo", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    best = load(cwd).best_trial
    assert info["number"] == best.number
    assert info["value"] == best.value
    assert {k: info["params"][k] for k in best.params} == best.params
    assert info["best_epoch"] == best.user_attrs["best_epoch"]
    assert sum(info["counts"].values()) == info["n_trials"]
    # The best trial's checkpoint is kept, with what is needed to load it.
    checkpoint = cwd / info["checkpoint"]
    assert {p.name for p in checkpoint.iterdir()} >= {"model.pt", "params.json", "tokenizer.model"}


def test_only_the_best_k_checkpoints_are_kept(demo_run):
    cwd, _ = demo_run
    study = load(cwd)
    keep = study.user_attrs["config"]["keep_checkpoints"]
    complete = sorted(
        study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: (-t.value, t.number)
    )
    kept = {int(p.name.split("-")[1]) for p in (cwd / "runs/demo").glob("trial-*")}
    assert kept == {t.number for t in complete[:keep]}


def test_rerun_continues_the_same_study(demo_run):
    cwd, _ = demo_run
    before = len(load(cwd).get_trials())
    result = run_hpo("optimize", "--study", "demo", "--n-trials", "2", cwd=cwd)
    assert result.returncode == 0, result.stderr
    numbers = [t.number for t in load(cwd).get_trials()]
    assert numbers == list(range(before + 2))
    assert len(read_csv(cwd / "runs/demo/trials.csv")) == before + 2
