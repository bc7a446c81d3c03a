"""The steps of ``gpu_check.py``: what each runs, in what size, and what it reports.

A step takes the shared :class:`Check` and returns its one-line text and its figures, or
raises :class:`StepFailed` with a one-line reason. Commands run as child processes in the
check's work directory, within the step's time box (their whole process group is killed at
its end); the throughput runs in this process, its time bounded by the trainer's own limit.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
FINISHED = ("COMPLETE", "PRUNED")  # a pruned trial trained and kept its last value


@dataclass(frozen=True)
class Sizes:
    """How big each step is: the check on a GPU, or its dry run on a CPU."""

    pairs: int  # of the study corpus
    vocab_size: int
    embedding_dim: int
    hidden_size: int
    batch_tokens: int
    max_epochs: int
    worker_trials: int
    throughput_pairs: int
    throughput_batch: int  # sentences' worth of tokens in a batch
    throughput_model: dict[str, Any]  # changes to translation_throughput.py's model
    warm_up_s: float  # the device's first batches (CUDA start-up) are not timed
    measure_s: float  # each side of the throughput comparison trains at most this long
    boxes: dict[str, float] = field(default_factory=dict)


ON_GPU = Sizes(
    pairs=8000,
    vocab_size=4000,
    embedding_dim=128,
    hidden_size=256,
    batch_tokens=3000,
    max_epochs=4,
    worker_trials=4,
    throughput_pairs=6000,
    throughput_batch=64,
    throughput_model={},
    warm_up_s=3,
    measure_s=15,
    boxes={
        "cuda tests": 100,
        "study": 60,
        "throughput": 60,
        "evaluate": 30,
        "translate": 30,
        "two workers": 60,
    },
)
DRY_RUN = Sizes(
    pairs=200,
    vocab_size=150,
    embedding_dim=16,
    hidden_size=32,
    batch_tokens=400,
    max_epochs=1,
    worker_trials=2,
    throughput_pairs=100,
    throughput_batch=16,
    throughput_model={"embedding_dim": 16, "hidden_size": 32},
    warm_up_s=0.5,
    measure_s=1.5,
    boxes={name: 60.0 for name in ON_GPU.boxes},
)


class StepFailed(Exception):
    """A step did not pass; the message is its one-line reason."""


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


@dataclass
class Check:
    """What the steps share: the device, sizes, a work directory, the data and a log."""

    device: str
    sizes: Sizes
    work: Path
    cpu_threads: int
    pairs: list[tuple[str, str]]
    data: dict[str, Any]
    log: list[str] = field(default_factory=list)
    step_deadline: float = 0.0
    best: dict[str, Any] = field(default_factory=dict)

    def hpo(self, *args: str) -> subprocess.CompletedProcess:
        return self.command([sys.executable, "-m", "hpo", *args])

    def command(
        self, argv: list[str], cwd: Path | None = None, ok: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` within the step's time box; its whole process group goes at the end."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            argv,
            cwd=cwd or self.work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # workers of `--workers 2` are killed with their parent
        )
        try:
            out, err = process.communicate(timeout=max(1.0, self.step_deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            self.log += [f"$ {' '.join(argv[1:])}  (timed out)", out, err]
            raise StepFailed(f"{' '.join(argv[2:4])} ran past the step's time box") from None
        self.log += [f"$ {' '.join(argv[1:])}  (exit code {process.returncode})", out, err]
        if process.returncode not in ok:
            raise StepFailed(f"exit code {process.returncode}: {last_line(err or out)}")
        return subprocess.CompletedProcess(argv, process.returncode, out, err)

    def study_file(self, name: str, max_epochs: int) -> Path:
        s = self.sizes
        study = {
            "name": name,
            "task": "translation",
            "data": self.data,
            "tokenizer": {"vocab_size": s.vocab_size},
            "metric": "bleu",
            "search_space": {
                "params": {
                    "cell": {"type": "categorical", "choices": ["gru", "lstm"]},
                    "attention": "additive",
                    "embedding_dim": s.embedding_dim,
                    "hidden_size": s.hidden_size,
                    "dropout": 0.1,
                    "lr": {"type": "float", "low": 2e-3, "high": 8e-3, "log": True},
                    "batch_tokens": s.batch_tokens,
                }
            },
            "training": {"max_epochs": max_epochs, "device": self.device, "amp": True},
            "sampler": {"type": "random"},
            "pruner": {"type": "none"},
            "keep_checkpoints": 1,
            "seed": 0,
        }
        path = self.work / f"{name}.yaml"
        path.write_text(yaml.safe_dump(study, sort_keys=False))
        return path

    def stored_trials(self, name: str) -> list:
        import optuna

        storage = f"sqlite:///{self.work}/runs/hpo.db"
        return optuna.load_study(study_name=name, storage=storage).get_trials()

    def on_device(self, trials: list) -> str:
        """The trials' recorded device, which must be the one under test."""
        devices = {t.user_attrs.get("device", "?") for t in trials}
        if any(not d.startswith(self.device) for d in devices):
            raise StepFailed(f"trials ran on {', '.join(sorted(devices))}, not {self.device}")
        return ", ".join(sorted(devices))


