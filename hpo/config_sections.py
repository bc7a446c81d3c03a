"""The sections of a study file other than the study itself: data sources, tokenizer,
translation limits, training, sampler, pruner, heartbeat and retry.

Each is a strict pydantic model (unknown fields are errors); :mod:`hpo.config` puts them
together into a :class:`~hpo.config.StudyConfig` and reports a wrong field as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hpo.amounts import parse_amount, parse_report_every
from hpo.durations import parse_duration
from hpo.errors import BadInput


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Duration = Annotated[float, Field(gt=0)]


def _duration(value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except BadInput as exc:
        raise ValueError(str(exc)) from None


class SplitConfig(_Strict):
    """Ratios for cutting one file into train/dev/test, with the seed of the shuffle."""

    train: float = Field(0.8, gt=0, lt=1)
    dev: float = Field(0.1, gt=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)
    seed: int = 13

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        total = self.train + self.dev + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + dev + test must be 1, got {total:g}")
        return self


class FilesData(_Strict):
    """Labelled text in TSV, CSV or JSONL files: train/dev[/test], or one file and a split."""

    source: Literal["files"]
    train: Path | None = None
    dev: Path | None = None
    test: Path | None = None
    path: Path | None = None
    split: SplitConfig | None = None
    format: Literal["tsv", "csv", "jsonl"] | None = None
    text_column: str = "text"
    label_column: str = "label"
    header: bool = True  # without one, columns are named by their position from 0

    # `text_column: 1` names the second column of a file without a header.
    _column_numbers = field_validator("text_column", "label_column", mode="before")(
        lambda cls, v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
    )

    @model_validator(mode="after")
    def _one_layout(self) -> FilesData:
        if self.path is not None:
            if self.train or self.dev or self.test:
                raise ValueError("give either path (one file, split by ratios) or train/dev/test")
            if self.split is None:
                self.split = SplitConfig()
        elif self.train is None or self.dev is None:
            raise ValueError("give train and dev files (test optional), or path with split")
        elif self.split is not None:
            raise ValueError("split cuts one file (path); train and dev files are split already")
        return self


def _language(value: Any) -> Any:
    from hpo.data.languages import check_language_code

    return check_language_code(value) if isinstance(value, str) else value


def _sacrebleu_tokenizer(value: Any) -> Any:
    from hpo.data.languages import check_bleu_tokenize  # sacrebleu only when one is named

    return check_bleu_tokenize(value) if isinstance(value, str) else value


class HuggingFaceData(_Strict):
    """A Hugging Face dataset, downloaded when online.

    Classification sets cut dev from train; translation sets (``iwslt2017``, ``multi30k``)
    bring their own dev and test splits and name the language pair.
    """

    source: Literal["huggingface"]
    dataset: Literal["ag_news", "imdb", "iwslt2017", "multi30k"]
    config: str | None = None  # e.g. iwslt2017-ja-en; derived from the languages if not given
    src_lang: str | None = None
    tgt_lang: str | None = None
    dev_fraction: float = Field(0.1, gt=0, lt=1)
    max_train_examples: int | None = Field(None, gt=0)
    seed: int = 13

    _check_languages = field_validator("src_lang", "tgt_lang")(lambda cls, v: _language(v))

    @model_validator(mode="after")
    def _pair_for_translation(self) -> HuggingFaceData:
        from hpo.data.hub import HUB_DATASETS, iwslt2017_config

        if self.dataset in ("iwslt2017", "multi30k"):
            if self.src_lang is None or self.tgt_lang is None:
                raise ValueError(f"{self.dataset} needs src_lang and tgt_lang")
            if self.dataset == "multi30k" and {self.src_lang, self.tgt_lang} != {"en", "de"}:
                raise ValueError("multi30k holds English and German: src_lang/tgt_lang en, de")
            if self.dataset == "iwslt2017":
                try:
                    derived = iwslt2017_config(self.src_lang, self.tgt_lang)
                except BadInput as exc:
                    raise ValueError(str(exc)) from None
                known = HUB_DATASETS["iwslt2017"].configs
                if self.config is None:
                    self.config = derived
                elif self.config not in known or set(self.config.split("-")[1:]) != {
                    self.src_lang,
                    self.tgt_lang,
                }:
                    raise ValueError(
                        f"config {self.config!r} is not an IWSLT2017 configuration of "
                        f"{self.src_lang}-{self.tgt_lang} (e.g. {derived})"
                    )
        elif self.config is not None or self.src_lang is not None or self.tgt_lang is not None:
            raise ValueError(f"{self.dataset} is a classification set: no config or languages")
        return self


class ParallelData(_Strict):
    """Parallel text files: JoeyNMT's ``PREFIX.SRC``/``PREFIX.TGT`` pairs, or TSV pairs.

    With ``format: text``, ``train: data/train`` means ``data/train.ja`` + ``data/train.en``;
    with ``format: tsv``, each of train/dev/test is one file of ``source<TAB>target`` lines.
    """

    source: Literal["parallel"]
    format: Literal["text", "tsv"] = "text"
    train: Path
    dev: Path
    test: Path | None = None
    src_lang: str
    tgt_lang: str
    header: bool = False

    _check_languages = field_validator("src_lang", "tgt_lang")(lambda cls, v: _language(v))

    @model_validator(mode="after")
    def _two_languages(self) -> ParallelData:
        if self.src_lang == self.tgt_lang:
            # train.en would be read as both sides: a model that learns to copy.
            raise ValueError(f"src_lang and tgt_lang are both {self.src_lang!r}")
        return self


class GettextData(_Strict):
    """Real English <-> X message pairs of the gettext catalogs installed on the machine."""

    source: Literal["gettext"]
    src_lang: str = "en"
    tgt_lang: str = "de"
    locale_dir: Path = Path("/usr/share/locale")
    min_words: int = Field(2, ge=1)
    max_words: int = Field(12, ge=1)
    max_pairs: int | None = Field(None, ge=10)
    split: SplitConfig = Field(default_factory=SplitConfig)

    _check_languages = field_validator("src_lang", "tgt_lang")(lambda cls, v: _language(v))

    @model_validator(mode="after")
    def _english_on_one_side(self) -> GettextData:
        if "en" not in (self.src_lang, self.tgt_lang) or self.src_lang == self.tgt_lang:
            raise ValueError("gettext pairs are English and one other language: one side is en")
        return self


class BuiltinData(_Strict):
    """A small labelled set generated offline, for demos and smoke tests."""

    source: Literal["builtin"]
    name: Literal["topics"] = "topics"
    size: int = Field(3000, ge=100)
    label_noise: float = Field(0.08, ge=0, lt=0.5)
    seed: int = 7


DataConfig = Annotated[
    FilesData | HuggingFaceData | BuiltinData | ParallelData | GettextData,
    Field(discriminator="source"),
]
TRANSLATION_SOURCES = (ParallelData, GettextData)


def is_parallel_data(data: object) -> bool:
    """Whether a data section gives sentence pairs (a translation corpus), not labelled texts.

    Example:
        >>> is_parallel_data(GettextData(source="gettext", src_lang="en", tgt_lang="de"))
        True
    """
    return isinstance(data, TRANSLATION_SOURCES) or (
        isinstance(data, HuggingFaceData) and data.src_lang is not None
    )


# Sentencepiece takes a 32-bit size and its time and memory grow with it; no vocabulary of
# a real language model comes near a million pieces.
MAX_VOCAB_SIZE = 1_000_000


class TokenizerConfig(_Strict):
    """Sentencepiece settings; ``vocab_size`` may be overridden by a searched parameter."""

    type: Literal["sentencepiece"] = "sentencepiece"
    model_type: Literal["unigram", "bpe", "char", "word"] = "unigram"
    vocab_size: int = Field(4000, ge=8, le=MAX_VOCAB_SIZE)
    # translation: per language, else vocab_size
    src_vocab_size: int | None = Field(None, ge=8, le=MAX_VOCAB_SIZE)
    tgt_vocab_size: int | None = Field(None, ge=8, le=MAX_VOCAB_SIZE)
    character_coverage: float = Field(1.0, gt=0, le=1)
    lowercase: bool = False
    max_length: int = Field(256, ge=4)


class TranslationConfig(_Strict):
    """Length limits of translation: filtering of training pairs and of decoded output.

    ``max_tokens`` and ``max_ratio`` drop training pairs (never dev or test ones) whose
    source or target is longer than ``max_tokens`` subwords or whose lengths differ by more
    than ``max_ratio`` times. Decoding stops after ``max_output_ratio * source length +
    max_output_offset`` tokens.
    """

    max_tokens: int = Field(100, ge=1)
    max_ratio: float = Field(3.0, ge=1)
    max_output_ratio: float = Field(1.5, gt=0)
    max_output_offset: int = Field(10, ge=0)
    bleu_tokenize: str | None = None  # sacrebleu tokenizer; default from the target language

    _check_tokenize = field_validator("bleu_tokenize")(lambda cls, v: _sacrebleu_tokenizer(v))


def _report_every(value: Any) -> str:
    try:
        amount = parse_report_every(value)
    except BadInput as exc:
        raise ValueError(str(exc).removeprefix("report_every: ")) from None
    return "auto" if amount is None else str(amount)


def _resource(value: Any) -> int | str:
    """``auto``, whole epochs as an int (as study files always wrote them), else the amount
    as text: ``"0.5 epoch"``, ``"20000 examples"``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        amount = parse_amount(value, "min_resource")
    except BadInput as exc:
        raise ValueError(str(exc).removeprefix("min_resource: ")) from None
    if amount.unit == "epochs" and amount.count.denominator == 1:
        return int(amount.count)
    return str(amount)


