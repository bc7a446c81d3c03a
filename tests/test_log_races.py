"""Several processes share one study folder: CSV logs never go back to an older state of the
store, a starting worker keeps the epochs other workers are logging, a killed writer never
leaves a half-written checkpoint, and an epochs.csv of an older column set is upgraded
(also when a task with metrics of its own is registered)."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import optuna
import pytest
import torch

from hpo.study.logs import EPOCH_COLUMNS, EpochLog, sync_epochs_csv
from hpo.tasks import TASKS
from hpo.training import EpochRecord
from tests.conftest import PROJECT_ROOT, hpo_env

optuna.logging.set_verbosity(optuna.logging.WARNING)


def start_python(code: str, *args: str, cwd: Path) -> subprocess.Popen:
    """Another process of the project, running ``code``."""
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=hpo_env({"PYTHONPATH": path}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def holding_lock(log: Path):
    """Hold the lock of a CSV log the way a writing worker does."""
    lock_path = log.with_name(log.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield lock_path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wait_until_blocked(process: subprocess.Popen, lock_path: Path, timeout: float = 60) -> None:
    """Wait until ``process`` waits for the lock (the kernel lists it in /proc/locks)."""
    inode = os.stat(lock_path).st_ino
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" in fields and str(process.pid) in fields and line.endswith(f":{inode} 0 EOF"):
                return
        if process.poll() is not None:
            pytest.fail(f"the writer ended without waiting: {process.communicate()}")
        time.sleep(0.02)
    pytest.fail("the writer never waited for the lock")


def finish(process: subprocess.Popen) -> None:
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


SYNC_LOGS = """
import sys
from pathlib import Path
import optuna
from hpo.study.logs import sync_logs, write_trials_csv
study = optuna.load_study(study_name="race", storage=sys.argv[1])
if sys.argv[2] == "trials":
    write_trials_csv(study, Path("runs/race/trials.csv"))
else:
    sync_logs(study, Path("runs/race"))  # what a starting worker does
"""


def finished_trial(study: optuna.Study, value: float, epochs: int = 1) -> None:
    trial = study.ask()
    for epoch in range(1, epochs + 1):
        trial.report(value, epoch)
    study.tell(trial, value)


def test_trials_csv_written_after_a_wait_for_the_lock_has_the_store_of_then(workdir):
    storage = f"sqlite:///{workdir}/hpo.db"
    study = optuna.create_study(study_name="race", storage=storage)
    finished_trial(study, 0.5)
    trials_csv = workdir / "runs" / "race" / "trials.csv"

    with holding_lock(trials_csv) as lock_path:  # another worker is writing the file
        writer = start_python(SYNC_LOGS, storage, "trials", cwd=workdir)
        wait_until_blocked(writer, lock_path)
        finished_trial(study, 0.7)  # ... and a trial finished meanwhile
    finish(writer)

    with trials_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["number"], r["state"]) for r in rows] == [("0", "COMPLETE"), ("1", "COMPLETE")]


def test_a_starting_worker_keeps_the_epoch_rows_another_worker_is_writing(workdir):
    storage = f"sqlite:///{workdir}/hpo.db"
    study = optuna.create_study(study_name="race", storage=storage)
    finished_trial(study, 0.5, epochs=1)
    epochs_csv = workdir / "runs" / "race" / "epochs.csv"
    epochs_csv.parent.mkdir(parents=True)

    def row(trial: int, epoch: int) -> dict:
        return {"trial": trial, "epoch": epoch, "accuracy": 0.5, "worker": "w"}

    with epochs_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, EPOCH_COLUMNS)
        writer.writeheader()
        # Epoch 2 of trial 0 never reached the store (its worker died): it is to be dropped.
        writer.writerows([row(0, 1), row(0, 2)])

    with holding_lock(epochs_csv) as lock_path:
        starting = start_python(SYNC_LOGS, storage, "epochs", cwd=workdir)
        wait_until_blocked(starting, lock_path)
        # Another worker starts trial 1 and logs its first epoch (under the lock, before
        # reporting the value to the store).
        running = study.ask()
        with epochs_csv.open("a", newline="") as handle:
            csv.DictWriter(handle, EPOCH_COLUMNS).writerow(row(running.number, 1))
    finish(starting)

    with epochs_csv.open(newline="") as handle:
        rows = [(r["trial"], r["epoch"]) for r in csv.DictReader(handle)]
    assert rows == [("0", "1"), ("1", "1")]


SAVE_CHECKPOINT = """
import sys
from pathlib import Path
import torch
from hpo.checkpoints import save_checkpoint
directory, tokenizer = Path(sys.argv[1]), Path(sys.argv[2])
state = {"weight": torch.arange(24_000_000, dtype=torch.float32)}
meta = {"task": sys.argv[3]}
if sys.argv[3] == "translation":
    files = {"src.model": tokenizer, "tgt.model": tokenizer}
