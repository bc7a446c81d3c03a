"""Mixed precision: the float type a training step's autocast computes in, on each device.

``training.amp`` asks for it. On CUDA that is float16 with a gradient scaler. On a CPU with
native bfloat16 arithmetic (AVX512-BF16 or AMX, which oneDNN uses) it is bfloat16: the
matrix products run at up to 1.8x the float32 rate there, and a translator's whole training
step at 1.3x (Transformer) to 1.5x (LSTM) on 2 cores
(``benchmarks/translation_throughput.py``), while the weights, the optimizer state and the
loss stay float32, and bfloat16's float32 range needs no scaler.
A CPU without those instructions would emulate bfloat16, slower than float32: it trains in
float32 (on an AVX-512 Xeon without them the seq2seq start point trained 3.2x as fast,
``benchmarks/bfloat16_choice.py``). Validation and decoding compute in the same type as
training (as on CUDA): on a bfloat16 CPU a translator's float32 validation of all of dev
took a quarter of its epoch's training, and in bfloat16 a tenth, with dev BLEU within a
few hundredths (``benchmarks/validation_precision.py``). So a trial's values depend a
little on whether its CPU computes bfloat16, as its trained weights already do;
``amp: false`` computes both in float32 everywhere.

oneDNN builds a kernel for each new shape of a product and keeps the last 1,024 by
default. A translator's token-budget batches and greedy decoding's shrinking batches make
more shapes than that, so each validation evicted training's kernels and the next epoch
built them again: on 20k gettext pairs, about 540 rebuilds an epoch after the first, 2% of
a bfloat16 epoch on 2 cores of an AMD EPYC (``benchmarks/kernel_cache.py``; a build costs
more with AMX). :func:`keep_kernels` raises the limit before training, unless the user set it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
from collections.abc import Callable
from pathlib import Path

import torch

KERNEL_CACHE_ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
# Some 1,200 kernels for the translation task above; each costs little memory (the
# process's peak was the same within noise at 1,024 and at 65,536).
KERNEL_CACHE_CAPACITY = 16384


# The CPU features that compute bfloat16 in hardware on x86 (Linux's names for them).
X86_BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware: on x86 AVX512-BF16 or AMX, elsewhere
    oneDNN's own check (on ARM it asks for the BF16 instructions themselves).

    oneDNN's check alone is not enough on x86: it counts any AVX-512 CPU, where it emulates
    bfloat16 by conversions. On an AVX-512 Xeon without AVX512-BF16 the seq2seq space's start
    point trained 3.2x slower in it than in float32 (``benchmarks/bfloat16_choice.py``).
    """
    try:
        onednn = bool(torch.backends.mkldnn.is_available()) and bool(
            torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):  # a build without oneDNN or without that check
        return False
    if not onednn:
        return False
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"):
        return x86_has_bfloat16()
    return True


def x86_has_bfloat16() -> bool:
    """Whether this x86 CPU has AVX512-BF16 or AMX: PyTorch's own CPU checks where this
    version has them, else the flags Linux lists in ``/proc/cpuinfo``."""
    names = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    checks: list[Callable[[], bool]] = [
        check for name in names if callable(check := getattr(torch.cpu, name, None))
    ]
    if len(checks) == len(names):
        return any(check() for check in checks)
    return bool(X86_BFLOAT16_FLAGS & linux_cpu_flags())


def linux_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The feature flags of the first CPU in ``cpuinfo``; empty where there is none.

    Example:
        >>> linux_cpu_flags(Path("/no/such/file"))
        set()
    """
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return set(value.split())
    return set()


def training_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """The type a training step, and validation, autocasts to on ``device``; None: float32
    throughout.

    Example:
        >>> training_dtype(torch.device("cpu"), amp=False) is None
        True
        >>> training_dtype(torch.device("cpu"), amp=True) in (torch.bfloat16, None)
        True
    """
    if not amp:
        return None
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_has_bfloat16():
        return torch.bfloat16
    return None


def precision_name(device: torch.device, amp: bool) -> str:
    """What training computes in on ``device``: ``float16``, ``bfloat16`` or ``float32``.

    Example:
        >>> precision_name(torch.device("cpu"), amp=False)
        'float32'
    """
    dtype = training_dtype(device, amp)
    return str(dtype).removeprefix("torch.") if dtype is not None else "float32"


def keep_kernels() -> None:
    """Let oneDNN keep :data:`KERNEL_CACHE_CAPACITY` kernels, unless the user chose a number.

    oneDNN reads the limit once, when it builds its first kernel in the process: a call
    after that changes nothing, so training calls this before its first step.

    Example:
        >>> keep_kernels()
        >>> int(os.environ[KERNEL_CACHE_ENV]) > 0
        True
    """
    os.environ.setdefault(KERNEL_CACHE_ENV, str(KERNEL_CACHE_CAPACITY))


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast to ``dtype`` on ``device``, or nothing where ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


__all__ = [
    "KERNEL_CACHE_CAPACITY",
    "KERNEL_CACHE_ENV",
    "autocast",
    "cpu_has_bfloat16",
    "keep_kernels",
    "linux_cpu_flags",
    "precision_name",
    "training_dtype",
    "x86_has_bfloat16",
]
