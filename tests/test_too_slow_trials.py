"""A trial that cannot reach its first report within its time limit (or before the study's
timeout ends) is stopped after its first optimizer steps: PRUNED, nothing reported, the
reason in its `stop_reason`, shown by `hpo trials` and trials.csv and printed once as a
warning. A trial with room to spare is not touched."""

from __future__ import annotations

import csv
import datetime
import re
import time
from typing import Any

import optuna
import pytest
import torch
from torch import nn

from hpo.cli import main
from hpo.training.loop import LoopSettings, ReportLimit, TooSlowError, fit
from tests.conftest import write_study

RATE = r"[\d,.]+ examples/s"
TINY_CNN = {"arch": "cnn", "embedding_dim": 16, "filter_sizes": "2,3", "num_filters": 8, "lr": 0.01}
EXPECTED = r"(?:\d+[dhm])*\d+s"


class Vectors:
    def __init__(self, vectors: torch.Tensor):
        self.vectors = vectors

    def to(self, device: torch.device) -> Vectors:
        return self


class SleepyTask:
    """``size`` examples of one per batch, each taking at least ``seconds`` to train on."""

    def __init__(self, size: int, seconds: float, dev_size: int = 50, val_seconds: float = 0.0):
        self.size, self.seconds, self.dev_size = size, seconds, dev_size
        self.val_seconds = val_seconds

    def batches(self, generator: torch.Generator) -> list[Vectors]:
        return [Vectors(torch.ones(1, 2)) for _ in range(self.size)]

    def epoch_examples(self) -> int:
        return self.size

    def examples(self, batch: Vectors) -> int:
        return 1

    units = tokens = examples

    def padding(self, batch: Vectors) -> None:
        return None

    def loss_sum(self, model: nn.Module, batch: Vectors) -> torch.Tensor:
        time.sleep(self.seconds)
        return model(batch.vectors).sum()

    def validate(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        time.sleep(self.val_seconds)
        return 0.0, {"accuracy": 0.5}

    def validate_subset(self, model: nn.Module) -> None:
        return None

    def validation_examples(self, subset: bool) -> int:
        return self.dev_size

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


def run(task: SleepyTask, limit: ReportLimit) -> tuple[list[int], list[float]]:
    """Fit one epoch under ``limit``: the steps taken and the reports made."""
    settings = LoopSettings(max_epochs=1, metric="accuracy", maximize=True)
    settings.first_report_limit = limit
    steps: list[int] = []
    reports: list[float] = []
    fit(
        nn.Linear(2, 1),
        task,
        {"optimizer": "sgd", "lr": 0.01},
        settings,
        callbacks=[lambda record: reports.append(record.epoch)],
        after_step=[lambda model: steps.append(1)],
    )
    return steps, reports


def test_a_run_whose_first_report_would_come_too_late_stops_after_its_first_steps():
    # 200 examples at 10 ms or more each, and 50 dev examples: at least 2.5 s to report.
    with pytest.raises(TooSlowError) as raised:
        run(SleepyTask(200, 0.01), ReportLimit(0.5, "half a second"))
    estimate = raised.value.estimate
    assert estimate.too_slow and estimate.limit.seconds == 0.5
    assert estimate.seconds > 2.4
    assert 10 < estimate.examples_per_second <= 100
    # Stopped once a tenth of the limit was measured, after two untimed steps.
    assert 3 <= raised.value.examples_seen <= 22
    assert raised.value.train_seconds >= 0.01 * raised.value.examples_seen
    assert re.fullmatch(
        rf"too slow: first report expected after {EXPECTED} \(at {RATE}\), past half a second",
        str(raised.value),
    )


def test_a_run_with_room_to_spare_is_measured_and_goes_on():
    # 60 examples at about 10 ms: about 1 s to the first report, against 10 s.
    steps, reports = run(SleepyTask(60, 0.01), ReportLimit(10.0, "ten seconds"))
    assert len(steps) == 60 and reports == [1]


def test_a_time_limit_leaves_room_for_the_report_at_its_cut():
    # Epochs of 3 steps of 0.1 s and a validation of 0.5 s. Training stops 1.1 validations
    # before the limit, within an epoch or at its end, so the last report ends by it;
    # stopping only at the limit would overrun it by a validation.
    settings = LoopSettings(max_epochs=100, metric="accuracy", maximize=True, time_limit=2.0)
    reports: list[float] = []
    started = time.monotonic()
    result = fit(
        nn.Linear(2, 1),
        SleepyTask(3, 0.1, val_seconds=0.5),
        {"optimizer": "sgd", "lr": 0.01},
        settings,
        callbacks=[lambda record: reports.append(record.epoch)],
    )
    elapsed = time.monotonic() - started
    assert result.stop_reason == "time_limit"
    assert 1.3 < elapsed < 2.15
    assert 2 <= len(reports) <= 3 and reports[:2] == [1, 2]


def slow_study(workdir, **fields):
    """One trial of a CNN at one text per step over an epoch of 4,200 texts, reporting at
    the epoch's end: over 40 s on a CPU where its first steps take a second or two."""
    return write_study(
        workdir,
        name="slow",
        data={"source": "builtin", "size": 6000},
        search_space={
            "params": {
                "arch": "cnn",
                "embedding_dim": 256,
                "filter_sizes": "3,4,5",
                "num_filters": 256,
                "lr": 0.01,
                "batch_size": 1,
            }
        },
        training={"max_epochs": 2, "report_every": "1 epoch", **fields},
    )


def stored_trial(name: str) -> optuna.trial.FrozenTrial:
    return stored_trial_number(name, 0)


def stored_trial_number(name: str, number: int) -> optuna.trial.FrozenTrial:
    return optuna.load_study(study_name=name, storage="sqlite:///runs/hpo.db").trials[number]


def test_a_trial_too_slow_for_its_time_limit_is_pruned_with_the_reason(
    workdir, capsys, monkeypatch
):
    study = slow_study(workdir, trial_time_limit="5s")
    started = time.monotonic()
    assert main(["optimize", "--study", str(study), "--n-trials", "1"]) == 0
    out = capsys.readouterr().out

    trial = stored_trial("slow")
    assert trial.state.name == "PRUNED"
    assert trial.intermediate_values == {}  # nothing reported to the pruner
    reason = trial.user_attrs["stop_reason"]
    assert re.fullmatch(
        rf"too slow: first report expected after {EXPECTED} \(at {RATE}\), "
        r"past the trial time limit of 5s",
        reason,
    )
    assert 0 < trial.user_attrs["examples_seen"] < 4200
    assert time.monotonic() - started < 60
    assert [line for line in out.splitlines() if "warning" in line] == [
        f"warning: trial 0 {reason}"
    ]

    with open(workdir / "runs/slow/trials.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert (row["state"], row["stop_reason"]) == ("PRUNED", reason)
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["trials", "--study", str(study)]) == 0
    table = capsys.readouterr().out
    assert [line.split("│")[-2].strip() for line in table.splitlines() if "pruned" in line] == [
        reason
    ]


@pytest.mark.parametrize(
    ("share", "timeout", "limit"),
    [
        # No time limit of its own: the study's end is the limit.
        (None, "5s", rf"the study's end \(its timeout\) {EXPECTED} after the trial's start"),
        (0.25, "20s", r"its share of the study's timeout \(0.25 x 20s = 5s\)"),
    ],
    ids=["study end", "share"],
)
def test_with_a_timeout_a_trial_that_cannot_report_in_time_is_pruned(
    workdir, share, timeout, limit
):
    study = slow_study(workdir, trial_share=share)
    assert main(["optimize", "--study", str(study), "--n-trials", "1", "--timeout", timeout]) == 0
    trial = stored_trial("slow")
    assert trial.state.name == "PRUNED" and trial.intermediate_values == {}
    assert re.fullmatch(
        rf"too slow: first report expected after {EXPECTED} \(at {RATE}\), past {limit}",
        trial.user_attrs["stop_reason"],
    )


def test_no_trial_trains_longer_than_its_share_of_the_study_timeout(workdir):
    # Tiny epochs that report well within the share; 1000 of them would take minutes.
    study = write_study(
        workdir,
        search_space={"params": {**TINY_CNN, "batch_size": 64}},
        training={"max_epochs": 1000, "trial_share": 0.2},
    )
    assert main(["optimize", "--study", str(study), "--n-trials", "1", "--timeout", "30s"]) == 0
    trial = stored_trial("tiny")
    assert (trial.state.name, trial.user_attrs["stop_reason"]) == ("COMPLETE", "time_limit")
    # 6 s of training, and the trial's set-up before it and its ending after.
    assert 6 < (trial.datetime_complete - trial.datetime_start).total_seconds() < 15
    assert len(trial.intermediate_values) < 1000


def test_a_start_point_trains_until_the_study_ends_and_sampled_trials_get_their_share(workdir):
    lr = {"type": "float", "low": 1e-3, "high": 3e-2, "log": True}
    study = write_study(
        workdir,
        search_space={"params": {**TINY_CNN, "lr": lr, "batch_size": 64}, "start": {"lr": 0.01}},
        training={"max_epochs": 1000, "trial_share": 0.1},
        pruner={"type": "none"},
    )
    began = datetime.datetime.now()
    assert main(["optimize", "--study", str(study), "--timeout", "12s"]) == 0
    ended = datetime.datetime.now()
    # The start point is not held to 1.2 s: it trains until the study's end, and ends by it
    # (its last validation included), where Optuna would let it run on.
    (start,) = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    assert start.params == {"lr": 0.01} and start.user_attrs["start_point"] is True
    assert (start.state.name, start.user_attrs["stop_reason"]) == ("COMPLETE", "time_limit")
    assert 9 < start.user_attrs["time_limit_s"] <= 12
    assert start.datetime_complete - began < datetime.timedelta(seconds=14)
    assert ended - began < datetime.timedelta(seconds=16)

    # A sampled trial is: a tenth of the 20 s timeout.
    assert main(["optimize", "--study", str(study), "--n-trials", "1", "--timeout", "20s"]) == 0
    sampled = stored_trial_number("tiny", 1)
    assert "start_point" not in sampled.user_attrs
    assert (sampled.state.name, sampled.user_attrs["stop_reason"]) == ("COMPLETE", "time_limit")
    assert sampled.user_attrs["time_limit_s"] == 2.0
    assert (sampled.datetime_complete - sampled.datetime_start).total_seconds() < 8


def test_a_trial_with_room_to_spare_runs_its_epochs(workdir, capsys):
    # 35 steps an epoch: the first report comes after the steps are measured.
    study = write_study(
        workdir,
        search_space={"params": {**TINY_CNN, "batch_size": 8}},
        training={"max_epochs": 2, "trial_time_limit": "1m"},
    )
    assert main(["optimize", "--study", str(study), "--n-trials", "1"]) == 0
    assert "warning" not in capsys.readouterr().out
    trial = stored_trial("tiny")
    assert trial.state.name == "COMPLETE"
    assert trial.user_attrs["stop_reason"] == "max_epochs"
    assert len(trial.intermediate_values) == 2


def test_once_a_trials_own_end_is_measured_the_next_keeps_a_few_times_that_not_the_rule(
    workdir, monkeypatch
):
    # The rule raised to half the timeout (20 s of 40 s), and the measured floor lowered,
    # so that a 40-second study shows what the rule would cost a 30-minute one.
    monkeypatch.setattr("hpo.study.too_slow.END_ALLOWANCE_SHARE", 0.5)
    monkeypatch.setattr("hpo.study.too_slow.MEASURED_FLOOR_S", 0.5)
    lr = {"type": "float", "low": 1e-3, "high": 3e-2, "log": True}
    study = write_study(
        workdir,
        search_space={"params": {**TINY_CNN, "lr": lr, "batch_size": 64}},
        training={"max_epochs": 1, "trial_share": None},
        pruner={"type": "none"},
    )
    assert main(["optimize", "--study", str(study), "--n-trials", "2", "--timeout", "40s"]) == 0
    first, second = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").trials
    # Nothing measured yet: the study's end less the rule's 20 s.
    assert 18 < first.user_attrs["time_limit_s"] <= 20
    # The first trial's set-up and end took well under a second or two: under the rule the
    # second could not have started at all (not in the last 2 x 20 s).
    overhead = (first.datetime_complete - first.datetime_start).total_seconds() - (
        first.user_attrs["train_seconds"] + first.user_attrs["val_seconds"]
    )
    assert overhead < 3
    assert second.state.name == "COMPLETE"
    left = 40 - (second.datetime_start - first.datetime_start).total_seconds()
    # Its limit is what was left less at least the 0.5 s floor (rounded to 0.1 s).
    assert left - 3 * overhead - 3 < second.user_attrs["time_limit_s"] < left - 0.4
