"""``hpo trials`` and ``hpo studies``: what a study holds, and what a store holds.

Both read the store only: no study file is needed, and neither imports torch.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config import resolve_storage, study_dir_for
from hpo.errors import BadInput
from hpo.study.logs import trial_rows
from hpo.study.storage import mask_url, open_storage, parse_storage_url, storage_failure
from hpo.study.stored import load_stored_study, resolve_study
from hpo.study.too_slow import stopped_before_reporting
from hpo.study.trial_cost import TrialCost, trial_cost, wall_seconds
from hpo.study.trial_steps import epochs_reached, format_epochs

if TYPE_CHECKING:
    from rich.table import Table

STATES = {
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "fail": TrialState.FAIL,
    "running": TrialState.RUNNING,
    "waiting": TrialState.WAITING,
}
SORT_KEYS = ("number", "value", "duration")


@dataclass
class TrialListing:
    """Some trials of one study, filtered and ordered as asked."""

    study_name: str
    storage: str  # password masked
    direction: str
    metric: str
    trials: list[FrozenTrial]
    study_dir: Path


def require_single_objective(study: optuna.Study) -> optuna.Study:
    """The study itself; one with several objectives (made outside hpo) is bad input."""
    if len(study.directions) > 1:
        raise BadInput(
            f"study {study.study_name!r} has {len(study.directions)} objectives; "
            "hpo shows single-objective studies only"
        )
    return study


def _sorted(trials: list[FrozenTrial], sort: str, direction: str) -> list[FrozenTrial]:
    if sort == "value":
        # Best first for the study's direction; trials without a value last.
        sign = -1 if direction == "maximize" else 1
        return sorted(trials, key=lambda t: (t.value is None, sign * (t.value or 0.0), t.number))
    if sort == "duration":
        return sorted(trials, key=lambda t: (-(wall_seconds(t) or -1.0), t.number))
    return sorted(trials, key=lambda t: t.number)


def list_trials(
    ref: str,
    storage: str | None = None,
    *,
    state: str | None = None,
    sort: str = "number",
    limit: int | None = None,
) -> TrialListing:
    """The trials of a study, optionally of one state, sorted and cut to ``limit``.

    ``sort`` is ``number`` (default), ``value`` (best first for the study's direction) or
    ``duration`` (longest first).

    Example:
        .. code-block:: python

            listing = list_trials("demo", state="pruned", sort="value", limit=5)
            print([t.number for t in listing.trials])
    """
    if state is not None and state.lower() not in STATES:
        raise BadInput(f"--state must be one of {', '.join(STATES)}, got {state!r}")
    if sort not in SORT_KEYS:
        raise BadInput(f"--sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    if limit is not None and limit < 1:
        raise BadInput(f"--limit must be at least 1, got {limit}")
    name, _, storage_url = resolve_study(ref, storage)
    study = require_single_objective(load_stored_study(name, storage_url))
    states = (STATES[state.lower()],) if state else None
    trials = study.get_trials(deepcopy=False, states=states)
    direction = study.direction.name.lower()
    ordered = _sorted(trials, sort, direction)[:limit]
    return TrialListing(
        study_name=name,
        storage=mask_url(storage_url),
        direction=direction,
        metric=study.user_attrs.get("metric") or "value",
        trials=ordered,
        study_dir=study_dir_for(name),
    )


def trials_csv(listing: TrialListing) -> str:
    """The listed trials in the columns of ``trials.csv``."""
    columns, rows = trial_rows(listing.trials, listing.study_dir)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_text(path: Path, text: str) -> None:
    """Write a file the user named; a path that cannot be written is bad input."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _amount(value: int | None) -> str:
    """A count in at most four digits and a unit: 950, 12.3k, 4.56M."""
    if value is None:
        return "-"
    for size, unit in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def _train_val(cost: TrialCost) -> str:
    if cost.train_seconds is None and cost.val_seconds is None:
        return "-"
    seconds = (cost.train_seconds, cost.val_seconds)
    return "/".join("-" if s is None else f"{s:.1f}" for s in seconds)


def _note(trial: FrozenTrial) -> str:
    if (reason := stopped_before_reporting(trial)) is not None:
        return reason
    if trial.state == TrialState.PRUNED:
        return f"pruned at epoch {format_epochs(epochs_reached(trial))}"
    if trial.user_attrs.get("fail_reason"):
        return str(trial.user_attrs["fail_reason"])
    stop = trial.user_attrs.get("stop_reason")
    return "" if stop in (None, "max_epochs") else str(stop)


def _seen(cost: TrialCost) -> str:
    if cost.examples_seen is None and cost.tokens_seen is None:
        return "-"
    return f"{_amount(cost.examples_seen)}/{_amount(cost.tokens_seen)}"


def trials_table(listing: TrialListing) -> Table:
    """A rich table of the listed trials: state, value, epochs, duration, what each cost
    (training examples/tokens seen, training/validation seconds, device), params, note.

    Trials that did not record their cost show ``-`` there. Where every listed trial that
    names its device names the same one, the title says it instead of a column.

    Example:
        .. code-block:: python

            from rich.console import Console

            Console().print(trials_table(list_trials("demo", sort="value", limit=10)))
    """
    from rich.table import Table

    params = sorted({name for t in listing.trials for name in t.params})
    costs = [trial_cost(t) for t in listing.trials]
    devices = {c.device for c in costs if c.device}
    shared = f" on {next(iter(devices))}" if len(devices) == 1 else ""
    table = Table(
        title=f"study {listing.study_name}: {len(listing.trials)} trial(s){shared} "
        f"({listing.storage})",
        title_justify="left",
    )
    columns = [listing.metric, "epochs", "best epoch", "duration_s", "examples/tokens"]
    for column in ["trial", "state", *columns, "train/val s"]:
        table.add_column(column, justify="right" if column != "state" else "left")
    if len(devices) > 1:
        # A GPU's name is long; trials.csv has all of it.
        table.add_column("device", max_width=26, no_wrap=True, overflow="ellipsis")
    for param in params:
        table.add_column(param)
    table.add_column("note")
    for t, cost in zip(listing.trials, costs, strict=True):
        table.add_row(
            str(t.number),
            t.state.name.lower(),
            _fmt(t.value if t.values else None),
            format_epochs(epochs_reached(t)),
            _fmt(t.user_attrs.get("best_epoch")),
            "-" if wall_seconds(t) is None else f"{wall_seconds(t):.2f}",
            _seen(cost),
            _train_val(cost),
            *([cost.device or "-"] if len(devices) > 1 else []),
            *(_fmt(t.params.get(p)) for p in params),
            _note(t),
        )
    return table


@dataclass
class StoredStudySummary:
    """One study of a store, as ``hpo studies`` shows it."""

    name: str
    task: str
    direction: str
    metric: str
    counts: dict[str, int]
    best_value: float | None
    best_trial: int | None
    last_activity: datetime | None


def _last_activity(trials: list[FrozenTrial]) -> datetime | None:
    times = [t.datetime_complete or t.datetime_start for t in trials]
    return max((t for t in times if t is not None), default=None)


def list_studies(storage: str | None = None) -> tuple[str, list[StoredStudySummary]]:
    """Every study in the store (``--storage``, ``HPO_STORAGE`` or runs/hpo.db), by name.

    Returns the masked storage URL and one summary per study. A SQLite file that does not
    exist yet holds no study (and is not created).

    Example:
        .. code-block:: python

            url, studies = list_studies("sqlite:///runs/hpo.db")
            for s in studies:
                print(s.name, s.counts, s.best_value)
    """
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_storage(storage)
    parsed = parse_storage_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database).exists():
        return mask_url(url), []
    store = open_storage(url, existing=True)
    try:
        return mask_url(url), [_summary(study, store) for study in _stored(store)]
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        raise storage_failure(url, exc, "read studies from") from None


