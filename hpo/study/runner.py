"""Running a study: create or load it, run trials, keep logs and checkpoints in step."""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo import __version__, space
from hpo.config import StudyConfig, resolve_storage, study_dir_for
from hpo.errors import BadInput
from hpo.grid_count import MAX_GRID_POINTS
from hpo.study import start_points
from hpo.study import train_on as train_on_best
from hpo.study.kept_trials import prune_checkpoints
from hpo.study.library_output import routes_library_output
from hpo.study.logs import sync_logs, write_trials_csv
from hpo.study.objective import Objective
from hpo.study.params_check import check_search_space
from hpo.study.progress import ProgressDisplay, StoredReports
from hpo.study.retries import retry_failed_trial
from hpo.study.samplers import build_pruner, build_sampler
from hpo.study.storage import check_storage, mask_url, open_storage
from hpo.study.study_signature import agree_on_signature
from hpo.study.too_slow import room_for_another_trial
from hpo.study.trial_outcome import TrialFailed, release_memory
from hpo.study.workers import WORKER_INDEX_ENV, WorkerPool, run_pool
from hpo.tasks import get_task
from hpo.training import DivergedError
from hpo.training.device import select_device

DEFAULT_N_TRIALS = 20

Echo = Callable[[str], None]


@dataclass
class RunSummary:
    """What one ``optimize`` or ``grid_search`` call did."""

    study_name: str
    storage: str  # password masked
    study_dir: Path
    new_trials: int
    counts: dict[str, int] = field(default_factory=dict)
    best_number: int | None = None
    best_value: float | None = None
    interrupted: bool = False
    warnings_log: Path | None = None  # where this run's library warnings went, if any
    abandoned_workers: int = 0  # worker slots given up after dying again and again

    @property
    def failed(self) -> bool:
        """Whether the run could not do what it was asked (exit code 1)."""
        return self.abandoned_workers > 0

    def text(self) -> str:
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.counts.items()))
        best = (
            f"best trial {self.best_number}: {self.best_value:.4g}"
            if self.best_number is not None
            else "no complete trial yet"
        )
        head = "interrupted" if self.interrupted else "done"
        notes = f"; library warnings in {self.warnings_log}" if self.warnings_log else ""
        if self.abandoned_workers:
            notes += f"; {self.abandoned_workers} worker(s) gave up (see above)"
        return (
            f"{head}: study {self.study_name} ran {self.new_trials} new trial(s); "
            f"store has {counts or 'no trials'}; {best}; logs in {self.study_dir}{notes}"
        )


def _apply_seed(config: StudyConfig, seed: int | None) -> None:
    if seed is not None:
        config.seed = seed
        config.sampler.seed = seed


def create_or_load_study(
    config: StudyConfig, storage_url: str, epoch_examples: int
) -> optuna.Study:
    """The study named in ``config``, created on first use; its direction (and the signature
    of its metric, where the task has one: sacrebleu's for BLEU) must not change. The pruner's
    steps count training examples, ``epoch_examples`` to an epoch."""
    signature = get_task(config.task).study_signature(config)
    storage = open_storage(storage_url, config.heartbeat)
    sampler = build_sampler(config.sampler)
    pruner = build_pruner(config.pruner, config.training.max_epochs, epoch_examples)
    try:
        study = optuna.load_study(
            study_name=config.name, storage=storage, sampler=sampler, pruner=pruner
        )
    except KeyError:
        study = optuna.create_study(
            study_name=config.name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            direction=config.direction,
        )
    if study.direction.name.lower() != config.direction:
        raise BadInput(
            f"study {config.name!r} in the store is to {study.direction.name.lower()}, "
            f"but its study file says {config.direction}"
        )
    if signature is not None:
        agree_on_signature(study, signature)
    study.set_user_attr("task", config.task)
    study.set_user_attr("metric", config.metric)
    study.set_user_attr("hpo_version", __version__)
    study.set_user_attr("study_file", str(config.path) if config.path else "")
    study.set_user_attr("config", json.loads(config.model_dump_json(exclude={"storage", "path"})))
    study.set_user_attr("epoch_examples", epoch_examples)
    return study


def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)


