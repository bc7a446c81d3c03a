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
    name = "stdin" if path == "-" else f"--input {path}"
    try:
        # Bytes, decoded here: the text layer of stdin passes bytes that are not UTF-8 on
        # as lone surrogates, which no tokenizer takes. A byte-order mark is no text.
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        return data.decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from None
