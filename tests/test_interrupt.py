"""Ctrl-C (or SIGTERM) in the middle of a study: exit 130, the trial FAILs with its reason,
the logs agree with the store, and a rerun goes on."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import default_sigint, run_hpo, write_study


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_mid_trial_keeps_store_and_logs_consistent(tmp_path, signum):
    study_file = write_study(
        tmp_path,
        data={"source": "builtin", "size": 3000},
        training={"max_epochs": 12},
        pruner={"type": "none"},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "hpo", "optimize", "--study", str(study_file), "--n-trials", "5"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    epochs_csv = tmp_path / "runs/tiny/epochs.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if epochs_csv.exists() and len(epochs_csv.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in out
    # One summary line and nothing else: no traceback, no Optuna warning.
    assert err == ""
    assert out.splitlines()[-1].startswith("interrupted: study tiny")

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/runs/hpo.db")
    trials = study.get_trials()
    assert trials[-1].state == TrialState.FAIL
    assert trials[-1].user_attrs["fail_reason"] == "interrupted"
    with open(tmp_path / "runs/tiny/trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["number"]), r["state"]) for r in rows] == [
        (t.number, t.state.name) for t in trials
    ]
    with open(epochs_csv, newline="") as handle:
        logged = {(int(r["trial"]), int(r["examples"])) for r in csv.DictReader(handle)}
    assert logged == {(t.number, e) for t in trials for e in t.intermediate_values}

    result = run_hpo(
        "optimize", "--study", str(study_file), "--n-trials", "1", cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert [t.number for t in study.get_trials()] == list(range(len(trials) + 1))
