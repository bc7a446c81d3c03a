"""Many workers, one study: SQLite and PostgreSQL, a killed worker, Ctrl-C."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from hpo.run_layout import trial_dir
from hpo.study.kept_trials import prune_checkpoints
from hpo.study.stale_trials import HeartbeatStorage, RetryStaleTrial
from hpo.study.storage import open_storage
from hpo.study.workers import worker_environment
from tests.conftest import start_hpo, write_study

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def try_load(storage):
    """The study once the run has created it, else None (creating nothing meanwhile)."""
    try:
        return optuna.load_study(study_name="tiny", storage=open_storage(storage, existing=True))
    except Exception:
        return None


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def assert_logs_agree(study_dir, study):
    trials = study.get_trials()
    rows = read_csv(study_dir / "trials.csv")
    assert [(int(r["number"]), r["state"]) for r in rows] == [
        (t.number, t.state.name) for t in trials
    ]
    epochs = read_csv(study_dir / "epochs.csv")
    logged = [(int(r["trial"]), int(r["examples"])) for r in epochs]
    assert len(logged) == len(set(logged)), "a report row was written twice"
    assert set(logged) == {(t.number, e) for t in trials for e in t.intermediate_values}


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs/hpo.db"
    return request.getfixturevalue("postgres_url")


def test_two_workers_share_one_study(tmp_path, storage):
    study_file = write_study(
        tmp_path, training={"max_epochs": 2}, data={"source": "builtin", "size": 200}
    )
    process = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "20",
        "--workers",
        "2",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert "database is locked" not in err

    study = optuna.load_study(study_name="tiny", storage=storage)
    trials = study.get_trials()
    assert len([t for t in trials if t.state in FINISHED]) == 20
    assert sorted(t.number for t in trials) == list(range(20))
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2
    # The progress lines say which worker ran which trial.
    finished = [line for line in out.splitlines() if line.startswith("[") and " on " in line]
    assert len(finished) == 20
    assert_logs_agree(tmp_path / "runs/tiny", study)


def test_a_killed_worker_is_recovered_and_its_trial_resumed_from_its_last_report(tmp_path, storage):
    study_file = write_study(
        tmp_path,
        data={"source": "builtin", "size": 1500},
        training={"max_epochs": 6, "report_every": "0.5 epoch"},
        pruner={"type": "none"},
        heartbeat={"interval": 1, "grace_period": 3, "max_retry": 1},
    )
    process = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "6",
        "--workers",
        "2",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    study = None
    victim = None
    deadline = time.monotonic() + 300  # a loaded machine starts its workers slowly
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.3)
        study = try_load(storage)
        if study is None:
            continue
        for trial in study.get_trials(states=(TrialState.RUNNING,)):
            # Its training state is on disk from its first report on.
            state = tmp_path / "runs/tiny" / f"trial-{trial.number}" / "last.pt"
            if trial.intermediate_values and "worker" in trial.user_attrs and state.is_file():
                victim = trial
                break
    assert victim is not None, "no trial got going"
    pid = int(victim.user_attrs["worker"].split(":")[1].split("/")[0])
    os.kill(pid, signal.SIGKILL)

    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    trials = study.get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.number for t in failed] == [victim.number]
    # The killed trial keeps the cost of the reports it made: of its last, or of the one
    # before where the kill fell between a report's step and its cost (two writes).
    steps = sorted(failed[0].intermediate_values)
    assert failed[0].user_attrs["examples_seen"] in steps[-2:]
    assert failed[0].user_attrs["train_seconds"] > 0
    # The parent showed the workers' trials report by report, read from the store: seconds
    # long trials polled every half second.
    report = r"^trial \d+: report \d+, epoch [\d.]+/6, [\d,]+ examples, \w+=\S+, [\d,]+ tokens/s"
    assert re.search(report + r".* on \S+/w[01]$", out, re.MULTILINE), out
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.state == TrialState.COMPLETE
    assert retry.params == victim.params
    # The retry went on from the dead trial's last report, with its seed: its curve holds the
    # reports the dead trial made, value for value, and goes on to the last epoch.
    assert retry.user_attrs["resumed"] is True
    assert retry.user_attrs["seed"] == victim.user_attrs["seed"]
    victim_curve = study.get_trials()[victim.number].intermediate_values
    for step, value in victim_curve.items():
        assert retry.intermediate_values[step] == value
    assert max(retry.intermediate_values) > max(victim_curve)
    assert len([t for t in trials if t.state in FINISHED]) == 6
    assert_logs_agree(tmp_path / "runs/tiny", study)
    # No training state is left behind once every trial has ended.
    assert not list((tmp_path / "runs/tiny").glob("trial-*/last.pt"))


class PruningFirst(RetryStaleTrial):
    """The stale-trial retry, run after another worker pruned checkpoints in the window
    between Optuna failing the stale trial and this callback enqueueing its retry."""

    def __init__(self, runs, max_retry):
        super().__init__(max_retry=max_retry)
        self.runs = runs

    def __call__(self, study, trial):
        prune_checkpoints(study, self.runs, keep=1)
        super().__call__(study, trial)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
@pytest.mark.parametrize("max_retry", [1, 0])
def test_a_stale_trials_state_outlives_checkpoint_pruning_until_its_retry_takes_it(
    tmp_path, max_retry
):
    runs = tmp_path / "runs"
    storage = HeartbeatStorage(
        f"sqlite:///{tmp_path}/hpo.db",
        heartbeat_interval=1,
        grace_period=1,
        heartbeat_stale_trial_callback=PruningFirst(runs, max_retry),
    )
    study = optuna.create_study(study_name="stale", storage=storage)
    dead = study.ask()
    storage.record_heartbeat(dead._trial_id)
    state = trial_dir(runs, dead.number)
    state.mkdir(parents=True)
    (state / "last.pt").write_bytes(b"its training state")
    time.sleep(2.5)  # past the grace period: the trial's worker is gone

    optuna.storages.fail_stale_trials(study)
    (failed,) = study.get_trials(states=(TrialState.FAIL,))
    assert failed.user_attrs["fail_reason"].startswith("stale: no heartbeat since")
    retries = study.get_trials(states=(TrialState.WAITING,))
    if max_retry == 0:
        # No retry will come for it: its state is pruned as any failed trial's.
        assert retries == [] and not state.exists()
        return
    (retry,) = retries
    assert retry.user_attrs["resume_from"] == dead.number
    assert "fail_reason" not in retry.user_attrs and "retry_due" not in retry.user_attrs
    assert (state / "last.pt").is_file()
    prune_checkpoints(study, runs, keep=1)  # the retry is waiting for it
    assert (state / "last.pt").is_file()


def test_ctrl_c_stops_all_workers_and_a_rerun_continues(tmp_path):
    storage = f"sqlite:///{tmp_path}/runs/hpo.db"
    study_file = write_study(
        tmp_path,
        data={"source": "builtin", "size": 1500},
        training={"max_epochs": 20},
        pruner={"type": "none"},
    )
    process = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "4",
        "--workers",
        "2",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.3)
        study = try_load(storage)
        if study is None:
            continue
        running = study.get_trials(states=(TrialState.RUNNING,))
        if len(running) == 2 and all(t.intermediate_values for t in running):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in out

    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    interrupted = [t for t in trials if t.state == TrialState.FAIL]
    assert len(interrupted) == 2
    assert all(t.user_attrs["fail_reason"] == "interrupted" for t in interrupted)
    assert_logs_agree(tmp_path / "runs/tiny", study)

    rerun = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "1",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert [t.number for t in study.get_trials()] == list(range(len(trials) + 1))


def test_processes_starting_together_on_a_new_store_all_get_in(tmp_path):
    script = (
        "import optuna, sys\n"
        "from hpo.study.storage import open_storage\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "storage = open_storage(sys.argv[1])\n"
        "optuna.create_study(storage=storage, study_name='s', load_if_exists=True)\n"
    )
    # Readers (hpo best, a dashboard) that find the new file while it is set up must neither
    # fail nor break the writers' set-up.
    reader = (
        "import sys, time\n"
        "from hpo.errors import BadInput\n"
        "from hpo.study.storage import open_storage\n"
        "for _ in range(300):\n"
        "    try:\n"
        "        open_storage(sys.argv[1], existing=True)\n"
        "        break\n"
        "    except BadInput:\n"
        "        time.sleep(0.05)\n"
    )
    storage = f"sqlite:///{tmp_path}/runs/new.db"
    starters = [
        subprocess.Popen([sys.executable, "-c", code, storage], stderr=subprocess.PIPE, text=True)
        for code in (reader, script, reader, script, script)
    ]
    for starter in starters:
        _, err = starter.communicate(timeout=120)
        assert starter.returncode == 0, err
    assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == ["s"]


def test_workers_would_each_get_their_own_gpu():
    def gpu_of(index: int, gpus: int, parent: dict[str, str]) -> str | None:
        return worker_environment(index, 3, "sqlite:///x.db", gpus, parent).get(
            "CUDA_VISIBLE_DEVICES"
        )

    assert [gpu_of(i, 2, {}) for i in range(3)] == ["0", "1", "0"]
    # Only the GPUs this process may use are handed out, in their own numbering.
    visible = {"CUDA_VISIBLE_DEVICES": "4,6"}
    assert [gpu_of(i, 2, visible) for i in range(3)] == ["4", "6", "4"]
    assert gpu_of(1, 0, visible) == "4,6"  # no GPU: the parent's setting is left alone
    assert gpu_of(0, 0, {}) is None
