"""The learning rate over one run: warm-up and per-step schedules, and the epoch schedules.

A per-step schedule gives the share of the base rate at every optimizer step from the step
and epoch counters alone, so it combines with warm-up exactly and a resumed run, which
restores the counters, stays on the same curve. Epoch schedules are torch schedulers,
stepped once per epoch after validation (``plateau`` on the validation value); the
warm-up then sets the rate over the first optimizer steps on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from hpo.params import read_params
from hpo.training.builders import (
    SEQ2SEQ_SCHEDULE_PARAMS,
    build_scheduler,
    cosine_factor,
    inverse_sqrt_factor,
)

# share(step, epoch, warmup_steps, max_epochs) -> the share of the base rate at that step
StepShare = Callable[[int, int, int, int], float]


def warm_up_share(step: int, warmup: int) -> float:
    """Linear warm-up: the share of the learning rate at optimizer step ``step`` (from 1).

    Example:
        >>> [warm_up_share(step, warmup=4) for step in (1, 2, 4, 9)]
        [0.25, 0.5, 1.0, 1.0]
    """
    return min(1.0, step / warmup) if warmup > 0 else 1.0


PER_STEP: dict[str, StepShare] = {
    # The epoch's cosine share (the values of CosineAnnealingLR stepped per epoch) times the
    # warm-up share.
    "cosine": lambda step, epoch, warmup, max_epochs: (
        warm_up_share(step, warmup) * cosine_factor(epoch, max_epochs)
    ),
    # The Transformer's schedule: its own warm-up, then the inverse square root of the step.
    "inverse_sqrt": lambda step, epoch, warmup, max_epochs: inverse_sqrt_factor(step, warmup),
}


class LearningRate:
    """Sets the learning rate of ``optimizer`` before every step and after every epoch.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> rate = LearningRate(optimizer, {"lr_schedule": "none"}, max_epochs=3,
        ...                     maximize=True, warmup_steps=4)
        >>> rate.before_step(step=1, epoch=1)
        >>> optimizer.param_groups[0]["lr"]
        0.025
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        params: dict[str, Any],
        *,
        max_epochs: int,
        maximize: bool,
        warmup_steps: int,
    ):
        self.optimizer = optimizer
        self.max_epochs = max_epochs
        self.warmup_steps = warmup_steps
        # Read before a resumed optimizer state replaces the current rates.
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        # Every schedule name any task declares; each task's space is checked against its own.
        name = read_params(SEQ2SEQ_SCHEDULE_PARAMS, params)["lr_schedule"]
        self.per_step = PER_STEP.get(name)
        self.scheduler = None
        if self.per_step is None:
            self.scheduler = build_scheduler(
                optimizer, params, max_epochs=max_epochs, maximize=maximize
            )

    def before_step(self, step: int, epoch: int) -> None:
        """Set the rate of optimizer step ``step`` (from 1) in epoch ``epoch`` (from 1)."""
        if self.per_step is not None:
            self._set(self.per_step(step, epoch, self.warmup_steps, self.max_epochs))
        elif step <= self.warmup_steps:
            self._set(warm_up_share(step, self.warmup_steps))

    def after_epoch(self, value: float, step: int) -> None:
        """Step the epoch schedule; ``plateau`` watches ``value`` once warm-up is over."""
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if step > self.warmup_steps:  # the plateau watches trained epochs, not warm-up
                self.scheduler.step(value)
        elif self.scheduler is not None:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any] | None:
        return self.scheduler.state_dict() if self.scheduler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scheduler is not None and state is not None:
            self.scheduler.load_state_dict(state)

    def _set(self, share: float) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * share
