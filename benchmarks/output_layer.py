"""Additive attention's output layer once a batch (hpo) against once a step, side by side.

Additive (Bahdanau) attention feeds each step's context into the next step's input, so the
recurrent decoder steps through the target even under full teacher forcing. The output
layer (attentional layer, dropout, the product with the target vocabulary) needs nothing
from the next step: hpo runs it once over every real target position of the batch
(``Decoder.forward_sequence``), where a step loop, as hpo's did before, runs it once a
step, padding included, and stacks the logits.

This trains the time-to-quality translation task's start point (``quality_tasks.py``: the
shipped ``seq2seq`` space's start point, a GRU with additive attention) for a few epochs in
fresh processes taking turns, one with hpo's decoder and one whose teacher-forced pass is
the step loop, and prints each one's training seconds per epoch and the ratio.

    python benchmarks/output_layer.py [--epochs 1] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from kernel_cache import train
from turns import child_lines, in_turns, last_json

from hpo.host_memory import use_huge_pages
from hpo.models.recurrent_state import RecurrentState
from hpo.models.seq2seq import Decoder

CONTENDERS = ("output layer once a step", "hpo (once a batch)")


def once_a_step(
    decoder: Decoder, tgt_in: torch.Tensor, state: RecurrentState, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """The teacher-forced pass as a step loop: the whole of ``Decoder.step`` per position."""
    steps = []
    for t in range(tgt_in.size(1)):
        logits, state = decoder.step(tgt_in[:, t], state)
        steps.append(logits)
    logits = torch.stack(steps, dim=1)
    return logits if keep is None else logits[keep]


def run_child(work: Path, contender: str, epochs: int, threads: int) -> dict:
    command = [sys.executable, __file__, "--child", str(work), "--contender", contender]
    command += ["--epochs", str(epochs), "--threads", str(threads)]
    return last_json(child_lines(command))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.contender == CONTENDERS[0]:
            Decoder.forward_sequence = once_a_step  # type: ignore[method-assign,assignment]
        print(json.dumps(train(args.child, args.epochs, args.threads)), flush=True)
        return
    use_huge_pages()  # as `hpo` does; the children inherit it
    print(machine(), f"| {args.threads} threads, {args.epochs} epoch(s), {args.rounds} round(s)")
    with tempfile.TemporaryDirectory() as work:  # the data are prepared once, then read
        runs = in_turns(
            CONTENDERS,
            args.rounds,
            lambda name: run_child(Path(work), name, args.epochs, args.threads),
        )
    first = runs[CONTENDERS[0]][0]
    print(f"{first['corpus']}; training in {first['dtype']}")
    print(f"{'':26} {'train s per epoch':>24}  dev value")
    per_epoch: dict[str, float] = {}
    for name, found in runs.items():
        for run in found:
            seconds = " ".join(f"{s:.1f}" for s in run["train_s"])
            print(f"{name:26} {seconds:>24}  {run['value']:.4f}")
        per_epoch[name] = statistics.mean(s for run in found for s in run["train_s"])
    base, ours = (per_epoch[name] for name in CONTENDERS)
    print(f"training seconds an epoch, once a step / once a batch: {base / ours:.2f}x the time")


if __name__ == "__main__":
    main()
