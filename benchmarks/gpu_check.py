"""A GPU check anyone can run: does hpo train, tune, decode and share a GPU, and how fast?

    python benchmarks/gpu_check.py [--out runs/gpu_check] [--cpu-threads 16]
    python benchmarks/gpu_check.py --device cpu     # a dry run in small size, no GPU needed

Six steps, each in a time box so that the whole fits 5 minutes on one H100 with 16 CPU cores;
a step that fails is reported with its one-line reason and the next step runs:

1. cuda tests: ``pytest -m cuda tests/test_cuda.py`` (none are selected without a GPU);
2. study: ``hpo optimize``, three translation trials with AMP on the device;
3. throughput: translation training tokens/s on the device against the CPU on a fixed
   number of threads (``--cpu-threads``), with ``translation_throughput.py``'s model and data;
4. evaluate: ``hpo evaluate --device`` scores the study's best trial on dev;
5. translate: ``hpo translate --device`` with beam search;
6. two workers: ``hpo optimize --workers 2`` sharing the one device.

Data: English -> German messages of the gettext catalogs (``/usr/share/locale/de``); where
the machine has too few, a made-up word-for-word corpus, and the output says so. hpo runs
from this source tree (``python -m hpo``), so it need not be installed. The table is printed
at the end and written, with every step's output, to ``--out``: ``gpu_check.json``,
``gpu_check.md`` and ``gpu_check.log``. Exit code 0 when every step passed, 1 when one
failed, 2 when there is no GPU (without ``--device cpu``) or an argument is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import translation_pairs
from gpu_check_steps import DRY_RUN, ON_GPU, STEPS, Check, Sizes, StepFailed, last_line

TOTAL_SECONDS = 290.0  # every box is cut to what is left of this, so the whole fits 5 minutes


def prepare_data(work: Path, sizes: Sizes) -> tuple[list[tuple[str, str]], dict, str]:
    """The corpus: hpo's gettext source where the catalogs are there, else parallel files."""
    pairs, note = translation_pairs(max(sizes.pairs, sizes.throughput_pairs))
    if note.startswith("gettext"):
        split = {"train": 0.9, "dev": 0.05, "test": 0.05, "seed": 13}
        data = {
            "source": "gettext",
            "src_lang": "en",
            "tgt_lang": "de",
            "max_words": 12,
            "max_pairs": sizes.pairs,
            "split": split,
        }
        return pairs, data, note
    (work / "data").mkdir()
    dev, test = int(0.9 * sizes.pairs), int(0.95 * sizes.pairs)
    bounds = {"train": (0, dev), "dev": (dev, test), "test": (test, sizes.pairs)}
    for split, (start, end) in bounds.items():
        for index, lang in enumerate(("en", "de")):
            text = "".join(f"{pair[index]}\n" for pair in pairs[start:end])
            (work / "data" / f"{split}.{lang}").write_text(text, encoding="utf-8")
    data = {
        "source": "parallel",
        "train": "data/train",
        "dev": "data/dev",
        "test": "data/test",
        "src_lang": "en",
        "tgt_lang": "de",
    }
    return pairs, data, note


def run_steps(check: Check) -> list[dict[str, Any]]:
    results = []
    deadline = time.time() + TOTAL_SECONDS
    for number, (name, step) in enumerate(STEPS, start=1):
        started = time.time()
        check.step_deadline = min(started + check.sizes.boxes[name], deadline)
        check.log.append(f"=== {name}")
        try:
            if check.step_deadline - started < 5:
                raise StepFailed("no time left of the check's 5 minutes")
            text, figures = step(check)
            result = {"result": "ok", "text": text, "figures": figures}
        except StepFailed as exc:
            result = {"result": "failed", "text": str(exc), "figures": {}}
        except Exception as exc:  # a broken step must not stop the others
            reason = last_line(f"{type(exc).__name__}: {exc}")
            result = {"result": "failed", "text": reason, "figures": {}}
            check.log.append(reason)
        result = {"step": name, "seconds": round(time.time() - started, 1), **result}
        print(
            f"[{number}/{len(STEPS)}] {name}: {result['result']} ({result['seconds']} s)",
            flush=True,
        )
        results.append(result)
    return results


def table(results: list[dict[str, Any]]) -> list[str]:
    rows = [("step", "seconds", "result", "figures")]
    rows += [(r["step"], f"{r['seconds']:.1f}", r["result"], r["text"]) for r in results]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    return [f"{a:<{width[0]}}  {b:>{width[1]}}  {c:<{width[2]}}  {d}" for a, b, c, d in rows]


def markdown(header: dict[str, Any], results: list[dict[str, Any]]) -> str:
    lines = ["# GPU check", "", *(f"- {k}: {v}" for k, v in header.items()), ""]
    lines += ["| step | seconds | result | figures |", "| --- | ---: | --- | --- |"]
    lines += [
        f"| {r['step']} | {r['seconds']:.1f} | {r['result']} | {r['text']} |" for r in results
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device",
        choices=["cuda", "cpu"],
        default="cuda",
        help="cpu: a dry run of every step in small size",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/gpu_check"))
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=None,
        help="threads of the CPU side of the throughput (default 16)",
    )
    args = parser.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            f"gpu_check: no GPU is present (torch {torch.__version__} sees no CUDA device); "
            "--device cpu runs a dry run",
            file=sys.stderr,
        )
        return 2
    sizes = ON_GPU if args.device == "cuda" else DRY_RUN
    threads = args.cpu_threads or (16 if args.device == "cuda" else min(16, os.cpu_count() or 1))
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else platform.machine()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        pairs, data, note = prepare_data(Path(tmp), sizes)
        check = Check(args.device, sizes, Path(tmp), threads, pairs, data)
        header = {
            "device": f"{args.device} ({name})" + ("" if args.device == "cuda" else ", dry run"),
            "torch": f"{torch.__version__} (CUDA {torch.version.cuda})",
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}",
            "cpu threads (throughput)": threads,
            "data": note,
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        results = run_steps(check)
    header["total seconds"] = round(time.time() - started, 1)
    passed = sum(r["result"] == "ok" for r in results)
    header["passed"] = f"{passed} of {len(results)}"
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"header": header, "steps": results}
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "gpu_check.md").write_text(markdown(header, results))
    (args.out / "gpu_check.log").write_text("\n".join(check.log) + "\n")
    print()
    print(" | ".join(f"{k}: {v}" for k, v in header.items()))
    print("\n".join(table(results)))
    print(f"written: {args.out}/gpu_check.json, .md, .log")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
