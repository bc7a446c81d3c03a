"""What hpo adds around training: `hpo optimize` against plain `optuna.Study.optimize`.

Both sides run N trials of the same training function (hpo's data, model and trainer), with
the same TPE sampler, seed and SuccessiveHalving pruner, on a fresh SQLite store each, in a
process of their own. hpo adds validation, CSV logs, checkpoints of the best trials,
heartbeats and the progress display. A profile of the hpo run names where the rest goes.

    python benchmarks/study_overhead.py --trials 20 [--device cpu]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, optimize_command, run, write_program_study


def plain_optuna(study_file: str, n_trials: int, storage: str, cache: str) -> None:
    """The baseline: what a user writes by hand around the same training function."""
    import optuna

    from hpo import space
    from hpo.config import load_study_config
    from hpo.data import load_classification_corpus
    from hpo.data.prepare import PreparedClassificationData
    from hpo.models import build
    from hpo.study.objective import seed_everything, trial_seed
    from hpo.study.pruning import PruningCallback
    from hpo.training import FitSettings, fit

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = load_study_config(study_file)
    corpus = load_classification_corpus(config.data)
    data = PreparedClassificationData(corpus, config.tokenizer, Path(cache))
    study = optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.TPESampler(
            seed=config.seed, n_startup_trials=config.sampler.n_startup_trials, multivariate=True
        ),
        # Steps count training examples, as in hpo: the first rung after one epoch.
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=len(corpus.train), reduction_factor=config.pruner.reduction_factor
        ),
        direction="maximize",
    )

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial, config.search_space)
        seed = trial_seed(config.seed, trial.number)
        seed_everything(seed)
        splits = data.encoded(params.get("vocab_size"))
        model = build(
            "classification",
            params,
            vocab_size=splits.tokenizer.vocab_size,
            num_classes=corpus.num_classes,
        )
        settings = FitSettings.from_params(
            params,
            max_epochs=config.training.max_epochs,
            seed=seed,
            num_classes=corpus.num_classes,
        )
        result = fit(
            model, splits.train, splits.dev, params, settings, [PruningCallback(trial, "accuracy")]
        )
        return result.best_value

    study.optimize(objective, n_trials=n_trials)


def profile_hpo(study_file: Path, n_trials: int, storage: str, top: int = 12) -> str:
    """Cumulative seconds of hpo's own bookkeeping functions in one `hpo optimize` run."""
    from hpo.cli import main

    profiler = cProfile.Profile()
    profiler.enable()
    main(
        [
            "optimize",
            "--study",
            str(study_file),
            "--n-trials",
            str(n_trials),
            "--storage",
            storage,
            "--quiet",
        ]
    )
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    wanted = (
        "hpo/study/logs",
        "hpo/checkpoints",
        "hpo/study/progress",
        "hpo/study/runner",
        "hpo/config",
        "hpo/study/storage",
        "_heartbeat",
        "hpo/training/trainer.py:.*(fit)",
        "hpo/data/prepare",
    )
    stats.sort_stats("cumulative").print_stats("|".join(wanted), top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--plain", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        study_file, n_trials, storage, cache = args.plain
        plain_optuna(study_file, int(n_trials), storage, cache)
        return

    print(machine())
    best = {"hpo": float("inf"), "optuna": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        study_file = write_program_study(
            directory,
            "overhead",
            keep_checkpoints=3,
            training={"max_epochs": 6, "device": args.device},
        )
        for repeat in range(args.repeats):
            for side in ("hpo", "optuna"):
                work = directory / f"{side}-{repeat}"
                work.mkdir()
                storage = f"sqlite:///{work}/store.db"
                if side == "hpo":
                    command = optimize_command(study_file, args.trials, storage)
                else:
                    command = [
                        sys.executable,
                        __file__,
                        "--plain",
                        str(study_file),
                        str(args.trials),
                        storage,
                        str(work / "runs/cache"),
                    ]
                seconds = run(command, cwd=work)
                best[side] = min(best[side], seconds)
                print(f"repeat {repeat}: {side:6s} {seconds:7.2f} s for {args.trials} trials")
        ratio = best["hpo"] / best["optuna"]
        print(
            f"best of {args.repeats}: hpo {best['hpo']:.2f} s, plain optuna "
            f"{best['optuna']:.2f} s; hpo / optuna = {ratio:.3f} ({100 * (ratio - 1):+.1f}%)"
        )
        profile_dir = directory / "profile"
        profile_dir.mkdir()
        import os

        os.chdir(profile_dir)
        print("where hpo's time goes (cumulative seconds, one profiled run):")
        print(profile_hpo(study_file, args.trials, f"sqlite:///{profile_dir}/store.db"))


if __name__ == "__main__":
    main()
