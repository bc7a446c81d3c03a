"""The rounds of iterative magnitude pruning: train, prune, reset the survivors, retrain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hpo.errors import BadInput
from hpo.lottery.masks import WeightMasks
from hpo.lottery.resets import snapshot, start_state
from hpo.lottery.settings import LotterySettings
from hpo.study.objective import seed_everything
from hpo.tasks.protocol import Task
from hpo.training import DivergedError, EpochRecord, FitResult


@dataclass
class RoundResult:
    """What one round trained and scored.

    ``value`` is the study's metric on the dev split, from the best or the last epoch as the
    study's ``objective_value`` says; the test scores come from the same weights.
    """

    round: int
    remaining: float
    remaining_by_layer: dict[str, float]
    epoch: int
    epochs: int
    value: float
    val_loss: float
    val_metrics: dict[str, float]
    test_loss: float | None
    test_metrics: dict[str, float] | None
    seconds: float
    history: list[EpochRecord] = field(default_factory=list)


class LotteryExperiment:
    """Iterative magnitude pruning of one model, round after round.

    Round 0 trains the dense model. Every later round prunes the smallest surviving weights
    of the model as the previous round left it, resets the survivors (see
    :func:`hpo.lottery.resets.start_state`) and trains again with the masks enforced.

    Example:
        .. code-block:: python

            experiment = LotteryExperiment(task, splits, params, fit_settings,
                                           LotterySettings(rounds=5), device, seed=42)
            for result in experiment.rounds():
                print(result.round, result.remaining, result.value)
    """

    def __init__(
        self,
        task: Task,
        splits: Any,
        params: dict[str, Any],
        fit_settings: Any,
        settings: LotterySettings,
        device: torch.device,
        seed: int,
        objective_value: str = "best",
    ):
        self.task = task
        self.splits = splits
        self.params = params
        self.fit_settings = fit_settings
        self.settings = settings
        self.device = device
        self.seed = seed
        self.objective_value = objective_value

        # The same seed and order as the study's objective, so round 0 retrains the trial.
        seed_everything(seed)
        self.model = self.build_model().to(device)
        self.training_rng = torch.random.get_rng_state()
        self.masks = WeightMasks.dense(self.model, settings.skip)
        if not self.masks:
            skipped = ",".join(settings.skip)
            raise BadInput(f"--skip {skipped!r} leaves no weight matrix to prune")
        self.initial = snapshot(self.model)
        self.after_first_run: dict[str, torch.Tensor] | None = None

    def build_model(self) -> nn.Module:
        return self.task.build_model(self.params, self.splits)

    def rounds(self) -> Iterator[RoundResult]:
        """Run every round, yielding each one's result as soon as it is trained."""
        for round_number in range(self.settings.rounds):
            if round_number > 0:
                self.prune(round_number)
                self.reset(round_number)
            yield self.train(round_number)

    def prune(self, round_number: int) -> None:
        """Shrink the masks to the schedule's share of weights, by trained magnitude."""
        self.masks = self.masks.pruned(
            self.model, self.settings.keep_fraction(round_number), self.settings.scope
        )

    def reset(self, round_number: int) -> None:
        """Put the survivors back to the reset mode's values; pruned weights become zero."""
        state = start_state(
            self.settings.reset,
            round_number,
            original=self.initial,
            after_first_run=self.after_first_run,
            build_model=self.build_model,
            seed=self.seed,
        )
        self.model.load_state_dict(state)
        self.masks.apply(self.model)

    def train(self, round_number: int) -> RoundResult:
        """Train with the masks enforced, then score the chosen epoch on dev and test."""
        started = time.perf_counter()
        # Every round sees the same batches and dropout: only masks and start values differ.
        torch.random.set_rng_state(self.training_rng)
        if self.device.type == "cuda":
            torch.cuda.manual_seed_all(self.seed)
        with self.masks.enforced(self.model) as remask:
            result = self.task.fit(
                self.model,
                self.splits,
                self.params,
                self.fit_settings,
                [],
                self.device,
                after_step=[remask],
            )
        if round_number == 0:
            self.after_first_run = snapshot(self.model)
        scored = self._scored_epoch(result)
        test_loss, test_metrics = self._test(result, scored)
        return RoundResult(
            round=round_number,
            remaining=self.masks.overall_remaining(),
            remaining_by_layer=self.masks.remaining(),
            epoch=int(scored.epoch),
            epochs=len(result.history),
            value=scored.value(self.fit_settings.metric),
            val_loss=scored.val_loss,
            val_metrics=dict(scored.metrics),
            test_loss=test_loss,
            test_metrics=test_metrics,
            seconds=time.perf_counter() - started,
            history=result.history,
        )

    def _scored_epoch(self, result: FitResult) -> EpochRecord:
        if self.objective_value == "last":
            return result.history[-1]
        if result.best_epoch is None:
            raise DivergedError("no epoch gave a finite validation value")
        return result.epoch_record(result.best_epoch)

    def _test(
        self, result: FitResult, scored: EpochRecord
    ) -> tuple[float | None, dict[str, float] | None]:
        if scored.epoch == len(result.history) or result.best_state is None:
            return self._score_test()
        # The best epoch's weights are scored; the last epoch's stay the ones pruned next.
        trained = snapshot(self.model)
        self.model.load_state_dict(result.best_state)
        scores = self._score_test()
        self.model.load_state_dict(trained)
        return scores

    def _score_test(self) -> tuple[float | None, dict[str, float] | None]:
        scores = self.task.score(self.model, self.splits, "test", self.fit_settings, self.device)
        return scores if scores is not None else (None, None)
