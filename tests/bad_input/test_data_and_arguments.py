"""Bad data files, durations, report and pruner amounts, and command-line arguments: one
line, exit 2, the stored study left as it was."""

from __future__ import annotations

import pytest

from tests.bad_input.helpers import (
    SCIENCE,
    SPORTS,
    assert_one_line_error,
    assert_stored_study_unchanged,
    files_study,
    hpo,
    tiny_study,
    write_study,
    write_tsv,
)

# --- data files ----------------------------------------------------------------------------


def test_missing_data_file_is_named(here, capsys, stored):
    path = write_study(here, files_study(here, dev="nowhere.tsv"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "nowhere.tsv", "does not exist")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    "content", ["", "text\tlabel\n", "\n\n"], ids=["no-bytes", "header", "blank"]
)
def test_empty_data_file_is_named(here, capsys, stored, content):
    study = files_study(here)
    (here / "train.tsv").write_text(content, encoding="utf-8")
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "train.tsv", "empty")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("header", "missing"),
    [("text\tcategory", "'label'"), ("body\tlabel", "'text'")],
    ids=["label-column", "text-column"],
)
def test_missing_column_is_named_with_the_columns_found(here, capsys, stored, header, missing):
    study = files_study(here)
    write_tsv(here / "dev.tsv", SPORTS + SCIENCE, header=header)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    found = header.replace("\t", ", ")
    assert_one_line_error(code, err, "dev.tsv", missing, found)
    assert_stored_study_unchanged(here, stored)


def test_missing_column_named_in_the_study_file(here, capsys, stored):
    path = write_study(here, files_study(here, label_column="topic"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "train.tsv", "'topic'")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_label_unseen_in_train_is_named_with_its_split(here, capsys, stored, split):
    study = files_study(here, test="test.tsv")
    write_tsv(here / "test.tsv", SPORTS + SCIENCE)
    write_tsv(here / f"{split}.tsv", [*SPORTS, ("prices fell on the market", "business")])
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "'business'", split, "train")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("filename", "content", "names"),
    [
        ("train.tsv", "text\tlabel\nthe team won\tsports\nclear the list\t-d offset\tsports\n",
         ["train.tsv:3", "expected 2 tab-separated columns", "got 3"]),
        ("train.csv", "text,label\nthe team won,sports\nuse the force, Luke,science\n",
         ["train.csv:3", "expected 2 comma-separated columns", "got 3", "quote"]),
        ("train.csv", 'text,label\nthe team won,sports\n"an open quote,science\na,b\n"x",y\n',
         ["train.csv:3", "malformed CSV row"]),
    ],
    ids=["tab-in-tsv-text", "comma-in-csv-text", "unbalanced-quote"],
)  # fmt: skip
def test_a_row_that_does_not_match_the_header_is_named(here, capsys, stored, filename, content,
                                                       names):  # fmt: skip
    # Read leniently, these rows would make a fragment of text a label (a class of its own).
    study = files_study(here, train=filename)
    (here / filename).write_text(content, encoding="utf-8")
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, *names)
    assert_stored_study_unchanged(here, stored)


def test_split_beside_train_and_dev_files_is_refused(here, capsys, stored):
    path = write_study(here, files_study(here, split={"train": 0.8, "dev": 0.1, "test": 0.1}))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "data", "split", "train and dev files")
    assert_stored_study_unchanged(here, stored)


def test_a_folder_given_as_a_data_file_is_named(here, capsys, stored):
    (here / "data").mkdir()
    path = write_study(here, files_study(here, dev="data"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "data", "is a folder")
    assert_stored_study_unchanged(here, stored)


def test_data_file_that_is_not_utf8(here, capsys, stored):
    study = files_study(here)
    (here / "dev.tsv").write_bytes("text\tlabel\ncafé au lait\tsports\n".encode("latin-1"))
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "dev.tsv")
    assert_stored_study_unchanged(here, stored)


# --- durations -----------------------------------------------------------------------------


def test_bad_timeout_on_the_command_line(here, capsys, stored):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path), "--timeout", "12x")

    assert_one_line_error(code, err, "'12x'", "duration")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("section", "field"),
    [("training", "trial_time_limit"), (None, "timeout")],
    ids=["training.trial_time_limit", "timeout"],
)
def test_bad_duration_in_the_study_file(here, capsys, stored, section, field):
    study = tiny_study()
    if section is None:
        study[field] = "12x"
    else:
        study[section][field] = "12x"
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    dotted = f"{section}.{field}" if section else field
    assert_one_line_error(code, err, "tiny.yaml", dotted, "'12x'")
    assert_stored_study_unchanged(here, stored)


# --- reports and the pruner's resource ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (5000, ["more than one epoch", "'5000 examples'"]),
        ("2 epochs", ["more than one epoch"]),
        ("0.25 parsecs", ["expected e.g. 0.5 (epochs) or '5000 examples'", "'0.25 parsecs'"]),
        (0, ["more than zero"]),
        ("-1", ["expected e.g."]),
        ("12.5 examples", ["whole number"]),
        (True, ["expected e.g."]),
    ],
    ids=["bare-examples", "two-epochs", "unknown-unit", "zero", "negative", "half-example", "bool"],
)
def test_bad_report_every_is_one_line(here, capsys, stored, value, names):
    study = tiny_study()
    study["training"]["report_every"] = value
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", "training.report_every", *names)
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (5000, ["5000 epochs is more than training.max_epochs (1)", "'5000 examples'"]),
        ("20 zebras", ["pruner.min_resource", "expected e.g."]),
        (0, ["pruner.min_resource", "more than zero"]),
    ],
    ids=["bare-examples", "unknown-unit", "zero"],
)
def test_bad_min_resource_is_one_line(here, capsys, stored, value, names):
    path = write_study(
        here, tiny_study(pruner={"type": "successive_halving", "min_resource": value})
    )

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", *names)
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("pruner", "compare"), [("hyperband", "time"), ("median", "auto"), ("none", "time")]
)
def test_time_comparison_without_successive_halving_is_one_line(
    here, capsys, stored, pruner, compare
):
    path = write_study(here, tiny_study(pruner={"type": pruner, "compare": compare}))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", "pruner", f"compare: {compare}", pruner)
    assert_stored_study_unchanged(here, stored)


# --- arguments -----------------------------------------------------------------------------


def test_zero_trials_is_refused(here, capsys, stored):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, "optimize", "--study", str(path), "--n-trials", "0")

    assert_one_line_error(code, err, "--n-trials", "0")
    assert_stored_study_unchanged(here, stored)


def test_grid_search_over_an_infinite_space_names_the_float(here, capsys, stored):
    study = tiny_study()
    study["search_space"]["params"]["lr"] = {"type": "float", "low": 1e-3, "high": 1e-1}
    path = write_study(here, study)

    code, _, err = hpo(capsys, "grid-search", "--study", str(path))

    assert_one_line_error(code, err, "grid search", "'lr'", "step")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize("command", ["optimize", "grid-search", "best"])
def test_unknown_option_is_named(here, capsys, stored, command):
    path = write_study(here, tiny_study())

    code, _, err = hpo(capsys, command, "--study", str(path), "--colour", "blue")

    assert_one_line_error(code, err, "--colour")
    assert_stored_study_unchanged(here, stored)
