"""With a timeout, a study's last stretch goes to its best trial: if it was still improving
at ``max_epochs``, a trial of its own takes its training state over and trains on until the
study's end, while sampled trials end before that stretch begins."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import optuna

from hpo.cli import main
from hpo.run_layout import trial_dir
from hpo.study.kept_trials import prune_checkpoints
from hpo.study.train_on import candidate, drop_outdated_states, sampled_reserve
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


def stored_trial(study: optuna.Study, values: list[float], seconds: float, kept: bool) -> int:
    """A complete trial with a dev value at each epoch's end (100 examples an epoch) after
    ``seconds`` of training, its training state on disk where ``kept``."""
    study.add_trial(
        optuna.trial.create_trial(
            value=max(values),
            intermediate_values={100 * (i + 1): v for i, v in enumerate(values)},
            user_attrs={
                "epoch_examples": 100,
                "train_seconds": seconds,
                "val_seconds": 0.0,
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


def test_the_stretch_goes_to_a_trial_ahead_of_the_best_at_equal_time(workdir):
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    # The best, a slow model at its peak; a fast one still climbing, better at its own
    # time (12 s: 0.59) than the best was (its first epoch, 15 s: 0.45); a fast one behind.
    best = stored_trial(study, [0.45, 0.58, 0.64, 0.67, 0.68], 75.0, kept=True)
    behind = stored_trial(study, [0.30, 0.35, 0.38, 0.40], 12.0, kept=True)
    fast = stored_trial(study, [0.40, 0.50, 0.55, 0.59], 12.0, kept=True)
    assert study.best_trial.number == best
    # A stretch that takes the fast trial past the best's time goes to it; a shorter one
    # (12 + 30 s < 75 s) to the best.
    assert candidate(study, runs, stretch=70.0).number == fast
    assert candidate(study, runs, stretch=30.0).number == best
    # Checkpoints of trials outside the best one go, but not a training state still kept.
    prune_checkpoints(study, runs, keep=1)
    assert all((trial_dir(runs, n) / "last.pt").is_file() for n in (best, behind, fast))
    # After a trial, only the candidate's state stays; then its folder alone is left.
    drop_outdated_states(study, runs, stretch=70.0)
    prune_checkpoints(study, runs, keep=1)
    assert sorted(p.parent.name for p in runs.glob("trial-*/last.pt")) == [f"trial-{fast}"]
    assert sorted(p.name for p in runs.glob("trial-*")) == [f"trial-{fast}"]
    # At the end of a run no state stays.
    drop_outdated_states(study, runs)
    assert not list(runs.glob("trial-*/last.pt"))


def test_of_the_trials_ahead_of_the_best_the_stretch_goes_to_the_best_valued(workdir):
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    best = stored_trial(study, [0.45, 0.58, 0.64, 0.67, 0.68], 75.0, kept=True)  # 15 s an epoch
    # Both ahead of the best at their own time (40 s: 0.66 against 0.58; 12 s: 0.59 against
    # nothing yet). The fast one is also ahead of the other at 12 s, where the other had
    # 0.40: compared with each other in turn, the stretch would go to the fast one.
    middle = stored_trial(study, [0.40, 0.52, 0.60, 0.66], 40.0, kept=True)
    stored_trial(study, [0.40, 0.50, 0.55, 0.59], 12.0, kept=True)
    assert study.best_trial.number == best
    assert candidate(study, runs, stretch=70.0).number == middle


def test_a_trial_ahead_of_a_best_that_kept_nothing_trains_on(workdir):
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    runs = Path("runs/equal")
    stored_trial(study, [0.45, 0.58, 0.64, 0.68, 0.67, 0.66], 90.0, kept=False)  # peaked
    assert candidate(study, runs, stretch=100.0) is None
    fast = stored_trial(study, [0.40, 0.50, 0.55, 0.59], 12.0, kept=True)
    assert candidate(study, runs, stretch=100.0).number == fast
    assert sampled_reserve(study, runs, 100.0) == 100.0
    # Behind at equal time: a stretch would not go to it, and none is reserved.
    study = optuna.create_study(storage="sqlite:///runs.db", direction="maximize")
    stored_trial(study, [0.45, 0.58, 0.64, 0.68, 0.67, 0.66], 90.0, kept=False)
    stored_trial(study, [0.40, 0.41, 0.42, 0.43], 60.0, kept=True)
    assert candidate(study, runs, stretch=100.0) is None
    assert sampled_reserve(study, runs, 100.0) == 0.0