def _stored(store: optuna.storages.BaseStorage) -> list[optuna.study.StudySummary]:
    return sorted(optuna.get_all_study_summaries(store), key=lambda s: s.study_name)


def _summary(
    study: optuna.study.StudySummary, store: optuna.storages.BaseStorage
) -> StoredStudySummary:
    trials = optuna.load_study(study_name=study.study_name, storage=store).get_trials(
        deepcopy=False
    )
    best = study.best_trial
    return StoredStudySummary(
        name=study.study_name,
        task=str(study.user_attrs.get("task", "-")),
        direction="/".join(d.name.lower() for d in study.directions),
        metric=str(study.user_attrs.get("metric") or "value"),
        counts=dict(Counter(t.state.name.lower() for t in trials)),
        best_value=best.value if best else None,
        best_trial=best.number if best else None,
        last_activity=_last_activity(trials),
    )


def studies_table(url: str, studies: list[StoredStudySummary]) -> Table:
    """A rich table of the studies in a store."""
    from rich.table import Table

    count = f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}"
    table = Table(title=f"{count} in {url}", title_justify="left")
    for column in ["study", "task", "metric", "trials", *STATES, "best", "last activity"]:
        table.add_column(column, justify="left" if column in ("study", "task") else "right")
    for s in studies:
        best = "-" if s.best_value is None else f"{s.best_value:.4g} (trial {s.best_trial})"
        last = s.last_activity.strftime("%Y-%m-%d %H:%M:%S") if s.last_activity else "-"
        table.add_row(
            s.name,
            s.task,
            f"{s.metric} ({'/'.join(d[:3] for d in s.direction.split('/'))})",
            str(sum(s.counts.values())),
            *(str(s.counts.get(state, 0)) for state in STATES),
            best,
            last,
        )
    return table


__all__ = [
    "StoredStudySummary",
    "TrialListing",
    "list_studies",
    "list_trials",
    "require_single_objective",
    "studies_table",
    "trials_csv",
    "trials_table",
    "write_text",
]
