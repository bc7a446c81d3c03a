"""Input text of ``hpo predict`` and ``hpo translate``: a file or stdin, one text a line."""

from __future__ import annotations

import sys
from pathlib import Path

from hpo.errors import BadInput


def read_input_lines(path: str) -> list[str]:
    """The lines of ``path`` (``-``: stdin); a file that cannot be read is bad input.

    Example:
        .. code-block:: python

            lines = read_input_lines("texts.txt")
    """
    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"cannot read --input {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
