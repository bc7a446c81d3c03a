"""Several worker processes on one machine sharing one study.

The parent validates the study, creates it, and starts K workers, each an ordinary
``hpo optimize`` process running its share of the trials against the same store. The
parent shows progress from the store, forwards Ctrl-C and SIGTERM, and replaces a worker
that died (SIGKILL, out of memory, a crash that exits 1): it waits until the dead worker's
trial is stale, fails it (Optuna's heartbeat callback enqueues its retry) and starts a new
worker for the rest of the dead worker's share.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from hpo.config import STORAGE_ENV

WORKER_INDEX_ENV = "HPO_WORKER_INDEX"
THREADS_ENV = "HPO_THREADS"
POLL_SECONDS = 0.5
# A worker slot whose workers died this many times in a row without finishing a trial is
# not refilled: whatever kills them (a store that is gone, a broken install) kills the next.
MAX_FRUITLESS_DEATHS = 3


def worker_name(pid: int | None = None, index: int | None = None) -> str:
    """How trials name the worker that ran them: ``host:pid`` (``/wN`` for local workers)."""
    if index is None and os.environ.get(WORKER_INDEX_ENV):
        index = int(os.environ[WORKER_INDEX_ENV])
    name = f"{socket.gethostname()}:{pid or os.getpid()}"
    return f"{name}/w{index}" if index is not None else name


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def worker_environment(
    index: int,
    n_workers: int,
    storage_url: str,
    gpus: int,
    environ: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of local worker ``index``: ``environ`` (default: this process's) plus
    the storage URL, the worker's index and thread share, and on a machine with ``gpus``
    GPUs its own GPU in turn.

    The GPU is taken from the GPUs this process may use: with ``CUDA_VISIBLE_DEVICES=2,3``
    the workers get ``2`` and ``3``, not ``0`` and ``1``.

    Example:
        >>> parent = {"CUDA_VISIBLE_DEVICES": "2,3"}
        >>> env = worker_environment(1, 2, "sqlite:///runs/hpo.db", 2, parent)
        >>> env["CUDA_VISIBLE_DEVICES"], env["HPO_WORKER_INDEX"]
        ('3', '1')
    """
    env = dict(os.environ if environ is None else environ)
    # The URL travels in the environment, never on a command line others can read.
    env[STORAGE_ENV] = storage_url
    env[WORKER_INDEX_ENV] = str(index)
    threads = str(threads_per_worker(n_workers))
    env[THREADS_ENV] = threads
    env["OMP_NUM_THREADS"] = threads
    if gpus:
        visible = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        ordinals = visible[:gpus] if len(visible) >= gpus else [str(i) for i in range(gpus)]
        env["CUDA_VISIBLE_DEVICES"] = ordinals[index % gpus]
    return env


@dataclass
class _Worker:
    index: int
    share: int | None  # None: until the timeout
    process: subprocess.Popen
    replaced: bool = False

    @property
    def name(self) -> str:
        return worker_name(self.process.pid, self.index)


