"""Bad study files and search spaces: one line, exit 2, the stored study left as it was."""

from __future__ import annotations

import pytest

from tests.bad_input.helpers import (
    assert_one_line_error,
    assert_stored_study_unchanged,
    hpo,
    lr_by_optimizer,
    tiny_study,
    write_study,
)

# --- study files ---------------------------------------------------------------------------


def test_malformed_yaml_names_the_file_and_line(here, capsys, stored):
    path = here / "broken.yaml"
    path.write_text("name: broken\ntask: [classification\n", encoding="utf-8")

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "broken.yaml", "malformed YAML", "line")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("field", "section", "value"),
    [
        ("colour", None, "blue"),
        ("max_epoch", "training", 3),
        ("vocab", "tokenizer", 100),
    ],
    ids=["top-level", "training.max_epoch", "tokenizer.vocab"],
)
def test_unknown_field_is_named_with_its_section(here, capsys, stored, field, section, value):
    study = tiny_study()
    if section is None:
        study[field] = value
    else:
        study[section][field] = value
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    dotted = f"{section}.{field}" if section else field
    assert_one_line_error(code, err, "tiny.yaml", dotted, "unknown field")
    assert_stored_study_unchanged(here, stored)


def test_unknown_study_name_lists_the_known_ones(here, capsys, stored):
    code, _, err = hpo(capsys, "optimize", "--study", "no-such-study")

    assert_one_line_error(code, err, "no-such-study", "demo")
    assert_stored_study_unchanged(here, stored)


