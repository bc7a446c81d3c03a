"""Where the surviving weights start each round: original, rewound or fresh random values."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

State = dict[str, torch.Tensor]


def snapshot(model: nn.Module) -> State:
    """A copy of every parameter and buffer of ``model``, kept on the model's device.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> saved = snapshot(model)
        >>> torch.equal(saved["weight"], model.weight)
        True
    """
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def random_reset_seed(seed: int, round_number: int) -> int:
    """The seed of round ``round_number``'s fresh initialisation under ``--reset random``."""
    return (seed * 1_000_003 + round_number * 104_729 + 1) % (2**31 - 1)


def fresh_state(build_model: Callable[[], nn.Module], seed: int) -> State:
    """The state of a newly built (so newly initialised) model, drawn with ``seed``.

    Example:
        >>> first = fresh_state(lambda: nn.Linear(2, 1), seed=1)
        >>> torch.equal(first["weight"], fresh_state(lambda: nn.Linear(2, 1), 1)["weight"])
        True
    """
    torch.manual_seed(seed)
    return build_model().state_dict()


def start_state(
    mode: str,
    round_number: int,
    *,
    original: State,
    after_first_run: State | None,
    build_model: Callable[[], nn.Module],
    seed: int,
) -> State:
    """The weights a round starts from before its masks are applied.

    ``original`` is the lottery ticket: the values the dense network started with.
    ``rewind`` is late rewinding: the values after the first (dense) training run.
    ``random`` draws a new initialisation with a seed of its own each round.

    Example:
        .. code-block:: python

            state = start_state("original", 3, original=initial, after_first_run=None,
                                build_model=build_model, seed=42)
            model.load_state_dict(state)
            masks.apply(model)
    """
    if mode == "original":
        return original
    if mode == "rewind":
        if after_first_run is None:
            raise RuntimeError("rewinding needs the weights after the first training run")
        return after_first_run
    if mode == "random":
        return fresh_state(build_model, random_reset_seed(seed, round_number))
    raise ValueError(f"unknown reset {mode!r}")
