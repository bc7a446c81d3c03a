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


def kill_workers(process, storage, study_dir, seed: int) -> dict[str, tuple[int, bool]]:
    """Kill the worker of a running trial that has reported, KILLS times at random moments;
    returns, by killed worker, the trial it ran when looked at and whether that trial's
    training state was on disk then."""
    rng = random.Random(seed)
    killed: dict[str, tuple[int, bool]] = {}
    deadline = time.monotonic() + 600
    while len(killed) < KILLS and process.poll() is None and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.1, 1.0))
        study = try_load(storage)
        if study is None:
            continue
        running = [
            t
            for t in study.get_trials(states=(TrialState.RUNNING,))
            if t.intermediate_values and t.user_attrs.get("worker") not in (None, *killed)
        ]
        if not running:
            continue
        victim = rng.choice(running)
        had_state = (study_dir / f"trial-{victim.number}" / "last.pt").is_file()
        worker = victim.user_attrs["worker"]
        try:
            os.kill(int(worker.split(":")[1].split("/")[0]), signal.SIGKILL)
        except ProcessLookupError:  # its worker is already gone
            continue
        killed[worker] = (victim.number, had_state)
    return killed


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
        "12",
        "--workers",
        "2",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    study_dir = tmp_path / "runs/tiny"
    killed = kill_workers(process, storage, study_dir, seed=7)
    _, err = process.communicate(timeout=900)
    assert len(killed) == KILLS, f"the study ended after {len(killed)} kills"
    assert process.returncode == 0, err

    study = try_load(storage)
    trials = study.get_trials()
    failed = {t.number: t for t in trials if t.state == TrialState.FAIL}
    # Each killed worker's running trial went stale (a worker that had just finished one
    # trial when it was killed may have had none running).
    assert all(t.user_attrs["worker"] in killed for t in failed.values())
    assert len({t.user_attrs["worker"] for t in failed.values()}) == len(failed)
    assert len(failed) >= KILLS - 2
    assert all(t.user_attrs["fail_reason"].startswith("stale:") for t in failed.values())
    # No trial lost: the twelve asked for, and every killed one went on in a retry.
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) == 12
    retry_of = {t.user_attrs["resume_from"]: t for t in trials if "resume_from" in t.user_attrs}
    assert set(retry_of) == set(failed)
    for number, dead in failed.items():
        retry = retry_of[number]
        assert retry.params == dead.params
        assert retry.user_attrs["seed"] == dead.user_attrs["seed"]
        if killed[dead.user_attrs["worker"]] == (number, True):
            assert retry.user_attrs.get("resumed") is True  # its state was on disk
        # A retry may be killed in its turn: the trial that finished the chain holds every
        # report the dead trial made, value for value: the same training.
        last = retry
        while last.state == TrialState.FAIL:
            last = retry_of[last.number]
        assert last.state == TrialState.COMPLETE
        for step, value in dead.intermediate_values.items():
            assert last.intermediate_values[step] == value
    assert_logs_agree(study_dir, study)
    assert not list(study_dir.glob("trial-*/last.pt"))
