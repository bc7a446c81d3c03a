"""What reporting within epochs costs: validation time against training time.

The same model trains from the same seed twice, reporting once an epoch
(``report_every: 1 epoch``) and at the default (``auto``: every 5000 training examples
within an epoch, on the dev subset, and at every epoch's end on all of dev). Validation
draws no random numbers, so both runs train the very same weights: only their validations
differ. An untimed epoch runs first. Printed per run: the reports, when the first came
(training seconds), training and validation seconds, and validation as a share of
training; in wall seconds (what the records hold) and in this process's CPU seconds, which
other jobs on a shared machine disturb far less (on a loaded 2-core machine the same
validation took 2.6 s and 20 s of wall time).

Translation: English -> German messages of the gettext catalogs installed on the machine
(12,600 training pairs, 700 dev sentences, as a realistic CPU study), sentencepiece models
of 8000 pieces a side, a recurrent model: ``--model start`` is the seq2seq space's start
point (bidirectional GRU 256/512, additive attention, 15M parameters, about 5 minutes an
epoch on 2 quiet cores), ``--model small`` (the default) a GRU of 128/256 that trains an
epoch in about a minute and a half. Classification: the built-in topics set at 27,000
training texts, the classifier space's start point (Kim's CNN).

    python benchmarks/report_cost.py [--model small|start] [--epochs 1] [--threads 2]
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

from hpo.config import BuiltinData, GettextData, SplitConfig, TokenizerConfig, TranslationConfig
from hpo.data import load_classification_corpus
from hpo.data.parallel_sources import load_translation_corpus
from hpo.data.prepare import PreparedClassificationData
from hpo.data.prepare_translation import PreparedTranslationData
from hpo.models import build, count_parameters
from hpo.training import FitResult, FitSettings, loop
from hpo.training.classification_step import ClassificationTask
from hpo.training.seq2seq_trainer import Seq2SeqSettings, translation_task

TRANSLATORS = {
    "start": {
        "embedding_dim": 256,
        "hidden_size": 512,
        "bidirectional": True,
        "batch_tokens": 4000,
    },
    "small": {"embedding_dim": 128, "hidden_size": 256, "bidirectional": False},
}
TRANSLATION = {"arch": "rnn", "cell": "gru", "attention": "additive", "num_layers": 1,
               "dropout": 0.2, "label_smoothing": 0.1, "optimizer": "adam", "lr": 1e-3,
               "batch_tokens": 2000, "clip_grad": 1.0}  # fmt: skip
CLASSIFIER = {"arch": "cnn", "embedding_dim": 128, "filter_sizes": "3,4,5", "num_filters": 100,
              "dropout": 0.5, "optimizer": "adam", "lr": 1e-3, "batch_size": 64}  # fmt: skip
# The third run reports as the second and writes the checkpoints a study's trial writes
# (``last.pt`` at every report, for resuming a killed worker's trial).
RUNS = ("1 epoch", "auto", "auto + checkpoints")
# The first run in a process pays for creating the kernels of every batch shape (the first
# of two identical classifier epochs took 5x the CPU of the second): an untimed epoch first.
WARM_UP = "warm-up"


class CpuSeconds:
    """This process's CPU seconds in a task's validations, full and subset."""

    def __init__(self, task: Any):
        self.full = self.subset = 0.0
        validate, validate_subset = task.validate, task.validate_subset

        def full(model):
            started = time.process_time()
            try:
                return validate(model)
            finally:
                self.full += time.process_time() - started

        def subset(model):
            started = time.process_time()
            try:
                return validate_subset(model)
            finally:
                self.subset += time.process_time() - started

        task.validate, task.validate_subset = full, subset


def timed_fit(
    model, task, params, settings, name: str
) -> tuple[FitResult, CpuSeconds, float, float]:
    """The run, its validations' CPU seconds, the whole run's CPU and wall seconds."""
    validations = CpuSeconds(task)
    started, wall = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        checkpoints = Path(folder) if name.endswith("checkpoints") else None
        result = loop.fit(model, task, params, settings, checkpoint_dir=checkpoints)
    return result, validations, time.process_time() - started, time.perf_counter() - wall


Run = tuple[str, tuple[FitResult, CpuSeconds, float, float]]


def report_every(name: str) -> str:
    return RUNS[0] if name == WARM_UP else name.split(" + ")[0]


def translation_runs(model_size: str, epochs: int, cache: Path) -> list[Run]:
    data = GettextData(
        source="gettext", max_pairs=14000, split=SplitConfig(train=0.9, dev=0.05, test=0.05)
    )
    corpus = load_translation_corpus(data)
    prepared = PreparedTranslationData(
        corpus, TokenizerConfig(vocab_size=8000), TranslationConfig(), cache
    )
    splits = prepared.encoded()
    params = {**TRANSLATION, **TRANSLATORS[model_size]}
    results = []
    for name in (WARM_UP, *RUNS):
        torch.manual_seed(0)
        model = build(
            "translation",
            params,
            src_vocab_size=splits.src_tokenizer.vocab_size,
            tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
        )
        if name == WARM_UP:
            print(
                f"translation: {len(splits.train):,} training pairs, {len(splits.dev)} dev "
                f"sentences, GRU {model_size} ({count_parameters(model) / 1e6:.1f}M parameters)"
            )
        settings = Seq2SeqSettings.from_params(
            params, max_epochs=epochs, seed=0, amp=False, report_every=report_every(name)
        )
        task = translation_task(splits, settings, torch.device("cpu"))
        run = timed_fit(model, task, params, settings, name)
        if name != WARM_UP:
            results.append((name, run))
            show(name, run)
    return results


def classification_runs(epochs: int, cache: Path) -> list[Run]:
    # 70% of the built-in set is train: 27,000 texts.
    corpus = load_classification_corpus(BuiltinData(source="builtin", size=38572))
    splits = PreparedClassificationData(corpus, TokenizerConfig(vocab_size=4000), cache).encoded()
    results = []
    for name in (WARM_UP, *RUNS):
        torch.manual_seed(0)
        model = build(
            "classification",
            CLASSIFIER,
            vocab_size=splits.tokenizer.vocab_size,
            num_classes=corpus.num_classes,
        )
        if name == WARM_UP:
            print(
                f"classification: {len(splits.train):,} training texts, {len(splits.dev):,} "
                f"dev texts, CNN ({count_parameters(model) / 1e6:.1f}M parameters)"
            )
        settings = FitSettings.from_params(
            CLASSIFIER,
            max_epochs=epochs,
            seed=0,
            num_classes=corpus.num_classes,
            report_every=report_every(name),
        )
        task = ClassificationTask(
            splits.train, splits.dev, batch_size=64, num_classes=corpus.num_classes
        )
        run = timed_fit(model, task, CLASSIFIER, settings, name)
        if name != WARM_UP:
            results.append((name, run))
            show(name, run)
    return results


def show(name: str, run: tuple[FitResult, CpuSeconds, float, float]) -> None:
    result, validations, cpu, wall = run
    history = result.history
    subset = sum(r.val_seconds for r in history if r.subset)
    full = sum(r.val_seconds for r in history if not r.subset)
    first = history[0]
    print(
        f"  {name:8} {len(history):2} reports, the first after {first.examples:,} "
        f"examples and {first.train_seconds:.1f} s of training"
    )
    share = result.val_seconds / result.train_seconds
    print(
        f"    wall: train {result.train_seconds:6.1f} s, validation {result.val_seconds:5.1f} s "
        f"(subset {subset:5.1f}, full dev {full:5.1f}) = {share:5.1%}"
    )
    val_cpu = validations.full + validations.subset
    train_cpu = cpu - val_cpu
    print(
        f"    CPU:  train {train_cpu:6.1f} s, validation {val_cpu:5.1f} s "
        f"(subset {validations.subset:5.1f}, full dev {validations.full:5.1f}) = "
        f"{val_cpu / train_cpu:5.1%}"
    )
    # What neither training nor validation timed: checkpoints, the loop's own bookkeeping.
    other = wall - result.train_seconds - result.val_seconds
    print(
        f"    wall: the whole run {wall:6.1f} s, {other:5.1f} s of it "
        f"({other / result.train_seconds:5.1%} of training) outside training and validation"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(TRANSLATORS), default="small")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--task", choices=["both", "translation", "classification"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine(), f"{args.threads} threads")
    with tempfile.TemporaryDirectory() as cache:
        if args.task in (None, "both", "classification"):
            classification_runs(args.epochs, Path(cache))
        if args.task in (None, "both", "translation"):
            translation_runs(args.model, args.epochs, Path(cache))


if __name__ == "__main__":
    main()
