"""The objective: trial -> params -> model -> fit -> the trial's value.

It is a recipe: it wires config, data, model, trainer, callbacks and checkpoints, and owns
no training logic of its own.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import torch

from hpo import space
from hpo.config import StudyConfig
from hpo.data.prepare import PreparedClassificationData
from hpo.models import build, count_parameters
from hpo.run_layout import trial_dir
from hpo.study.checkpoints import save_checkpoint, would_be_kept
from hpo.study.logs import EpochLog
from hpo.study.pruning import PruningCallback, first_rung
from hpo.study.trial_cost import record_cost
from hpo.study.trial_outcome import recording_failure, require_finite_value
from hpo.study.trivial import classification_floor
from hpo.study.workers import THREADS_ENV, worker_name
from hpo.training import EpochRecord, FitSettings, fit
from hpo.training.device import describe, select_device
from hpo.training.trainer import EpochCallback

if TYPE_CHECKING:
    from hpo.data.prepare_translation import PreparedTranslationData


def trial_seed(study_seed: int, trial_number: int) -> int:
    """The seed of one trial: fixed by the study seed and the trial number, so reproducible."""
    return (study_seed * 1_000_003 + trial_number * 7919 + 17) % (2**31 - 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


class Objective:
    """Callable objective for :meth:`optuna.Study.optimize`.

    Example:
        .. code-block:: python

            objective = Objective(config, data, study_dir=Path("runs/demo"))
            study.optimize(objective, n_trials=20)
    """

    def __init__(
        self,
        config: StudyConfig,
        data: PreparedClassificationData | PreparedTranslationData,
        study_dir: Path,
    ):
        self.config = config
        self.data = data
        self.study_dir = study_dir
        threads = config.training.threads or int(os.environ.get(THREADS_ENV, 0))
        if threads:
            torch.set_num_threads(threads)
        self.device = select_device(config.training.device)
        self.worker = worker_name()
        self.epoch_log = EpochLog(study_dir / "epochs.csv", worker=self.worker)
        self.fixed = space.fixed_values(config.search_space)
        self.floor = (
            classification_floor(config.metric, data.corpus.train.labels, data.corpus.dev.labels)
            if isinstance(data, PreparedClassificationData)
            else None
        )

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.config
        params = space.suggest(trial, config.search_space)
        seed = trial_seed(config.seed, trial.number)
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("device", describe(self.device))
        if self.fixed:
            trial.set_user_attr("fixed_params", self.fixed)

        seed_everything(seed)
        # Everything of the trial's own making (the model, its training) is recorded as
        # the trial's failure and the study goes on.
        with recording_failure(trial):
            return self._train(trial, params, seed)

    def _train(self, trial: optuna.Trial, params: dict[str, Any], seed: int) -> float:
        config = self.config
        data = self.data
        if not isinstance(data, PreparedClassificationData):
            from hpo.study.translation.objective import translation_trial

            return translation_trial(
                trial,
                params,
                seed,
                config=config,
                data=data,
                study_dir=self.study_dir,
                device=self.device,
                epoch_log=self.epoch_log,
                fixed=self.fixed,
            )
        splits = data.encoded(params.get("vocab_size"))
        model = build(
            config.task,
            params,
            vocab_size=splits.tokenizer.vocab_size,
            num_classes=data.corpus.num_classes,
        )
        trial.set_user_attr("n_params", count_parameters(model))
        settings = FitSettings.from_params(
            params,
            max_epochs=config.training.max_epochs,
            metric=config.metric,
            maximize=config.direction == "maximize",
            time_limit=config.training.trial_time_limit,
            seed=seed,
            amp=config.training.amp,
            num_classes=data.corpus.num_classes,
            report_every=config.training.report_every,
        )

        def log_epoch(record: EpochRecord) -> None:
            self.epoch_log.append(trial.number, record)

        pruning = PruningCallback(
            trial, config.metric, self.floor, first_rung(config.pruner), config.training.max_epochs
        )
        callbacks: list[EpochCallback] = [log_epoch, pruning]
        result = fit(
            model, splits.train, splits.dev, params, settings, callbacks, device=self.device
        )
        record_cost(trial, result)
        best_value, best_state = require_finite_value(trial, result)
        last = result.history[-1]
        tokens_per_s = sum(r.tokens_per_s for r in result.history) / len(result.history)
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("stop_reason", result.stop_reason)
        trial.set_user_attr("tokens_per_s", round(tokens_per_s, 1))
        value = best_value if config.objective_value == "best" else last.value(config.metric)

        if would_be_kept(trial.study, value, config.keep_checkpoints):
            save_checkpoint(
                trial_dir(self.study_dir, trial.number),
                state_dict=best_state,
                params={**self.fixed, **params},
                tokenizer_model=splits.tokenizer.model_path,
                meta=classifier_checkpoint_meta(config, data.corpus, splits.tokenizer, result),
            )
        return value


def classifier_checkpoint_meta(config: StudyConfig, corpus, tokenizer, result) -> dict[str, Any]:
    """What a classifier checkpoint holds besides its weights, to be loaded on its own."""
    return {
        "task": config.task,
        "vocab_size": tokenizer.vocab_size,
        "num_classes": corpus.num_classes,
        "label_names": corpus.label_names,
        "metric": config.metric,
        "value": result.best_value,
        "epoch": result.best_epoch,
        "max_length": tokenizer.max_length,
    }
