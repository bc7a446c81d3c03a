"""oneDNN's kernel cache in a study: a translator's epochs at oneDNN's default and at hpo's.

oneDNN builds a kernel (a "primitive") for each new shape of a product and keeps the last
1,024. A trial validates within its epochs (on the dev subset) and at their ends (all of
dev), and greedy decoding's batches shrink as sentences end: many shapes. Where training
and validation together need more kernels than the cache holds, each validation evicts
training's, and the next epoch builds them again. ``hpo.training.precision.keep_kernels``
raises the limit to 16,384 before training unless the user set it.

This runs the time-to-quality translation task (``quality_tasks.py``: English -> German
gettext pairs, the shipped ``seq2seq`` space's start point, reports as a trial makes them)
for a few epochs in fresh processes, taking turns: one with the limit at oneDNN's default
(``ONEDNN_PRIMITIVE_CACHE_CAPACITY=1024``, which hpo leaves as it is), one as hpo sets it.
oneDNN logs each kernel it builds (``ONEDNN_VERBOSE=profile_create``); the script counts
them and prints each process's training seconds per epoch and the ratio of the two.

    python benchmarks/kernel_cache.py [--epochs 3] [--rounds 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from turns import child_lines, in_turns, last_json

CACHE_ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
CONTENDERS = {"oneDNN's default (1,024)": "1024", "hpo (16,384)": None}


def train(work: Path, epochs: int, threads: int, task_name: str = "translation") -> dict:
    """The start point of a time-to-quality task (``quality_tasks.WRITERS``) trained
    ``epochs`` epochs in this process as a trial trains it; seconds per epoch."""
    import optuna
    import torch
    from quality_arms import _prepared, _runs_in
    from quality_tasks import WRITERS

    from hpo import space
    from hpo.study.objective import seed_everything, trial_seed
    from hpo.training.precision import training_dtype

    torch.set_num_threads(threads)
    study_file, corpus = WRITERS[task_name](work, 0, threads, "cpu")
    config, task, data, device = _prepared(study_file, work)
    assert config.search_space.start is not None
    params = space.suggest(optuna.trial.FixedTrial(config.search_space.start), config.search_space)
    seed = trial_seed(config.seed, 0)
    seed_everything(seed)
    with _runs_in(work):
        splits = task.encode(data, params)
        model = task.build_model(params, splits)
        settings = task.settings(config, params, seed, splits, max_epochs=epochs)
        result = task.fit(model, splits, params, settings, [], device)
    per_epoch: dict[int, float] = {}
    for record in result.history:
        epoch = math.ceil(record.epoch)
        per_epoch[epoch] = per_epoch.get(epoch, 0.0) + record.train_seconds
    return {
        "corpus": corpus,
        "dtype": str(training_dtype(device, settings.amp) or torch.float32),
        "train_s": [per_epoch[e] for e in sorted(per_epoch)],
        "reports": len(result.history),
        "value": result.history[-1].value(config.metric),
        "cache": os.environ.get(CACHE_ENV),
    }


def run_child(work: Path, cache: str | None, epochs: int, threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    if cache is not None:
        env[CACHE_ENV] = cache
    env["ONEDNN_VERBOSE"] = "profile_create"
    command = [sys.executable, __file__, "--child", str(work), "--epochs", str(epochs)]
    command += ["--threads", str(threads)]
    lines = child_lines(command, env)
    found = last_json(lines)
    # Each kernel oneDNN builds is logged as a cache miss, each reuse of a built one as a hit.
    found["built"] = sum("onednn_verbose" in line and "cache_miss" in line for line in lines)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train(args.child, args.epochs, args.threads)), flush=True)
        return
    print(machine(), f"| {args.threads} threads, {args.epochs} epochs, {args.rounds} round(s)")
    with tempfile.TemporaryDirectory() as work:  # the tokenizers are trained once, then read
        runs = in_turns(
            list(CONTENDERS),
            args.rounds,
            lambda name: run_child(Path(work), CONTENDERS[name], args.epochs, args.threads),
        )
    first = next(iter(runs.values()))[0]
    print(f"{first['corpus']}; training in {first['dtype']}")
    print(f"{'':26} {'kernels':>8} {'epoch 1 s':>10} {'later epochs s':>15}  dev value")
    later: dict[str, float] = {}
    for name, found in runs.items():
        for run in found:
            rest = run["train_s"][1:]
            mean = statistics.mean(rest) if rest else float("nan")
            print(
                f"{name:26} {run['built']:8d} {run['train_s'][0]:10.1f} {mean:15.1f}"
                f"  {run['value']:.4f}"
            )
        later[name] = statistics.mean(s for run in found for s in run["train_s"][1:] or [math.nan])
    base, ours = (later[name] for name in CONTENDERS)
    print(f"later epochs, oneDNN's default / hpo: {base / ours:.2f}x the time")


if __name__ == "__main__":
    main()
