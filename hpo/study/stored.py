"""Finding a study in its store: by study file or by name, opened without changing it."""

from __future__ import annotations

import optuna

from hpo.config import StudyConfig, load_study_config, resolve_storage
from hpo.errors import BadInput
from hpo.study.storage import mask_url, open_storage, storage_failure


def resolve_study(ref: str, storage: str | None) -> tuple[str, StudyConfig | None, str]:
    """``--study`` as a study file (name or path), or else as the name of a stored study."""
    try:
        config = load_study_config(ref)
    except BadInput as exc:
        if str(exc).startswith("unknown study") and "/" not in ref:
            return ref, None, resolve_storage(storage)
        raise
    return config.name, config, resolve_storage(storage, config)


def load_stored_study(name: str, storage_url: str) -> optuna.Study:
    from sqlalchemy.exc import SQLAlchemyError

    storage = open_storage(storage_url, existing=True)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        raise storage_failure(storage_url, exc, "read studies from") from None
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        held = ", ".join(sorted(names)) or "no studies"
        raise BadInput(f"no study {name!r} in {mask_url(storage_url)} (it holds: {held})") from None


__all__ = ["load_stored_study", "resolve_study"]