class TrainingConfig(_Strict):
    """How long trials train and how often they report.

    ``report_every``: a fraction of an epoch (``0.25``) or a number of training examples
    (``"5000 examples"``); ``auto`` is the smaller of one epoch and 5000 examples, widened
    to 30 seconds of training where a run is faster (:mod:`hpo.training.report_schedule`).
    Every epoch's end is reported too.

    ``trial_share``: where the study has a timeout, no sampled trial trains longer than this
    share of it (a quarter by default), so that one slow trial cannot spend most of a short
    budget; start points are not held to it. A trial's time limit is the smallest of this,
    ``trial_time_limit`` and what is left of the study (:func:`hpo.study.too_slow.trial_limit`).
    ``null`` lifts the share.

    ``train_on``: where the study has a timeout, its last ``trial_share`` goes to the best
    trial, if it was still improving where it stopped (its best epoch is its last or the one
    before; at ``max_epochs`` or at its time limit), or to another trial still improving
    whose learning curve points higher after the stretch (:mod:`hpo.study.equal_time`): it
    trains on from there until the study's end (``trial_time_limit`` aside), as a trial of
    its own (:mod:`hpo.study.train_on`); earlier where the time before that stretch holds
    fewer than three trials at the run's pace. ``false``: every trial stops at
    ``max_epochs`` and the search runs to the end.

    ``amp``: mixed precision for training steps where it pays: float16 on CUDA, bfloat16 on
    a CPU with native bfloat16 arithmetic (:mod:`hpo.training.precision`).
    """

    max_epochs: int = Field(10, ge=1)
    trial_time_limit: Duration | None = None
    trial_share: float | None = Field(0.25, gt=0, le=1)
    train_on: bool = True
    report_every: str = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = True
    threads: int | None = Field(None, ge=1)

    _parse_time = field_validator("trial_time_limit", mode="before")(lambda cls, v: _duration(v))
    _parse_report_every = field_validator("report_every", mode="before")(
        lambda cls, v: _report_every(v)
    )


