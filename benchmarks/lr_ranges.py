"""Learning-rate ranges per optimizer: what TPE makes of `by`, and what the optimizers need.

``--tpe`` (seconds, no training): multivariate TPE, as hpo builds it, on a made-up objective
whose best learning rate is 1e-3 for Adam and 0.05 for SGD (a bell in log10(lr) half a
decade wide, SGD's peak 2 points lower, weight decay a small second term). Three spaces:
one `lr` range over both optimizers (1e-4..0.3), `lr` with a range `by` optimizer (what
hpo ships), and one parameter per optimizer (`lr_adam`, `lr_sgd` under `when`: what TPE
would get if the stored names differed). Reported over seeds: the best value, the mean of
the 10 best, and how far (in decades) trials 31-60 of each optimizer lie from its best lr.

``--grid`` (minutes): `hpo grid-search` of a fixed small CNN and GRU on the demo corpus (the
built-in topics, 3000 texts, 8 epochs, no pruning) over Adam at learning rates 1e-4..3e-2
and momentum SGD at 1e-3..0.3 (a grid `by` optimizer), so that each optimizer's useful range
is seen rather than assumed.

    python benchmarks/lr_ranges.py --tpe [--seeds 30]
    python benchmarks/lr_ranges.py --grid [--device cpu]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from hpo import space

BEST_LR = {"adam": 1e-3, "sgd": 0.05}
PEAK = {"adam": 0.90, "sgd": 0.88}
OPTIMIZER = {"type": "categorical", "choices": ["adam", "sgd"]}
WEIGHT_DECAY = {"type": "float", "low": 1e-6, "high": 1e-2, "log": True}
SPACES = {
    "one range": {"lr": {"type": "float", "low": 1e-4, "high": 0.3, "log": True}},
    "by optimizer": {
        "lr": {
            "type": "float",
            "low": 1e-4,
            "high": 3e-3,
            "log": True,
            "by": {"optimizer": {"sgd": {"low": 1e-2, "high": 0.3}}},
        }
    },
    "a name each": {
        "lr_adam": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
        "lr_sgd": {"type": "float", "low": 1e-2, "high": 0.3, "log": True},
    },
}
SPACES["a name each"]["lr_adam"]["when"] = {"optimizer": "adam"}
SPACES["a name each"]["lr_sgd"]["when"] = {"optimizer": "sgd"}


def score(params: dict) -> float:
    optimizer = params["optimizer"]
    lr = params.get("lr") or params[f"lr_{optimizer}"]
    off = (math.log10(lr) - math.log10(BEST_LR[optimizer])) / 0.5
    return PEAK[optimizer] * math.exp(-off * off) - 0.02 * abs(math.log10(params["wd"]) + 4)


def tpe_run(params: dict, seed: int, trials: int = 60) -> tuple[float, float, dict]:
    import optuna

    search_space = space.SearchSpace.model_validate(
        {"params": {"optimizer": OPTIMIZER, "wd": WEIGHT_DECAY, **params}}
    )
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=10),
    )
    study.optimize(lambda trial: score(space.suggest(trial, search_space)), n_trials=trials)
    values = sorted(t.value for t in study.trials)
    late: dict[str, list[float]] = {"adam": [], "sgd": []}
    for trial in study.trials[trials // 2 :]:
        optimizer = trial.params["optimizer"]
        lr = trial.params.get("lr") or trial.params[f"lr_{optimizer}"]
        late[optimizer].append(abs(math.log10(lr) - math.log10(BEST_LR[optimizer])))
    medians = {o: statistics.median(d) for o, d in late.items() if d}
    return values[-1], statistics.mean(values[-10:]), medians


def tpe(seeds: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    print(f"multivariate TPE, 60 trials (10 random), {seeds} seeds; best possible 0.900")
    print(f"{'space':<14} {'best':>6} {'top 10':>7} {'adam off':>9} {'sgd off':>8}")
    for name, params in SPACES.items():
        runs = [tpe_run(params, seed) for seed in range(seeds)]
        off = {o: statistics.mean(r[2][o] for r in runs if o in r[2]) for o in ("adam", "sgd")}
        print(
            f"{name:<14} {statistics.mean(r[0] for r in runs):6.4f} "
            f"{statistics.mean(r[1] for r in runs):7.4f} "
            f"{off['adam']:7.2f} d {off['sgd']:6.2f} d"
        )


# Each optimizer over six half-decades, from where the other's range would end.
GRID = {"adam": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], "sgd": [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]}


def grid(device: str) -> None:
    import optuna

    from hpo.cli import main

    study = {
        "name": "lr_ranges",
        "task": "classification",
        "data": {"source": "builtin", "name": "topics", "size": 3000},
        "tokenizer": {"vocab_size": 400},
        "metric": "accuracy",
        "search_space": {
            "params": {
                "arch": {"type": "categorical", "choices": ["cnn", "gru"]},
                "embedding_dim": 32,
                "dropout": 0.2,
                "filter_sizes": {"type": "fixed", "value": "2,3", "when": {"arch": "cnn"}},
                "num_filters": {"type": "fixed", "value": 32, "when": {"arch": "cnn"}},
                "hidden_size": {"type": "fixed", "value": 32, "when": {"arch": "gru"}},
                "bidirectional": {"type": "fixed", "value": True, "when": {"arch": "gru"}},
                "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
                "lr": {
                    "type": "float",
                    "log": True,
                    "low": GRID["adam"][0],
                    "high": GRID["adam"][-1],
                    "grid": GRID["adam"],
                    "by": {
                        "optimizer": {
                            "sgd": {"low": 1e-3, "high": 0.3, "grid": GRID["sgd"]},
                        }
                    },
                },
                "batch_size": 32,
                "weight_decay": 0.0,
                "lr_schedule": "none",
            }
        },
        "training": {"max_epochs": 8, "device": device},
        "pruner": {"type": "none"},
        "keep_checkpoints": 0,
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lr_ranges.yaml"
        path.write_text(yaml.safe_dump(study, sort_keys=False))
        storage = f"sqlite:///{folder}/hpo.db"
        assert main(["grid-search", "--study", str(path), "--storage", storage]) == 0
        trials = optuna.load_study(study_name="lr_ranges", storage=storage).trials
    print(f"\naccuracy after 8 epochs (sgd: momentum 0.9), {device}; lr, then accuracy")
    for arch in ("cnn", "gru"):
        for optimizer, rates in GRID.items():
            row = {
                t.params["lr"]: t.value
                for t in trials
                if t.params["arch"] == arch and t.params["optimizer"] == optimizer
            }
            print(f"{arch + ' ' + optimizer:<10}" + "".join(f"{lr:>8g}" for lr in rates))
            print(f"{'':<10}" + "".join(f"{row.get(lr, math.nan):8.3f}" for lr in rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tpe", action="store_true", help="TPE on a made-up objective")
    parser.add_argument("--grid", action="store_true", help="grid over the demo corpus")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not (args.tpe or args.grid):
        parser.error("give --tpe, --grid or both")
    if args.tpe:
        tpe(args.seeds)
    if args.grid:
        grid(args.device)


if __name__ == "__main__":
    main()
