"""A trial's epochs in ``hpo optimize`` against the same task code in a bare process.

The time-to-quality runs (RESULTS.md, section 7) saw ``hpo optimize`` train the start point's
epochs 5-9% slower than the benchmark's own start arm, which calls the same task code in
its process: the question is whether anything the CLI's process adds (the store, the
callbacks after each report, checkpoints, the progress line, the modules it imports, which
the garbage collector walks) slows the steps between reports.

This trains a time-to-quality task's start point (``quality_tasks.py``) for a few epochs in
fresh processes taking turns: one runs ``hpo optimize --n-trials 1`` on the task's study
file (``max_epochs`` set to the epochs asked for; ``hpo.cli.main``, as ``python -m hpo``
runs it, on a store of its own), one calls the task code alone (``kernel_cache.train``: no
store, no callbacks, no checkpoints). Each reports its training seconds an epoch (hpo's
from its ``epochs.csv``, which counts neither validation nor checkpoints), the seconds its
garbage collector ran, the objects it tracks, its page faults and CPU seconds; the script
prints the ratio of the two processes' training seconds.

    python benchmarks/cli_epoch.py [--task translation|program] [--epochs 1] [--rounds 2]
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from turns import child_lines, in_turns, last_json, process_usage

CONTENDERS = ("task code alone", "hpo optimize")


class CollectorClock:
    """The seconds the garbage collector runs in this process, from now on."""

    def __init__(self) -> None:
        self.seconds, self.collections, self._started = 0.0, 0, 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


def bare(work: Path, task: str, epochs: int, threads: int) -> dict:
    """The start point trained by the task code in this process (``kernel_cache.train``)."""
    from kernel_cache import train

    from hpo.host_memory import use_huge_pages

    use_huge_pages()  # as `hpo` does
    clock = CollectorClock()
    found = train(work, epochs, threads, task)
    return {**found, "gc_s": clock.seconds, "collections": clock.collections}


def cli(work: Path, task: str, epochs: int, threads: int, turn: int) -> dict:
    """``hpo optimize --n-trials 1`` on the task's study, held to ``epochs`` epochs."""
    from quality_tasks import WRITERS

    from hpo.cli import main
    from hpo.run_layout import RUNS_DIR_ENV

    clock = CollectorClock()
    own = work / f"hpo-{turn}"  # a store and runs of its own: the start point is trial 0
    own.mkdir()
    study_file, corpus = WRITERS[task](own, 0, threads, "cpu")
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["training"]["max_epochs"] = epochs
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    os.environ[RUNS_DIR_ENV] = str(own / "runs")
    command = ["optimize", "--study", str(study_file), "--n-trials", "1"]
    code = main([*command, "--storage", f"sqlite:///{own / 'hpo.db'}"])
    if code != 0:
        sys.exit(f"hpo optimize ended with exit code {code}")
    with (own / "runs" / study["name"] / "epochs.csv").open(encoding="utf-8") as rows:
        reports = list(csv.DictReader(rows))
    per_epoch: dict[int, float] = {}
    for row in reports:
        epoch = math.ceil(float(row["epoch"]))
        per_epoch[epoch] = per_epoch.get(epoch, 0.0) + float(row["train_s"])
    metric = "bleu" if task == "translation" else "accuracy"
    return {
        "corpus": corpus,
        "train_s": [per_epoch[e] for e in sorted(per_epoch)],
        "reports": len(reports),
        "value": float(reports[-1][metric]),
        "gc_s": clock.seconds,
        "collections": clock.collections,
    }


def run_child(work: Path, contender: str, args: argparse.Namespace, turn: int) -> dict:
    command = [sys.executable, __file__, "--child", str(work), "--contender", contender]
    command += ["--task", args.task, "--epochs", str(args.epochs), "--threads", str(args.threads)]
    command += ["--turn", str(turn)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    return last_json(child_lines(command, env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("translation", "program"), default="translation")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--turn", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.contender == CONTENDERS[0]:
            found = bare(args.child, args.task, args.epochs, args.threads)
        else:
            found = cli(args.child, args.task, args.epochs, args.threads, args.turn)
        found.update(process_usage(), objects=len(gc.get_objects()))
        print(json.dumps(found), flush=True)
        return
    print(machine(), f"| {args.threads} threads, {args.epochs} epoch(s), {args.rounds} round(s)")
    turns = iter(range(2 * args.rounds))
    with tempfile.TemporaryDirectory() as work:  # the bare process's data, prepared once
        runs = in_turns(
            CONTENDERS, args.rounds, lambda name: run_child(Path(work), name, args, next(turns))
        )
    print(runs[CONTENDERS[0]][0]["corpus"])
    header = f"{'':16} {'train s per epoch':>18} {'gc s':>6} {'objects':>8} {'faults':>9}"
    print(f"{header} {'kernel s':>9} {'user s':>8}  dev value")
    per_epoch: dict[str, float] = {}
    for name, found in runs.items():
        for run in found:
            seconds = " ".join(f"{s:.1f}" for s in run["train_s"])
            print(
                f"{name:16} {seconds:>18} {run['gc_s']:6.2f} {run['objects']:8d}"
                f" {run['faults']:9d} {run['system_s']:9.1f} {run['user_s']:8.1f}"
                f"  {run['value']:.4f}"
            )
        per_epoch[name] = statistics.mean(s for run in found for s in run["train_s"])
    base, ours = (per_epoch[name] for name in CONTENDERS)
    print(f"training seconds an epoch, hpo optimize / task code alone: {ours / base:.3f}x")


if __name__ == "__main__":
    main()
