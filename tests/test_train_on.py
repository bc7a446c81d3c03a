"""With a timeout, a study's last stretch goes to its best trial: if it was still improving
at ``max_epochs``, a trial of its own takes its training state over and trains on until the
study's end, while sampled trials end before that stretch begins."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import optuna

from hpo.cli import main
from tests.conftest import write_study

# Adam at a small rate on 2,000 texts: still improving after two epochs.
SPACE = {
    "params": {
        "arch": "cnn",
        "embedding_dim": 16,
        "filter_sizes": "2,3",
        "num_filters": 8,
        "lr": {"type": "float", "low": 1e-4, "high": 3e-4, "log": True},
        "batch_size": 32,
    },
    "start": {"lr": 3e-4},
}


def tiny_study(workdir: Path, **training) -> Path:
    return write_study(
        workdir,
        data={"source": "builtin", "size": 2000},
        search_space=SPACE,
        training={"max_epochs": 2, "trial_share": 0.25, **training},
        pruner={"type": "none"},
        metric="loss",
    )


def test_the_best_trial_trains_on_in_the_studys_last_stretch(workdir, capsys):
    study = tiny_study(workdir)
    began = datetime.datetime.now()
    assert main(["optimize", "--study", str(study), "--timeout", "24s"]) == 0
    ended = datetime.datetime.now()
    trials = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    (on,) = [t for t in trials if "continues" in t.user_attrs]
    best = trials[on.user_attrs["continues"]]
    assert best.state.name == "COMPLETE" and best.user_attrs["kept_training_state"] is True
    assert best.user_attrs["stop_reason"] == "max_epochs" and best.user_attrs["best_epoch"] in (
        1,
        2,
    )
    # The same configuration, going on from where the best stopped until the study's end.
    assert on.params == best.params and on.number > best.number
    assert on.user_attrs["origin"] == f"trains trial {best.number} on"
    assert (on.state.name, on.user_attrs["stop_reason"]) == ("COMPLETE", "time_limit")
    assert on.value <= best.value  # loss: its best includes the best's own epochs
    assert on.user_attrs["best_epoch"] >= 2
    # Only its own reports and cost: its steps come after the best's last.
    assert min(on.intermediate_values) > max(best.intermediate_values)
    assert on.user_attrs["examples_seen"] == max(on.intermediate_values) - max(
        best.intermediate_values
    )
    with open("runs/tiny/epochs.csv", newline="") as log:
        rows = [r for r in csv.DictReader(log) if r["trial"] == str(on.number)]
    assert rows and min(float(r["epoch"]) for r in rows) > 2
    # Sampled trials ended before it began, in time to leave it most of the last quarter
    # (6 s); the study ended by its timeout, the trial training on last.
    for trial in trials:
        if "start_point" not in trial.user_attrs:
            assert trial.datetime_complete <= on.datetime_start
    assert on.datetime_complete - on.datetime_start > datetime.timedelta(seconds=4.5)
    assert on.number == len(trials) - 1
    assert ended - began < datetime.timedelta(seconds=27)
    # No training state is left behind; the kept models are.
    assert {p.name for p in Path("runs/tiny").glob("trial-*/*.pt")} <= {"model.pt"}

    # `hpo train` trains its configuration to its best epoch, past max_epochs.
    assert main(["train", "--study", str(study), "--trial", str(on.number)]) == 0
    epochs = on.user_attrs["best_epoch"]
    assert (
        f"trained trial {on.number} of study tiny for {epochs} epoch(s)" in capsys.readouterr().out
    )


def test_without_train_on_every_trial_stops_at_max_epochs(workdir):
    study = tiny_study(workdir, train_on=False)
    assert main(["optimize", "--study", str(study), "--timeout", "8s"]) == 0
    trials = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    assert len(trials) > 1
    assert not [t for t in trials if {"continues", "kept_training_state"} & set(t.user_attrs)]


def test_a_best_trial_cut_by_its_share_trains_on_too(workdir):
    # No start point, and epochs enough for none to run out: every sampled trial is cut by
    # its share (6 s of 24), still improving at its cut.
    space = {k: v for k, v in SPACE.items() if k != "start"}
    study = write_study(
        workdir,
        data={"source": "builtin", "size": 2000},
        search_space=space,
        training={"max_epochs": 1000, "trial_share": 0.25},
        pruner={"type": "none"},
        metric="loss",
    )
    assert main(["optimize", "--study", str(study), "--timeout", "24s"]) == 0
    trials = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    (on,) = [t for t in trials if "continues" in t.user_attrs]
    best = trials[on.user_attrs["continues"]]
    assert best.user_attrs["stop_reason"] == "time_limit"
    assert best.user_attrs["kept_training_state"] is True
    # Its best epoch is the one its limit cut or the one before; training on starts after.
    with open("runs/tiny/epochs.csv", newline="") as log:
        rows = list(csv.DictReader(log))
    best_epochs = [float(r["epoch"]) for r in rows if r["trial"] == str(best.number)]
    on_epochs = [float(r["epoch"]) for r in rows if r["trial"] == str(on.number)]
    assert max(best_epochs) - 1 <= best.user_attrs["best_epoch"] <= max(best_epochs)
    assert max(best_epochs) < min(on_epochs)
    assert on.params == best.params and on.value <= best.value
    assert on.datetime_complete - on.datetime_start > datetime.timedelta(seconds=4.5)
    assert {p.name for p in Path("runs/tiny").glob("trial-*/*.pt")} <= {"model.pt"}
