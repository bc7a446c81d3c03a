"""With a timeout, a study's last stretch goes to its best trial: if it was still improving
at ``max_epochs``, a trial of its own takes its training state over and trains on until the
study's end, while sampled trials end before that stretch begins."""

from __future__ import annotations

import csv
import datetime
import time
from pathlib import Path

import optuna
import pytest

from hpo.cli import main
from hpo.run_layout import trial_dir
from hpo.study.kept_trials import prune_checkpoints
from hpo.study.train_on import (
    candidate,
    drop_outdated_states,
    enqueue_train_on,
    enqueue_when_due,
    sampled_reserve,
    validation_seconds,
)
from hpo.study.trial_steps import epoch_end_values
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


def test_the_best_trial_trains_on_in_the_studys_last_stretch(workdir, capsys, monkeypatch):
    # `auto` reports within epochs here (every 400 of the 1,400 texts; on all of dev, which
    # is smaller than the subset), except where nothing judges the reports: training on.
    monkeypatch.setattr("hpo.training.report_schedule.AUTO_REPORT_EXAMPLES", 400)
    monkeypatch.setattr("hpo.training.report_schedule.AUTO_REPORT_SECONDS", 1e-9)
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
        every_row = list(csv.DictReader(log))
    rows = [r for r in every_row if r["trial"] == str(on.number)]
    assert rows and min(float(r["epoch"]) for r in rows) > 2
    # Reports within epochs (their epoch a fraction) for the best, none training on.
    assert all(float(r["epoch"]).is_integer() for r in rows)
    best_rows = [r for r in every_row if r["trial"] == str(best.number)]
    assert not all(float(r["epoch"]).is_integer() for r in best_rows)
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
    # The cut left the best's last epoch short of its examples: the store still holds the
    # epoch ends of the trial training on where the epoch log has them, so trials.csv,
    # `hpo trials` and the report read the same epochs.
    ends = {
        int(float(r["epoch"])): float(r["val_loss"])
        for r in rows
        if r["trial"] == str(on.number) and float(r["epoch"]).is_integer()
    }
    assert len(ends) >= 2 and epoch_end_values(on) == pytest.approx(ends)
    assert on.params == best.params and on.value <= best.value
    assert on.datetime_complete - on.datetime_start > datetime.timedelta(seconds=4.5)
    assert {p.name for p in Path("runs/tiny").glob("trial-*/*.pt")} <= {"model.pt"}


def stored_trial(
    study: optuna.Study, values: list[float], seconds: float, kept: bool, val_seconds: float = 0.0
) -> int:
    """A complete trial with a dev value at each epoch's end (100 examples an epoch) after
    ``seconds`` of training and ``val_seconds`` of validation, its training state on disk
    where ``kept``."""
    study.add_trial(
        optuna.trial.create_trial(
            value=max(values),
            intermediate_values={100 * (i + 1): v for i, v in enumerate(values)},
            user_attrs={
                "epoch_examples": 100,
                "train_seconds": seconds,
                "val_seconds": val_seconds,
                "kept_training_state": kept,
            },
        )
    )
    number = len(study.trials) - 1
    if kept:
        folder = trial_dir(Path("runs/equal"), number)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "last.pt").write_bytes(b"state")
    return number


def test_the_stretch_goes_to_the_trial_whose_curve_points_highest(workdir):
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    # The best, a slow model near its peak (15 s an epoch); a fast one still climbing
    # steeply (2 s an epoch); a fast one climbing slowly, far behind.
    best = stored_trial(study, [0.45, 0.58, 0.64, 0.67, 0.68], 75.0, kept=True)
    behind = stored_trial(study, [0.30, 0.35, 0.38, 0.40, 0.41, 0.42], 12.0, kept=True)
    fast = stored_trial(study, [0.40, 0.45, 0.50, 0.55, 0.59, 0.62], 12.0, kept=True)
    assert study.best_trial.number == best
    # A stretch of 70 s is 6x the fast trial's time and 1.9x the best's: it goes to the
    # fast one; a stretch of 2 s is not enough for it to pass the best.
    assert candidate(study, runs, stretch=70.0).number == fast
    assert candidate(study, runs, stretch=2.0).number == best
    # Checkpoints of trials outside the best one go, but not a training state still kept.
    prune_checkpoints(study, runs, keep=1)
    assert all((trial_dir(runs, n) / "last.pt").is_file() for n in (best, behind, fast))
    # After a trial, only the candidate's and the best's states stay (after a later best,
    # the old best may be the one to train on), and their folders alone are left.
    drop_outdated_states(study, runs, stretch=70.0)
    prune_checkpoints(study, runs, keep=1)
    kept = sorted([f"trial-{fast}", f"trial-{best}"])
    assert sorted(p.parent.name for p in runs.glob("trial-*/last.pt")) == kept
    assert sorted(p.name for p in runs.glob("trial-*")) == kept
    # At the end of a run no state stays.
    drop_outdated_states(study, runs)
    assert not list(runs.glob("trial-*/last.pt"))