def cuda_tests(check: Check) -> tuple[str, dict]:
    argv = [sys.executable, "-m", "pytest", "tests/test_cuda.py", "-q", "-rf", "-m", "cuda"]
    result = check.command([*argv, "-p", "no:cacheprovider"], cwd=ROOT, ok=(0, 1, 5))
    summary = last_line(result.stdout).strip("= ")
    if result.returncode == 5 and check.device == "cpu":
        return f"none selected without a GPU ({summary})", {"summary": summary}
    if result.returncode != 0:
        failed = [
            line.split()[1].split("::")[-1]
            for line in result.stdout.splitlines()
            if line.startswith("FAILED ")
        ]
        raise StepFailed(f"{summary}: {', '.join(failed) or 'no CUDA test selected'}")
    return summary, {"summary": summary}


def translation_study(check: Check) -> tuple[str, dict]:
    check.hpo(
        "optimize",
        "--study",
        str(check.study_file("gpu-check", check.sizes.max_epochs)),
        "--n-trials",
        "3",
    )
    trials = check.stored_trials("gpu-check")
    done = [t for t in trials if t.state.name in FINISHED and math.isfinite(t.value)]
    if len(done) < 3:
        raise StepFailed(f"{len(done)} of 3 trials finished with a finite BLEU")
    best = max(done, key=lambda t: t.value)
    check.best = {"trial": best.number, "bleu": best.value}
    device = check.on_device(trials)
    rates = [t.user_attrs.get("tokens_per_s", 0) for t in done]
    text = f"3 trials, best BLEU {best.value:.2f} (trial {best.number}) on {device}"
    return text, {"best_bleu": best.value, "device": device, "tokens_per_s": rates}