class WorkerPool:
    """Starts, watches and replaces the worker processes of one ``hpo optimize`` call."""

    def __init__(
        self,
        study: optuna.Study,
        study_file: str,
        storage_url: str,
        grace_period: float,
        gpus: int = 0,
    ):
        self.study = study
        self.study_file = study_file
        self.storage_url = storage_url
        self.grace_period = grace_period
        self.gpus = gpus
        self.workers: list[_Worker] = []
        self.deadline: float | None = None
        self.fruitless_deaths: dict[int, int] = {}
        self.abandoned: list[int] = []  # worker slots not started again

    def _environment(self, index: int, n_workers: int) -> dict[str, str]:
        return worker_environment(index, n_workers, self.storage_url, self.gpus)

    def start(self, index: int, share: int | None, n_workers: int, seed: int | None) -> None:
        command = [sys.executable, "-m", "hpo", "optimize", "--study", self.study_file, "--quiet"]
        if share is not None:
            command += ["--n-trials", str(share)]
        if self.deadline is not None:
            command += ["--timeout", f"{max(1.0, self.deadline - time.monotonic()):.0f}"]
        if seed is not None:
            command += ["--seed", str(seed)]
        process = subprocess.Popen(
            command, env=self._environment(index, n_workers), stdout=subprocess.DEVNULL
        )
        self.workers.append(_Worker(index, share, process))

    def finished_by(self, name: str) -> int:
        """Trials the worker ``name`` finished; a stale one is not: its retry runs in some
        worker's share (and another worker may have failed it already)."""
        return sum(
            1
            for t in self.study.get_trials(deepcopy=False)
            if t.state.is_finished()
            and t.user_attrs.get("worker") == name
            and not str(t.user_attrs.get("fail_reason", "")).startswith("stale:")
        )

    def reported_by(self, name: str) -> bool:
        """Whether a trial of the worker ``name`` reported: its state on disk is progress a
        retry takes over (:mod:`hpo.study.trial_state`)."""
        return any(
            t.intermediate_values and t.user_attrs.get("worker") == name
            for t in self.study.get_trials(deepcopy=False)
        )

    def replace_dead(self, worker: _Worker, n_workers: int, seed: int | None) -> None:
        """Fail the dead worker's trial once it is stale, then start a worker for the rest.

        A slot whose workers die again and again without getting anywhere (no trial finished,
        no report made) is given up.
        """
        done = self.finished_by(worker.name)
        progressed = done or self.reported_by(worker.name)
        deaths = 0 if progressed else self.fruitless_deaths.get(worker.index, 0) + 1
        self.fruitless_deaths[worker.index] = deaths
        time.sleep(self.grace_period + 1)
        optuna.storages.fail_stale_trials(self.study)
        remaining = None if worker.share is None else worker.share - done
        if deaths >= MAX_FRUITLESS_DEATHS:
            self.abandoned.append(worker.index)
            print(
                f"worker {worker.index} died {deaths} times without finishing a trial or "
                "reporting; "
                "not started again",
                file=sys.stderr,
            )
        elif (remaining is None or remaining > 0) and (
            self.deadline is None or time.monotonic() < self.deadline
        ):
            self.start(worker.index, remaining, n_workers, seed)

    def interrupt(self, timeout: float = 60) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGINT)
        for worker in self.workers:
            try:
                worker.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()

    def alive(self) -> list[_Worker]:
        return [w for w in self.workers if w.process.poll() is None]


def shares(n_trials: int | None, n_workers: int) -> list[int | None]:
    """Split ``n_trials`` as evenly as possible over ``n_workers`` (no empty shares)."""
    if n_trials is None:
        return [None] * n_workers
    n_workers = min(n_workers, n_trials)
    base, extra = divmod(n_trials, n_workers)
    return [base + (1 if i < extra else 0) for i in range(n_workers)]


def run_pool(
    pool: WorkerPool,
    n_trials: int | None,
    n_workers: int,
    timeout: float | None,
    seed: int | None,
    on_finished: Callable[[optuna.trial.FrozenTrial], None],
    on_poll: Callable[[list[optuna.trial.FrozenTrial]], None] | None = None,
) -> None:
    """Run ``n_trials`` over ``n_workers`` processes; ``on_finished(trial)`` for each new one,
    and ``on_poll(trials)`` with all the study's trials each time the store is read.

    Raises ``KeyboardInterrupt`` after the workers have stopped when interrupted.
    """
    if timeout is not None:
        pool.deadline = time.monotonic() + timeout
    seen = {t.number for t in pool.study.get_trials(deepcopy=False) if t.state.is_finished()}
    worker_shares = shares(n_trials, n_workers)

    def report_new() -> None:
        trials = pool.study.get_trials(deepcopy=False)
        if on_poll is not None:
            on_poll(trials)
        for trial in trials:
            if trial.state.is_finished() and trial.number not in seen:
                seen.add(trial.number)
                on_finished(trial)

    try:
        for index, share in enumerate(worker_shares):
            pool.start(index, share, len(worker_shares), seed)
        while pool.alive() or any(_died(w) for w in pool.workers):
            for worker in list(pool.workers):
                if _died(worker):
                    worker.replaced = True
                    pool.replace_dead(worker, len(worker_shares), seed)
            report_new()
            time.sleep(POLL_SECONDS)
        report_new()
    except KeyboardInterrupt:
        pool.interrupt()
        report_new()
        raise


def _died(worker: _Worker) -> bool:
    """A worker that ended without finishing its share: killed or crashed (exit 1), not
    stopped by bad input (2) or an interrupt (130)."""
    code = worker.process.poll()
    return not worker.replaced and code is not None and code not in (0, 2, 130)


__all__ = [
    "WorkerPool",
    "run_pool",
    "shares",
    "threads_per_worker",
    "worker_environment",
    "worker_name",
]