else:
    files = {"tokenizer.model": tokenizer}
save_checkpoint(directory, state_dict=state, params={}, meta=meta, files=files)
"""


@pytest.mark.parametrize("task", ["classification", "translation"])
def test_a_checkpoint_writer_killed_midway_leaves_no_half_written_model(workdir, task):
    tokenizer = workdir / "spm.model"
    tokenizer.write_bytes(b"sentencepiece model bytes")
    directory = workdir / "runs" / "study" / "trial-3"
    writer = start_python(SAVE_CHECKPOINT, str(directory), str(tokenizer), task, cwd=workdir)

    # Kill the writer as soon as the model's bytes start to arrive in the folder.
    deadline = time.monotonic() + 120
    while not (directory.is_dir() and any("model.pt" in n for n in os.listdir(directory))):
        assert writer.poll() is None, writer.communicate()
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.0005)
    writer.send_signal(signal.SIGKILL)
    writer.communicate()
    assert writer.returncode == -signal.SIGKILL, "the writer finished before it was killed"

    model = directory / "model.pt"
    if model.exists():  # if a model is there, it is whole
        state = torch.load(model, weights_only=True)["state_dict"]["weight"]
        assert state.numel() == 24_000_000


def test_an_epochs_csv_from_before_reports_within_epochs_is_upgraded_and_kept_in_step(workdir):
    storage = f"sqlite:///{workdir}/hpo.db"
    study = optuna.create_study(study_name="race", storage=storage)
    finished_trial(study, 0.5, epochs=1)  # stored before: its step is epoch 1
    epochs_csv = workdir / "runs" / "race" / "epochs.csv"
    epochs_csv.parent.mkdir(parents=True)
    old_columns = EPOCH_COLUMNS[: EPOCH_COLUMNS.index("examples")]
    with epochs_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, old_columns)
        writer.writeheader()
        # Epoch 2 of trial 0 never reached the store: it is to be dropped.
        writer.writerows([{"trial": 0, "epoch": e, "accuracy": 0.5} for e in (1, 2)])

    # A trial of today reports halfway through its first epoch, at 140 examples.
    trial = study.ask()
    record = EpochRecord(0.5, 1.0, 0.9, {"accuracy": 0.6}, 0.01, 2.0, 50.0, examples=140,
                         subset=True, train_seconds=1.5, val_seconds=0.5)  # fmt: skip
    EpochLog(epochs_csv, worker="w").append(trial.number, record)
    trial.report(0.6, 140)
    study.tell(trial, 0.6)
    sync_epochs_csv(study, epochs_csv)

    with epochs_csv.open(newline="") as handle:
        assert next(csv.reader(handle)) == EPOCH_COLUMNS
    with epochs_csv.open(newline="") as handle:
        rows = [
            (r["trial"], r["epoch"], r["examples"], r["subset"], r["train_s"])
            for r in csv.DictReader(handle)
        ]
    assert rows == [("0", "1", "", "", ""), ("1", "0.5", "140", "1", "1.5")]


def test_a_new_tasks_metric_gets_a_column_of_its_own_after_the_others(tmp_path, monkeypatch):
    epochs_csv = tmp_path / "epochs.csv"
    before = EpochRecord(1, 1.0, 0.9, {"accuracy": 0.6, "f1": 0.5}, 0.01, 2.0, 50.0)
    EpochLog(epochs_csv).append(0, before)

    # A task registered later shares BLEU with translation and brings word error rate.
    speech = types.ModuleType("speech_task")
    speech.METRICS = {"wer": "minimize", "bleu": "maximize", "loss": "minimize"}
    monkeypatch.setitem(sys.modules, "speech_task", speech)
    monkeypatch.setitem(TASKS, "speech", "speech_task")
    record = EpochRecord(1, 2.0, 1.5, {"wer": 0.25, "bleu": 30.0}, 0.01, 2.0, 50.0)
    EpochLog(epochs_csv).append(1, record)

    with epochs_csv.open(newline="") as handle:
        assert next(csv.reader(handle)) == [*EPOCH_COLUMNS, "wer"]
    with epochs_csv.open(newline="") as handle:
        rows = [(r["trial"], r["accuracy"], r["bleu"], r["wer"]) for r in csv.DictReader(handle)]
    assert rows == [("0", "0.6", "", ""), ("1", "", "30.0", "0.25")]