def test_a_fast_trial_near_its_plateau_leaves_the_stretch_to_a_climbing_best(workdir):
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    # As on the program task: an LSTM still climbing (18 s an epoch) and a CNN plateaued at
    # 0.65 after 24 s. At its own time the CNN is ahead of the LSTM's first epoch (0.52),
    # which once gave it the stretch: 123 s bought it 0.652 to 0.661.
    best = stored_trial(study, [0.52, 0.63, 0.68, 0.71, 0.74, 0.75], 110.0, kept=True)
    cnn = [0.43, 0.52, 0.56, 0.59, 0.62, 0.635, 0.64, 0.65, 0.648, 0.652]
    stored_trial(study, cnn, 24.0, kept=True)
    assert candidate(study, runs, stretch=150.0).number == best


def test_a_trial_pointing_past_a_best_that_kept_nothing_trains_on(workdir):
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    stored_trial(study, [0.45, 0.58, 0.64, 0.68, 0.67, 0.66], 90.0, kept=False)  # peaked
    assert candidate(study, runs, stretch=100.0) is None
    fast = stored_trial(study, [0.40, 0.50, 0.55, 0.59, 0.61, 0.62, 0.63, 0.64], 32.0, kept=True)
    assert candidate(study, runs, stretch=100.0).number == fast
    assert sampled_reserve(study, runs, 100.0) == 100.0
    # Pointing below the best (a slow climb, too short a curve to read a slope from): a
    # stretch would not go to it, and none is reserved.
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    stored_trial(study, [0.45, 0.58, 0.64, 0.68, 0.67, 0.66], 90.0, kept=False)
    stored_trial(study, [0.40, 0.41, 0.42, 0.43], 60.0, kept=True)
    assert candidate(study, runs, stretch=100.0) is None
    assert sampled_reserve(study, runs, 100.0) == 0.0


def test_a_start_point_too_long_to_leave_room_for_a_search_trains_on_at_once(workdir):
    # The start point trains a large part of the budget (as a translator does on a CPU),
    # here its trial time limit (6 s of 24): the time before the stretch (the last quarter)
    # holds fewer than three trials of its length, so it trains on at once, where a sampled
    # trial used to run first; and on until the study's end, past the trial time limit.
    study = tiny_study(workdir, max_epochs=1000, trial_time_limit="6s")
    assert main(["optimize", "--study", str(study), "--timeout", "24s"]) == 0
    trials = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    start, on = trials
    assert start.user_attrs["start_point"] is True and start.state.name == "COMPLETE"
    assert start.user_attrs["stop_reason"] == "time_limit"
    assert on.user_attrs["continues"] == start.number and on.params == start.params
    assert (on.state.name, on.user_attrs["stop_reason"]) == ("COMPLETE", "time_limit")
    assert on.datetime_complete - on.datetime_start > datetime.timedelta(seconds=9)


def test_the_last_trial_of_n_trials_enqueues_no_trial_to_train_on(workdir):
    # The start point would train on at once (as above), but --n-trials 1 ends the run
    # with it: a trial enqueued to train on would stay WAITING in the store.
    study = tiny_study(workdir, max_epochs=1000, trial_time_limit="6s")
    assert main(["optimize", "--study", str(study), "--n-trials", "1", "--timeout", "24s"]) == 0
    trials = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    assert [(t.number, t.state.name) for t in trials] == [(0, "COMPLETE")]


def test_no_trial_trains_on_where_it_could_not_validate_twice_before_the_end(workdir):
    # In a 3-minute study the trial training the best on was once enqueued with 11 s left,
    # less than one validation of all of dev (21 s): it trained nothing and completed with
    # the best's value, a second row of the same result.
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    # Its validations: 30 s over 5 epochs' ends.
    best = stored_trial(study, [0.45, 0.58, 0.64, 0.67, 0.68], 75.0, kept=True, val_seconds=30.0)
    assert validation_seconds(study.trials[best]) == 6.0

    assert enqueue_train_on(study, runs, stretch=100.0, time_left=11.0) is None
    assert [t.state.name for t in study.trials] == ["COMPLETE"]
    assert enqueue_train_on(study, runs, stretch=100.0, time_left=13.0).number == best
    (waiting,) = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert waiting.user_attrs["continues"] == best


def test_in_the_stretch_with_nothing_to_train_in_it_the_study_stops(workdir):
    # A start point ended 35 s before a 30-minute study's end, too late to train it on:
    # two sampled trials were then started there, each pruned at once as too slow (it had
    # to leave the last 7m30s to the best).
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    best = stored_trial(study, [0.45, 0.58, 0.64, 0.67, 0.68], 75.0, kept=True, val_seconds=30.0)
    soon = time.monotonic()
    # 12 s left, 2 s of it the trial's own end: under two validations of 6 s.
    assert not enqueue_when_due(study, runs, 25.0, 100.0, soon + 12.0, None, 1.0)
    assert len(study.trials) == 1
    # With room for both, it trains on; the study goes on with the trial enqueued.
    assert enqueue_when_due(study, runs, 25.0, 100.0, soon + 20.0, None, 1.0)
    (waiting,) = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert waiting.user_attrs["continues"] == best
    # Another worker, its trial ended with a search's worth of time before the stretch
    # (the stretch began early for its pace): its candidate is trained on already, and
    # it samples on; within the stretch it stops.
    assert enqueue_when_due(study, runs, 25.0, 100.0, soon + 60.0, 20.0, 1.0)
    assert not enqueue_when_due(study, runs, 25.0, 100.0, soon + 25.0, 20.0, 1.0)
    assert len(study.trials) == 2