def test_study_file_that_is_not_utf8(here, capsys, stored):
    path = here / "latin.yaml"
    path.write_bytes("name: café\ntask: classification\n".encode("latin-1"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "latin.yaml")
    assert_stored_study_unchanged(here, stored)


# --- search spaces -------------------------------------------------------------------------


def test_a_search_space_named_with_its_extension_is_the_shipped_one(here):
    from hpo.config import load_study_config

    named = load_study_config(str(write_study(here, tiny_study(search_space="classifier"))))
    path = write_study(here, tiny_study(name="ext", search_space="classifier.yaml"))
    assert load_study_config(str(path)).search_space == named.search_space


def test_a_missing_search_space_file_is_named(here, capsys, stored):
    path = write_study(here, tiny_study(search_space="spaces/mine.yaml"))

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "spaces/mine.yaml", "does not exist")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (
            {"lr": {"type": "float", "low": 0.1, "high": 0.01}},
            ["search_space.params.lr", "low (0.1) is greater than high (0.01)"],
        ),
        (
            {"embedding_dim": {"type": "int", "low": 64, "high": 8}},
            ["search_space.params.embedding_dim", "greater than high"],
        ),
        (
            {"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}},
            ["search_space.params.lr", "log scale needs low > 0"],
        ),
        (
            {"lr": {"type": "float", "low": -1.0, "high": 0.1, "log": True}},
            ["search_space.params.lr", "log scale needs low > 0"],
        ),
        (
            {"arch": {"type": "categorical", "choices": []}},
            ["search_space.params.arch", "choices must not be empty"],
        ),
        (
            {"num_filters": {"type": "int", "low": 2, "high": 8, "when": {"model": "cnn"}}},
            ["search_space", "'num_filters'", "unknown parameter 'model'"],
        ),
        (
            {"flux_capacitor": 1.21},
            ["unknown parameter 'flux_capacitor' for classification", "known:", "num_filters"],
        ),
        (
            {
                "arch": {"type": "categorical", "choices": ["cnn", "gru"]},
                "bidirectional": {"type": "fixed", "value": "maybe", "when": {"arch": "gru"}},
            },
            ["bidirectional value 'maybe' is not true or false"],
        ),
        ({"momentum": -5}, ["momentum value -5 is outside [0, 1)"]),
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 1.5}},
            ["dropout value 1.5 is outside [0, 1)"],
        ),
        ({"optimizer": "adagrad"}, ["optimizer value 'adagrad' is not one of adam, adamw, sgd"]),
        ({"hidden_size": 64}, ["unknown parameter 'hidden_size'", "with arch cnn"]),
        (
            lr_by_optimizer({"optimiser": {"sgd": {"low": 0.01, "high": 0.3}}}),
            ["search_space", "'lr' takes its range by unknown parameter 'optimiser'"],
        ),
        (
            lr_by_optimizer({"optimizer": {"rmsprop": {"low": 0.01, "high": 0.3}}}),
            ["'lr' has a range for optimizer='rmsprop', which is not one of ['adam', 'sgd']"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": 0.1}}),
            ["search_space.params.lr.by", "optimizer='sgd': 0.1 is not a range"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": {"low": 0.3, "high": 0.01}}}),
            ["search_space.params.lr", "by optimizer='sgd': low (0.3) is greater than high"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": {"low": 0.01, "high": 0.3, "log": False}}}),
            ["search_space.params.lr.by", "not 'log'"],
        ),
        (
            lr_by_optimizer({"optimizer": {"sgd": {"low": 0.0, "high": 0.3}}}, log=False),
            ["lr value 0.0 is outside (0, inf)"],
        ),
    ],
    ids=[
        "float-low>high",
        "int-low>high",
        "log-low=0",
        "log-low<0",
        "empty-choices",
        "when",
        "unknown-param",
        "wrong-type",
        "momentum-range",
        "dropout-range",
        "no-such-choice",
        "other-arch-param",
        "by-unknown-param",
        "by-unknown-value",
        "by-not-a-range",
        "by-low>high",
        "by-log",
        "by-out-of-declared-range",
    ],
)
def test_bad_search_space_is_refused_before_anything_runs(here, capsys, stored, params, names):
    study = tiny_study()
    study["search_space"]["params"].update(params)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", *names)
    assert_stored_study_unchanged(here, stored)


def test_arch_the_task_does_not_have_is_named(here, capsys, stored):
    study = tiny_study()
    study["search_space"]["params"]["arch"] = "transformer"
    write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", "tiny.yaml", "--n-trials", "1")

    assert_one_line_error(code, err, "'transformer'")
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 0.1, "step": 0.5}},
            ["search_space.params.dropout", "step (0.5) is larger than the range [0.0, 0.1]"],
        ),
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.2}},
            ["search_space.params.dropout", "not a whole number of steps", "0.4 or 0.6"],
        ),
        (
            {"num_filters": {"type": "int", "low": 2, "high": 9, "step": 4}},
            ["search_space.params.num_filters", "end it at 6 or 10"],
        ),
    ],
    ids=["step>range", "float-step", "int-step"],
)
def test_step_that_does_not_fit_the_range_is_refused(here, capsys, stored, params, names):
    study = tiny_study()
    study["search_space"]["params"].update(params)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, "tiny.yaml", *names)
    assert "optuna" not in err.lower()
    assert_stored_study_unchanged(here, stored)


@pytest.mark.parametrize(
    ("section", "value", "names"),
    [
        ("tokenizer", {"vocab_size": 10**12}, ["tokenizer.vocab_size", "1000000"]),
        (
            "params",
            {"vocab_size": {"type": "int", "low": 100, "high": 10**12}},
            ["vocab_size", "1000000000000", "1000000"],
        ),
    ],
    ids=["tokenizer", "searched"],
)
def test_vocabulary_size_beyond_what_sentencepiece_takes(
    here, capsys, stored, section, value, names
):
    study = tiny_study()
    if section == "tokenizer":
        study["tokenizer"].update(value)
    else:
        study["search_space"]["params"].update(value)
    path = write_study(here, study)

    code, _, err = hpo(capsys, "optimize", "--study", str(path))

    assert_one_line_error(code, err, *names)
    assert_stored_study_unchanged(here, stored)


def test_grid_search_over_an_enormous_finite_space_gives_its_size(here, capsys, stored):
    study = tiny_study()
    study["search_space"]["params"]["num_filters"] = {"type": "int", "low": 1, "high": 10**12}
    path = write_study(here, study)

    code, _, err = hpo(capsys, "grid-search", "--study", str(path))

    assert_one_line_error(code, err, "grid search", "1,000,000,000,000 points", "10,000")
    assert_stored_study_unchanged(here, stored)
