"""Shared fixtures: every test works in its own directory with its own store and runs/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory: runs/ and the default SQLite store live inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPO_STORAGE", raising=False)
    monkeypatch.delenv("HPO_RUNS_DIR", raising=False)
    return tmp_path


def hpo_env(env: dict | None = None) -> dict:
    """This environment without the caller's HPO_* settings, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    full_env.update(env or {})
    return full_env


def run_hpo(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600):
    """Run the real ``hpo`` command in a child process and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "hpo", *args],
        cwd=cwd,
        env=hpo_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def default_sigint() -> None:
    """In a child before it starts: Ctrl-C's default action, as a terminal's process has it.

    A test run started in the background (``make test &``, some CI runners) has SIGINT
    ignored, and an ignored signal stays ignored in every child: ``hpo`` would never see the
    SIGINT a test sends it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_hpo(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start the real ``hpo`` command in a child process (to signal or watch it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hpo", *args],
        cwd=cwd,
        env=hpo_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def write_study(directory: Path, name: str = "tiny", **fields) -> Path:
    """Write a small classification study file; ``fields`` override the defaults."""
    study = {
        "name": name,
        "task": "classification",
        "data": {"source": "builtin", "size": 400},
        "tokenizer": {"vocab_size": 120},
        "metric": "accuracy",
        "search_space": {
            "params": {
                "arch": "cnn",
                "embedding_dim": 16,
                "filter_sizes": "2,3",
                "num_filters": 8,
                "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
                "batch_size": 32,
            }
        },
        "training": {"max_epochs": 2},
        "sampler": {"type": "random"},
    }
    study.update(fields)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def small_store(tmp_path_factory) -> Path:
    """A directory whose runs/hpo.db holds two small real studies, alpha and beta."""
    from tests.small_store import make_small_store

    return make_small_store(tmp_path_factory.mktemp("small-store"))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` are deselected where no GPU is present: not run, not skipped.

    CI machines have no GPU and fail on any skip; a GPU machine runs them
    (``benchmarks/gpu_check.py`` does, with ``-m cuda``).
    """
    needs_gpu = [item for item in items if item.get_closest_marker("cuda")]
    if not needs_gpu:
        return  # torch is imported only when a test asks for a GPU
    import torch

    if torch.cuda.is_available():
        return
    config.hook.pytest_deselected(items=needs_gpu)
    items[:] = [item for item in items if not item.get_closest_marker("cuda")]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """In CI nothing may be skipped: real databases and services must have run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") and skipped:
        terminalreporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; every test must run in CI", red=True
        )


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("CI") and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = 1


def unavailable(reason: str):
    """Skip on a user's machine; in CI a missing real component fails the run."""
    if os.environ.get("CI"):
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """Administrative URL of a real PostgreSQL server (the local one, or our own)."""
    from tests.postgres import server_url

    try:
        context = server_url()
        url = context.__enter__()
    except Exception as exc:  # no server and none could be started
        unavailable(f"no PostgreSQL server: {exc}")
    yield url
    context.__exit__(None, None, None)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty PostgreSQL database for one test."""
    from tests.postgres import fresh_database

    with fresh_database(postgres_server) as url:
        yield url
