"""A store with two small real studies, made once for the report and listing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo.cli import main
from tests.conftest import write_study


def small_study(directory: Path, name: str) -> Path:
    """Three searched parameters, three epochs, a pruner that stops about half the trials."""
    return write_study(
        directory,
        name=name,
        data={"source": "builtin", "size": 300},
        tokenizer={"vocab_size": 100},
        search_space={
            "params": {
                "arch": "cnn",
                "embedding_dim": 16,
                "filter_sizes": "2,3",
                "num_filters": 8,
                "lr": {"type": "float", "low": 5e-4, "high": 5e-2, "log": True},
                "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
                "batch_size": {"type": "categorical", "choices": [16, 64]},
            }
        },
        training={"max_epochs": 3},
        pruner={"type": "successive_halving", "min_resource": 1, "reduction_factor": 2},
        seed=1,
    )


def optimize_in(cwd: Path, name: str, n_trials: int) -> None:
    """`hpo optimize` of the small study ``name`` in the working directory ``cwd``."""
    small_study(cwd, name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        for variable in ("HPO_STORAGE", "HPO_RUNS_DIR"):
            patch.delenv(variable, raising=False)
        assert main(["optimize", "--study", f"{name}.yaml", "--n-trials", str(n_trials)]) == 0


def make_small_store(cwd: Path) -> Path:
    """``cwd`` with runs/hpo.db holding alpha (8 trials, some pruned) and beta (2 trials)."""
    optimize_in(cwd, "alpha", 8)
    optimize_in(cwd, "beta", 2)
    return cwd
