"""What trials cost: `hpo trials`, `trials.csv` and the report show it, old stores included."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from hpo.cli import main

START = datetime(2025, 5, 1, 12, 0, 0)
GPU = "cuda:0 (NVIDIA H100 80GB HBM3)"
COST = {
    "examples_seen": 3000,
    "tokens_seen": 45000,
    "train_seconds": 30.0,
    "val_seconds": 3.0,
    "device": "cpu (2 threads, bfloat16)",  # the longest CPU form, whole in its column
}


def trial(number, state, seconds, epochs, attrs=None) -> FrozenTrial:
    """A finished trial of ``seconds`` wall clock that reported ``epochs`` epochs."""
    curve = {e: 0.5 + 0.1 * e for e in range(1, epochs + 1)}
    return FrozenTrial(
        number=number,
        trial_id=number,
        state=state,
        value=None if state == TrialState.FAIL else curve[epochs],
        values=None,
        datetime_start=START,
        datetime_complete=START + timedelta(seconds=seconds),
        params={"lr": 0.001 * (number + 1)},
        distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True)},
        user_attrs=attrs or {},
        system_attrs={},
        intermediate_values={} if state == TrialState.FAIL else curve,
    )


@pytest.fixture
def store(workdir):
    """Study `costs` (max_epochs 4): trials with and without their cost recorded; study
    `old`, made before trials recorded any."""
    (workdir / "runs").mkdir()
    costs = optuna.create_study(
        study_name="costs", storage="sqlite:///runs/hpo.db", direction="maximize"
    )
    costs.set_user_attr("metric", "accuracy")
    costs.set_user_attr("config", {"training": {"max_epochs": 4}})
    pruned_cost = {
        **COST,
        "examples_seen": 1000,
        "train_seconds": 9.0,
        "val_seconds": 1.0,
        "device": GPU,
    }
    for frozen in [
        trial(0, TrialState.COMPLETE, 40, 4, COST),
        # Pruned after 1 of 4 epochs at 0.01 s per example: 3000 more examples, 30 s saved.
        trial(1, TrialState.PRUNED, 12, 1, pruned_cost),
        # Pruned after 2 of 4 epochs, no cost recorded: 2 more epochs at 10 s, 20 s saved.
        trial(2, TrialState.PRUNED, 20, 2),
        trial(3, TrialState.FAIL, 5, 0, {"fail_reason": "out_of_memory: ..."}),
        trial(4, TrialState.COMPLETE, 44, 4, {**COST, "examples_seen": "lots", "device": 7}),
    ]:
        costs.add_trial(frozen)
    old = optuna.create_study(study_name="old", storage="sqlite:///runs/hpo.db")
    old.add_trial(trial(0, TrialState.COMPLETE, 10, 2, {"seed": 1}))
    return workdir


def run(capsys, *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def table(out: str) -> list[dict[str, str]]:
    lines = [line for line in out.splitlines() if line.startswith(("┃", "│"))]
    rows = [
        [cell.strip() for cell in line.strip("┃│").split("┃" if "┃" in line else "│")]
        for line in lines
    ]
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def test_trials_shows_each_trials_cost_and_dashes_where_none_was_recorded(store, capsys):
    out = run(capsys, "trials", "--study", "costs")
    rows = table(out)

    assert out.startswith("study costs: 5 trial(s) (sqlite:///runs/hpo.db)")
    assert [r["trial"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert (rows[0]["examples/tokens"], rows[0]["train/val s"]) == ("3k/45k", "30.0/3.0")
    assert rows[0]["device"] == "cpu (2 threads, bfloat16)"
    assert rows[1]["device"].startswith("cuda:0 (NVIDIA") and rows[1]["device"].endswith("…")
    for row in rows[2:4]:  # recorded no cost
        assert [row[c] for c in ("examples/tokens", "train/val s", "device")] == ["-"] * 3
    # Values of the wrong kind read as missing.
    assert (rows[4]["examples/tokens"], rows[4]["device"]) == ("-/45k", "-")


def test_trials_on_one_device_name_it_once(store, capsys):
    out = run(capsys, "trials", "--study", "costs", "--state", "complete")

    assert out.startswith(
        "study costs: 2 trial(s) on cpu (2 threads, bfloat16) (sqlite:///runs/hpo.db)"
    )
    assert "device" not in table(out)[0]


def test_trials_of_a_store_older_than_cost_records_show_dashes(store, capsys):
    (row,) = table(run(capsys, "trials", "--study", "old"))

    assert row["state"] == "complete"
    assert (row["examples/tokens"], row["train/val s"]) == ("-", "-")


def test_trials_csv_has_the_cost_columns_after_the_duration(store, capsys):
    rows = list(
        csv.DictReader(io.StringIO(run(capsys, "trials", "--study", "costs", "--csv", "-")))
    )

    header = list(rows[0])
    at = header.index("duration_s")
    assert header[at + 1 : at + 6] == [
        "examples_seen",
        "tokens_seen",
        "train_seconds",
        "val_seconds",
        "device",
    ]
    assert header.count("device") == 1
    assert {k: rows[0][k] for k in COST} == {k: str(v) for k, v in COST.items()}
    assert [rows[2][k] for k in COST] == [""] * 5

    old = run(capsys, "trials", "--study", "old", "--csv", "-")
    (row,) = csv.DictReader(io.StringIO(old))
    assert [row[k] for k in COST] == [""] * 5 and row["seed"] == "1"


def test_report_shows_time_per_state_and_what_pruning_saved(store, capsys):
    run(capsys, "report", "--study", "costs", "--out", "costs.html")
    page = (store / "costs.html").read_text()

    facts = dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", page))
    assert facts["time in complete trials"] == (
        "84.0 s over 2 trials: 60.0 s training, 6.0 s validation"
    )
    assert facts["time in pruned trials"] == (
        "32.0 s over 2 trials: 9.0 s training, 1.0 s validation (recorded by 1 of them)"
    )
    assert facts["time in failed trials"] == "5.0 s over 1 trial"
    assert facts["pruning saved (estimate)"] == "50.0 s"
    method = facts["how the saving is estimated"]
    assert "a full run of 4 epochs minus what it ran" in method
    assert "1 trial, at its own measured seconds per training example" in method
    assert "1 trial, at its own wall-clock seconds per epoch, as it recorded no cost" in method
    assert facts["seen in training"] == "4,000 examples, 135,000 tokens"
    assert facts["devices"] == f"cpu (2 threads, bfloat16): 1 trial; {GPU}: 1 trial"


def test_report_of_a_store_older_than_cost_records(store, capsys):
    run(capsys, "report", "--study", "old", "--out", "old.html")
    page = (store / "old.html").read_text()

    assert "<th>time in complete trials</th><td>10.0 s over 1 trial</td>" in page
    assert "<th>pruning saved (estimate)</th><td>0.0 s</td>" in page
    assert "no trial was pruned before its last epoch" in page
    assert "seen in training" not in page
