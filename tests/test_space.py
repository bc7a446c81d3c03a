"""Search spaces: what a trial is asked for, what a grid holds, what is refused."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
from pydantic import ValidationError

from hpo import space
from hpo.config import load_search_space
from hpo.space import SearchSpace

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def quiet_optuna():
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(verbosity)


def make_space(**params) -> SearchSpace:
    return SearchSpace.model_validate({"params": params})


def random_trials(search_space: SearchSpace, n: int = 100, seed: int = 0):
    """Ask ``n`` trials of an in-memory study with a seeded random sampler."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(n):
        trial = study.ask()
        yield trial, space.suggest(trial, search_space)


def is_multiple(value: float, base: float, step: float) -> bool:
    ratio = (value - base) / step
    return math.isclose(ratio, round(ratio), abs_tol=1e-9)


# --- suggest -------------------------------------------------------------------------------


def test_suggest_keeps_types_ranges_log_and_step():
    search_space = make_space(
        lr={"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        dropout={"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        momentum={"type": "float", "low": 0.5, "high": 0.99},
        embedding_dim={"type": "int", "low": 16, "high": 128, "step": 16},
        hidden_size={"type": "int", "low": 8, "high": 512, "log": True},
        batch_size={"type": "categorical", "choices": [16, 32, 64]},
        bidirectional={"type": "categorical", "choices": [True, False]},
    )

    for trial, params in random_trials(search_space, n=60):
        assert 1e-4 <= params["lr"] <= 1e-1
        assert 0.0 <= params["dropout"] <= 0.5 and is_multiple(params["dropout"], 0.0, 0.1)
        assert 0.5 <= params["momentum"] <= 0.99
        assert isinstance(params["embedding_dim"], int)
        assert params["embedding_dim"] in range(16, 129, 16)
        assert isinstance(params["hidden_size"], int) and 8 <= params["hidden_size"] <= 512
        assert params["batch_size"] in (16, 32, 64)
        assert isinstance(params["bidirectional"], bool)
        assert params == trial.params

    distributions = trial.distributions
    assert distributions["lr"].log and not distributions["momentum"].log
    assert distributions["dropout"].step == 0.1
    assert distributions["embedding_dim"].step == 16
    assert distributions["hidden_size"].log


def test_log_scale_spreads_samples_over_decades():
    search_space = make_space(lr={"type": "float", "low": 1e-5, "high": 1e-1, "log": True})

    values = [params["lr"] for _, params in random_trials(search_space, n=200)]

    # On a linear scale almost nothing would land below 1e-3; on a log scale about half does.
    below = sum(v < 1e-3 for v in values)
    assert 60 < below < 140


def test_conditional_params_appear_only_when_their_condition_holds():
    search_space = load_search_space("classifier-small", PROJECT_ROOT / "studies")
    seen_archs = set()

    for trial, params in random_trials(search_space, n=80):
        arch = params["arch"]
        seen_archs.add(arch)
        cnn_only = {"filter_sizes", "num_filters"}
        gru_only = {"hidden_size", "bidirectional"}
        if arch == "cnn":
            assert cnn_only <= params.keys() and not gru_only & params.keys()
        else:
            assert gru_only <= params.keys() and not cnn_only & params.keys()
        assert set(trial.params) == set(params) - {"weight_decay", "lr_schedule"}

    assert seen_archs == {"cnn", "gru"}


def test_condition_with_a_list_of_values():
    search_space = make_space(
        arch={"type": "categorical", "choices": ["cnn", "lstm", "gru"]},
        hidden_size={"type": "int", "low": 8, "high": 64, "when": {"arch": ["lstm", "gru"]}},
    )

    for _, params in random_trials(search_space, n=60):
        assert ("hidden_size" in params) == (params["arch"] in ("lstm", "gru"))


def test_fixed_values_come_back_unchanged_and_are_not_optuna_params():
    search_space = make_space(
        lr={"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        optimizer="adam",
        weight_decay=0.0,
        filter_sizes={"type": "fixed", "value": [3, 4, 5]},
    )

    (trial, params), *_ = random_trials(search_space, n=1)

    assert params["optimizer"] == "adam"
    assert params["weight_decay"] == 0.0
    assert params["filter_sizes"] == [3, 4, 5]
    assert set(trial.params) == {"lr"}
    assert space.fixed_values(search_space) == {
        "optimizer": "adam",
        "weight_decay": 0.0,
        "filter_sizes": [3, 4, 5],
    }


# --- a range by another parameter's value --------------------------------------------------

LR_BY_OPTIMIZER = {
    "lr": {
        "type": "float",
        "log": True,
        "low": 1e-4,
        "high": 3e-3,
        "by": {"optimizer": {"sgd": {"low": 1e-2, "high": 0.3}}},
    },
    "optimizer": {"type": "categorical", "choices": ["adam", "adamw", "sgd"]},
}


@pytest.mark.parametrize(
    "sampler",
    [
        optuna.samplers.RandomSampler(seed=0),
        optuna.samplers.TPESampler(seed=0, multivariate=True, n_startup_trials=5),
    ],
    ids=["random", "tpe-multivariate"],
)
def test_sgd_trials_draw_lr_from_the_sgd_range_and_adam_trials_from_adams(sampler):
    search_space = make_space(**LR_BY_OPTIMIZER)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    seen = set()
    for _ in range(40):
        trial = study.ask()
        params = space.suggest(trial, search_space)
        seen.add(params["optimizer"])
        low, high = (1e-2, 0.3) if params["optimizer"] == "sgd" else (1e-4, 3e-3)
        assert low <= params["lr"] <= high, params
        # One stored name whatever the range: the model reads `lr`.
        assert trial.params == params
        assert (trial.distributions["lr"].low, trial.distributions["lr"].high) == (low, high)
        study.tell(trial, -abs(math.log10(params["lr"]) + 2))

    assert seen == {"adam", "adamw", "sgd"}


def test_a_range_by_a_parameter_follows_it_whatever_the_order_of_the_file():
    search_space = make_space(**LR_BY_OPTIMIZER)

    assert list(search_space.params) == ["optimizer", "lr"]


def test_grid_over_a_range_by_optimizer_has_each_optimizers_own_values():
    search_space = make_space(
        optimizer={"type": "categorical", "choices": ["adam", "sgd"]},
        lr={
            "type": "float",
            "log": True,
            "low": 1e-4,
            "high": 1e-3,
            "grid": [1e-4, 1e-3],
            "by": {"optimizer": {"sgd": {"low": 0.01, "high": 0.3, "grid": [0.01, 0.1, 0.3]}}},
        },
        batch_size={"type": "int", "low": 32, "high": 64, "step": 32},
    )

    points = list(space.grid_points(search_space))

    pairs = sorted({(p["optimizer"], p["lr"]) for p in points})
    assert pairs == [("adam", 1e-4), ("adam", 1e-3), ("sgd", 0.01), ("sgd", 0.1), ("sgd", 0.3)]
    assert len(points) == 5 * 2 == space.grid_size(search_space)
    assert space.infinite_params(search_space) == []


def test_a_range_by_value_without_a_grid_makes_the_space_infinite():
    search_space = make_space(
        optimizer={"type": "categorical", "choices": ["adam", "sgd"]},
        lr={
            "type": "float",
            "low": 1e-4,
            "high": 1e-3,
            "grid": [1e-4, 1e-3],
            "by": {"optimizer": {"sgd": {"low": 0.01, "high": 0.3, "grid": None}}},
        },
    )

    assert space.infinite_params(search_space) == ["lr"]


def test_int_range_by_value_counts_and_lists_alike():
    search_space = make_space(
        arch={"type": "categorical", "choices": ["cnn", "gru"]},
        embedding_dim={
            "type": "int",
            "low": 16,
            "high": 64,
            "step": 16,
            "by": {"arch": {"gru": {"low": 32, "high": 256, "step": 32}}},
        },
    )

    points = list(space.grid_points(search_space))

    assert sorted(p["embedding_dim"] for p in points if p["arch"] == "gru") == list(
        range(32, 257, 32)
    )
    assert all(isinstance(p["embedding_dim"], int) for p in points)
    assert len(points) == 4 + 8 == space.grid_size(search_space)


def test_a_start_point_must_fit_the_range_of_its_optimizer():
    with pytest.raises(ValidationError, match=r"lr value 0.001 lies outside \[0.01, 0.3\]"):
        SearchSpace.model_validate(
            {"params": LR_BY_OPTIMIZER, "start": {"optimizer": "sgd", "lr": 1e-3}}
        )
    with pytest.raises(ValidationError, match="'lr' depends on 'optimizer': give it too"):
        SearchSpace.model_validate({"params": LR_BY_OPTIMIZER, "start": {"lr": 0.05}})

    good = SearchSpace.model_validate(
        {"params": LR_BY_OPTIMIZER, "start": {"optimizer": "sgd", "lr": 0.05}}
    )
    assert good.start == {"optimizer": "sgd", "lr": 0.05}


@pytest.mark.parametrize(
    ("by", "message"),
    [
        ({"optimiser": {"sgd": {"low": 0.01}}}, "unknown parameter 'optimiser'"),
        ({"optimizer": {"rmsprop": {"low": 0.01}}}, "optimizer='rmsprop', which is not one of"),
        ({"optimizer": {"sgd": 0.1}}, "0.1 is not a range"),
        ({"optimizer": {"sgd": {"low": 0.3, "high": 0.01}}}, r"low \(0.3\) is greater than high"),
        ({"optimizer": {"sgd": {"log": False}}}, "not 'log'"),
        ({"optimizer": {"sgd": {"low": 0.01}}, "arch": {"cnn": {}}}, "names one parameter"),
        ({"batch_size": {32: {"low": 0.01, "high": 0.1}}}, "which is a range"),
    ],
    ids=["unknown-param", "unknown-value", "not-a-range", "low>high", "log", "two", "by-range"],
)
def test_bad_ranges_by_value_are_refused(by, message):
    params = {
        **LR_BY_OPTIMIZER,
        "lr": {**LR_BY_OPTIMIZER["lr"], "high": 0.3, "by": by},
        "arch": {"type": "categorical", "choices": ["cnn"]},
        "batch_size": {"type": "int", "low": 32, "high": 64},
    }
    with pytest.raises(ValidationError, match=message):
        make_space(**params)


# --- grids ---------------------------------------------------------------------------------


def test_a_2x2x2_space_has_8_distinct_grid_points():
    search_space = make_space(
        arch={"type": "categorical", "choices": ["cnn", "gru"]},
        lr={"type": "float", "low": 0.01, "high": 0.02, "step": 0.01},
        batch_size={"type": "int", "low": 32, "high": 64, "step": 32},
        optimizer="adam",
    )

    points = list(space.grid_points(search_space))

    assert len(points) == 8 == space.grid_size(search_space)
    assert len({space.point_key(p) for p in points}) == 8
    assert all(set(p) == {"arch", "lr", "batch_size"} for p in points)  # fixed ones left out
    assert {p["batch_size"] for p in points} == {32, 64}


def test_grid_with_a_conditional_parameter_adds_branches():
    search_space = make_space(
        arch={"type": "categorical", "choices": ["cnn", "gru"]},
        filter_sizes={"type": "categorical", "choices": ["2,3", "3,4,5"], "when": {"arch": "cnn"}},
        hidden_size={
            "type": "int",
            "low": 16,
            "high": 64,
            "grid": [16, 32, 64],
            "when": {"arch": "gru"},
        },
    )

    points = list(space.grid_points(search_space))

    assert len(points) == 5
    assert sorted(points, key=space.point_key) == sorted(
        [
            {"arch": "cnn", "filter_sizes": "2,3"},
            {"arch": "cnn", "filter_sizes": "3,4,5"},
            {"arch": "gru", "hidden_size": 16},
            {"arch": "gru", "hidden_size": 32},
            {"arch": "gru", "hidden_size": 64},
        ],
        key=space.point_key,
    )


def test_grid_with_a_conditional_parameter_from_a_study_file(tmp_path):
    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "branches.yaml").write_text(
        "params:\n"
        "  arch: {type: categorical, choices: [cnn, gru]}\n"
        "  filter_sizes: {type: categorical, choices: ['2,3', '3,4,5'], when: {arch: cnn}}\n"
        "  hidden_size: {type: int, low: 16, high: 48, step: 16, when: {arch: gru}}\n"
        "  optimizer: adam\n",
        encoding="utf-8",
    )

    search_space = load_search_space("branches", tmp_path / "studies")

    assert space.grid_size(search_space) == 2 + 3
    assert space.infinite_params(search_space) == []


def test_float_with_step_and_with_an_explicit_grid():
    search_space = make_space(
        dropout={"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        lr={"type": "float", "low": 1e-4, "high": 1e-2, "log": True, "grid": [1e-4, 1e-3, 1e-2]},
    )

    points = list(space.grid_points(search_space))

    assert len(points) == 6 * 3
    assert sorted({p["dropout"] for p in points}) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert sorted({p["lr"] for p in points}) == [1e-4, 1e-3, 1e-2]
    assert space.infinite_params(search_space) == []


def test_grid_points_can_be_enqueued_and_come_back_from_suggest():
    search_space = make_space(
        arch={"type": "categorical", "choices": ["cnn", "gru"]},
        dropout={"type": "float", "low": 0.0, "high": 0.2, "step": 0.1},
        optimizer="adam",
    )
    study = optuna.create_study()
    points = list(space.grid_points(search_space))
    for point in points:
        study.enqueue_trial(point)

    asked = [space.suggest(study.ask(), search_space) for _ in points]

    assert [space.point_key({k: v for k, v in p.items() if k != "optimizer"}) for p in asked] == [
        space.point_key(p) for p in points
    ]
    assert all(p["optimizer"] == "adam" for p in asked)


def test_infinite_params_names_floats_without_step_or_grid():
    search_space = make_space(
        lr={"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        momentum={"type": "float", "low": 0.5, "high": 0.99},
        dropout={"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        embedding_dim={"type": "int", "low": 16, "high": 64},
        optimizer="adam",
    )

    assert sorted(space.infinite_params(search_space)) == ["lr", "momentum"]
    with pytest.raises(ValueError, match="'lr'"):
        list(space.grid_points(search_space))


def test_the_shipped_small_space_is_infinite_only_in_lr():
    search_space = load_search_space("classifier-small", PROJECT_ROOT / "studies")

    assert space.infinite_params(search_space) == ["lr"]


# --- refused spaces ------------------------------------------------------------------------


def test_cycle_in_conditions_is_refused():
    with pytest.raises(ValidationError, match="cycle"):
        make_space(
            a={"type": "int", "low": 1, "high": 2, "when": {"b": 1}},
            b={"type": "int", "low": 1, "high": 2, "when": {"c": 1}},
            c={"type": "int", "low": 1, "high": 2, "when": {"a": 1}},
        )


def test_condition_on_itself_is_refused():
    with pytest.raises(ValidationError, match="on itself"):
        make_space(a={"type": "int", "low": 1, "high": 2, "when": {"a": 1}})


def test_condition_on_a_value_the_parent_cannot_take_is_refused():
    with pytest.raises(ValidationError, match="'lstm'"):
        make_space(
            arch={"type": "categorical", "choices": ["cnn", "gru"]},
            hidden_size={"type": "int", "low": 8, "high": 64, "when": {"arch": "lstm"}},
        )


def test_conditions_are_resolved_whatever_the_order_of_the_file():
    search_space = make_space(
        hidden_size={"type": "int", "low": 8, "high": 64, "when": {"arch": "gru"}},
        arch={"type": "categorical", "choices": ["cnn", "gru"]},
    )

    assert list(search_space.params) == ["arch", "hidden_size"]
    assert space.grid_size(search_space) == 1 + 57


# --- point keys ----------------------------------------------------------------------------


def test_point_key_is_equal_for_1_and_1_point_0():
    assert space.point_key({"layers": 1}) == space.point_key({"layers": 1.0})
    assert space.point_key({"a": 1, "b": "x"}) == space.point_key({"b": "x", "a": 1.0})


def test_point_key_tells_different_points_apart():
    assert space.point_key({"lr": 0.1}) != space.point_key({"lr": 0.2})
    assert space.point_key({"arch": "cnn"}) != space.point_key({"arch": "gru"})
    assert space.point_key({"a": 1}) != space.point_key({"a": 1, "b": 2})
