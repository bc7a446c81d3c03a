"""The protocol every task implements, and what its parts exchange.

A trial, ``hpo train``, ``hpo evaluate`` and the lottery all run the same recipe over a task:
``prepare`` the study's data once, ``encode`` it for a trial's vocabulary parameters,
``build_model``, ``settings``, ``fit`` (the one training loop over the task's step and
validation), then ``checkpoint`` what a kept model needs to be used on its own. A task never
branches the code that calls it; the callers never branch on the task's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hpo.config import StudyConfig
    from hpo.params import Param
    from hpo.study.trial_lookup import TrialCheckpoint
    from hpo.training.loop import (
        EpochCallback,
        EpochRecord,
        FitResult,
        LoopSettings,
        StepCallback,
    )
    from hpo.training.trivial import TrivialFloor


@dataclass
class CheckpointContent:
    """What a kept model's folder holds besides its weights and params.

    ``files`` maps a file name in the folder to the file copied there (the tokenizer
    models); ``meta`` is stored in ``model.pt`` beside the weights.
    """

    files: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudySignature:
    """How a study's metric is computed, stored with the study as user attribute ``attr``.

    Workers that would compute the metric another way refuse to run (see
    :func:`hpo.study.study_signature.agree_on_signature`); ``what`` names the metric and
    ``remedy`` says what to change, for that message.
    """

    attr: str
    value: str
    what: str
    remedy: str


@dataclass
class UseOptions:
    """How ``hpo evaluate`` and the task's own command use a kept model (``--device``,
    and for translation ``--beam`` and ``--length-penalty``; None where not given)."""

    device: str | None = None
    beam: int | None = None
    length_penalty: float | None = None


class Task(Protocol):
    """One task: its data, models, training step and validation, checkpoints and use."""

    name: str
    metrics: Mapping[str, str]  # metric -> "maximize" | "minimize"; the first is the default
    # What a trial reads besides its model family's own parameters (trainer, tokenizer, init).
    trial_params: tuple[Param, ...]

    def prepare(self, config: StudyConfig) -> Any:
        """The study's corpus, loaded and checked, ready to encode per vocabulary size; its
        ``corpus.notes`` say what a user should know of how it was read (rows left out)."""
        ...

    def epoch_examples(self, config: StudyConfig, data: Any) -> int:
        """Training examples in an epoch, as the pruner converts epochs to its steps."""
        ...

    def encode(self, data: Any, params: Mapping[str, Any]) -> Any:
        """The splits encoded with the tokenizers ``params`` ask for (cached by content)."""
        ...

    def build_model(self, params: Mapping[str, Any], splits: Any) -> nn.Module: ...

    def settings(
        self,
        config: StudyConfig,
        params: Mapping[str, Any],
        seed: int,
        splits: Any,
        max_epochs: int | None = None,
    ) -> LoopSettings:
        """The training settings of one run: ``params`` within the study's limits (the
        loop's settings, extended with the task's own)."""
        ...

    def fit(
        self,
        model: nn.Module,
        splits: Any,
        params: Mapping[str, Any],
        settings: Any,
        callbacks: Sequence[EpochCallback],
        device: torch.device,
        *,
        after_step: Sequence[StepCallback] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
    ) -> FitResult:
        """Train ``model`` with the one loop over this task's step and validation."""
        ...

    def score(
        self, model: nn.Module, splits: Any, split: str, settings: Any, device: torch.device
    ) -> tuple[float, dict[str, float]] | None:
        """The loss and metrics of ``model`` on ``split`` ("dev" or "test") of the encoded
        data, as validation computes them; None where the data have no such split."""
        ...

    def floor(self, config: StudyConfig, splits: Any) -> TrivialFloor | None:
        """What a model that learned nothing scores on dev (hopeless trials stop there)."""
        ...

    def trial_attrs(self, config: StudyConfig, splits: Any, settings: Any) -> dict[str, Any]:
        """What a trial records before it trains (a metric's signature, the corpus size)."""
        ...

    def checkpoint(
        self, config: StudyConfig, splits: Any, result: FitResult, settings: Any
    ) -> CheckpointContent:
        """What a kept model needs to be loaded and used without the study's data."""
        ...

    def describe(self, record: EpochRecord) -> str:
        """One line on a report's validation, as ``hpo train`` prints it."""
        ...

    def study_signature(self, config: StudyConfig) -> StudySignature | None:
        """How the study's metric is computed, where workers could compute it differently
        (sacrebleu's signature); None where there is nothing to agree on."""
        ...

    def evaluate(self, found: TrialCheckpoint, split: str, options: UseOptions) -> Any:
        """A kept model scored on ``split``: a dataclass with ``text()``."""
        ...