class _Session:
    """What optimize and grid_search share: a validated config, data, a study and its logs."""

    def __init__(self, config: StudyConfig, storage: str | None, seed: int | None, echo: Echo):
        _quiet_optuna()
        _apply_seed(config, seed)
        if os.environ.get(WORKER_INDEX_ENV):
            # Workers of one run must not sample the same sequence of points.
            config.sampler.seed = (config.sampler.seed or 0) + int(os.environ[WORKER_INDEX_ENV])
        self.config = config
        self.storage_url = resolve_storage(storage, config)
        check_storage(self.storage_url)
        check_search_space(config.search_space, config.task, str(config.path or ""))
        select_device(config.training.device)  # CUDA asked for but absent: before any storing
        task = get_task(config.task)
        self.data = task.prepare(config)
        for note in self.data.corpus.notes:  # rows the corpus left out
            echo(note)
        self.study = create_or_load_study(
            config, self.storage_url, task.epoch_examples(config, self.data)
        )
        self.study_dir = study_dir_for(config.name)
        self.study_dir.mkdir(parents=True, exist_ok=True)
        self.objective = Objective(config, self.data, self.study_dir)
        echo(f"training on {self.objective.describe_device()}")
        self.before = len(self.study.get_trials(deepcopy=False))
        sync_logs(self.study, self.study_dir)

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == TrialState.FAIL:
            release_memory()
            retry_failed_trial(study, trial, self.config.retry)
        write_trials_csv(study, self.study_dir / "trials.csv")
        prune_checkpoints(study, self.study_dir, self.config.keep_checkpoints)

    def run(
        self,
        n_trials: int | None,
        timeout: float | None,
        extra_callbacks: list | None = None,
        quiet: bool = False,
        train_on: bool = False,
    ) -> RunSummary:
        interrupted = False
        deadline = time.monotonic() + timeout if timeout else None
        began = datetime.datetime.now()  # the run's own trials set its pace
        training = self.config.training
        stretch = train_on_best.final_stretch(training, timeout) if train_on else 0.0
        finished = 0  # this run's trials so far
        overheads = self.objective.overheads
        with ProgressDisplay(self.study, n_trials, quiet=quiet) as display:

            def stop_near_the_end(study: optuna.Study, trial: FrozenTrial) -> None:
                if not room_for_another_trial(timeout, deadline, overheads.longest):
                    study.stop()

            def train_the_best_on(study: optuna.Study, trial: FrozenTrial) -> None:
                nonlocal finished
                finished += 1
                train_on_best.drop_outdated_states(study, self.study_dir, stretch)
                pace = train_on_best.trial_pace(study, began)
                # Not where no trial would start (out of time, or --n-trials reached): the
                # enqueued one would wait in the store.
                if n_trials is None or finished < n_trials:
                    when = (stretch, timeout, deadline, pace, overheads.longest)
                    if not train_on_best.enqueue_when_due(study, self.study_dir, *when):
                        study.stop()  # in the stretch with nothing to train in it

            callbacks: list[Callable[[optuna.Study, FrozenTrial], None]]
            callbacks = [self.after_trial, overheads, display, stop_near_the_end]
            callbacks += extra_callbacks or []
            if stretch:
                callbacks.insert(2, train_the_best_on)
            self.objective.progress = lambda trial, limit: display.for_trial(
                trial,
                self.config.metric,
                None if train_on_best.CONTINUES_ATTR in trial.user_attrs else training.max_epochs,
                limit,
                deadline,
            )
            self.objective.study_timeout = timeout
            self.objective.study_deadline = deadline
            self.objective.final_stretch = stretch
            try:
                self.study.optimize(
                    self.objective,
                    n_trials=n_trials,
                    timeout=timeout,
                    catch=(DivergedError, TrialFailed),
                    callbacks=callbacks,
                )
            except KeyboardInterrupt:
                interrupted = True
            finally:
                self.close()
        return self.summary(interrupted)

    def run_workers(self, n_trials: int | None, timeout: float | None, workers: int) -> RunSummary:
        """Run the trials in ``workers`` processes; this process shows progress."""
        import torch

        pool = WorkerPool(
            self.study,
            study_file=str(self.config.path),
            storage_url=self.storage_url,
            grace_period=self.config.heartbeat.grace_period,
            gpus=torch.cuda.device_count() if torch.cuda.is_available() else 0,
        )
        interrupted = False
        training = self.config.training
        deadline = time.monotonic() + timeout if timeout else None
        with ProgressDisplay(self.study, n_trials, show_worker=True) as display:
            reports = StoredReports(
                display.trial_line,
                self.config.metric,
                training.max_epochs,
                deadline,
            )
            try:
                run_pool(
                    pool,
                    n_trials,
                    workers,
                    timeout,
                    self.config.seed,
                    on_finished=lambda trial: display(self.study, trial),
                    on_poll=reports,
                )
            except KeyboardInterrupt:
                interrupted = True
            finally:
                self.close()
        summary = self.summary(interrupted)
        summary.abandoned_workers = len(pool.abandoned)
        return summary

    def close(self) -> None:
        train_on_best.drop_outdated_states(self.study, self.study_dir)
        sync_logs(self.study, self.study_dir)
        prune_checkpoints(self.study, self.study_dir, self.config.keep_checkpoints)

    def summary(self, interrupted: bool = False) -> RunSummary:
        trials = self.study.get_trials(deepcopy=False)
        counts = Counter(t.state.name for t in trials)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        summary = RunSummary(
            study_name=self.config.name,
            storage=mask_url(self.storage_url),
            study_dir=self.study_dir,
            new_trials=len(trials) - self.before,
            counts=dict(counts),
            interrupted=interrupted,
        )
        if complete:
            best = self.study.best_trial
            summary.best_number, summary.best_value = best.number, best.value
        return summary