class SamplerConfig(_Strict):
    """The sampler. ``rung_tpe``, the default, is Optuna's TPE fitted at the highest
    SuccessiveHalving rung that enough trials reached (:mod:`hpo.study.rung_sampler`); it
    found better models than plain TPE on every seed of ``benchmarks/sampler_choice.py``."""

    type: Literal["tpe", "rung_tpe", "random", "cmaes", "gp", "qmc"] = "rung_tpe"
    seed: int | None = None
    n_startup_trials: int = Field(5, ge=0)
    multivariate: bool = True


class PrunerConfig(_Strict):
    """The pruner. Its steps count training examples; ``min_resource`` is in epochs (a bare
    number, as before) or in examples (``"20000 examples"``), and the median pruner's
    ``n_warmup_steps`` in epochs. ``compare: time`` makes SuccessiveHalving decide at its
    rungs by what trials had reached in equal training time, not at equal data seen;
    ``compare: auto`` does so only for a trial whose ``max_epochs``, at its pace, take more
    than ``1 / reduction_factor`` of its time limit (:mod:`hpo.study.time_halving`)."""

    type: Literal["successive_halving", "hyperband", "median", "none"] = "successive_halving"
    min_resource: int | str = 1
    reduction_factor: int = Field(3, ge=2)
    min_early_stopping_rate: int = Field(0, ge=0)
    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(1, ge=0)
    compare: Literal["examples", "time", "auto"] = "examples"

    _parse_resource = field_validator("min_resource", mode="before")(lambda cls, v: _resource(v))

    @model_validator(mode="after")
    def _time_with_halving(self) -> PrunerConfig:
        if self.compare != "examples" and self.type != "successive_halving":
            raise ValueError(
                f"compare: {self.compare} needs type: successive_halving, not {self.type}"
            )
        return self


class HeartbeatConfig(_Strict):
    """Stale-trial recovery: a worker that stops beating for ``grace_period`` seconds has its
    trial failed and retried (at most ``max_retry`` times per trial)."""

    interval: int = Field(30, ge=1)
    grace_period: int = Field(90, ge=1)  # three intervals unless given: see _default_grace
    max_retry: int = Field(2, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _default_grace(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("grace_period") is not None:
            return data
        data = {k: v for k, v in data.items() if k != "grace_period"}
        try:
            interval = int(data.get("interval", 30))
        except (TypeError, ValueError):
            return data  # the interval's own error is the one to show
        if interval >= 1:
            data["grace_period"] = 3 * interval
        return data

    @model_validator(mode="after")
    def _grace_after_beats(self) -> HeartbeatConfig:
        if self.grace_period <= self.interval:
            raise ValueError("grace_period must be longer than interval")
        return self


class RetryConfig(_Strict):
    """Which failed trials run again with the same params: those whose ``fail_kind`` is in
    ``on`` (``out_of_memory``, ``error``), at most ``max`` times each; by default none."""

    on: list[Literal["out_of_memory", "error"]] = Field(default_factory=list)
    max: int = Field(1, ge=0)
