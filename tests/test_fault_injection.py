"""Ten workers killed at random moments of a two-worker study, on SQLite and PostgreSQL: no
trial is lost, every killed trial goes on from its last report in its retry, and the CSV logs
agree with the store at the end."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from optuna.trial import TrialState

from tests.conftest import start_hpo, write_study
from tests.test_workers import assert_logs_agree, try_load

KILLS = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs/hpo.db"
    return request.getfixturevalue("postgres_url")


def kill_workers(process, storage, study_dir, seed: int) -> dict[int, bool]:
    """Kill the worker of a running trial that has reported, KILLS times at random moments;
    returns each victim's number and whether its training state was on disk then."""
    rng = random.Random(seed)
    victims: dict[int, bool] = {}
    deadline = time.monotonic() + 600
    while len(victims) < KILLS and process.poll() is None and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.2, 2.0))
        study = try_load(storage)
        if study is None:
            continue
        running = [
            t
            for t in study.get_trials(states=(TrialState.RUNNING,))
            if t.intermediate_values and "worker" in t.user_attrs and t.number not in victims
        ]
        if not running:
            continue
        victim = rng.choice(running)
        had_state = (study_dir / f"trial-{victim.number}" / "last.pt").is_file()
        pid = int(victim.user_attrs["worker"].split(":")[1].split("/")[0])
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # its worker is already gone
            continue
        victims[victim.number] = had_state
    return victims


def test_killed_workers_lose_no_trial_and_their_trials_resume(tmp_path, storage):
    study_file = write_study(
        tmp_path,
        data={"source": "builtin", "size": 1200},
        training={"max_epochs": 4, "report_every": "0.5 epoch", "threads": 1},
        pruner={"type": "none"},
        heartbeat={"interval": 1, "grace_period": 2, "max_retry": KILLS},
    )
    process = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "8",
        "--workers",
        "2",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    study_dir = tmp_path / "runs/tiny"
    victims = kill_workers(process, storage, study_dir, seed=7)
    _, err = process.communicate(timeout=900)
    assert len(victims) == KILLS, f"the study ended after {len(victims)} kills"
    assert process.returncode == 0, err

    study = try_load(storage)
    trials = study.get_trials()
    failed = {t.number: t for t in trials if t.state == TrialState.FAIL}
    assert set(failed) == set(victims)
    assert all(t.user_attrs["fail_reason"].startswith("stale:") for t in failed.values())
    # No trial lost: the eight asked for, and every killed one went on in a retry.
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) == 8
    for number, had_state in victims.items():
        (retry,) = [t for t in trials if t.user_attrs.get("resume_from") == number]
        assert retry.params == failed[number].params
        assert retry.user_attrs["seed"] == failed[number].user_attrs["seed"]
        if had_state:
            assert retry.user_attrs.get("resumed") is True
        # Its curve holds the dead trial's reports value for value: the same training.
        for step, value in failed[number].intermediate_values.items():
            assert retry.intermediate_values[step] == value
    assert_logs_agree(study_dir, study)
    assert not list(study_dir.glob("trial-*/last.pt"))
