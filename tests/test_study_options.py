"""Study-file options work through `hpo optimize`: data formats, samplers, pruners (whose
steps count training examples), reports within epochs, diverging trials, the per-trial
time limit, and data that must be downloaded."""

from __future__ import annotations

import csv
import json

import optuna
import pytest
from optuna.trial import TrialState

from hpo.cli import main
from hpo.config import load_study_config
from hpo.data import load_classification_corpus
from hpo.data.builtin import topics_corpus
from tests.conftest import write_study


def stored(name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage="sqlite:///runs/hpo.db")


@pytest.fixture
def corpus_rows():
    corpus = topics_corpus(size=300, seed=3)
    return list(zip(corpus.train.texts, corpus.train.labels, strict=True))


def write_rows(path, rows, fmt):
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"body": t, "topic": y}) + "\n" for t, y in rows))
        return
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t" if fmt == "tsv" else ",")
        writer.writerow(["topic", "body"])
        writer.writerows((y, t) for t, y in rows)


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl"])
def test_train_dev_test_files_in_each_format(workdir, corpus_rows, fmt):
    for split, part in (("train", corpus_rows[:150]), ("dev", corpus_rows[150:190])):
        write_rows(workdir / f"{split}.{fmt}", part, fmt)
    write_rows(workdir / f"test.{fmt}", corpus_rows[190:], fmt)
    study_file = write_study(
        workdir,
        data={
            "source": "files",
            "train": f"train.{fmt}",
            "dev": f"dev.{fmt}",
            "test": f"test.{fmt}",
            "text_column": "body",
            "label_column": "topic",
        },
    )
    corpus = load_classification_corpus(load_study_config(str(study_file)).data)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (
        150,
        40,
        len(corpus_rows) - 190,
    )
    assert corpus.label_names == sorted(set(y for _, y in corpus_rows[:150]))
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    assert stored("tiny").get_trials()[0].state == TrialState.COMPLETE


def test_files_as_spreadsheets_and_exports_write_them(workdir, corpus_rows):
    """A byte-order mark and Windows line ends (Excel, Notepad), a text with commas,
    quotes and a line break, a trailing comma, and JSON labels written as floats (a
    pandas column with a missing value) read as the same corpus."""
    rows = [*corpus_rows[:150], ('say "hi", then\nleave', corpus_rows[0][1])]
    with (workdir / "train.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)  # "\r\n" line ends, as Python's csv writes them
        writer.writerow(["body", "topic", ""])
        writer.writerows((t, y, "") for t, y in rows)
    dev = corpus_rows[150:190]
    (workdir / "dev.jsonl").write_text(
        "\ufeff" + "".join(json.dumps({"body": t, "topic": y}) + "\n" for t, y in dev),
        encoding="utf-8",
    )
    data = {"source": "files", "train": "train.csv", "dev": "dev.jsonl"}
    data |= {"text_column": "body", "label_column": "topic"}
    corpus = load_classification_corpus(
        load_study_config(str(write_study(workdir, data=data))).data
    )
    assert corpus.train.texts[-1] == 'say "hi", then\nleave'
    assert (len(corpus.train), len(corpus.dev)) == (151, 40)
    assert corpus.label_names == sorted(set(y for _, y in corpus_rows[:150]))

    numbered = [json.dumps({"body": t, "topic": float(i % 2)}) for i, (t, _) in enumerate(dev)]
    (workdir / "train.jsonl").write_text("\n".join(numbered) + "\n", encoding="utf-8")
    (workdir / "dev.jsonl").write_text(
        "".join(json.dumps({"body": t, "topic": i % 2}) + "\n" for i, (t, _) in enumerate(dev)),
        encoding="utf-8",
    )
    data["train"] = "train.jsonl"
    corpus = load_classification_corpus(
        load_study_config(str(write_study(workdir, data=data))).data
    )
    assert corpus.label_names == ["0", "1"]  # 1.0 in one file is the 1 of the other


def test_a_tsv_reads_quoted_cells_as_pandas_writes_them_and_plain_quotes_as_text(
    workdir, corpus_rows
):
    """pandas (as Python's csv) quotes a TSV cell that holds a quote, a tab or a line break
    and doubles its quotes; in a TSV written without quoting a quote is a character, even
    one that opens a text: pandas' read_csv reads the same texts."""
    import pandas as pd

    label = corpus_rows[0][1]
    quoted = ['he said "hi"', "a tab\there and\na line break", '"quoted, all of it"']
    rows = [*corpus_rows[:150], *((t, label) for t in quoted)]
    frame = pd.DataFrame({"body": [t for t, _ in rows], "topic": [y for _, y in rows]})
    frame.to_csv(workdir / "train.tsv", sep="\t", index=False)
    plain = ['5" screen, bright', '"Hello," she said', 'say "hi" twice']
    lines = [f"{t}\t{y}\n" for t, y in [*corpus_rows[150:190], *((t, label) for t in plain)]]
    (workdir / "dev.tsv").write_text("body\ttopic\n" + "".join(lines), encoding="utf-8")
    data = {"source": "files", "train": "train.tsv", "dev": "dev.tsv"}
    data |= {"text_column": "body", "label_column": "topic"}
    corpus = load_classification_corpus(
        load_study_config(str(write_study(workdir, data=data))).data
    )
    assert corpus.train.texts[-3:] == quoted and len(corpus.train) == 153
    read_back = pd.read_csv(workdir / "train.tsv", sep="\t", keep_default_na=False)
    assert corpus.train.texts == [t.strip() for t in read_back["body"]]
    assert corpus.dev.texts[-3:] == plain and len(corpus.dev) == 43


def test_rows_with_an_empty_text_are_left_out_and_the_study_says_where(
    workdir, corpus_rows, capsys
):
    rows = list(corpus_rows[:150])
    for i in (3, 40, 41):
        rows[i] = ("  ", rows[i][1])
    write_rows(workdir / "train.tsv", rows, "tsv")
    write_rows(workdir / "dev.tsv", corpus_rows[150:190], "tsv")
    data = {"source": "files", "train": "train.tsv", "dev": "dev.tsv"}
    data |= {"text_column": "body", "label_column": "topic"}
    study_file = write_study(workdir, data=data)
    corpus = load_classification_corpus(load_study_config(str(study_file)).data)
    assert len(corpus.train) == 147 and len(corpus.dev) == 40
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    # After the header, row i is on line i + 2.
    note = f"note: {workdir / 'train.tsv'}: 3 row(s) with an empty text left out (lines 5, 42, 43)"
    assert note in capsys.readouterr().out.splitlines()


def test_a_file_without_a_header_names_its_columns_by_position(workdir, corpus_rows, capsys):
    for split, part in (("train", corpus_rows[:150]), ("dev", corpus_rows[150:190])):
        lines = "".join(f"{label}\t{text}\n" for text, label in part)
        (workdir / f"{split}.tsv").write_text(lines, encoding="utf-8")
    data = {"source": "files", "train": "train.tsv", "dev": "dev.tsv", "header": False}
    study_file = write_study(workdir, data=data)
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "no column 'text' (columns found: 0, 1; without a header they are numbered from 0)"
    )
    assert len(err.splitlines()) == 1

    study_file = write_study(workdir, data={**data, "text_column": 1, "label_column": 0})
    corpus = load_classification_corpus(load_study_config(str(study_file)).data)
    assert corpus.train.texts[0] == corpus_rows[0][0] and len(corpus.train) == 150
    assert corpus.label_names == sorted(set(y for _, y in corpus_rows[:150]))


