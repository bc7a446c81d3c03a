"""The translation task: sentence pairs, an RNN or Transformer encoder-decoder, BLEU.

Its pieces live in the library layers (data in :mod:`hpo.data.prepare_translation`, models
in :mod:`hpo.models`, the step and validation in :mod:`hpo.training.translation_step`); this
module wires them into :class:`~hpo.tasks.protocol.Task`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpo.config import StudyConfig, cache_dir
from hpo.data.parallel_sources import load_translation_corpus
from hpo.data.prepare_translation import (
    TRANSLATION_TOKENIZER_PARAMS,
    PreparedTranslationData,
    TranslationSplits,
)
from hpo.errors import BadInput
from hpo.models import build
from hpo.models.init import INIT
from hpo.params import Param
from hpo.study.trial_lookup import TrialCheckpoint
from hpo.tasks.protocol import CheckpointContent, StudySignature, Task, UseOptions
from hpo.tasks.study_limits import study_limits
from hpo.tasks.translation import METRICS
from hpo.tasks.translation.signature import SIGNATURE_ATTR, bleu_signature, study_bleu_tokenize
from hpo.training.loop import EpochCallback, EpochRecord, FitResult, StepCallback
from hpo.training.records import where
from hpo.training.seq2seq_trainer import (
    SEQ2SEQ_TRAINER_PARAMS,
    Seq2SeqResult,
    Seq2SeqSettings,
    eval_batch_tokens,
    fit_seq2seq,
    translation_task,
)
from hpo.training.trivial import TrivialFloor, translation_floor

SRC_TOKENIZER_FILE = "src.model"
TGT_TOKENIZER_FILE = "tgt.model"


class TranslationTask:
    """Translation behind :class:`~hpo.tasks.protocol.Task`.

    Example:
        >>> from hpo.tasks import get_task
        >>> task = get_task("translation")
        >>> task.name, dict(task.metrics)["ppl"]
        ('translation', 'minimize')
    """

    name = "translation"
    metrics: Mapping[str, str] = METRICS
    trial_params: tuple[Param, ...] = (*SEQ2SEQ_TRAINER_PARAMS, *TRANSLATION_TOKENIZER_PARAMS, INIT)

    def prepare(self, config: StudyConfig) -> PreparedTranslationData:
        corpus = load_translation_corpus(config.data)
        data = PreparedTranslationData(corpus, config.tokenizer, config.translation, cache_dir())
        searched = config.search_space.params
        if "src_vocab_size" not in searched and "tgt_vocab_size" not in searched:
            data.encoded()  # tokenizer problems surface before anything is stored
        return data

    def epoch_examples(self, config: StudyConfig, data: PreparedTranslationData) -> int:
        # After the length filter, unless the vocabularies are searched: the filter counts
        # subwords, so each trial's epoch may then differ a little (the split as loaded).
        searched = config.search_space.params
        if "src_vocab_size" not in searched and "tgt_vocab_size" not in searched:
            return len(data.encoded().train)
        return len(data.corpus.train)

    def encode(self, data: PreparedTranslationData, params: Mapping[str, Any]) -> TranslationSplits:
        return data.encoded(params.get("src_vocab_size"), params.get("tgt_vocab_size"))

    def build_model(self, params: Mapping[str, Any], splits: TranslationSplits) -> nn.Module:
        return build(
            self.name,
            dict(params),
            src_vocab_size=splits.src_tokenizer.vocab_size,
            tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
        )

    def settings(
        self,
        config: StudyConfig,
        params: Mapping[str, Any],
        seed: int,
        splits: TranslationSplits,
        max_epochs: int | None = None,
    ) -> Seq2SeqSettings:
        limits = config.translation
        return Seq2SeqSettings.from_params(
            dict(params),
            **study_limits(config, seed, max_epochs),
            max_output_ratio=limits.max_output_ratio,
            max_output_offset=limits.max_output_offset,
            bleu_tokenize=study_bleu_tokenize(config),
        )

    def fit(
        self,
        model: nn.Module,
        splits: TranslationSplits,
        params: Mapping[str, Any],
        settings: Seq2SeqSettings,
        callbacks: Sequence[EpochCallback],
        device: torch.device,
        *,
        after_step: Sequence[StepCallback] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
    ) -> FitResult:
        return fit_seq2seq(
            model,
            splits,
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
        splits: TranslationSplits,
        split: str,
        settings: Seq2SeqSettings,
        device: torch.device,
    ) -> tuple[float, dict[str, float]] | None:
        if split == "test":
            if splits.test is None or splits.test_references is None:
                return None
            # Validation scores the ``dev`` fields: the test split in their place.
            splits = replace(splits, dev=splits.test, dev_references=splits.test_references)
        return translation_task(splits, settings, device).validate(model)

    def floor(self, config: StudyConfig, splits: TranslationSplits) -> TrivialFloor:
        return translation_floor(config.metric, splits.tgt_tokenizer.vocab_size)

    def trial_attrs(
        self, config: StudyConfig, splits: TranslationSplits, settings: Seq2SeqSettings
    ) -> dict[str, Any]:
        # The signature says how every reported BLEU is computed, pruned trials' included.
        return {
            SIGNATURE_ATTR: bleu_signature(settings.bleu_tokenize),
            "train_pairs": len(splits.train),
        }

    def checkpoint(
        self,
        config: StudyConfig,
        splits: TranslationSplits,
        result: FitResult,
        settings: Seq2SeqSettings,
    ) -> CheckpointContent:
        best = result.epoch_record(result.best_epoch) if result.best_epoch else result.history[-1]
        src_lang, tgt_lang = config.language_pair()
        meta = {
            "task": self.name,
            "src_lang": src_lang,
            "tgt_lang": tgt_lang,
            "src_vocab_size": splits.src_tokenizer.vocab_size,
            "tgt_vocab_size": splits.tgt_tokenizer.vocab_size,
            "max_length": splits.src_tokenizer.max_length,
            "metric": config.metric,
            "value": result.best_value,
            "epoch": result.best_epoch,
            "bleu": best.metrics["bleu"],
            "chrf": best.metrics["chrf"],
            "ppl": best.metrics["ppl"],
            "signature": result.signature if isinstance(result, Seq2SeqResult) else "",
            "bleu_tokenize": settings.bleu_tokenize,
            "max_output_ratio": settings.max_output_ratio,
            "max_output_offset": settings.max_output_offset,
            "eval_batch_tokens": eval_batch_tokens(settings),
        }
        files = {
            SRC_TOKENIZER_FILE: splits.src_tokenizer.model_path,
            TGT_TOKENIZER_FILE: splits.tgt_tokenizer.model_path,
        }
        return CheckpointContent(files, meta)

    def describe(self, record: EpochRecord) -> str:
        return (
            f"{where(record)}: train_loss={record.train_loss:.4f} "
            f"bleu={record.metrics['bleu']:.2f} chrf={record.metrics['chrf']:.2f} "
            f"ppl={record.metrics['ppl']:.2f}"
        )

    def study_signature(self, config: StudyConfig) -> StudySignature:
        return StudySignature(
            SIGNATURE_ATTR,
            bleu_signature(study_bleu_tokenize(config)),
            "BLEU",
            "give translation.bleu_tokenize and sacrebleu as the study has",
        )

    def evaluate(self, found: TrialCheckpoint, split: str, options: UseOptions) -> Any:
        from hpo.tasks.translation.use import evaluate_split

        if options.beam is not None and options.beam < 1:
            raise BadInput(f"--beam must be at least 1, got {options.beam}")
        return evaluate_split(
            found,
            split,
            beam=1 if options.beam is None else options.beam,
            length_penalty=1.0 if options.length_penalty is None else options.length_penalty,
            device=options.device,
        )


TASK: Task = TranslationTask()  # mypy checks that the class fits the protocol
