"""Typed study configuration, validated once when a study file is loaded.

A study file says what to train, on what data, what may vary and how to search::

    name: demo
    task: classification
    data: {source: builtin, name: topics}
    metric: accuracy            # direction follows from the metric unless given
    search_space: classifier    # search_spaces/classifier.yaml, or an inline mapping
    training: {max_epochs: 6, trial_time_limit: 1m}
    sampler: {type: tpe, seed: 0}
    pruner: {type: successive_halving, min_resource: 1, reduction_factor: 3}

Every field is checked at load time; a wrong one raises :class:`hpo.errors.BadInput` naming
the file, the field and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hpo.durations import parse_duration
from hpo.errors import BadInput
from hpo.folder_names import study_folder_name
from hpo.space import SearchSpace, check_point

RUNS_DIR_ENV = "HPO_RUNS_DIR"
STORAGE_ENV = "HPO_STORAGE"
STUDIES_DIR_ENV = "HPO_STUDIES_DIR"

_PROJECT_ROOT = Path(__file__).resolve().parent.parent

METRIC_DIRECTIONS = {
    "accuracy": "maximize",
    "f1": "maximize",
    "loss": "minimize",
    "bleu": "maximize",
    "chrf": "maximize",
    "ppl": "minimize",
}
TASK_METRICS = {
    "classification": ("accuracy", "f1", "loss"),
    "translation": ("bleu", "chrf", "ppl"),
}


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
    header: bool = True

    @model_validator(mode="after")
    def _one_layout(self) -> FilesData:
        if self.path is not None:
            if self.train or self.dev or self.test:
                raise ValueError("give either path (one file, split by ratios) or train/dev/test")
            if self.split is None:
                self.split = SplitConfig()
        elif self.train is None or self.dev is None:
            raise ValueError("give train and dev files (test optional), or path with split")
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


class TrainingConfig(_Strict):
    max_epochs: int = Field(10, ge=1)
    trial_time_limit: Duration | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = True
    threads: int | None = Field(None, ge=1)

    _parse_time = field_validator("trial_time_limit", mode="before")(lambda cls, v: _duration(v))


class SamplerConfig(_Strict):
    type: Literal["tpe", "random", "cmaes", "gp", "qmc"] = "tpe"
    seed: int | None = None
    n_startup_trials: int = Field(5, ge=0)
    multivariate: bool = True


class PrunerConfig(_Strict):
    type: Literal["successive_halving", "hyperband", "median", "none"] = "successive_halving"
    min_resource: int | Literal["auto"] = 1
    reduction_factor: int = Field(3, ge=2)
    min_early_stopping_rate: int = Field(0, ge=0)
    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(1, ge=0)

    @field_validator("min_resource")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("min_resource must be at least 1")
        return value


class HeartbeatConfig(_Strict):
    """Stale-trial recovery: a worker that stops beating for ``grace_period`` seconds has its
    trial failed and retried (at most ``max_retry`` times per trial)."""

    interval: int = Field(30, ge=1)
    grace_period: int | None = Field(None, ge=1)
    max_retry: int = Field(2, ge=0)

    @model_validator(mode="after")
    def _grace_after_beats(self) -> HeartbeatConfig:
        if self.grace_period is None:
            self.grace_period = 3 * self.interval
        if self.grace_period <= self.interval:
            raise ValueError("grace_period must be longer than interval")
        return self


class StudyConfig(_Strict):
    """A whole study file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    task: Literal["classification", "translation"]
    description: str = ""
    data: DataConfig
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    metric: Literal["accuracy", "f1", "loss", "bleu", "chrf", "ppl"] | None = None
    direction: Literal["maximize", "minimize"] | None = None
    objective_value: Literal["best", "last"] = "best"
    search_space: SearchSpace
    start_with: list[dict[str, Any]] = Field(default_factory=list)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    storage: str | None = None
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig)
    keep_checkpoints: int = Field(3, ge=0)
    n_trials: int | None = Field(None, ge=1)
    timeout: Duration | None = None
    seed: int = 0

    path: Path | None = Field(None, exclude=True)

    _parse_time = field_validator("timeout", mode="before")(lambda cls, v: _duration(v))

    @field_validator("start_with")
    @classmethod
    def _points_in_space(cls, points: list[dict[str, Any]], info: ValidationInfo) -> Any:
        space = info.data.get("search_space")
        if space is None:  # the space itself is wrong: that error is the one to show
            return points
        return [check_point(space, p, f"point {i + 1}") for i, p in enumerate(points)]

    @model_validator(mode="after")
    def _default_direction(self) -> StudyConfig:
        if self.metric is None:
            self.metric = TASK_METRICS[self.task][0]
        if self.metric not in TASK_METRICS[self.task]:
            known = ", ".join(TASK_METRICS[self.task])
            raise ValueError(f"metric {self.metric} is not a {self.task} metric ({known})")
        translation_data = isinstance(self.data, TRANSLATION_SOURCES) or (
            isinstance(self.data, HuggingFaceData) and self.data.src_lang is not None
        )
        if translation_data != (self.task == "translation"):
            raise ValueError(f"data source {self.data.source} does not fit task {self.task}")
        if self.task == "translation" and self.tokenizer.lowercase:
            raise BadInput(
                "tokenizer.lowercase: not for translation: BLEU is scored against the "
                "references as written, case included"
            )
        if self.direction is None:
            self.direction = METRIC_DIRECTIONS[self.metric]
        if self.sampler.seed is None:
            self.sampler.seed = self.seed
        return self


