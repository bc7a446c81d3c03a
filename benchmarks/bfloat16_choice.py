"""hpo's choice of training precision on this CPU against the other choice, side by side.

With ``amp`` on (the default), hpo trains and validates in bfloat16 on a CPU that computes
it in hardware (AVX512-BF16 or AMX on x86) and in float32 elsewhere
(``hpo.training.precision``). oneDNN would compute bfloat16 on any AVX-512 CPU, by
conversions. This script trains the start point of each shipped space on the tasks of
``time_to_quality.py`` (``quality_tasks.py``) once in bfloat16 and once in float32, for the
same seconds of training each turn, the two taking turns (``--rounds``), from the same
weights on the same batches; each turn ends with the report at its cut, on all of dev.
Printed: training examples a second, target tokens a second, the seconds of that
validation, and the ratio of hpo's choice to the other one.

    python benchmarks/bfloat16_choice.py [--task translation program] [--seconds 45]
        [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from quality_tasks import WRITERS
from validation_precision import start_params

from hpo.config import load_study_config
from hpo.tasks import get_task
from hpo.training import precision
from hpo.training.precision import cpu_has_bfloat16, linux_cpu_flags

CPU = torch.device("cpu")


def prepared(name: str, folder: Path) -> tuple[Any, ...]:
    """The task's data, encoded for its space's start point, and what training it takes."""
    study_file, _ = WRITERS[name](folder, 0, torch.get_num_threads(), "cpu")
    config = load_study_config(str(study_file))
    task = get_task(config.task)
    params = start_params(config)
    splits = task.encode(task.prepare(config), params)
    return config, task, params, splits


def turn(setup: tuple[Any, ...], bfloat16: bool, seconds: float) -> dict[str, float]:
    """One turn: the start point trained ``seconds`` from its first weights, in bfloat16
    (whatever this CPU says) or in float32; its rates and the cut's validation time."""
    config, task, params, splits = setup
    torch.manual_seed(0)
    model = task.build_model(params, splits)
    settings = task.settings(config, params, 0, splits, max_epochs=1)
    settings.report_every, settings.time_limit, settings.amp = "1 epoch", seconds, True
    chosen = precision.cpu_has_bfloat16
    precision.cpu_has_bfloat16 = lambda: bfloat16
    try:
        result = task.fit(model, splits, params, settings, [], CPU)
    finally:
        precision.cpu_has_bfloat16 = chosen
    record = result.history[-1]
    return {
        "examples/s": record.examples / record.train_seconds,
        "tokens/s": record.tokens / record.train_seconds,
        "val_s": record.val_seconds,
        "metric": record.value(config.metric),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = sorted(WRITERS, reverse=True)
    parser.add_argument("--task", nargs="+", choices=tasks, default=tasks)
    parser.add_argument("--seconds", type=float, default=45.0, help="training a turn")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    flags = sorted(linux_cpu_flags() & {"avx512f", "avx512_bf16", "amx_bf16"}) or ["none"]
    ours = "bfloat16" if cpu_has_bfloat16() else "float32"
    print(
        f"{machine()}, {args.threads} threads; CPU flags: {' '.join(flags)}; oneDNN computes "
        f"bfloat16: {'yes' if onednn else 'no'}; hpo trains in {ours} here"
    )
    with tempfile.TemporaryDirectory() as folder:
        for name in args.task:
            setup = prepared(name, Path(folder))
            turns: dict[str, list[dict[str, float]]] = defaultdict(list)
            for _ in range(args.rounds):
                for side in ("bfloat16", "float32"):
                    turns[side].append(turn(setup, side == "bfloat16", args.seconds))
            show(name, turns, ours)


def show(name: str, turns: dict[str, list[dict[str, Any]]], ours: str) -> None:
    mean = {side: {k: sum(t[k] for t in ts) / len(ts) for k in ts[0]} for side, ts in turns.items()}
    print(f"\n{name}     examples/s  tokens/s  all of dev s  value at the cut")
    for side, row in mean.items():
        mark = " (hpo)" if side == ours else ""
        print(
            f"  {side + mark:<16} {row['examples/s']:8.1f} {row['tokens/s']:9.0f}"
            f" {row['val_s']:13.2f}  {row['metric']:.4g}"
        )
    other = "float32" if ours == "bfloat16" else "bfloat16"
    a, b = mean[ours], mean[other]
    print(
        f"  hpo's choice ({ours}) against {other}: training {a['tokens/s'] / b['tokens/s']:.2f}x,"
        f" validation {b['val_s'] / a['val_s']:.2f}x as fast"
    )


if __name__ == "__main__":
    main()
