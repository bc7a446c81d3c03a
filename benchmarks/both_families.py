"""One translation study whose space holds both model families, on a fixed wall-clock budget.

    python benchmarks/both_families.py [--minutes 10] [--pairs 8000] [--seed 0]

English -> German messages of the gettext catalogs installed on the machine (real, human
translations), CPU-sized recurrent and Transformer models in one search space (``arch: rnn``
or ``transformer``, each family's own parameters under ``when``), the default sampler (TPE)
and pruner (SuccessiveHalving), ``hpo optimize --timeout``. It prints, per family, the trials
by state and the best dev BLEU, and the test BLEU of each family's best trial
(``hpo evaluate --split test``, greedy).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

SPACE = {
    "arch": {"type": "categorical", "choices": ["rnn", "transformer"]},
    # recurrent
    "cell": {"type": "categorical", "choices": ["gru", "lstm"], "when": {"arch": "rnn"}},
    "attention": {
        "type": "categorical",
        "choices": ["additive", "multiplicative"],
        "when": {"arch": "rnn"},
    },
    "bidirectional": {"type": "categorical", "choices": [True, False], "when": {"arch": "rnn"}},
    "embedding_dim": {"type": "categorical", "choices": [64, 128], "when": {"arch": "rnn"}},
    "hidden_size": {"type": "categorical", "choices": [128, 256], "when": {"arch": "rnn"}},
    # Transformer
    "layers": {"type": "int", "low": 1, "high": 3, "when": {"arch": "transformer"}},
    "d_model": {"type": "categorical", "choices": [64, 128], "when": {"arch": "transformer"}},
    "heads": {"type": "categorical", "choices": [4], "when": {"arch": "transformer"}},
    "ff_dim": {"type": "categorical", "choices": [256, 512], "when": {"arch": "transformer"}},
    # both
    "dropout": {"type": "float", "low": 0.0, "high": 0.3, "step": 0.1},
    "label_smoothing": {"type": "categorical", "choices": [0.0, 0.1]},
    "lr": {"type": "float", "low": 5.0e-4, "high": 5.0e-3, "log": True},
    "lr_schedule": {"type": "categorical", "choices": ["none", "inverse_sqrt"]},
    "warmup_steps": {"type": "categorical", "choices": [100, 400]},
    "batch_tokens": {"type": "categorical", "choices": [1000, 2000]},
    "clip_grad": 1.0,
}


def write_study(directory: Path, pairs: int, minutes: float, seed: int) -> Path:
    study = {
        "name": "both-families",
        "task": "translation",
        "data": {
            "source": "gettext",
            "src_lang": "en",
            "tgt_lang": "de",
            "max_words": 10,
            "max_pairs": pairs,
            "split": {"train": 0.9, "dev": 0.05, "test": 0.05, "seed": 13},
        },
        "tokenizer": {"src_vocab_size": 2000, "tgt_vocab_size": 2000},
        "translation": {"max_tokens": 40, "max_ratio": 3.0},
        "metric": "bleu",
        "search_space": {"params": SPACE},
        "training": {"max_epochs": 10, "trial_time_limit": f"{max(1, int(minutes / 4))}m"},
        "sampler": {"type": "tpe", "n_startup_trials": 5},
        "pruner": {"type": "successive_halving", "min_resource": 1, "reduction_factor": 3},
        "keep_checkpoints": 10,
        "seed": seed,
    }
    path = directory / "both-families.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


def hpo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hpo", *args], cwd=cwd, capture_output=True, text=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        study_file = write_study(work, args.pairs, args.minutes, args.seed)
        started = time.perf_counter()
        run = hpo(
            "optimize",
            "--study",
            str(study_file),
            "--timeout",
            f"{round(args.minutes * 60)}s",
            cwd=work,
        )
        seconds = time.perf_counter() - started
        if run.returncode != 0:
            sys.exit(f"optimize failed: {run.stderr.strip().splitlines()[-1:]}")
        study = optuna.load_study(
            study_name="both-families", storage=f"sqlite:///{work}/runs/hpo.db"
        )
        rows = []
        for family in ("rnn", "transformer"):
            trials = [t for t in study.trials if t.params.get("arch") == family]
            states = {
                s: sum(t.state.name == s for t in trials) for s in ("COMPLETE", "PRUNED", "FAIL")
            }
            complete = [t for t in trials if t.state.name == "COMPLETE"]
            best = max(complete, key=lambda t: t.value) if complete else None
            test = None
            if best is not None:
                out = hpo(
                    "evaluate",
                    "--study",
                    str(study_file),
                    "--trial",
                    str(best.number),
                    "--split",
                    "test",
                    "--json",
                    cwd=work,
                )
                if out.returncode == 0:
                    test = json.loads(out.stdout)["bleu"]
            rows.append((family, len(trials), states, best, test))

    print(f"machine: {machine()}")
    print(
        f"budget: {args.minutes} min (optimize ran {seconds:.0f} s), "
        f"{args.pairs} pairs, seed {args.seed}"
    )
    print(
        "| family | trials | complete / pruned / failed | best dev BLEU (trial) | its test BLEU |"
    )
    print("|---|---:|---|---|---:|")
    for family, n, states, best, test in rows:
        dev = f"{best.value:.2f} ({best.number})" if best else "-"
        test_text = f"{test:.2f}" if test is not None else "-"
        counts = f"{states['COMPLETE']} / {states['PRUNED']} / {states['FAIL']}"
        print(f"| {family} | {n} | {counts} | {dev} | {test_text} |")


if __name__ == "__main__":
    main()
