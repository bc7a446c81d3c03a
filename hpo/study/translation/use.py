"""Using a tuned translator: pick a trial's checkpoint, translate text, score a split.

``hpo translate`` and ``hpo evaluate`` call these; a checkpoint written by ``hpo train``
(``runs/<study>/train-<n>/``) is used in place of the trial's own when it exists, since it
is the same configuration trained for its full epochs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.config import StudyConfig, study_dir_for
from hpo.errors import BadInput, HpoError
from hpo.study.checkpoints import CHECKPOINT_FILE, trial_dir


@dataclass
class TrialCheckpoint:
    """Where a trial's translation model lies, and the study it belongs to."""

    study: str
    config: StudyConfig | None
    number: int
    directory: Path


def train_dir(study_dir: Path, number: int) -> Path:
    """Where ``hpo train`` keeps the fully trained model of trial ``number``."""
    return study_dir / f"train-{number}"


def parse_trial(text: str) -> str | int:
    """``best`` or a trial number; anything else is bad input."""
    if text == "best":
        return text
    if text.isdigit():
        return int(text)
    raise BadInput(f"--trial must be 'best' or a trial number, got {text!r}")


def find_trial_checkpoint(ref: str, trial: str, storage: str | None) -> TrialCheckpoint:
    """The checkpoint of trial ``trial`` (``best`` or a number) of the study ``ref``.

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("translation-demo", "best", None)
            print(found.number, found.directory)
    """
    from optuna.trial import TrialState

    from hpo.study.stored import load_stored_study, resolve_study

    wanted = parse_trial(trial)
    name, config, storage_url = resolve_study(ref, storage)
    study = load_stored_study(name, storage_url)
    if study.user_attrs.get("task") != "translation":
        raise BadInput(f"study {name!r} is not a translation study")
    trials = study.get_trials(deepcopy=False)
    if wanted == "best":
        if not any(t.state == TrialState.COMPLETE for t in trials):
            raise HpoError(f"study {name!r} has no complete trial yet")
        number = study.best_trial.number
    else:
        if wanted not in {t.number for t in trials}:
            raise BadInput(f"study {name!r} has no trial {wanted}")
        number = wanted
    study_dir = study_dir_for(name)
    for directory in (train_dir(study_dir, number), trial_dir(study_dir, number)):
        if (directory / CHECKPOINT_FILE).is_file():
            return TrialCheckpoint(name, config, number, directory)
    raise HpoError(
        f"trial {number} of study {name!r} has no kept checkpoint in {study_dir} "
        "(only the best keep_checkpoints trials keep theirs; `hpo train` makes one)"
    )


def _decoding_options(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "ratio": meta["max_output_ratio"],
        "offset": meta["max_output_offset"],
        "batch_tokens": meta.get("eval_batch_tokens", 4000),
    }


def translate_lines(
    found: TrialCheckpoint, lines: list[str], beam: int = 5, length_penalty: float = 1.0
) -> list[str]:
    """One translation per input line (an empty line gives an empty line).

    Example:
        .. code-block:: python

            print(translate_lines(find_trial_checkpoint("demo", "best", None), ["Open file"]))
    """
    import torch

    from hpo.data.seq2seq_batching import ParallelDataset
    from hpo.study.translation.checkpoints import load_translator
    from hpo.training.translation_eval import translate_dataset

    if beam < 1:
        raise BadInput(f"--beam must be at least 1, got {beam}")
    model, src_tok, tgt_tok, meta = load_translator(found.directory)
    texts = [line.strip() for line in lines]
    data = ParallelDataset(src_tok.encode(texts), [[] for _ in texts])
    output = translate_dataset(
        model,
        data,
        tgt_tok,
        torch.device("cpu"),
        beam_size=beam,
        length_penalty=length_penalty,
        **_decoding_options(meta),
    )
    return [out if text else "" for text, out in zip(texts, output, strict=True)]


@dataclass
class Evaluation:
    """BLEU and chrF of a trial's model on one split, with sacrebleu's signatures."""

    study: str
    trial: int
    checkpoint: str
    split: str
    sentences: int
    beam: int
    bleu: float
    chrf: float
    signature: str
    chrf_signature: str

    def text(self) -> str:
        return "\n".join(
            [
                f"study {self.study}, trial {self.trial} ({self.checkpoint}), {self.split} split, "
                f"{self.sentences} sentences, beam {self.beam}",
                f"BLEU = {self.bleu:.2f}  {self.signature}",
                f"chrF = {self.chrf:.2f}  {self.chrf_signature}",
            ]
        )


def evaluate_split(
    found: TrialCheckpoint, split: str = "test", beam: int = 1, length_penalty: float = 1.0
) -> Evaluation:
    """Score a trial's model on the study's dev or test split against the raw references.

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("multi30k", "best", None)
            print(evaluate_split(found, "test", beam=5).text())
    """
    import torch

    from hpo.data.parallel_sources import load_translation_corpus
    from hpo.data.seq2seq_batching import ParallelDataset
    from hpo.study.translation.checkpoints import load_translator
    from hpo.training.translation_eval import evaluate_translation

    if split not in ("dev", "test"):
        raise BadInput(f"--split must be dev or test, got {split!r}")
    if beam < 1:
        raise BadInput(f"--beam must be at least 1, got {beam}")
    if found.config is None:
        raise BadInput(f"study {found.study!r}: evaluate needs its study file for the data")
    corpus = load_translation_corpus(found.config.data)
    pairs = corpus.dev if split == "dev" else corpus.test
    if pairs is None:
        raise BadInput(f"study {found.study!r} has no test split")
    model, src_tok, tgt_tok, meta = load_translator(found.directory)
    data = ParallelDataset(src_tok.encode(pairs.src), tgt_tok.encode(pairs.tgt))
    scores = evaluate_translation(
        model,
        data,
        pairs.tgt,
        tgt_tok,
        torch.device("cpu"),
        bleu_tokenize=meta["bleu_tokenize"],
        beam_size=beam,
        length_penalty=length_penalty,
        **_decoding_options(meta),
    )
    return Evaluation(
        found.study,
        found.number,
        str(found.directory),
        split,
        len(pairs),
        beam,
        scores.bleu,
        scores.chrf,
        scores.signature,
        scores.chrf_signature,
    )
