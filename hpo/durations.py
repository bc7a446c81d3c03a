"""Durations written as ``90s``, ``30m``, ``12h``, ``1d`` or ``1h30m``."""

from __future__ import annotations

import re

from hpo.errors import BadInput

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str | int | float) -> float:
    """Return the number of seconds in ``text``; a bare number is taken as seconds.

    >>> parse_duration("1h30m")
    5400.0
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", raw):
            seconds = float(raw)
        else:
            match = _DURATION.match(raw)
            if not raw or match is None:
                raise BadInput(f"bad duration {text!r}: expected e.g. 90s, 30m, 12h, 1d or 1h30m")
            days, hours, minutes, secs = match.groups()
            seconds = (
                int(days or 0) * _UNIT_SECONDS["d"]
                + int(hours or 0) * _UNIT_SECONDS["h"]
                + int(minutes or 0) * _UNIT_SECONDS["m"]
                + float(secs or 0)
            )
    if seconds <= 0:
        raise BadInput(f"bad duration {text!r}: must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds the way they are written in study files (``1h30m``, ``45s``)."""
    seconds = int(round(seconds))
    parts = []
    for unit in ("d", "h", "m"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return "".join(parts)
