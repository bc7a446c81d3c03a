"""What SuccessiveHalving saves: epochs and seconds spent, and the best value reached.

On a real-text task (which program an English message of the gettext catalogs comes from,
7 classes), the same study is run with SuccessiveHalving and with no pruning, same sampler
(TPE unless --sampler says otherwise) and seed, same number of trials, for each seed:

    python benchmarks/pruning_payoff.py --trials 30 --seeds 0 1 2 [--sampler tpe] [--device cpu]

``--pruner hyperband`` (or ``median``) sets another pruner against no pruning.

For the pruned study it also prints, for each rung, how many of the trials that reached it
went on: SuccessiveHalving aims at 1 in ``reduction_factor``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, optimize_command, run, write_program_study

from hpo.results.pruning_effect import rung_epochs, rung_shares
from hpo.study.trial_steps import epochs_reached


def spent(study: optuna.Study) -> tuple[float, float, float]:
    """Epochs trained, seconds in trials, best value."""
    trials = study.get_trials()
    epochs = sum(epochs_reached(t) for t in trials)
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials)
    return epochs, seconds, study.best_value


def survival(study: optuna.Study) -> str:
    """For each rung of the stored study's pruner: trials that went on / that reached it."""
    attrs = study.user_attrs
    shares = rung_shares(study.get_trials(), rung_epochs(attrs["config"], attrs["epoch_examples"]))
    return "went on past " + ", ".join(share.text() for share in shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--reduction-factor", type=int, default=3)
    parser.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    parser.add_argument(
        "--pruner",
        choices=["successive_halving", "hyperband", "median"],
        default="successive_halving",
        help="the pruner set against no pruning",
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(machine())
    print(
        f"{args.trials} trials x up to {args.epochs} epochs, reduction factor "
        f"{args.reduction_factor}, {args.pruner} against none, {args.sampler} sampler, "
        f"device {args.device}"
    )
    print("seed | pruning | epochs | seconds | best accuracy")
    ratios = []
    for seed in args.seeds:
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            storage = f"sqlite:///{directory}/bench.db"
            for pruner in (args.pruner, "none"):
                name = f"payoff-{pruner}-{seed}"
                study_file = write_program_study(
                    directory,
                    name,
                    seed=seed,
                    pruner={
                        "type": pruner,
                        "min_resource": 1,
                        "reduction_factor": args.reduction_factor,
                    },
                    training={"max_epochs": args.epochs, "device": args.device},
                    sampler={"type": args.sampler, "n_startup_trials": 5}
                    if args.sampler == "tpe"
                    else {"type": args.sampler},
                )
                run(
                    optimize_command(study_file, args.trials, storage),
                    cwd=directory,
                )
                study = optuna.load_study(study_name=name, storage=storage)
                results[pruner] = spent(study)
                epochs, seconds, best = results[pruner]
                print(f"{seed:4d} | {pruner:18s} | {epochs:6.0f} | {seconds:7.1f} | {best:.4f}")
                if pruner == "successive_halving":
                    print(f"       {survival(study)}")
        (e_sh, s_sh, b_sh), (e_no, s_no, b_no) = results[args.pruner], results["none"]
        ratios.append(e_no / e_sh)
        print(
            f"seed {seed}: {e_no / e_sh:.2f}x fewer epochs, {s_no / s_sh:.2f}x fewer seconds, "
            f"best {100 * (b_sh - b_no):+.2f} accuracy points with pruning"
        )
    print(
        f"epochs ratio (no pruning / {args.pruner}) per seed: "
        + ", ".join(f"{r:.2f}" for r in ratios)
    )


if __name__ == "__main__":
    main()