def throughput(check: Check) -> tuple[str, dict]:
    import torch
    import translation_throughput as bench

    from hpo.models import build
    from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq

    with tempfile.TemporaryDirectory() as tmp:
        splits = bench.splits_from_pairs(check.pairs[: check.sizes.throughput_pairs], Path(tmp))
    params = {**bench.PARAMS, **check.sizes.throughput_model}
    vocab = {
        "src_vocab_size": splits.src_tokenizer.vocab_size,
        "tgt_vocab_size": splits.tgt_tokenizer.vocab_size,
    }
    # As in translation_throughput.py: a token budget of about 64 (average) sentences a batch.
    ids = list(zip(splits.train.src_ids, splits.train.tgt_ids, strict=True))
    mean_longest = sum(max(len(s), len(t) + 1) for s, t in ids) / len(ids)
    batch_tokens = int(check.sizes.throughput_batch * mean_longest)

    def rate(device: torch.device, seconds: float) -> float:
        torch.manual_seed(0)
        model = build("translation", params, **vocab)
        settings = Seq2SeqSettings(
            max_epochs=1,
            batch_tokens=batch_tokens,
            seed=0,
            clip_grad=1.0,
            amp=True,
            time_limit=seconds,
        )
        result = fit_seq2seq(model, splits, params, settings, device=device)
        return result.history[0].tokens_per_s

    device = torch.device(check.device)
    rate(device, check.sizes.warm_up_s)
    on_device = rate(device, check.sizes.measure_s)
    threads = torch.get_num_threads()
    torch.set_num_threads(check.cpu_threads)
    try:
        on_cpu = rate(torch.device("cpu"), check.sizes.measure_s)
    finally:
        torch.set_num_threads(threads)
    ratio = on_device / on_cpu
    text = (
        f"{check.device} {on_device:,.0f} vs cpu ({check.cpu_threads} threads) "
        f"{on_cpu:,.0f} target tokens/s: {ratio:.1f}x"
    )
    figures = {
        "device_tokens_per_s": on_device,
        "cpu_tokens_per_s": on_cpu,
        "ratio": ratio,
        "cpu_threads": check.cpu_threads,
        "batch_tokens": batch_tokens,
    }
    return text, figures


def evaluate(check: Check) -> tuple[str, dict]:
    result = check.hpo(
        "evaluate",
        "--study",
        str(check.work / "gpu-check.yaml"),
        "--split",
        "dev",
        "--beam",
        "1",
        "--json",
        "--device",
        check.device,
    )
    scored = json.loads(result.stdout)
    recorded = check.best.get("bleu", float("nan"))
    text = f"dev BLEU {scored['bleu']:.2f} (trial {scored['trial']} recorded {recorded:.2f})"
    return text, {"dev_bleu": scored["bleu"], "recorded_bleu": recorded}


def translate(check: Check) -> tuple[str, dict]:
    sources = [en for en, _ in check.pairs[:20]]
    (check.work / "input.txt").write_text("".join(f"{s}\n" for s in sources), encoding="utf-8")
    result = check.hpo(
        "translate",
        "--study",
        str(check.work / "gpu-check.yaml"),
        "--beam",
        "5",
        "--input",
        "input.txt",
        "--device",
        check.device,
    )
    lines = result.stdout.splitlines()
    if len(lines) != len(sources):
        raise StepFailed(f"{len(lines)} lines out for {len(sources)} in")
    example = f"{sources[0]!r} -> {lines[0]!r}"
    return f"{len(lines)} lines, beam 5: {example[:70]}", {"lines": len(lines), "example": example}


def two_workers(check: Check) -> tuple[str, dict]:
    n = check.sizes.worker_trials
    study_file = check.study_file("gpu-check-workers", max(1, check.sizes.max_epochs // 2))
    started = time.perf_counter()
    check.hpo("optimize", "--study", str(study_file), "--n-trials", str(n), "--workers", "2")
    minutes = (time.perf_counter() - started) / 60
    trials = check.stored_trials("gpu-check-workers")
    finished = [t for t in trials if t.state.name in FINISHED]
    workers = {t.user_attrs.get("worker") for t in finished}
    if len(finished) != n or len(workers) != 2:
        raise StepFailed(f"{len(finished)} of {n} trials finished, by {len(workers)} worker(s)")
    device = check.on_device(trials)
    text = f"{n} trials by 2 workers on {device}, {n / minutes:.1f} trials/min"
    return text, {"trials": n, "trials_per_min": n / minutes, "device": device}


STEPS: list[tuple[str, Callable[[Check], tuple[str, dict]]]] = [
    ("cuda tests", cuda_tests),
    ("study", translation_study),
    ("throughput", throughput),
    ("evaluate", evaluate),
    ("translate", translate),
    ("two workers", two_workers),
]
