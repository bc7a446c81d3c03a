"""The three arms of ``time_to_quality.py``: hpo's CLI, plain Optuna, the start point alone.

Each returns its timeline (:data:`quality_timeline.Event`) cut at the budget, and what its
trials did. ``hpo`` runs as a user runs it, ``hpo optimize`` in a process of its own; the
other two run in this process around the same task code (``hpo.tasks``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import optuna
from quality_tasks import ROOT
from quality_timeline import Event

STOP_GRACE_S = 300  # how long an interrupted ``hpo optimize`` may take to end its trial


@dataclass
class ArmResult:
    """One arm's run: its timeline of dev values and what its trials did."""

    arm: str
    events: list[Event]
    trials: dict[str, int] = field(default_factory=dict)
    note: str = ""
    seconds: list[dict[str, float]] = field(default_factory=list)  # start: train/val per epoch


def trial_events(trials: Sequence[optuna.trial.FrozenTrial], start: datetime) -> list[Event]:
    """(seconds since ``start``, value) of every finished trial: complete or pruned."""
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return sorted(
        ((t.datetime_complete - start).total_seconds(), t.value)
        for t in trials
        if t.state in finished
        and t.datetime_complete is not None
        and t.value is not None
        and math.isfinite(t.value)
    )


def trial_counts(trials: Sequence[optuna.trial.FrozenTrial]) -> dict[str, int]:
    return dict(Counter(t.state.name.lower() for t in trials))


# --- hpo's defaults: the CLI, stopped at the budget ------------------------------------------


def run_hpo(study_file: Path, name: str, budget: float, work: Path, log: Path) -> ArmResult:
    """``hpo optimize --timeout`` in ``work``; interrupted when the budget is spent."""
    store = work / "hpo.db"
    storage = f"sqlite:///{store}"
    command = [sys.executable, "-m", "hpo", "optimize", "--study", str(study_file)]
    command += ["--timeout", f"{budget:g}s", "--storage", storage]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=out)
        stopped = _stop_at_budget(process, store, budget)
    if process.returncode not in (0, 130):
        sys.exit(f"hpo optimize failed (exit code {process.returncode}); see {log}")
    trials = optuna.load_study(study_name=name, storage=storage).get_trials()
    if not trials:
        sys.exit(f"hpo optimize ran no trial; see {log}")
    start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    note = "stopped at the budget" if stopped else "ended by --timeout"
    return ArmResult(
        "hpo", _within(trial_events(trials, start), budget), trial_counts(trials), note
    )


def _stop_at_budget(process: subprocess.Popen, store: Path, budget: float) -> bool:
    """Wait for ``process``; Ctrl-C it once ``budget`` has passed since its first trial began.

    ``--timeout`` starts no trial after the budget but lets the running one finish, which on
    a real corpus can take as long as the budget itself.
    """
    while process.poll() is None:
        started = _first_trial_start(store)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        if started is not None and (now - started).total_seconds() >= budget:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return True
        time.sleep(1.0)
    return False


def _first_trial_start(store: Path) -> datetime | None:
    """When the store's first trial started, in UTC (Optuna's SQL stores keep naive UTC
    times); None before that."""
    if not store.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT MIN(datetime_start) FROM trials").fetchone()
    except sqlite3.Error:  # the store is still being created
        return None
    return datetime.fromisoformat(row[0]) if row and row[0] else None


# --- plain Optuna and the start point, in this process ---------------------------------------


def run_plain(study_file: Path, budget: float, work: Path) -> ArmResult:
    """TPE + SuccessiveHalving with Optuna's defaults around hpo's training code."""
    from hpo import space
    from hpo.study.objective import seed_everything, trial_seed

    config, task, data, device = _prepared(study_file, work)
    config = _once_an_epoch(config)  # and reports the epoch's number as the step

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial, config.search_space)
        seed = trial_seed(config.seed, trial.number)
        seed_everything(seed)
        splits = task.encode(data, params)
        model = task.build_model(params, splits)
        settings = task.settings(config, params, seed, splits)

        def report(record) -> None:
            trial.report(record.value(config.metric), math.ceil(record.epoch))
            if trial.should_prune():
                raise optuna.TrialPruned()

        # The trial still running at the budget fails, as the hpo arm's is interrupted.
        try:
            result = task.fit(
                model, splits, params, settings, [report], device, after_step=[_stop_at(deadline)]
            )
        except BudgetSpent:
            cut.append(trial.number)
            raise
        if result.best_value is None:
            raise ValueError("no epoch gave a finite dev value")
        return result.best_value

    study = optuna.create_study(
        direction=config.direction,
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(),
    )
    cut: list[int] = []
    start, deadline = datetime.now(), time.monotonic() + budget
    with _runs_in(work), _quiet_about(cut):
        study.optimize(objective, timeout=budget, catch=(Exception,))
    trials = study.get_trials()
    return ArmResult("plain", _within(trial_events(trials, start), budget), trial_counts(trials))


