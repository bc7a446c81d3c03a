"""What three of the training loop's choices are worth to the Transformer, side by side.

Each comparison trains two copies of the same Transformer (the one of
translation_throughput.py, 7.6M parameters) with hpo's own loop on the same real
Japanese -> English pairs, one epoch at a time, taking turns, and differs in one choice only:

- ``adam``: PyTorch's fused Adam update (hpo's) against its default one, in float32;
- ``kernel``: the plain attention kernel (hpo's on a CPU in bfloat16) against PyTorch's own
  choice there, the fused (flash) kernel, both in bfloat16;
- ``precision``: bfloat16 autocast (hpo's default on a CPU with native bfloat16) against
  float32.

The other side of each comparison is made by replacing, for that copy's epochs only, the
function through which hpo makes the choice. ``--fixed`` times single training steps on one
shape (64 sentences of 10 tokens) instead, the best of ``--steps`` for each side;
``--profile`` prints PyTorch's profiler table of ``--steps`` such steps in hpo's default
precision on this CPU (where a step's time goes).

    python benchmarks/training_choices.py [--pairs 3000] [--epochs 3] [--threads 2] [--fixed]
        [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from translation_throughput import (
    TRANSFORMER,
    TRANSFORMER_TRAINING,
    Run,
    hpo_epoch,
    shard,
    splits_from_pairs,
)

import hpo.models.multi_head_attention as attention_module
import hpo.training.builders as builders_module
from hpo.data.gettext_catalogs import message_pairs
from hpo.models.transformer import Transformer
from hpo.training.precision import training_dtype

BATCH_TOKENS = 561  # translation_throughput.py's budget: about 64 sentences


@contextlib.contextmanager
def replaced(module: object, name: str, value: Callable) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


# Each comparison: hpo's side, the other side (a context that changes one choice), bfloat16.
COMPARISONS: dict[str, tuple[str, str, Callable[[], contextlib.AbstractContextManager], bool]] = {
    "adam": (
        "fused Adam",
        "default Adam",
        lambda: replaced(builders_module, "fused_kernels", lambda params: None),
        False,
    ),
    "kernel": (
        "plain kernel",
        "flash kernel",
        lambda: replaced(attention_module, "kernel_for", lambda q: contextlib.nullcontext()),
        True,
    ),
    "precision": ("bfloat16", "float32", contextlib.nullcontext, True),
}


def fixed_step(model: Transformer, bfloat16: bool) -> tuple[Callable[[], None], int]:
    """One training step on one shape (64 sentences of 10 tokens, 11 target tokens), and
    the target tokens it trains on."""
    generator = torch.Generator().manual_seed(0)
    src = torch.randint(4, 7000, (64, 10), generator=generator)
    tgt = torch.randint(4, 7000, (64, 11), generator=generator)
    keep = torch.ones_like(tgt, dtype=torch.bool)
    optimizer = builders_module.build_optimizer(model, {"optimizer": "adam", "lr": 1e-4})

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            logits = model(src, torch.full((64,), 10), tgt, keep=keep)
            loss = torch.nn.functional.cross_entropy(logits.float(), tgt[keep])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, int(keep.sum())


def fixed_step_rate(model: Transformer, bfloat16: bool, steps: int) -> float:
    """Target tokens per second of the best of ``steps`` training steps on one shape."""
    step, tokens = fixed_step(model, bfloat16)
    best = float("inf")
    for i in range(steps + 3):  # three untimed: kernels, the optimizer's state
        start = time.perf_counter()
        step()
        if i >= 3:
            best = min(best, time.perf_counter() - start)
    return tokens / best


def profile_steps(model: Transformer, bfloat16: bool, steps: int) -> str:
    """PyTorch's profiler table of ``steps`` steps on one shape: where a step's time goes."""
    step, _ = fixed_step(model, bfloat16)
    for _ in range(3):
        step()
    with torch.profiler.profile() as profiler:
        for _ in range(steps):
            step()
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000, help="pairs trained on")
    parser.add_argument("--epochs", type=int, default=3, help="turns each side takes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fixed", action="store_true", help="single steps on one shape")
    parser.add_argument("--steps", type=int, default=20, help="with --fixed: steps timed")
    parser.add_argument("--only", choices=sorted(COMPARISONS), action="append")
    parser.add_argument(
        "--profile", action="store_true", help="profile --steps steps on one shape instead"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine(), f"| {args.threads} threads, cpu")
    if args.profile:
        torch.manual_seed(0)
        model = Transformer(8000, 8000, **TRANSFORMER)
        bfloat16 = training_dtype(torch.device("cpu"), amp=True) == torch.bfloat16
        print(f"{args.steps} steps, {'bfloat16' if bfloat16 else 'float32'} (hpo's default here)")
        print(profile_steps(model, bfloat16, args.steps))
        return

    pairs = [(ja, en) for en, ja in message_pairs("ja")]
    random.Random(0).shuffle(pairs)
    with tempfile.TemporaryDirectory() as tmp:
        splits = splits_from_pairs(pairs, Path(tmp), 8000)
    subset = shard(splits, list(range(min(args.pairs, len(splits.train)))))
    vocab = splits.src_tokenizer.vocab_size, splits.tgt_tokenizer.vocab_size
    cpu = torch.device("cpu")

    for key in args.only or list(COMPARISONS):
        ours, theirs, change, bfloat16 = COMPARISONS[key]
        models = {}
        for side in (ours, theirs):
            torch.manual_seed(0)
            models[side] = Transformer(*vocab, **TRANSFORMER)
        if args.fixed:
            rates = {}
            for side, model in models.items():
                with change() if side == theirs else contextlib.nullcontext():
                    use_bf16 = bfloat16 and not (key == "precision" and side == theirs)
                    rates[side] = fixed_step_rate(model, use_bf16, args.steps)
            line = ", ".join(f"{side} {rate:.0f}" for side, rate in rates.items())
            print(f"{key}: one shape, tgt tok/s: {line}; ratio {rates[ours] / rates[theirs]:.2f}x")
            continue
        runs = {side: Run(side, 0) for side in models}
        per_epoch: dict[str, list[float]] = {side: [] for side in models}
        for _ in range(args.epochs):
            for side, model in models.items():
                amp = bfloat16 and not (key == "precision" and side == theirs)
                before = (runs[side].tokens, runs[side].seconds)
                params, run = TRANSFORMER_TRAINING, runs[side]
                with change() if side == theirs else contextlib.nullcontext():
                    hpo_epoch(model, subset, params, BATCH_TOKENS, cpu, run, amp)
                tokens, seconds = runs[side].tokens - before[0], runs[side].seconds - before[1]
                per_epoch[side].append(tokens / seconds)
        epochs = ", ".join(
            f"{a / b:.2f}x" for a, b in zip(per_epoch[ours], per_epoch[theirs], strict=True)
        )
        print(
            f"{key}: {ours} {runs[ours].rate:.0f} tgt tok/s, {theirs} {runs[theirs].rate:.0f}; "
            f"ratio {runs[ours].rate / runs[theirs].rate:.2f}x (per epoch: {epochs})"
        )


if __name__ == "__main__":
    main()
