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
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from hpo.config_sections import (
    MAX_VOCAB_SIZE,
    TRANSLATION_SOURCES,
    BuiltinData,
    DataConfig,
    Duration,
    FilesData,
    GettextData,
    HeartbeatConfig,
    HuggingFaceData,
    ParallelData,
    PrunerConfig,
    RetryConfig,
    SamplerConfig,
    SplitConfig,
    TokenizerConfig,
    TrainingConfig,
    TranslationConfig,
    _duration,
    _Strict,
)
from hpo.errors import BadInput
from hpo.run_layout import RUNS_DIR_ENV, cache_dir, runs_dir, study_dir_for
from hpo.space import SearchSpace, check_point
from hpo.tasks import check_task_config, task_metrics, task_names

STORAGE_ENV = "HPO_STORAGE"
STUDIES_DIR_ENV = "HPO_STUDIES_DIR"

_PROJECT_ROOT = Path(__file__).resolve().parent.parent

Direction = Literal["maximize", "minimize"]


class StudyConfig(_Strict):
    """A whole study file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    task: str
    description: str = ""
    data: DataConfig
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    # A file may leave both out: _task_defaults puts in the task's own before validation. The
    # defaults here (a classifier's) serve only where the task or metric is itself invalid, so
    # that its error is the one reported.
    metric: str = "accuracy"
    direction: Direction = "maximize"
    objective_value: Literal["best", "last"] = "best"
    search_space: SearchSpace
    start_with: list[dict[str, Any]] = Field(default_factory=list)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    storage: str | None = None
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
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

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: Any) -> Any:
        """The task's first metric and the metric's direction, where the file gives none."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if not (k in ("metric", "direction") and v is None)}
        task = data.get("task")
        if not (isinstance(task, str) and task in task_names()):
            return data  # the task's own error is the one to show
        metrics = task_metrics(task)
        if "metric" not in data:
            data["metric"] = next(iter(metrics))
        metric = data.get("metric")
        if "direction" not in data and isinstance(metric, str) and metric in metrics:
            data["direction"] = metrics[metric]
        return data

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        if task not in task_names():
            raise ValueError(f"unknown task {task!r}; known: {', '.join(task_names())}")
        return task

    @model_validator(mode="after")
    def _check_task(self) -> StudyConfig:
        metrics = task_metrics(self.task)
        if self.metric not in metrics:
            known = ", ".join(metrics)
            raise ValueError(f"metric {self.metric} is not a {self.task} metric ({known})")
        check_task_config(self.task, self)
        resource, max_epochs = self.pruner.min_resource, self.training.max_epochs
        if (
            isinstance(resource, int)
            and self.pruner.type in ("successive_halving", "hyperband")
            and resource > max_epochs
        ):
            # Steps count examples now; a file may mean examples and write a bare number.
            raise BadInput(
                f"pruner.min_resource: {resource} epochs is more than training.max_epochs "
                f"({max_epochs}), so no trial would be pruned; a bare number counts epochs: "
                f"for training examples write '{resource} examples'"
            )
        if self.sampler.seed is None:
            self.sampler.seed = self.seed
        return self

    def language_pair(self) -> tuple[str, str]:
        """Source and target language of a translation study (validation made sure of both)."""
        data = self.data
        if (
            isinstance(data, (ParallelData, GettextData, HuggingFaceData))
            and data.src_lang is not None
            and data.tgt_lang is not None
        ):
            return data.src_lang, data.tgt_lang
        raise ValueError(f"data source {data.source} names no language pair")


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
    # A check across fields (a metric against the task) names its fields in its message.
    where = f"{loc}: " if loc else ""
    return f"{source}: {where}{message}{suffix}"


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
        shipped = [d / candidate.name for d in search_space_dirs(study_dir)]
        if not path.is_file() and "/" not in ref and any(p.is_file() for p in shipped):
            # A name written with its extension ("classifier.yaml").
            path = next(p for p in shipped if p.is_file())
        elif not path.is_file():
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


def resolve_storage(cli_value: str | None, config: StudyConfig | None = None) -> str:
    """``--storage`` wins over ``HPO_STORAGE``, which wins over the study file, then SQLite."""
    for value in (cli_value, os.environ.get(STORAGE_ENV), config.storage if config else None):
        if value:
            return value
    return f"sqlite:///{runs_dir().as_posix()}/hpo.db"


# The sections and the run layout live in their own modules; this is the public surface.
__all__ = [
    "MAX_VOCAB_SIZE",
    "RUNS_DIR_ENV",
    "STORAGE_ENV",
    "STUDIES_DIR_ENV",
    "TRANSLATION_SOURCES",
    "BuiltinData",
    "DataConfig",
    "FilesData",
    "GettextData",
    "HeartbeatConfig",
    "HuggingFaceData",
    "ParallelData",
    "PrunerConfig",
    "RetryConfig",
    "SamplerConfig",
    "SplitConfig",
    "StudyConfig",
    "TokenizerConfig",
    "TrainingConfig",
    "TranslationConfig",
    "cache_dir",
    "load_search_space",
    "load_study_config",
    "resolve_storage",
    "resolve_study_path",
    "runs_dir",
    "study_dir_for",
]
