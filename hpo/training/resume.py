"""What a training checkpoint holds besides the weights: every random generator in use.

A resumed run reproduces the uninterrupted one only if it draws the same numbers: the
data-order generator (batch order), torch's CPU generator (dropout, teacher forcing on
CPU), the CUDA generators (dropout on a GPU) and Python's ``random``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from hpo.atomic_files import atomic_link, atomic_path

LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
# A checkpoint within an epoch (for resuming a killed run near where it stopped) is skipped
# when writing it would cost more than this share of the time since the last one, unless it
# is cheap anyway: a 15M-parameter translator with its Adam state is 185 MB, 0.2-0.7 s a
# write on a laptop disk, and reports come every 20 s of its training.
CHECKPOINT_SHARE = 0.02
CHEAP_CHECKPOINT_S = 0.1


def checkpoint_due(since_last: float, last_cost: float) -> bool:
    """Whether a checkpoint within an epoch is worth writing, ``since_last`` seconds after
    the last one, which took ``last_cost`` seconds to write.

    Example:
        >>> checkpoint_due(since_last=20.0, last_cost=0.05)  # cheap: always
        True
        >>> checkpoint_due(since_last=20.0, last_cost=0.6)  # 3% of the time since the last
        False
        >>> checkpoint_due(since_last=40.0, last_cost=0.6)
        True
    """
    return last_cost <= max(CHEAP_CHECKPOINT_S, CHECKPOINT_SHARE * since_last)


def random_state(generator: torch.Generator, device: torch.device) -> dict[str, Any]:
    """The state of every generator a run draws from; CUDA's only where CUDA is used.

    Example:
        >>> state = random_state(torch.Generator().manual_seed(0), torch.device("cpu"))
        >>> sorted(state), state["cuda_rng"]
        (['cuda_rng', 'generator', 'python_rng', 'torch_rng'], None)
    """
    cuda = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
    return {
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": cuda,
        "python_rng": random.getstate(),
    }


def restore_random_state(
    state: dict[str, Any], generator: torch.Generator, device: torch.device
) -> None:
    """Put every generator back as :func:`random_state` found it.

    Checkpoints written before the CUDA generators or Python's were saved lack them; those
    generators are then left as they are.
    """
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    cuda = state.get("cuda_rng")
    if cuda and device.type == "cuda":
        # Resumed on a machine with fewer GPUs: restore those that are there.
        for index, rng in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(rng, index)
    python = state.get("python_rng")
    if python is not None:
        version, internal, gauss = python
        random.setstate((version, tuple(internal), gauss))


def save_state(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` in one step: a killed run never leaves half a checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def save_states(state: dict[str, Any], last: Path, best: Path | None = None) -> None:
    """Write ``state`` to ``last``, and name the same file ``best`` too where given: at a
    new best the two states are one, written once (185 MB for a 15M-parameter translator
    with its Adam state)."""
    save_state(state, last)
    if best is not None:
        atomic_link(last, best)


def load_state(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
