"""Start-up time of `hpo --help` and `hpo best` against a bare Python start.

python benchmarks/startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        storage = f"sqlite:///{directory}/store.db"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(study_name="startup", storage=storage, direction="maximize")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=50)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "hpo --help": [sys.executable, "-m", "hpo", "--help"],
            "hpo best": [
                sys.executable,
                "-m",
                "hpo",
                "best",
                "--study",
                "startup",
                "--storage",
                storage,
            ],
        }
        medians = {}
        for label, command in commands.items():
            times = [run(command, cwd=directory) for _ in range(args.repeats)]
            medians[label] = statistics.median(times)
            print(f"{label:16s} median {medians[label] * 1000:6.0f} ms of {args.repeats}")
        base = medians["python -c pass"]
        for label in ("hpo --help", "hpo best"):
            print(f"{label} / bare python: {medians[label] / base:.1f}x")


if __name__ == "__main__":
    main()
