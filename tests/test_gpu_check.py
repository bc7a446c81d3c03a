"""The GPU check without a GPU: its dry run goes through every step and writes its table,
without ``--device cpu`` it says in one line that there is no GPU, and the CUDA tests are
deselected, neither run nor skipped.

The GPU is hidden (``CUDA_VISIBLE_DEVICES=""``), so these tests say the same on a GPU machine.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, hpo_env

GPU_CHECK = PROJECT_ROOT / "benchmarks/gpu_check.py"
STEPS = ["cuda tests", "study", "throughput", "evaluate", "translate", "two workers"]


def run_python(*args: str, cwd: Path, timeout: float, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=hpo_env({"CUDA_VISIBLE_DEVICES": "", **env}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_dry_run_goes_through_every_step_and_writes_its_table(tmp_path):
    out = tmp_path / "out"

    result = run_python(
        str(GPU_CHECK), "--device", "cpu", "--out", str(out), cwd=tmp_path, timeout=600
    )

    report = json.loads((out / "gpu_check.json").read_text())
    steps = {step["step"]: step for step in report["steps"]}
    assert list(steps) == STEPS
    # evaluate and translate take --device from a change of their own; until it is in, they
    # fail with hpo's one-line reason, and the next step runs all the same.
    for name in ("cuda tests", "study", "throughput", "two workers"):
        assert steps[name]["result"] == "ok", steps[name]
    for step in steps.values():
        assert step["result"] in ("ok", "failed") and step["seconds"] >= 0
        assert step["text"] and "\n" not in step["text"]
    all_ok = all(step["result"] == "ok" for step in steps.values())
    assert result.returncode == (0 if all_ok else 1), result.stderr

    assert steps["cuda tests"]["text"].startswith("none selected without a GPU")
    study = steps["study"]["figures"]
    assert math.isfinite(study["best_bleu"]) and study["device"].startswith("cpu")
    speed = steps["throughput"]["figures"]
    assert speed["device_tokens_per_s"] > 0 and speed["cpu_tokens_per_s"] > 0
    assert speed["ratio"] == pytest.approx(speed["device_tokens_per_s"] / speed["cpu_tokens_per_s"])
    assert steps["two workers"]["figures"]["trials"] == 2
    if steps["evaluate"]["result"] == "ok":
        assert math.isfinite(steps["evaluate"]["figures"]["dev_bleu"])
    if steps["translate"]["result"] == "ok":
        assert steps["translate"]["figures"]["lines"] == 20
    header = report["header"]
    assert header["device"].startswith("cpu") and "dry run" in header["device"]
    assert header["data"].startswith(("gettext en->de", "synthetic en->de"))

    # The table comes last on stdout, one row a step; the markdown copy holds the same rows.
    lines = result.stdout.splitlines()
    rows = lines[[line.split()[:1] for line in lines].index(["step"]) + 1 :]
    assert [row.split("  ")[0] for row in rows[: len(STEPS)]] == STEPS
    markdown = (out / "gpu_check.md").read_text()
    assert "| step | seconds | result | figures |" in markdown
    assert all(f"| {name} | " in markdown for name in STEPS)
    assert "=== two workers" in (out / "gpu_check.log").read_text()


def test_without_a_gpu_the_check_says_so_in_one_line(tmp_path):
    result = run_python(str(GPU_CHECK), "--out", str(tmp_path / "out"), cwd=tmp_path, timeout=120)

    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "no GPU is present" in line and "--device cpu" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("selection", [["-m", "cuda"], []], ids=["-m cuda", "all"])
def test_cuda_tests_are_deselected_not_skipped_without_a_gpu(selection):
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", *selection, "tests/test_cuda.py"]

    result = run_python(*args, cwd=PROJECT_ROOT, timeout=120, CI="true")

    assert result.returncode == 5, result.stdout  # no tests ran, and none failed
    summary = result.stdout.strip().splitlines()[-1]
    assert "deselected" in summary
    assert not any(word in summary for word in ("skipped", "passed", "failed", "error"))
