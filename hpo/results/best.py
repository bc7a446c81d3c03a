"""``hpo best``: the best trial of a study and the counts of trials by state."""

from __future__ import annotations

from collections import Counter
from typing import Any

from optuna.trial import TrialState

from hpo.config import study_dir_for
from hpo.errors import HpoError
from hpo.run_layout import trial_dir
from hpo.study.storage import mask_url
from hpo.study.stored import load_stored_study, resolve_study


def best(ref: str, storage: str | None = None) -> dict[str, Any]:
    """The best trial of a study and the counts by state, ready to print or dump as JSON."""
    name, _, storage_url = resolve_study(ref, storage)
    study = load_stored_study(name, storage_url)
    trials = study.get_trials(deepcopy=False)
    counts = dict(Counter(t.state.name for t in trials))
    if not any(t.state == TrialState.COMPLETE for t in trials):
        raise HpoError(f"study {name!r} has no complete trial yet ({counts or 'no trials'})")
    trial = study.best_trial
    checkpoint = trial_dir(study_dir_for(name), trial.number)
    params = {**trial.user_attrs.get("fixed_params", {}), **trial.params}
    study_file = study.user_attrs.get("study_file") or None
    return {
        "study": name,
        "storage": mask_url(storage_url),
        "direction": study.direction.name.lower(),
        "metric": study.user_attrs.get("metric"),
        "number": trial.number,
        "value": trial.value,
        "params": params,
        "best_epoch": trial.user_attrs.get("best_epoch"),
        "seed": trial.user_attrs.get("seed"),
        "device": trial.user_attrs.get("device"),
        "datetime_start": trial.datetime_start.isoformat() if trial.datetime_start else None,
        "duration_s": (
            (trial.datetime_complete - trial.datetime_start).total_seconds()
            if trial.datetime_complete and trial.datetime_start
            else None
        ),
        "checkpoint": str(checkpoint) if checkpoint.is_dir() else None,
        "counts": counts,
        "n_trials": len(trials),
        "study_file": study_file,
        # What a rerun of this trial needs: the study's data and training settings, these
        # params (fixed ones included), the trial's seed and, on CPU, its thread count.
        "reproduce": {
            "study_file": study_file,
            "params": params,
            "seed": trial.user_attrs.get("seed"),
            "device": trial.user_attrs.get("device"),
            "command": f"hpo train --study {study_file or name} --trial {trial.number}",
        },
    }


def format_best(info: dict[str, Any]) -> str:
    lines = [
        f"study     {info['study']}  ({info['storage']})",
        f"best      trial {info['number']}: {info['metric'] or 'value'} = {info['value']:.6g}"
        f" ({info['direction']}), epoch {info['best_epoch']}",
        "params    " + ", ".join(f"{k}={v}" for k, v in sorted(info["params"].items())),
        f"seed      {info['seed']}" + (f", {info['device']}" if info.get("device") else ""),
        f"trials    {info['n_trials']}: "
        + ", ".join(f"{n} {s.lower()}" for s, n in sorted(info["counts"].items())),
        f"checkpoint {info['checkpoint'] or '(none kept)'}",
    ]
    return "\n".join(lines)


__all__ = ["best", "format_best"]
