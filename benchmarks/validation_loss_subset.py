"""A translator's dev perplexity on the dev subset (hpo, where the metric is BLEU or chrF)
against perplexity on all of dev, on the same weights.

The seq2seq space's start point trains with hpo's loop on the English -> German task of
``time_to_quality.py`` (``quality_tasks.py``), in the precision a study trains in. At every
epoch's end the same weights are validated twice, side by side and in turns: the way hpo
validated before (teacher-forced perplexity of all of dev, then greedy decoding of all of
dev) and the way it does now (perplexity of the 100-sentence dev subset that the reports
within epochs already use, then greedy decoding of all of dev). Decoding, and so BLEU and
chrF, is the same in both. Printed per epoch: the epoch's training seconds, each
validation's seconds and share of them, both perplexities and BLEU; then the totals, the
ratio of the two validations' times and the largest relative difference of perplexity.

    python benchmarks/validation_loss_subset.py [--epochs 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
from hpo.training import EpochRecord
from hpo.training.precision import precision_name
from hpo.training.seq2seq_trainer import translation_task

CPU = torch.device("cpu")


def run(epochs: int, threads: int, folder: Path) -> list[dict[str, Any]]:
    study_file, description = WRITERS["translation"](folder, 0, threads, "cpu")
    config = load_study_config(str(study_file))
    task = get_task(config.task)
    params = start_params(config)
    splits = task.encode(task.prepare(config), params)
    torch.manual_seed(0)
    model = task.build_model(params, splits)
    settings = task.settings(config, params, 0, splits, max_epochs=epochs)
    settings.report_every, settings.time_limit = "1 epoch", None
    ways = {
        "all of dev": translation_task(splits, settings, CPU),
        "subset": translation_task(splits, settings, CPU, loss_on_subset=True),
    }
    print(f"{description}; the start point of {config.search_space.name}")
    print(f"{len(splits.train)} training pairs, {len(splits.dev)} dev sentences")
    print(
        f"{'epoch':>5} {'train s':>8}  {'all of dev s':>12} {'share':>6}  {'subset s':>8}"
        f" {'share':>6}  ppl (all / subset)  bleu (all / subset)"
    )
    rows: list[dict[str, Any]] = []

    def both(record: EpochRecord) -> None:
        row: dict[str, Any] = {"epoch": int(record.epoch), "train_s": record.train_seconds}
        # In turns: the way that goes first alternates, so a drift of the machine's speed
        # within a pair of validations weighs on both alike.
        order = list(ways) if len(rows) % 2 == 0 else list(reversed(ways))
        for name in order:
            started = time.perf_counter()
            _, metrics = ways[name].validate(model)
            row[name] = (time.perf_counter() - started, metrics)
        model.train()
        rows.append(row)
        (all_s, full), (sub_s, part) = row["all of dev"], row["subset"]
        train_s = row["train_s"]
        print(
            f"{row['epoch']:>5} {train_s:8.1f}  {all_s:12.2f} {all_s / train_s:6.1%}"
            f"  {sub_s:8.2f} {sub_s / train_s:6.1%}  {full['ppl']:8.2f} / {part['ppl']:<8.2f}"
            f"  {full['bleu']:6.2f} / {part['bleu']:<6.2f}",
            flush=True,
        )

    task.fit(model, splits, params, settings, [both], CPU)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{machine()}, {args.threads} threads, training in {precision_name(CPU, True)}")
    with tempfile.TemporaryDirectory() as folder:
        rows = run(args.epochs, args.threads, Path(folder))
    train = sum(r["train_s"] for r in rows)
    full = sum(r["all of dev"][0] for r in rows)
    part = sum(r["subset"][0] for r in rows)
    worst = max(abs(r["subset"][1]["ppl"] / r["all of dev"][1]["ppl"] - 1) for r in rows)
    same_bleu = all(r["subset"][1]["bleu"] == r["all of dev"][1]["bleu"] for r in rows)
    print(
        f"\ntraining {train:.1f} s; validation with perplexity of all of dev {full:.1f} s"
        f" ({full / train:.1%} of training), of the subset {part:.1f} s ({part / train:.1%}):"
        f" {full / part:.2f}x faster; perplexity of the subset within {worst:.1%} of all of"
        f" dev's; BLEU {'the same' if same_bleu else 'DIFFERS'}"
    )


if __name__ == "__main__":
    main()
