"""Study names as folder names: each study gets one folder that can only be inside runs/.

A stored study may have been named by any program (``optuna.create_study(study_name="..")``),
so its name cannot be joined onto ``runs/`` as it is: ``..`` would be the working directory,
``a/b`` a folder two levels down, ``.cache`` the shared tokenizer cache.
"""

from __future__ import annotations

import hashlib
import re

# The names a study file may have: one path component that is neither hidden nor special.
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_UNSAFE_CHARACTER = re.compile(r"[^A-Za-z0-9_.-]")


def study_folder_name(study_name: str) -> str:
    """The name of a study's folder under ``runs/``: the study name itself when it is plain.

    Any other name (``.``, ``..``, a slash, a control character, a leading dot, more than
    100 characters) becomes ``_`` + its plain characters + ``-`` + a hash of the whole name.
    A plain name never starts with ``_``, so the two kinds never meet, and no folder name is
    ``.``, ``..``, hidden, or holds a separator.

    Example:
        >>> study_folder_name("demo")
        'demo'
        >>> study_folder_name("..")
        '_..-5ec1f7e700f37c3d'
        >>> study_folder_name("../../etc")
        '_.._.._etc-74ccf3c5b4c19a81'
    """
    if PLAIN_NAME.fullmatch(study_name):
        return study_name
    encoded = study_name.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    readable = _UNSAFE_CHARACTER.sub("_", study_name)[:40]
    return f"_{readable}-{digest}"


__all__ = ["PLAIN_NAME", "study_folder_name"]
