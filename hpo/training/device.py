"""Device choice: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""

from __future__ import annotations

import re

import torch

from hpo.errors import BadInput

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"


def select_device(preference: str = "auto", *, option: str = "training.device") -> torch.device:
    """The device ``preference`` names; CUDA that is not present is bad input.

    ``option`` names where the preference came from (``--device``, ``training.device``), so
    the one-line error points at what to change.

    Example:
        >>> select_device("cpu")
        device(type='cpu')
        >>> select_device("gpu", option="--device")
        Traceback (most recent call last):
        ...
        hpo.errors.BadInput: --device must be auto, cpu, cuda or cuda:N, got 'gpu'
    """
    text = preference.strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if match is None:
        raise BadInput(f"{option} must be {DEVICE_CHOICES}, got {preference!r}")
    if not torch.cuda.is_available():
        raise BadInput(f"{option} {preference}: no CUDA device is present on this machine")
    count = torch.cuda.device_count()
    if match.group(1) is not None and int(match.group(1)) >= count:
        raise BadInput(f"{option} {preference}: this machine has {count} CUDA device(s)")
    return torch.device(text)


def choose_device(override: str | None, study_device: str = "auto") -> torch.device:
    """``--device`` when given, else the study's ``training.device``.

    Example:
        >>> choose_device("cpu", "auto")
        device(type='cpu')
    """
    if override is not None:
        return select_device(override, option="--device")
    return select_device(study_device)


def describe(device: torch.device, precision: str | None = None) -> str:
    """The device in words, with what training computes in there where given.

    Example:
        >>> describe(torch.device("cpu"), "float32").endswith("threads, float32)")
        True
    """
    extra = f", {precision}" if precision else ""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)}{extra})"
    return f"cpu ({torch.get_num_threads()} threads{extra})"
