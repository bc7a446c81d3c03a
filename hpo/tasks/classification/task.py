"""The classification task: labelled texts, a CNN or RNN classifier, cross-entropy, accuracy.

Its pieces live in the library layers (data in :mod:`hpo.data.prepare`, models in
:mod:`hpo.models`, the step and validation in :mod:`hpo.training.classification_step`); this
module wires them into :class:`~hpo.tasks.protocol.Task`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.config import StudyConfig, cache_dir
from hpo.data import load_classification_corpus
from hpo.data.prepare import TOKENIZER_PARAMS, EncodedSplits, PreparedClassificationData
from hpo.models import build
from hpo.models.init import INIT
from hpo.params import Param
from hpo.study.trial_lookup import TrialCheckpoint
from hpo.tasks.classification import METRICS
from hpo.tasks.protocol import CheckpointContent, StudySignature, Task, UseOptions
from hpo.tasks.study_limits import study_limits
from hpo.training.loop import EpochCallback, EpochRecord, FitResult, StepCallback
from hpo.training.records import where
from hpo.training.trainer import TRAINER_PARAMS, FitSettings, evaluate, fit
from hpo.training.trivial import TrivialFloor, classification_floor

TOKENIZER_FILE = "tokenizer.model"


class ClassificationTask:
    """Text classification behind :class:`~hpo.tasks.protocol.Task`.

    Example:
        >>> from hpo.tasks import get_task
        >>> task = get_task("classification")
        >>> task.name, next(iter(task.metrics))
        ('classification', 'accuracy')
    """

    name = "classification"
    metrics: Mapping[str, str] = METRICS
    trial_params: tuple[Param, ...] = (*TRAINER_PARAMS, *TOKENIZER_PARAMS, INIT)

    def prepare(self, config: StudyConfig) -> PreparedClassificationData:
        corpus = load_classification_corpus(config.data)
        data = PreparedClassificationData(corpus, config.tokenizer, cache_dir())
        if "vocab_size" not in config.search_space.params:
            data.encoded()  # tokenizer problems surface before anything is stored
        return data

    def epoch_examples(self, config: StudyConfig, data: PreparedClassificationData) -> int:
        return len(data.corpus.train)

    def encode(self, data: PreparedClassificationData, params: Mapping[str, Any]) -> EncodedSplits:
        return data.encoded(params.get("vocab_size"))

    def build_model(self, params: Mapping[str, Any], splits: EncodedSplits) -> nn.Module:
        return build(
            self.name,
            dict(params),
            vocab_size=splits.tokenizer.vocab_size,
            num_classes=splits.num_classes,
        )

    def settings(
        self,
        config: StudyConfig,
        params: Mapping[str, Any],
        seed: int,
        splits: EncodedSplits,
        max_epochs: int | None = None,
    ) -> FitSettings:
        return FitSettings.from_params(
            dict(params),
            **study_limits(config, seed, max_epochs),
            num_classes=splits.num_classes,
        )

    def fit(
        self,
        model: nn.Module,
        splits: EncodedSplits,
        params: Mapping[str, Any],
        settings: FitSettings,
        callbacks: Sequence[EpochCallback],
        device: torch.device,
        *,
        after_step: Sequence[StepCallback] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
    ) -> FitResult:
        return fit(
            model,
            splits.train,
            splits.dev,
            dict(params),
            settings,
            callbacks,
            device=device,
            after_step=after_step,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
        )

    def score(
        self,
        model: nn.Module,
        splits: EncodedSplits,
        split: str,
        settings: FitSettings,
        device: torch.device,
    ) -> tuple[float, dict[str, float]] | None:
        data = splits.dev if split == "dev" else splits.test
        return None if data is None else evaluate(model, data, settings, device)

    def floor(self, config: StudyConfig, splits: EncodedSplits) -> TrivialFloor:
        corpus = splits.corpus
        return classification_floor(config.metric, corpus.train.labels, corpus.dev.labels)

    def trial_attrs(
        self, config: StudyConfig, splits: EncodedSplits, settings: FitSettings
    ) -> dict[str, Any]:
        return {"train_examples": len(splits.train)}

    def checkpoint(
        self, config: StudyConfig, splits: EncodedSplits, result: FitResult, settings: FitSettings
    ) -> CheckpointContent:
        tokenizer = splits.tokenizer
        meta = {
            "task": self.name,
            "vocab_size": tokenizer.vocab_size,
            "num_classes": splits.num_classes,
            "label_names": splits.corpus.label_names,
            "metric": config.metric,
            "value": result.best_value,
            "epoch": result.best_epoch,
            "max_length": tokenizer.max_length,
        }
        return CheckpointContent({TOKENIZER_FILE: tokenizer.model_path}, meta)

    def describe(self, record: EpochRecord) -> str:
        return (
            f"{where(record)}: train_loss={record.train_loss:.4f} "
            f"val_loss={record.val_loss:.4f} accuracy={record.metrics['accuracy']:.4f} "
            f"f1={record.metrics['f1']:.4f}"
        )

    def study_signature(self, config: StudyConfig) -> StudySignature | None:
        return None

    def evaluate(self, found: TrialCheckpoint, split: str, options: UseOptions) -> Any:
        from hpo.errors import BadInput
        from hpo.tasks.classification.use import evaluate_classifier

        if options.beam is not None or options.length_penalty is not None:
            raise BadInput("--beam and --length-penalty apply to translation studies only")
        return evaluate_classifier(found, split, options.device)


TASK: Task = ClassificationTask()  # mypy checks that the class fits the protocol