def test_integer_labels_are_classes_in_the_order_of_their_numbers(workdir, corpus_rows):
    numbered = [(text, str(1 + i % 12)) for i, (text, _) in enumerate(corpus_rows)]
    write_rows(workdir / "train.tsv", numbered[:150], "tsv")
    write_rows(workdir / "dev.tsv", numbered[150:190], "tsv")
    data = {"source": "files", "train": "train.tsv", "dev": "dev.tsv"}
    data |= {"text_column": "body", "label_column": "topic"}
    corpus = load_classification_corpus(
        load_study_config(str(write_study(workdir, data=data))).data
    )
    assert corpus.label_names == [str(n) for n in range(1, 13)]  # 2 before 10
    assert corpus.label_ids(corpus.dev)[:12] == [(150 + i) % 12 for i in range(12)]


def test_one_file_split_by_ratios_with_a_seed(workdir, corpus_rows):
    write_rows(workdir / "all.csv", corpus_rows, "csv")
    data = {
        "source": "files",
        "path": "all.csv",
        "text_column": "body",
        "label_column": "topic",
        "split": {"train": 0.6, "dev": 0.2, "test": 0.2, "seed": 5},
    }
    config = load_study_config(str(write_study(workdir, data=data)))
    first = load_classification_corpus(config.data)
    again = load_classification_corpus(config.data)
    n = len(corpus_rows)
    assert len(first.train) + len(first.dev) + len(first.test) == n
    assert len(first.dev) == round(0.2 * n)
    assert first.dev.texts == again.dev.texts  # the seed makes the split reproducible
    assert not set(first.train.texts) & set(first.dev.texts) - set(first.train.texts)


@pytest.mark.parametrize("sampler", ["rung_tpe", "tpe", "random", "cmaes", "gp", "qmc"])
def test_every_sampler_runs_a_study(workdir, sampler):
    settings = {"type": sampler}
    if sampler in ("rung_tpe", "tpe", "cmaes", "gp"):
        settings["n_startup_trials"] = 1
    study_file = write_study(
        workdir, sampler=settings, training={"max_epochs": 1}, pruner={"type": "none"}
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "3"]) == 0
    trials = stored("tiny").get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert len({t.params["lr"] for t in trials}) == 3


