"""Validation in float32 against validation in training's own precision, on the same weights.

The start point of each shipped space trains with hpo's loop on the tasks of
``time_to_quality.py`` (``quality_tasks.py``: which program a gettext message comes from,
and English -> German gettext pairs), with ``amp`` on as a study has it: in bfloat16 on a
CPU that computes it natively (``hpo.training.precision``), in float32 elsewhere. At every
epoch's end all of dev is validated twice, side by side: with ``amp`` off (float32) and on
(the training's precision, which a trial's own validation uses). Printed per epoch: the
epoch's training seconds, each validation's seconds and share of them, and each one's
metrics; then the totals and the largest difference of the study's metric. On a CPU
without bfloat16 both columns compute in float32: the script says so and measures nothing.

    python benchmarks/validation_precision.py [--task translation program] [--epochs 10]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from quality_tasks import WRITERS

from hpo import space
from hpo.config import load_study_config
from hpo.tasks import get_task
from hpo.training import EpochRecord
from hpo.training.precision import cpu_has_bfloat16, training_dtype

CPU = torch.device("cpu")


def start_params(config) -> dict[str, Any]:
    """The space's start point with its fixed values, as a study's trial 0 has them."""
    start = config.search_space.start
    assert start is not None, f"{config.search_space.name} has no start point"
    return space.suggest(optuna.trial.FixedTrial(dict(start)), config.search_space)


def run_task(
    name: str, epochs: int, threads: int, folder: Path
) -> tuple[list[dict[str, Any]], str]:
    study_file, description = WRITERS[name](folder, 0, threads, "cpu")
    config = load_study_config(str(study_file))
    task = get_task(config.task)
    data = task.prepare(config)
    params = start_params(config)
    splits = task.encode(data, params)
    torch.manual_seed(0)
    model = task.build_model(params, splits)
    settings = task.settings(config, params, 0, splits, max_epochs=epochs)
    settings.report_every, settings.time_limit = "1 epoch", None
    print(f"\n{name}: {description}; the start point of {config.search_space.name}")
    rows: list[dict[str, Any]] = []

    def both(record: EpochRecord) -> None:
        row: dict[str, Any] = {"epoch": int(record.epoch), "train_s": record.train_seconds}
        for amp in (False, True):
            chosen = copy.copy(settings)
            chosen.amp = amp
            started = time.perf_counter()
            scored = task.score(model, splits, "dev", chosen, CPU)
            assert scored is not None
            row[amp] = (time.perf_counter() - started, scored[1])
        rows.append(row)
        show(row, config.metric)

    header = f"{'train s':>8}  {'float32 s':>9} {'share':>6}  {'amp s':>7} {'share':>6}"
    print(f"{'epoch':>5} {header}  values (float32 / amp)")
    task.fit(model, splits, params, settings, [both], CPU)
    return rows, config.metric


def show(row: dict[str, Any], metric: str) -> None:
    (f32_s, f32), (amp_s, amp) = row[False], row[True]
    values = "  ".join(f"{k} {f32[k]:.4g} / {amp[k]:.4g}" for k in f32)
    print(
        f"{row['epoch']:>5} {row['train_s']:8.1f}  {f32_s:9.2f} {f32_s / row['train_s']:6.1%}"
        f"  {amp_s:7.2f} {amp_s / row['train_s']:6.1%}  {values}",
        flush=True,
    )


def summary(name: str, rows: list[dict[str, Any]], metric: str) -> None:
    train = sum(r["train_s"] for r in rows)
    f32 = sum(r[False][0] for r in rows)
    amp = sum(r[True][0] for r in rows)
    worst = max(abs(r[True][1][metric] - r[False][1][metric]) for r in rows)
    print(
        f"{name}: training {train:.1f} s; all of dev {f32:.1f} s in float32 ({f32 / train:.1%}),"
        f" {amp:.1f} s in training's precision ({amp / train:.1%}): {f32 / amp:.2f}x faster;"
        f" largest difference of {metric} {worst:.4g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = sorted(WRITERS, reverse=True)
    parser.add_argument("--task", nargs="+", choices=tasks, default=tasks)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = training_dtype(CPU, amp=True)
    precision = dtype or torch.float32
    print(f"{machine()}, {args.threads} threads; training's precision here: {precision}")
    if not cpu_has_bfloat16():
        print("this CPU has no native bfloat16: both validations compute in float32")
        return
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.task:
            results[name] = run_task(name, args.epochs, args.threads, Path(folder))
    print()
    for name, (rows, metric) in results.items():
        summary(name, rows, metric)


if __name__ == "__main__":
    main()
