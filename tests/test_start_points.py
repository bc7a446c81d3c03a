"""Known-good configurations first: a space's `start`, a study's `start_with`, and
`--warm-start` from another study."""

from __future__ import annotations

import optuna
import pytest

from hpo.cli import main
from tests.conftest import write_study

SPACE = {
    "params": {
        "arch": "cnn",
        "embedding_dim": 16,
        "filter_sizes": "2,3",
        "num_filters": {"type": "int", "low": 4, "high": 16, "step": 4},
        "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "batch_size": 32,
    },
    "start": {"num_filters": 8, "lr": 0.01, "dropout": 0.5},
}


def trials_of(name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage="sqlite:///runs/hpo.db").trials


def test_start_point_runs_first_then_start_with_then_the_sampler(workdir):
    start_with = [{"num_filters": 16, "lr": 0.002}, {"num_filters": 4, "lr": 0.02, "dropout": 0.1}]
    study = write_study(workdir, search_space=SPACE, start_with=start_with)
    assert main(["optimize", "--study", str(study), "--n-trials", "4"]) == 0
    trials = trials_of("tiny")
    assert trials[0].params == {"num_filters": 8, "lr": 0.01, "dropout": 0.5}
    assert trials[0].user_attrs["origin"] == "start of inline"
    assert trials[1].params["num_filters"] == 16 and trials[1].params["lr"] == 0.002
    assert "dropout" in trials[1].params  # left out of the point: sampled
    assert trials[2].params == {"num_filters": 4, "lr": 0.02, "dropout": 0.1}
    assert [t.user_attrs.get("origin") for t in trials[1:]] == [
        "start_with 1",
        "start_with 2",
        None,
    ]

    # A study that goes on does not run its start points again.
    assert main(["optimize", "--study", str(study), "--n-trials", "2"]) == 0
    assert [t.user_attrs.get("origin") for t in trials_of("tiny")[4:]] == [None, None]


def test_warm_start_runs_the_best_of_another_study_in_order(workdir, capsys):
    space = {k: v for k, v in SPACE.items() if k != "start"}
    small = write_study(workdir, name="small", search_space=space, pruner={"type": "none"})
    assert main(["optimize", "--study", str(small), "--n-trials", "5"]) == 0
    done = [t for t in trials_of("small") if t.state.name == "COMPLETE"]
    best_two = sorted(done, key=lambda t: (-t.value, t.number))[:2]

    # The new space no longer has dropout 0.5 and has no lr below 5e-3.
    narrower = {
        "params": {
            **space["params"],
            "lr": {"type": "float", "low": 5e-3, "high": 3e-2, "log": True},
        }
    }
    big = write_study(workdir, name="big", search_space=narrower)
    capsys.readouterr()
    code = main(
        ["optimize", "--study", str(big), "--n-trials", "2", "--warm-start", "small", "--top", "2"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "queued 2 start configuration(s) first" in out
    for trial, source in zip(trials_of("big"), best_two, strict=True):
        assert trial.user_attrs["origin"] == f"warm start: small trial {source.number}"
        assert trial.params["num_filters"] == source.params["num_filters"]
        assert trial.params["dropout"] == source.params["dropout"]
        if source.params["lr"] >= 5e-3:
            assert trial.params["lr"] == source.params["lr"]
        else:
            assert f"trial {source.number} of small: lr outside this space" in out


BY_OPTIMIZER = {
    "params": {
        **{k: v for k, v in SPACE["params"].items() if k != "lr"},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        "lr": {
            "type": "float",
            "log": True,
            "low": 1e-4,
            "high": 3e-3,
            "by": {"optimizer": {"sgd": {"low": 1e-2, "high": 0.3}}},
        },
    }
}


def test_warm_start_keeps_an_lr_only_where_it_fits_its_optimizers_range(workdir, capsys):
    # Another study's two best trials: SGD at 0.05 (SGD's range here), Adam at 0.05 (not Adam's).
    (workdir / "runs").mkdir()
    other = optuna.create_study(
        study_name="other", storage="sqlite:///runs/hpo.db", direction="maximize"
    )
    lr = optuna.distributions.FloatDistribution(1e-4, 0.3, log=True)
    optimizer = optuna.distributions.CategoricalDistribution(["adam", "sgd"])
    for value, name in [(0.9, "sgd"), (0.8, "adam")]:
        other.add_trial(
            optuna.trial.create_trial(
                params={"optimizer": name, "lr": 0.05, "num_filters": 8},
                distributions={
                    "optimizer": optimizer,
                    "lr": lr,
                    "num_filters": optuna.distributions.IntDistribution(4, 16, step=4),
                },
                value=value,
            )
        )
    study = write_study(workdir, search_space=BY_OPTIMIZER)

    args = ["--n-trials", "2", "--warm-start", "other", "--top", "2"]
    code = main(["optimize", "--study", str(study), *args])

    assert code == 0
    assert "trial 1 of other: lr outside this space, sampled instead" in capsys.readouterr().out
    sgd, adam = trials_of("tiny")
    assert (sgd.params["optimizer"], sgd.params["lr"]) == ("sgd", 0.05)
    assert adam.params["optimizer"] == "adam" and 1e-4 <= adam.params["lr"] <= 3e-3


@pytest.mark.parametrize(
    ("fields", "args", "message"),
    [
        (
            {"search_space": {**SPACE, "start": {"lr": 0.5}}},
            [],
            "search_space: start: lr value 0.5 lies outside [0.001, 0.03]",
        ),
        (
            {"search_space": {**SPACE, "start": {"num_filters": 6}}},
            [],
            "start: num_filters value 6 is not 4 plus a multiple of 4",
        ),
        (
            {"search_space": SPACE, "start_with": [{"flux_capacitor": 1}]},
            [],
            "start_with: point 1: 'flux_capacitor' is not a parameter of the search space",
        ),
        (
            {"search_space": {**BY_OPTIMIZER, "start": {"optimizer": "sgd", "lr": 1e-3}}},
            [],
            "start: lr value 0.001 lies outside [0.01, 0.3] (its range for optimizer='sgd')",
        ),
        ({"search_space": SPACE}, ["--warm-start", "nosuch"], "--warm-start nosuch: no store at"),
        ({"search_space": SPACE}, ["--top", "2"], "--top goes with --warm-start"),
        (
            {"search_space": SPACE},
            ["--warm-start", "tiny", "--top", "0"],
            "--top must be at least 1",
        ),
    ],
)
def test_bad_start_points_are_refused_before_anything_is_stored(
    workdir, capsys, fields, args, message
):
    study = write_study(workdir, **fields)
    assert main(["optimize", "--study", str(study), "--n-trials", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err
    assert not (workdir / "runs/hpo.db").exists() or not optuna.get_all_study_summaries(
        "sqlite:///runs/hpo.db"
    )