def studies_dirs() -> list[Path]:
    """Where ``--study NAME`` is looked up: $HPO_STUDIES_DIR, ./studies, the project's studies/."""
    dirs = [Path.cwd() / "studies", _PROJECT_ROOT / "studies"]
    if os.environ.get(STUDIES_DIR_ENV):
        dirs.insert(0, Path(os.environ[STUDIES_DIR_ENV]))
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def known_studies() -> list[str]:
    names: set[str] = set()
    for d in studies_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


def resolve_study_path(ref: str) -> Path:
    """Turn ``--study NAME|PATH`` into the path of a study file."""
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or os.sep in ref or "/" in ref:
        if not candidate.is_file():
            raise BadInput(f"study file {ref} does not exist")
        return candidate
    for d in studies_dirs():
        for suffix in (".yaml", ".yml"):
            path = d / f"{ref}{suffix}"
            if path.is_file():
                return path
    known = ", ".join(known_studies()) or "none"
    raise BadInput(f"unknown study {ref!r}: known studies are {known}")


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{path}:{where}: malformed YAML: {problem}") from None


def format_validation_error(source: str, error: ValidationError) -> str:
    """One line naming the file, the field and what was expected."""
    first = error.errors()[0]
    loc = ".".join(_field_path(first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {loc or 'top level'}: {message}{suffix}"


_UNION_TAGS = {
    "float",
    "int",
    "categorical",
    "fixed",
    "files",
    "huggingface",
    "builtin",
    "parallel",
    "gettext",
}


def _field_path(loc: tuple) -> list[str]:
    """The field names of a pydantic error location, without discriminator tags.

    pydantic puts the tag of a discriminated union (``float``, ``files``) after the field
    it belongs to: ``search_space.params.lr.float.low``. A parameter that happens to be
    named ``float`` follows ``params`` and is kept.
    """
    path: list[str] = []
    for part in map(str, loc):
        if part in _UNION_TAGS and path and path[-1] != "params":
            continue
        path.append(part)
    return path


def search_space_dirs(study_dir: Path) -> list[Path]:
    return [
        study_dir.parent / "search_spaces",
        Path.cwd() / "search_spaces",
        _PROJECT_ROOT / "search_spaces",
    ]


def load_search_space(ref: str, study_dir: Path) -> SearchSpace:
    """Load ``search_spaces/NAME.yaml`` (or a path relative to the study file)."""
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or "/" in ref:
        path = candidate if candidate.is_absolute() else study_dir / candidate
        if not path.is_file():
            raise BadInput(f"search space file {path} does not exist")
    else:
        found = [d / f"{ref}.yaml" for d in search_space_dirs(study_dir)]
        existing = [p for p in found if p.is_file()]
        if not existing:
            raise BadInput(f"unknown search space {ref!r}: no {ref}.yaml in search_spaces/")
        path = existing[0]
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: expected a mapping with a 'params' field")
    raw.setdefault("name", path.stem)
    try:
        return SearchSpace.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(format_validation_error(str(path), exc)) from None


def load_study_config(ref: str) -> StudyConfig:
    """Load and validate the study file named by ``ref`` (a name in studies/ or a path)."""
    path = resolve_study_path(ref)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: expected a mapping of study fields")
    raw.setdefault("name", path.stem)
    space = raw.get("search_space")
    if isinstance(space, str):
        raw["search_space"] = load_search_space(space, path.parent)
    elif space is None:
        raise BadInput(f"{path}: search_space: field required")
    try:
        config = StudyConfig.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(format_validation_error(str(path), exc)) from None
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    config.path = path.resolve()
    _resolve_data_paths(config, path.parent)
    return config


def _resolve_data_paths(config: StudyConfig, base: Path) -> None:
    data = config.data
    if isinstance(data, FilesData):
        for field in ("train", "dev", "test", "path"):
            value = getattr(data, field)
            if value is not None and not value.is_absolute():
                setattr(data, field, (base / value).resolve())
    if isinstance(data, ParallelData):
        for field in ("train", "dev", "test"):
            value = getattr(data, field)
            if value is not None and not value.is_absolute():
                # Not resolve(): a prefix such as data/train names no file of its own.
                setattr(data, field, base.resolve() / value)


def runs_dir() -> Path:
    """The root of the files studies leave (``runs/`` in the working directory)."""
    return Path(os.environ.get(RUNS_DIR_ENV, "runs"))


def cache_dir() -> Path:
    """Where tokenizer models are cached, shared by all studies: ``runs/.cache/``.

    A study name cannot start with a dot, so no study folder can be this one.
    """
    return runs_dir() / ".cache"


def study_dir_for(name: str) -> Path:
    """Where a study's CSV logs and checkpoints live: ``runs/<study>/``, always inside runs/.

    The one place a study name becomes a path: names that are not plain are escaped
    (:func:`hpo.folder_names.study_folder_name`).
    """
    return runs_dir() / study_folder_name(name)


def resolve_storage(cli_value: str | None, config: StudyConfig | None = None) -> str:
    """``--storage`` wins over ``HPO_STORAGE``, which wins over the study file, then SQLite."""
    for value in (cli_value, os.environ.get(STORAGE_ENV), config.storage if config else None):
        if value:
            return value
    return f"sqlite:///{runs_dir().as_posix()}/hpo.db"
