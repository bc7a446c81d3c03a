"""The translation recipe of a trial: params -> vocabularies -> seq2seq model -> fit -> value.

Like the classification recipe in :mod:`hpo.study.objective` it only wires library pieces
together: prepared data, the model factory, the seq2seq trainer, the epoch log, the pruning
callback and the checkpoint of a kept trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import torch

from hpo.config import StudyConfig
from hpo.data.prepare_translation import PreparedTranslationData, TranslationSplits
from hpo.models import build, count_parameters
from hpo.run_layout import trial_dir
from hpo.study.checkpoints import would_be_kept
from hpo.study.logs import EpochLog
from hpo.study.pruning import PruningCallback, first_rung
from hpo.study.translation.checkpoints import save_translation_checkpoint
from hpo.study.translation.signature import bleu_signature, study_bleu_tokenize
from hpo.study.trial_cost import record_cost
from hpo.study.trial_outcome import require_finite_value
from hpo.study.trivial import translation_floor
from hpo.training import EpochRecord
from hpo.training.loop import EpochCallback
from hpo.training.seq2seq_trainer import (
    Seq2SeqResult,
    Seq2SeqSettings,
    eval_batch_tokens,
    fit_seq2seq,
)


def translation_settings(
    config: StudyConfig, params: dict[str, Any], seed: int, max_epochs: int | None = None
) -> Seq2SeqSettings:
    """The trainer settings of one run: the trial's params within the study's limits."""
    limits = config.translation
    return Seq2SeqSettings.from_params(
        params,
        max_epochs=max_epochs or config.training.max_epochs,
        metric=config.metric,
        maximize=config.direction == "maximize",
        time_limit=config.training.trial_time_limit,
        seed=seed,
        amp=config.training.amp,
        max_output_ratio=limits.max_output_ratio,
        max_output_offset=limits.max_output_offset,
        bleu_tokenize=study_bleu_tokenize(config),
        report_every=config.training.report_every,
    )


def build_translator(params: dict[str, Any], splits: TranslationSplits) -> torch.nn.Module:
    return build(
        "translation",
        params,
        src_vocab_size=splits.src_tokenizer.vocab_size,
        tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
    )


def checkpoint_meta(
    config: StudyConfig, splits: TranslationSplits, result: Seq2SeqResult, settings
) -> dict[str, Any]:
    """What loading and scoring a translation checkpoint needs besides the weights."""
    best = next(r for r in result.history if r.epoch == result.best_epoch)
    src_lang, tgt_lang = config.language_pair()
    return {
        "task": "translation",
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
        "signature": result.signature,
        "bleu_tokenize": settings.bleu_tokenize,
        "max_output_ratio": settings.max_output_ratio,
        "max_output_offset": settings.max_output_offset,
        "eval_batch_tokens": eval_batch_tokens(settings),
    }


def translation_trial(
    trial: optuna.Trial,
    params: dict[str, Any],
    seed: int,
    *,
    config: StudyConfig,
    data: PreparedTranslationData,
    study_dir: Path,
    device: torch.device,
    epoch_log: EpochLog,
    fixed: dict[str, Any],
) -> float:
    """Train one translation model for ``trial`` and return its value (best or last epoch).

    Example:
        .. code-block:: python

            value = translation_trial(trial, params, seed, config=config, data=data,
                                      study_dir=Path("runs/iwslt"), device=device,
                                      epoch_log=EpochLog(Path("runs/iwslt/epochs.csv")), fixed={})
    """
    splits = data.encoded(params.get("src_vocab_size"), params.get("tgt_vocab_size"))
    model = build_translator(params, splits)
    trial.set_user_attr("n_params", count_parameters(model))
    settings = translation_settings(config, params, seed)
    # The signature says how every reported BLEU is computed, pruned trials' included.
    trial.set_user_attr("sacrebleu_signature", bleu_signature(settings.bleu_tokenize))

    def log_epoch(record: EpochRecord) -> None:
        epoch_log.append(trial.number, record)

    floor = translation_floor(config.metric, splits.tgt_tokenizer.vocab_size)
    callbacks: list[EpochCallback] = [
        log_epoch,
        PruningCallback(
            trial, config.metric, floor, first_rung(config.pruner), config.training.max_epochs
        ),
    ]
    result = fit_seq2seq(model, splits, params, settings, callbacks, device=device)
    record_cost(trial, result)
    best_value, best_state = require_finite_value(trial, result)
    history = result.history
    trial.set_user_attr("best_epoch", result.best_epoch)
    trial.set_user_attr("stop_reason", result.stop_reason)
    trial.set_user_attr(
        "tokens_per_s", round(sum(r.tokens_per_s for r in history) / len(history), 1)
    )
    trial.set_user_attr("train_pairs", len(splits.train))
    value = best_value if config.objective_value == "best" else history[-1].value(config.metric)
    if would_be_kept(trial.study, value, config.keep_checkpoints):
        save_translation_checkpoint(
            trial_dir(study_dir, trial.number),
            state_dict=best_state,
            params={**fixed, **params},
            src_tokenizer_model=splits.src_tokenizer.model_path,
            tgt_tokenizer_model=splits.tgt_tokenizer.model_path,
            meta=checkpoint_meta(config, splits, result, settings),
        )
    return value
