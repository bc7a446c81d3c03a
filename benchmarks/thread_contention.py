"""Several training processes on one machine: every one on all threads, or threads split.

`hpo optimize --workers K` gives each of its K workers an equal share of the CPU threads.
Started by hand K times instead, each process takes torch's default, every core, and K
sets of OpenMP threads contend for the same cores. This measures both, side by side in
one run: the time of one training step of a Transformer translator (the size of
`translation_throughput.py`'s, one batch of 56 sentences of 11 target tokens, forward,
backward, fused Adam), in K processes started together, each on all threads or each on
its share; and one process alone on all threads.

    python benchmarks/thread_contention.py [--processes 2] [--steps 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine


def step_times(threads: int, steps: int) -> list[float]:
    """Seconds of each of ``steps`` training steps, after five untimed ones."""
    import torch
    from torch import nn

    from hpo.models.transformer import Transformer
    from hpo.training.builders import fused_kernels

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Transformer(8000, 8000, layers=2, d_model=256, heads=4, ff_dim=1024)
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=5e-4, fused=fused_kernels(params))
    src, tgt = torch.randint(4, 8000, (56, 12)), torch.randint(4, 8000, (56, 12))
    lengths = torch.full((56,), 12)

    def step() -> None:
        optimizer.zero_grad()
        logits = model(src, lengths, tgt[:, :-1])
        nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten()).backward()
        optimizer.step()

    for _ in range(5):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def run_together(processes: int, threads: int, steps: int) -> list[float]:
    """The median step time of each of ``processes`` processes started at once."""
    command = [sys.executable, __file__, "--child", str(threads), "--steps", str(steps)]
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)
    ]
    return [float(child.communicate()[0]) for child in children]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(statistics.median(step_times(args.child, args.steps)))
        return
    cores = os.cpu_count() or 1
    share = max(1, cores // args.processes)
    print(machine(), f"| {args.processes} processes on {cores} cores")
    alone = run_together(1, cores, args.steps)[0]
    every = run_together(args.processes, cores, args.steps)
    split = run_together(args.processes, share, args.steps)
    print(f"1 process on {cores} threads:          {1000 * alone:7.0f} ms a step")
    for name, times in ((f"all {cores} threads", every), (f"{share} thread(s) each", split)):
        rates = ", ".join(f"{1000 * t:.0f}" for t in times)
        rate = sum(1 / t for t in times) * alone
        print(f"{args.processes} processes, {name:14}: {rates} ms a step; {rate:.2f}x one alone")
    ratio = sum(1 / t for t in split) / sum(1 / t for t in every)
    print(f"steps per second of all processes, split threads / all threads: {ratio:.2f}x")


if __name__ == "__main__":
    main()
