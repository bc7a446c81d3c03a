"""Optimizers and learning-rate schedules from trial parameters."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hpo.errors import BadInput
from hpo.params import choice, fraction, integer, read_params, real

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "plateau", "cosine")
# The translation trainer also sets the rate per optimizer step by the inverse square root.
SEQ2SEQ_SCHEDULES = (*SCHEDULES, "inverse_sqrt")

OPTIMIZER_PARAMS = (
    choice("optimizer", "adam", OPTIMIZERS, "the optimizer"),
    real("lr", 1e-3, "learning rate", low=0.0, low_inclusive=False),
    real("weight_decay", 0.0, "L2 penalty (decoupled for adamw)", low=0.0),
    # torch refuses a negative momentum; at 1 or above SGD's steps never shrink.
    fraction("momentum", 0.9, "SGD momentum (sgd only)"),
)
SCHEDULE_PARAMS = (
    choice("lr_schedule", "none", SCHEDULES, "learning-rate schedule over the epochs"),
    real(
        "plateau_factor",
        0.5,
        "plateau: the factor that cuts the learning rate",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    ),
    integer("plateau_patience", 1, "plateau: epochs without progress before a cut", low=0),
)
SEQ2SEQ_SCHEDULE_PARAMS = (
    choice(
        "lr_schedule",
        "none",
        SEQ2SEQ_SCHEDULES,
        "learning-rate schedule over the epochs, or inverse_sqrt over the optimizer steps",
    ),
    *SCHEDULE_PARAMS[1:],
)


def fused_kernels(params: list[nn.Parameter]) -> bool | None:
    """Whether Adam updates ``params`` with PyTorch's fused kernel: where every one is a
    floating-point tensor on a CPU or CUDA device (True), else the default (None).

    Applied parameter by parameter, Adam's update is a dozen small operations per tensor;
    the fused kernel does them in one pass (1.1x a small Transformer's training on 2 CPU
    cores, benchmarks/RESULTS.md 1).

    Example:
        >>> fused_kernels(list(nn.Linear(2, 2).parameters())), fused_kernels([])
        (True, None)
    """
    if params and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params):
        return True
    return None


def build_optimizer(model: nn.Module, params: dict[str, Any]) -> torch.optim.Optimizer:
    values = read_params(OPTIMIZER_PARAMS, params)
    name, lr, weight_decay = values["optimizer"], values["lr"], values["weight_decay"]
    trainable = [p for p in model.parameters() if p.requires_grad]
    fused = fused_kernels(trainable)
    if name == "adam":
        return torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay, fused=fused)
    if name == "sgd":
        momentum = values["momentum"]
        return torch.optim.SGD(trainable, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise BadInput(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def build_scheduler(
    optimizer: torch.optim.Optimizer, params: dict[str, Any], *, max_epochs: int, maximize: bool
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    """An epoch-level schedule: ``plateau`` steps on the validation metric, ``cosine`` per epoch."""
    values = read_params(SCHEDULE_PARAMS, params)
    name = values["lr_schedule"]
    if name == "none":
        return None
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if maximize else "min",
            factor=values["plateau_factor"],
            patience=values["plateau_patience"],
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


def inverse_sqrt_factor(step: int, warmup: int) -> float:
    """The share of the base learning rate that ``inverse_sqrt`` gives optimizer step ``step``
    (from 1): rising linearly to 1 over ``warmup`` steps, then falling as
    ``sqrt(warmup / step)`` (the Transformer's schedule, with the base rate as its peak).

    Example:
        >>> [round(inverse_sqrt_factor(s, warmup=4), 3) for s in (1, 2, 4, 16, 64)]
        [0.25, 0.5, 1.0, 0.5, 0.25]
    """
    warmup = max(1, warmup)
    return min(step / warmup, math.sqrt(warmup / max(1, step)))
