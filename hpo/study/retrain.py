"""``hpo train``: train one trial's configuration for its full epochs and keep the model.

The trial's params (fixed ones included) and seed are taken from the store; training runs
without pruning or time limit, reports as the study's ``training.report_every`` says, writes
``last.pt`` (model, optimizer, scheduler, scaler, random state and, within an epoch, how far
it got) into ``runs/<study>/train-<n>/`` at every report and ``best.pt`` at every new best,
and resumes from ``last.pt`` when run again (within an epoch too), classifiers and
translators alike. The best epoch's
model is saved there like a trial's checkpoint, so ``hpo predict``, ``hpo translate`` and
``hpo evaluate`` use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hpo.config import StudyConfig, cache_dir, resolve_storage, study_dir_for
from hpo.errors import BadInput

if TYPE_CHECKING:
    import torch


@dataclass
class TrainSummary:
    study: str
    trial: int
    directory: Path
    epochs: int
    best_epoch: int | None
    best_value: float | None
    metric: str

    def text(self) -> str:
        best = (
            f"best epoch {self.best_epoch}: {self.metric} = {self.best_value:.4g}"
            if self.best_epoch is not None
            else "no finite value"
        )
        return (
            f"trained trial {self.trial} of study {self.study} for {self.epochs} epoch(s); "
            f"{best}; model in {self.directory}"
        )


def train_trial(
    config: StudyConfig,
    trial: str = "best",
    *,
    storage: str | None = None,
    epochs: int | None = None,
    device: str | None = None,
    echo: Callable[[str], None] = print,
) -> TrainSummary:
    """Retrain trial ``trial`` (``best`` or a number) of a study for its full epochs.

    A run resumes from the last checkpoint of an earlier ``hpo train`` of the same trial, to
    the weights an uninterrupted run would reach (same thread count). ``device``
    (``--device``) overrides the study's ``training.device``.

    Example:
        .. code-block:: python

            print(train_trial(load_study_config("iwslt"), "best").text())
    """
    import torch

    from hpo.data.parallel_sources import load_translation_corpus
    from hpo.data.prepare_translation import PreparedTranslationData
    from hpo.study.objective import seed_everything
    from hpo.study.stored import load_stored_study
    from hpo.study.translation.checkpoints import save_translation_checkpoint
    from hpo.study.translation.objective import (
        build_translator,
        checkpoint_meta,
        translation_settings,
    )
    from hpo.study.trial_lookup import find_trial, parse_trial, recorded_threads, train_dir
    from hpo.training.device import choose_device
    from hpo.training.seq2seq_trainer import fit_seq2seq

    if epochs is not None and epochs < 1:
        raise BadInput(f"--epochs must be at least 1, got {epochs}")
    wanted = parse_trial(trial)
    target = choose_device(device, config.training.device)
    study = load_stored_study(config.name, resolve_storage(storage, config))
    frozen = find_trial(study, wanted)
    wanted = frozen.number
    params = {**frozen.user_attrs.get("fixed_params", {}), **frozen.params}
    seed = int(frozen.user_attrs.get("seed", config.seed))

    # Torch's CPU kernels sum in a different order with another thread count, so the trial's
    # own count is what reproduces its value.
    threads = config.training.threads or recorded_threads(frozen.user_attrs.get("device"))
    if threads:
        torch.set_num_threads(threads)
    if config.task == "classification":
        return _train_classifier(config, wanted, params, seed, epochs, target, echo)
    corpus = load_translation_corpus(config.data)
    data = PreparedTranslationData(corpus, config.tokenizer, config.translation, cache_dir())
    splits = data.encoded(params.get("src_vocab_size"), params.get("tgt_vocab_size"))
    seed_everything(seed)
    model = build_translator(params, splits)
    settings = translation_settings(config, params, seed, max_epochs=epochs)
    settings.time_limit = None  # the full epochs: that is what `train` is for
    directory = train_dir(study_dir_for(config.name), wanted)

    def show(record) -> None:
        echo(
            f"{_where(record)}: train_loss={record.train_loss:.4f} "
            f"bleu={record.metrics['bleu']:.2f} chrf={record.metrics['chrf']:.2f} "
            f"ppl={record.metrics['ppl']:.2f}"
        )

    result = fit_seq2seq(
        model,
        splits,
        params,
        settings,
        [show],
        device=target,
        checkpoint_dir=directory,
        resume=True,
    )
    if result.best_state is not None:
        save_translation_checkpoint(
            directory,
            state_dict=result.best_state,
            params=params,
            src_tokenizer_model=splits.src_tokenizer.model_path,
            tgt_tokenizer_model=splits.tgt_tokenizer.model_path,
            meta=checkpoint_meta(config, splits, result, settings),
        )
    return TrainSummary(
        config.name,
        wanted,
        directory,
        sum(record.at_epoch_end for record in result.history),
        result.best_epoch,
        result.best_value,
        config.metric,
    )


def _train_classifier(
    config: StudyConfig,
    number: int,
    params: dict,
    seed: int,
    epochs: int | None,
    device: torch.device,
    echo: Callable[[str], None],
) -> TrainSummary:
    """Train a classification trial's configuration again and keep its best epoch's model."""
    from hpo.data import load_classification_corpus
    from hpo.data.prepare import PreparedClassificationData
    from hpo.models import build
    from hpo.study.checkpoints import save_checkpoint
    from hpo.study.objective import classifier_checkpoint_meta, seed_everything
    from hpo.study.trial_lookup import train_dir
    from hpo.training import FitSettings, fit

    corpus = load_classification_corpus(config.data)
    data = PreparedClassificationData(corpus, config.tokenizer, cache_dir())
    splits = data.encoded(params.get("vocab_size"))
    seed_everything(seed)
    model = build(
        "classification",
        params,
        vocab_size=splits.tokenizer.vocab_size,
        num_classes=corpus.num_classes,
    )
    directory = train_dir(study_dir_for(config.name), number)
    settings = FitSettings.from_params(
        params,
        max_epochs=epochs or config.training.max_epochs,
        metric=config.metric,
        maximize=config.direction == "maximize",
        seed=seed,
        amp=config.training.amp,
        num_classes=corpus.num_classes,
        report_every=config.training.report_every,
    )

    def show(record) -> None:
        echo(
            f"{_where(record)}: train_loss={record.train_loss:.4f} "
            f"val_loss={record.val_loss:.4f} accuracy={record.metrics['accuracy']:.4f} "
            f"f1={record.metrics['f1']:.4f}"
        )

    result = fit(
        model,
        splits.train,
        splits.dev,
        params,
        settings,
        [show],
        device=device,
        checkpoint_dir=directory,
        resume=True,
    )
    if result.best_state is not None:
        save_checkpoint(
            directory,
            state_dict=result.best_state,
            params=params,
            tokenizer_model=splits.tokenizer.model_path,
            meta=classifier_checkpoint_meta(config, corpus, splits.tokenizer, result),
        )
    return TrainSummary(
        config.name,
        number,
        directory,
        sum(record.at_epoch_end for record in result.history),
        result.best_epoch,
        result.best_value,
        config.metric,
    )


def _where(record) -> str:
    """``epoch 3``, or ``epoch 2.5 (dev subset)`` for a report within an epoch."""
    from hpo.study.trial_steps import format_epochs

    return f"epoch {format_epochs(record.epoch)}" + (" (dev subset)" if record.subset else "")
