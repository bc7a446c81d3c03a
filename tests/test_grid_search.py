"""`hpo grid-search`: every point of a finite space once, and nothing twice."""

from __future__ import annotations

import optuna

from hpo.cli import main
from hpo.space import point_key
from tests.conftest import write_study

GRID_SPACE = {
    "params": {
        "arch": "cnn",
        "filter_sizes": "2",
        "num_filters": 4,
        "embedding_dim": {"type": "categorical", "choices": [8, 16]},
        "lr": {"type": "float", "low": 0.005, "high": 0.02, "grid": [0.005, 0.02]},
        "batch_size": {"type": "int", "low": 32, "high": 64, "step": 32},
    }
}


def test_grid_search_runs_each_point_once_and_skips_them_on_rerun(workdir, capsys):
    study_file = write_study(workdir, name="grid", search_space=GRID_SPACE)

    assert main(["grid-search", "--study", str(study_file)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "grid: 8 points"

    study = optuna.load_study(study_name="grid", storage="sqlite:///runs/hpo.db")
    trials = study.get_trials()
    assert len(trials) == 8
    assert len({point_key(t.params) for t in trials}) == 8
    assert all(t.state.is_finished() for t in trials)

    assert main(["grid-search", "--study", str(study_file)]) == 0
    out = capsys.readouterr().out
    assert "8 done before, 0 to run" in out
    assert len(study.get_trials()) == 8


def test_grid_search_reruns_only_the_missing_points(workdir, capsys):
    small = {"params": {**GRID_SPACE["params"], "batch_size": 32}}
    study_file = write_study(workdir, name="grid", search_space=small)
    assert main(["grid-search", "--study", str(study_file)]) == 0  # 4 points

    study_file = write_study(workdir, name="grid", search_space=GRID_SPACE)
    assert main(["grid-search", "--study", str(study_file)]) == 0
    assert "4 done before, 4 to run" in capsys.readouterr().out
    study = optuna.load_study(study_name="grid", storage="sqlite:///runs/hpo.db")
    assert len({point_key(t.params) for t in study.get_trials()}) == 8


def test_grid_search_runs_each_optimizer_over_its_own_lr_grid(workdir, capsys):
    params = {k: v for k, v in GRID_SPACE["params"].items() if k not in ("lr", "batch_size")}
    space = {
        "params": {
            **params,
            "embedding_dim": 8,
            "batch_size": 32,
            "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
            "lr": {
                "type": "float",
                "log": True,
                "low": 1e-3,
                "high": 3e-3,
                "grid": [1e-3, 3e-3],
                "by": {"optimizer": {"sgd": {"low": 0.03, "high": 0.3, "grid": [0.03, 0.3]}}},
            },
        }
    }
    study_file = write_study(workdir, name="grid", search_space=space)

    assert main(["grid-search", "--study", str(study_file)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "grid: 4 points"

    trials = optuna.load_study(study_name="grid", storage="sqlite:///runs/hpo.db").get_trials()
    assert sorted((t.params["optimizer"], t.params["lr"]) for t in trials) == [
        ("adam", 1e-3),
        ("adam", 3e-3),
        ("sgd", 0.03),
        ("sgd", 0.3),
    ]
