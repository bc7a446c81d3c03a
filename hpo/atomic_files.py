"""Files that readers see whole or not at all: written under a temporary name, then renamed.

A rename within one folder replaces the old file in one step, so a reader (another worker,
``hpo translate``, a dashboard) finds either the previous file or the new one complete, never
a half-written one, even when the writer is killed midway.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it becomes ``path`` when the block ends.

    The temporary file is synced to disk before the rename; if the block raises, it is
    removed and ``path`` is left as it was.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "model.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("weights")
        ...     target.exists()
        False
        >>> target.read_text()
        'weights'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        # mkstemp makes the file private (0600); results are for everyone the umask allows.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        os.close(fd)
        yield tmp
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8, newlines kept as given) in one step.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "trials.csv"
        >>> atomic_write_text(target, "number,state\\n")
        >>> target.read_text()
        'number,state\\n'
    """
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def atomic_copy(source: Path, path: Path) -> None:
    """Copy ``source`` to ``path`` in one step (e.g. a tokenizer model into a checkpoint)."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


def atomic_link(source: Path, path: Path) -> None:
    """Make ``path`` name the file ``source`` names, in one step, without writing it again
    (a copy where the file system has no hard links).

    Files here are replaced, never changed in place, so ``path`` keeps its content when
    ``source`` is replaced by a newer file later.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> atomic_write_text(folder / "last.txt", "epoch 3")
        >>> atomic_link(folder / "last.txt", folder / "best.txt")
        >>> atomic_write_text(folder / "last.txt", "epoch 4")
        >>> (folder / "best.txt").read_text()
        'epoch 3'
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        os.link(source, tmp)
    except OSError:
        atomic_copy(source, path)
        return
    try:
        os.replace(tmp, path)
    finally:
        # Left where the rename failed, or where ``path`` already named the same file (a
        # rename between two names of one file does nothing).
        tmp.unlink(missing_ok=True)
