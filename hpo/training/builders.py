"""Optimizers and learning-rate schedules from trial parameters."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hpo.errors import BadInput

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "plateau", "cosine")


def build_optimizer(model: nn.Module, params: dict[str, Any]) -> torch.optim.Optimizer:
    name = params.get("optimizer", "adam")
    lr = float(params.get("lr", 1e-3))
    weight_decay = float(params.get("weight_decay", 0.0))
    trainable = [p for p in model.parameters() if p.requires_grad]
    if name == "adam":
        return torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        momentum = float(params.get("momentum", 0.9))
        return torch.optim.SGD(trainable, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise BadInput(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def build_scheduler(
    optimizer: torch.optim.Optimizer, params: dict[str, Any], *, max_epochs: int, maximize: bool
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    """An epoch-level schedule: ``plateau`` steps on the validation metric, ``cosine`` per epoch."""
    name = params.get("lr_schedule", "none")
    if name == "none":
        return None
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if maximize else "min",
            factor=float(params.get("plateau_factor", 0.5)),
            patience=int(params.get("plateau_patience", 1)),
        )
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, max_epochs))
    raise BadInput(f"unknown lr_schedule {name!r}; expected one of {SCHEDULES}")


def cosine_factor(epoch: int, max_epochs: int) -> float:
    """The share of the base learning rate that ``cosine`` gives epoch ``epoch`` (from 1).

    The same values as :class:`torch.optim.lr_scheduler.CosineAnnealingLR` with
    ``T_max=max_epochs`` stepped once per epoch: 1 in the first epoch, falling toward 0.
    """
    return 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / max(1, max_epochs)))
