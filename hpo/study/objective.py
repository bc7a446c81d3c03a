"""The objective: trial -> params -> model -> fit -> the trial's value, for every task.

It is a recipe over the study's :class:`~hpo.tasks.protocol.Task`: it wires config, data,
model, the one training loop, callbacks and checkpoints, and owns no training logic and no
knowledge of any one task.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import torch

from hpo import space
from hpo.checkpoints import save_checkpoint
from hpo.config import StudyConfig
from hpo.models import count_parameters
from hpo.run_layout import trial_dir
from hpo.study.kept_trials import would_be_kept
from hpo.study.logs import EpochLog
from hpo.study.pruning import PruningCallback, first_rung
from hpo.study.start_points import START_ATTR
from hpo.study.too_slow import TrialOverheads, prune_too_slow, trial_limit
from hpo.study.train_on import (
    CONTINUES_ATTR,
    KEPT_STATE_ATTR,
    TRAIN_ON_EPOCHS,
    sampled_reserve,
    worth_keeping,
)
from hpo.study.trial_cost import RunningCost, record_cost, since
from hpo.study.trial_outcome import recording_failure, require_finite_value
from hpo.study.trial_state import RESUME_ATTR, drop_state, reports_so_far, take_over_state
from hpo.study.workers import THREADS_ENV, worker_name
from hpo.tasks import get_task
from hpo.training import EpochRecord, FitResult
from hpo.training.device import describe, select_device
from hpo.training.loop import EpochCallback, TooSlowError
from hpo.training.precision import precision_name


def trial_seed(study_seed: int, trial_number: int) -> int:
    """The seed of one trial: fixed by the study seed and the trial number, so reproducible."""
    return (study_seed * 1_000_003 + trial_number * 7919 + 17) % (2**31 - 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


class Objective:
    """Callable objective for :meth:`optuna.Study.optimize`.

    ``data`` is what the study's task prepared (:meth:`~hpo.tasks.protocol.Task.prepare`).

    Example:
        .. code-block:: python

            objective = Objective(config, data, study_dir=Path("runs/demo"))
            study.optimize(objective, n_trials=20)
    """

    def __init__(self, config: StudyConfig, data: Any, study_dir: Path):
        self.config = config
        self.task = get_task(config.task)
        self.data = data
        self.study_dir = study_dir
        threads = config.training.threads or int(os.environ.get(THREADS_ENV, 0))
        if threads:
            torch.set_num_threads(threads)
        self.device = select_device(config.training.device)
        self.worker = worker_name()
        self.epoch_log = EpochLog(study_dir / "epochs.csv", worker=self.worker)
        self.fixed = space.fixed_values(config.search_space)
        # The epoch the pruner's resources are counted in (see hpo.study.pruning.pruner_step).
        self.study_epoch = self.task.epoch_examples(config, data)
        # Set by the runner while a progress display is up: (trial, its time limit in
        # seconds) -> a report callback.
        self.progress: Callable[[optuna.Trial, float | None], EpochCallback] | None = None
        # Set by the runner when the study has a timeout: its length, and its end on the
        # monotonic clock.
        self.study_timeout: float | None = None
        self.study_deadline: float | None = None
        # Set by the runner where the best trial trains on at the study's end: how long
        # that final stretch is (hpo.study.train_on).
        self.final_stretch = 0.0
        # What this process's trials spent outside their training loops, measured around
        # each: a trial stopped at the study's end keeps for its own end what they took.
        self.overheads = TrialOverheads()

    def describe_device(self) -> str:
        """Where this process's trials train and what they compute in there, as
        ``cpu (2 threads, float32)``."""
        return describe(self.device, precision_name(self.device, self.config.training.amp))

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.config
        params = space.suggest(trial, config.search_space)
        resumed = isinstance(trial.user_attrs.get(RESUME_ATTR), int)
        # A retry of a dead trial continues it: the same seed, not one of its own number.
        seed = (
            int(trial.user_attrs["seed"])
            if resumed and "seed" in trial.user_attrs
            else trial_seed(config.seed, trial.number)
        )
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("device", self.describe_device())
        if self.fixed:
            trial.set_user_attr("fixed_params", self.fixed)

        seed_everything(seed)
        # Everything of the trial's own making (the model, its training) is recorded as
        # the trial's failure and the study goes on.
        with recording_failure(trial):
            return self._train(trial, params, seed)

    def _train(self, trial: optuna.Trial, params: dict[str, Any], seed: int) -> float:
        config, task = self.config, self.task
        splits = task.encode(self.data, params)
        model = task.build_model(params, splits)
        trial.set_user_attr("n_params", count_parameters(model))
        settings = task.settings(config, params, seed, splits)
        for name, value in task.trial_attrs(config, splits, settings).items():
            trial.set_user_attr(name, value)

        def log_epoch(record: EpochRecord) -> None:
            # At the step the pruning callback stores the value at (called after this).
            self.epoch_log.append(trial.number, record, pruning.step(record))

        # A trial training the best on (hpo.study.train_on) has no max_epochs of its own
        # and is not pruned: it is the best configuration, going on from where it stopped.
        training_on = CONTINUES_ATTR in trial.user_attrs
        if training_on:
            settings.max_epochs = TRAIN_ON_EPOCHS
            # Nothing judges its reports: under ``auto`` the dev subset's would be pure cost.
            if settings.report_every == "auto":
                settings.report_every = "1 epoch"
        pruning = PruningCallback(
            trial,
            config.metric,
            task.floor(config, splits),
            first_rung(config.pruner),
            config.training.max_epochs,
            self.study_epoch,
            judge=not training_on,
        )
        # Known-good configurations get their full training; sampled ones a share of the
        # budget at most (see hpo.study.too_slow.trial_limit), ending before the final
        # stretch where there is a best trial to train on then. A trial training on has
        # all of the stretch: the trial time limit bounds the search's trials (the IWSLT
        # study's 90 minutes would otherwise end its 3-hour stretch half-way).
        training = config.training
        start_point = bool(trial.user_attrs.get(START_ATTR))
        stretch = self.final_stretch
        reserve = 0.0 if start_point else sampled_reserve(trial.study, self.study_dir, stretch)
        self.overheads.limit_set()
        limit = trial_limit(
            None if training_on else training.trial_time_limit,
            None if start_point else training.trial_share,
            self.study_timeout,
            self.study_deadline,
            reserve,
            self.overheads.longest,
        )
        settings.time_limit = settings.first_report_limit = None
        if limit is not None:
            settings.time_limit, settings.first_report_limit = limit.seconds, limit
            trial.set_user_attr("time_limit_s", round(limit.seconds, 1))
        callbacks: list[EpochCallback] = [log_epoch]
        if self.progress is not None:
            callbacks.append(self.progress(trial, settings.time_limit))
        callbacks.append(pruning)
        state_dir = trial_dir(self.study_dir, trial.number)
        resume = take_over_state(trial, self.study_dir)
        before = RunningCost()  # what the trial trained on had spent
        keep_state = False
        try:
            if resume:
                trial.set_user_attr("resumed", True)
                for record in reports_so_far(state_dir):
                    # A retry's reports are its own; those of the trial trained on are not.
                    for callback in [before.add] if training_on else callbacks:
                        callback(record)
            elif training_on:
                gone = f"trial {trial.user_attrs[CONTINUES_ATTR]}'s training state is gone"
                trial.set_user_attr("stop_reason", gone)
                raise optuna.TrialPruned(gone)
            with self.overheads.loop():
                result = task.fit(
                    model,
                    splits,
                    params,
                    settings,
                    callbacks,
                    self.device,
                    checkpoint_dir=state_dir,
                    resume=resume,
                )
            keep_state = self._keeps_state(trial, params, result)
        except TooSlowError as error:
            prune_too_slow(trial, error)
        finally:
            if not keep_state:
                drop_state(state_dir)
        record_cost(trial, since(result, before))
        _, best_state = require_finite_value(trial, result)
        history = result.history
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("stop_reason", result.stop_reason)
        tokens_per_s = sum(r.tokens_per_s for r in history) / len(history)
        trial.set_user_attr("tokens_per_s", round(tokens_per_s, 1))
        value = self._value(result)

        if would_be_kept(trial.study, value, config.keep_checkpoints):
            content = task.checkpoint(config, splits, result, settings)
            save_checkpoint(
                trial_dir(self.study_dir, trial.number),
                state_dict=best_state,
                params={**self.fixed, **params},
                files=content.files,
                meta=content.meta,
            )
        return value

    def _value(self, result: FitResult) -> float:
        """The trial's value: its best dev value, or its last (``objective_value``)."""
        if self.config.objective_value == "best" and result.best_value is not None:
            return result.best_value
        return result.history[-1].value(self.config.metric)

    def _keeps_state(self, trial: optuna.Trial, params: dict[str, Any], result: FitResult) -> bool:
        """Whether the trial keeps its training state for training on, marked where it does."""
        if not result.history:
            return False
        value = self._value(result)
        keep = math.isfinite(value) and worth_keeping(
            trial,
            self.config,
            params,
            value,
            (result.best_epoch, int(result.history[-1].epoch)),
            result.stop_reason,
            self.final_stretch,
        )
        if keep:
            trial.set_user_attr(KEPT_STATE_ATTR, True)
        return keep
