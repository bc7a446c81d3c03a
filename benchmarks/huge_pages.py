"""Large tensors on huge pages: a task's training epochs with PyTorch's default and with hpo's.

PyTorch's CPU allocator hands a freed tensor's memory back to the system (glibc maps every
allocation of more than 32 MB afresh), and the next step's tensors fault it in again, a
4-KB page at a time. ``hpo.host_memory.use_huge_pages`` sets PyTorch's
``THP_MEM_ALLOC_ENABLE``: PyTorch then asks the kernel to back tensors of 2 MB and more
with transparent huge pages, one fault per 2 MB.

This trains a time-to-quality task's start point (``quality_tasks.py``: the shipped space's
start point, reports as a trial makes them) for a few epochs in fresh processes taking
turns, one with the setting off (``THP_MEM_ALLOC_ENABLE=0``, PyTorch's default) and one as
hpo sets it, and prints each process's page faults, its CPU seconds in the kernel and in
the program, its peak memory, its training seconds per epoch, and the ratio of the two.

    python benchmarks/huge_pages.py [--task translation|program] [--epochs 1] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from kernel_cache import train
from turns import child_lines, in_turns, last_json, process_usage

from hpo.host_memory import HUGE_PAGES_ENV

CONTENDERS = {"PyTorch's default (off)": "0", "hpo (huge pages)": "1"}
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def child(work: Path, task: str, epochs: int, threads: int) -> dict:
    return {**train(work, epochs, threads, task), **process_usage()}


def run_child(work: Path, task: str, setting: str, epochs: int, threads: int) -> dict:
    env = {**os.environ, HUGE_PAGES_ENV: setting}
    command = [sys.executable, __file__, "--child", str(work), "--task", task]
    command += ["--epochs", str(epochs), "--threads", str(threads)]
    return last_json(child_lines(command, env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("translation", "program"), default="translation")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.task, args.epochs, args.threads)), flush=True)
        return
    thp = THP_SETTING.read_text().strip() if THP_SETTING.exists() else "not available"
    print(machine(), f"| {args.threads} threads, {args.epochs} epoch(s), {args.rounds} round(s)")
    print(f"transparent huge pages: {thp}")
    with tempfile.TemporaryDirectory() as work:  # the data are prepared once, then read
        runs = in_turns(
            list(CONTENDERS),
            args.rounds,
            lambda name: run_child(
                Path(work), args.task, CONTENDERS[name], args.epochs, args.threads
            ),
        )
    first = next(iter(runs.values()))[0]
    print(f"{first['corpus']}; training in {first['dtype']}")
    header = f"{'':24} {'faults':>10} {'kernel s':>9} {'user s':>8} {'peak MB':>8}"
    print(f"{header} {'train s/epoch':>14}  dev value")
    train_s: dict[str, float] = {}
    for name, found in runs.items():
        for run in found:
            print(
                f"{name:24} {run['faults']:10d} {run['system_s']:9.1f} {run['user_s']:8.1f}"
                f" {run['peak_mb']:8.0f} {statistics.mean(run['train_s']):14.1f}"
                f"  {run['value']:.4f}"
            )
        train_s[name] = statistics.mean(s for run in found for s in run["train_s"])
    base, ours = (train_s[name] for name in CONTENDERS)
    print(f"training seconds an epoch, PyTorch's default / hpo: {base / ours:.2f}x the time")


if __name__ == "__main__":
    main()