@routes_library_output
def optimize(
    config: StudyConfig,
    *,
    storage: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    seed: int | None = None,
    workers: int = 1,
    quiet: bool = False,
    warm_start: str | None = None,
    top: int = 5,
    echo: Echo = print,
) -> RunSummary:
    """Run (or continue) the study of ``config`` with its sampler and pruner.

    Stops after ``n_trials`` new trials or ``timeout`` seconds, whichever comes first; with
    neither given here or in the study file, after 20 trials. With ``workers`` > 1 the
    trials run in that many processes sharing the study (``n_trials`` in all).

    A new study runs its space's ``start`` point and its ``start_with`` points first;
    ``warm_start`` names another study whose ``top`` best configurations run first.

    Example:
        .. code-block:: python

            from hpo.config import load_study_config
            from hpo.study import optimize

            summary = optimize(load_study_config("demo"), n_trials=8)
            print(summary.best_value)
    """
    if n_trials is not None and n_trials < 1:
        raise BadInput(f"--n-trials must be at least 1, got {n_trials}")
    if workers < 1:
        raise BadInput(f"--workers must be at least 1, got {workers}")
    warm: list[start_points.StartPoint] = []
    if warm_start is not None:
        warm, notes = start_points.warm_start_points(
            warm_start, top, config, resolve_storage(storage, config), storage
        )
        for note in notes:
            echo(note)
    session = _Session(config, storage, seed, echo)
    first = start_points.configured_points(config) if session.before == 0 else []
    start_points.enqueue(session.study, first + warm, echo)
    n_trials = n_trials or config.n_trials
    timeout = timeout or config.timeout
    if n_trials is None and timeout is None:
        n_trials = DEFAULT_N_TRIALS
    if workers > 1:
        return session.run_workers(n_trials, timeout, workers)
    return session.run(n_trials, timeout, quiet=quiet, train_on=True)


@routes_library_output
def grid_search(
    config: StudyConfig,
    *,
    storage: str | None = None,
    timeout: float | None = None,
    seed: int | None = None,
    echo: Echo = print,
) -> RunSummary:
    """Run every point of the study's finite search space not yet run; pruning still applies."""
    infinite = space.infinite_params(config.search_space)
    if infinite:
        raise BadInput(
            f"grid search needs a finite search space: {', '.join(map(repr, infinite))} "
            "is a float without step or grid"
        )
    size = space.grid_size(config.search_space)
    if size > MAX_GRID_POINTS:
        raise BadInput(
            f"grid search: the search space has {size:,} points, more than {MAX_GRID_POINTS:,}: "
            "give its wide parameters a coarser step or a grid list"
        )
    points = list(space.grid_points(config.search_space))
    echo(f"grid: {len(points)} points")
    session = _Session(config, storage, seed, echo)
    study = session.study
    fixed = space.fixed_values(config.search_space)

    def key(trial_params: dict, trial_fixed: dict) -> str:
        # Fixed values count as part of a point: a value fixed before and searched now
        # (or the other way round) still matches.
        return space.point_key({**trial_fixed, **trial_params})

    taken = {
        key(t.params, t.user_attrs.get("fixed_params", {}))
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    }
    waiting = {
        key(t.system_attrs.get("fixed_params", {}), fixed)
        for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    }
    todo = [p for p in points if key(p, fixed) not in taken]
    for point in todo:
        if key(point, fixed) not in waiting:
            study.enqueue_trial(point)
    echo(f"grid: {len(points) - len(todo)} done before, {len(todo)} to run")
    if not todo:
        return session.summary()

    def stop_when_queue_empty(study: optuna.Study, _trial) -> None:
        if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            study.stop()

    return session.run(len(todo), timeout, [stop_when_queue_empty])