@pytest.mark.parametrize(
    "pruner",
    [
        {"type": "successive_halving", "min_resource": 1, "reduction_factor": 2},
        {"type": "successive_halving", "min_resource": 1, "reduction_factor": 2, "compare": "time"},
        {"type": "successive_halving", "min_resource": 1, "reduction_factor": 2, "compare": "auto"},
        {"type": "hyperband", "reduction_factor": 2},
        {"type": "median", "n_startup_trials": 1, "n_warmup_steps": 0},
        {"type": "none"},
    ],
)
def test_every_pruner_runs_a_study(workdir, pruner):
    study_file = write_study(workdir, pruner=pruner, training={"max_epochs": 3})
    assert main(["optimize", "--study", str(study_file), "--n-trials", "4", "--seed", "1"]) == 0
    trials = stored("tiny").get_trials()
    assert len(trials) == 4
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    if pruner["type"] == "none":
        assert all(len(t.intermediate_values) == 3 for t in trials)


def test_steps_count_examples_and_min_resource_in_examples_is_the_first_rung(workdir):
    study_file = write_study(
        workdir,
        training={"max_epochs": 2, "report_every": 0.5},
        pruner={
            "type": "successive_halving",
            "min_resource": "200 examples",
            "reduction_factor": 2,
        },
        sampler={"type": "random", "seed": 3},
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "6"]) == 0
    trials = stored("tiny").get_trials()
    with open(workdir / "runs/tiny/epochs.csv", newline="") as handle:
        logged = {(int(row["trial"]), int(row["examples"])) for row in csv.DictReader(handle)}
    assert logged == {(t.number, step) for t in trials for step in t.intermediate_values}
    epoch = trials[0].user_attrs["epoch_examples"]
    assert epoch == 280  # the training texts of the 400 built-in ones
    for trial in trials:
        steps = sorted(trial.intermediate_values)
        # Every half epoch (140 texts, at the first batch of 32 past it) and every epoch's end.
        assert [s // 140 for s in steps] == list(range(1, len(steps) + 1))
        assert all(s % epoch % 32 in (0, 24) for s in steps)  # 8 batches of 32, 1 of 24
        if trial.state == TrialState.COMPLETE:
            assert steps[-1] == 2 * epoch
        # SuccessiveHalving decides its first rung at the first report at or past 200.
        first_past_rung = next((s for s in steps if s >= 200), None)
        if first_past_rung is not None:
            rung_value = trial.system_attrs["completed_rung_0"]
            assert rung_value == trial.intermediate_values[first_past_rung]
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned
    for trial in pruned:
        assert max(trial.intermediate_values) >= 200  # never before the first rung
        assert trial.user_attrs["pruned_at_examples"] == max(trial.intermediate_values)
        assert trial.user_attrs["examples_seen"] == max(trial.intermediate_values)


def test_a_diverging_trial_fails_with_its_reason_and_the_study_goes_on(workdir, capsys):
    space = {
        "params": {
            "arch": "cnn",
            "embedding_dim": 16,
            "filter_sizes": "2",
            "num_filters": 8,
            "optimizer": "sgd",
            "lr": {"type": "categorical", "choices": [1.0e12, 0.01]},
            "batch_size": 32,
        }
    }
    study_file = write_study(workdir, search_space=space, sampler={"type": "random", "seed": 0})
    assert main(["optimize", "--study", str(study_file), "--n-trials", "6"]) == 0
    trials = stored("tiny").get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all(t.params["lr"] == 1.0e12 for t in failed)
    assert all(t.user_attrs["fail_reason"].startswith("diverged") for t in failed)
    assert any(t.state == TrialState.COMPLETE for t in trials)
    with open(workdir / "runs/tiny/trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["state"] for r in rows] == [t.state.name for t in trials]


def test_the_per_trial_time_limit_stops_training(workdir):
    # One step an epoch of 280 texts: the first report comes within the limit (a trial
    # whose first report cannot is refused instead: tests/test_too_slow_trials.py), and
    # more epochs than a quiet machine trains in the limit (50 took under a second).
    params = {"arch": "cnn", "embedding_dim": 16, "filter_sizes": "2", "num_filters": 8}
    study_file = write_study(
        workdir,
        search_space={"params": {**params, "lr": 0.01, "batch_size": 512}},
        training={"max_epochs": 10_000, "trial_time_limit": "1s"},
        pruner={"type": "none"},
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    trial = stored("tiny").get_trials()[0]
    assert trial.state == TrialState.COMPLETE
    assert trial.user_attrs["stop_reason"] == "time_limit"
    assert 1 <= len(trial.intermediate_values) < 10_000


def test_a_downloaded_dataset_offline_is_one_clear_line(workdir, capsys, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    study_file = write_study(workdir, data={"source": "huggingface", "dataset": "ag_news"})
    code = main(["optimize", "--study", str(study_file), "--n-trials", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "ag_news" in err
    assert not (workdir / "runs/hpo.db").exists()


def test_objective_value_last_returns_the_last_epoch(workdir):
    study_file = write_study(
        workdir,
        objective_value="last",
        metric="loss",
        training={"max_epochs": 3},
        pruner={"type": "none"},
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "2"]) == 0
    study = stored("tiny")
    assert study.direction.name == "MINIMIZE"
    for trial in study.get_trials():
        last = max(trial.intermediate_values)
        assert last == 3 * trial.user_attrs["epoch_examples"]  # the end of epoch 3
        assert trial.value == trial.intermediate_values[last]