def run_start(study_file: Path, budget: float, work: Path) -> ArmResult:
    """The space's ``start`` point trained once, for up to the whole budget."""
    from hpo import space
    from hpo.study.objective import seed_everything, trial_seed

    config, task, data, device = _prepared(study_file, work)
    config = _once_an_epoch(config)
    point = config.search_space.start
    if point is None:
        sys.exit(f"{study_file}: its search space has no start point")
    params = space.suggest(optuna.trial.FixedTrial(point), config.search_space)
    seed = trial_seed(config.seed, 0)  # the seed of hpo's first trial, which is this point
    seed_everything(seed)
    events: list[Event] = []
    seconds: list[dict[str, float]] = []
    started = time.monotonic()

    def record(epoch) -> None:
        events.append((time.monotonic() - started, epoch.value(config.metric)))
        seconds.append(
            {"epoch": epoch.epoch, "train_s": epoch.train_seconds, "val_s": epoch.val_seconds}
        )

    with _runs_in(work):
        splits = task.encode(data, params)
        model = task.build_model(params, splits)
        settings = task.settings(config, params, seed, splits, max_epochs=100_000)
        try:
            task.fit(
                model,
                splits,
                params,
                settings,
                [record],
                device,
                after_step=[_stop_at(started + budget)],
            )
            stop = "its epochs ran out"
        except BudgetSpent:
            stop = "the budget"
    within = _within(events, budget)
    note = f"{len(events)} validation(s), stopped by {stop}"
    trials = {"epochs within the budget": len(within)}
    return ArmResult("start", within, trials, note, seconds)


def _once_an_epoch(config):
    """``config`` validating on all of dev at each epoch's end only, as a plain training loop
    does: no reports on a dev subset within epochs, whose noisy values would also make a
    best-so-far curve look better than all of dev would."""
    training = config.training.model_copy(update={"report_every": "1 epoch"})
    return config.model_copy(update={"training": training})


class BudgetSpent(Exception):
    """The arm's budget ran out in the middle of training."""


def _stop_at(deadline: float) -> Callable[[object], None]:
    """An ``after_step`` hook that ends training once ``deadline`` (monotonic) has passed:
    the loop's own time limit would validate the cut epoch first, minutes past the budget
    on a translation dev set, for a value that would not count."""

    def check(model: object) -> None:
        if time.monotonic() >= deadline:
            raise BudgetSpent

    return check


@contextlib.contextmanager
def _quiet_about(cut: list[int]) -> Iterator[None]:
    """Optuna logs a failed trial, with its traceback; the trials in ``cut`` (the one cut at
    the budget) made no error. Every other failure is still logged, and all are counted."""
    logger = logging.getLogger("optuna.study._optimize")

    def keep(record: logging.LogRecord) -> bool:
        return not any(record.getMessage().startswith(f"Trial {n} failed") for n in cut)

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def _prepared(study_file: Path, work: Path):
    """The study's config, task, prepared data and device, as ``hpo optimize`` has them."""
    from hpo.config import load_study_config
    from hpo.tasks import get_task
    from hpo.training.device import select_device

    config = load_study_config(str(study_file))
    task = get_task(config.task)
    with _runs_in(work):
        data = task.prepare(config)
    return config, task, data, select_device(config.training.device)


@contextlib.contextmanager
def _runs_in(work: Path) -> Iterator[None]:
    """``runs/`` (and the tokenizer cache in it) inside ``work``: every arm trains its own."""
    from hpo.run_layout import RUNS_DIR_ENV

    before = os.environ.get(RUNS_DIR_ENV)
    os.environ[RUNS_DIR_ENV] = str(work / "runs")
    try:
        yield
    finally:
        if before is None:
            del os.environ[RUNS_DIR_ENV]
        else:
            os.environ[RUNS_DIR_ENV] = before


def _within(events: list[Event], budget: float) -> list[Event]:
    return [(round(at, 1), value) for at, value in events if at <= budget]
