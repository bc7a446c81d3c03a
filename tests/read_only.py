"""A folder nothing can be written in, for root too: immutable (chattr +i) where the tests
run as root, else without write permission."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """Make ``path`` unwritable while the block runs; restore it afterwards."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)]).returncode != 0:
        pytest.skip("running as root where chattr +i does not work: no folder is read-only")
    try:
        yield path
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)
