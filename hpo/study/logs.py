"""CSV trial and report logs beside the store, safe with several writers.

``epochs.csv`` grows one row per report of a trial (within epochs and at their ends),
appended under a lock as training goes; its metric columns are the registered tasks' metrics
(:func:`hpo.tasks.task_metrics`), so a new task's metrics get columns of their own.
``trials.csv`` is a snapshot of the store, rewritten (atomically) after every trial, so it
always agrees with the store. :func:`sync_logs` brings ``epochs.csv`` back in line with the
store after a crash (dropping reports the store never received).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.atomic_files import atomic_write_text
from hpo.run_layout import trial_dir
from hpo.study.trial_cost import COST_ATTRS, wall_seconds
from hpo.study.trial_steps import epoch_end_values
from hpo.tasks import task_metrics, task_names

if TYPE_CHECKING:
    import optuna

    from hpo.training import EpochRecord

# The columns epochs.csv has had, in the order they were added. A column is only ever
# appended, so that a file written before it is upgraded by adding empty cells (see
# _upgrade_header); the metric columns of the first two tasks therefore stay where they
# were added: classification's after val_loss, translation's (and padding) after worker,
# then those of reports within epochs: the training examples seen, whether dev was the
# subset, and the seconds since the report before; then the pruner's step the report was
# stored at (the examples, scaled where a trial's epoch is not the study's).
_WRITTEN_COLUMNS = (
    "trial",
    "epoch",
    "train_loss",
    "val_loss",
    "accuracy",
    "f1",
    "lr",
    "epoch_s",
    "tokens_per_s",
    "worker",
    "bleu",
    "chrf",
    "ppl",
    "padding",
    "examples",
    "subset",
    "train_s",
    "val_s",
    "step",
)


def metric_columns() -> list[str]:
    """Every registered task's metrics, in registration order; ``loss`` is ``val_loss``.

    Example:
        >>> metric_columns()
        ['accuracy', 'f1', 'bleu', 'chrf', 'ppl']
    """
    names = (name for task in task_names() for name in task_metrics(task) if name != "loss")
    return list(dict.fromkeys(names))


def epoch_columns() -> list[str]:
    """The header of ``epochs.csv``: the columns written so far, then one for each metric of
    a registered task that none of them names yet.

    Example:
        >>> epoch_columns()[:6]
        ['trial', 'epoch', 'train_loss', 'val_loss', 'accuracy', 'f1']
    """
    return [*_WRITTEN_COLUMNS, *(m for m in metric_columns() if m not in _WRITTEN_COLUMNS)]


# The header with the tasks registered now.
EPOCH_COLUMNS = epoch_columns()
TRIAL_BASE_COLUMNS = [
    "number",
    "state",
    "value",
    "datetime_start",
    "datetime_complete",
    "duration_s",
]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


class EpochLog:
    """Appends one row per report to ``epochs.csv``."""

    def __init__(self, path: Path, worker: str = ""):
        self.path = path
        self.worker = worker

    def append(self, trial_number: int, record: EpochRecord, step: int | None = None) -> None:
        """One row for ``record``; ``step``: the step the store holds its value at."""
        row = {
            "trial": trial_number,
            "epoch": record.epoch,
            "train_loss": record.train_loss,
            "val_loss": record.val_loss,
            **{name: record.metrics.get(name) for name in metric_columns()},
            "lr": record.lr,
            "epoch_s": record.seconds,
            "tokens_per_s": record.tokens_per_s,
            "worker": self.worker,
            "padding": record.padding,
            "examples": record.examples,
            "subset": int(record.subset),
            "train_s": round(record.train_seconds, 4),
            "val_s": round(record.val_seconds, 4),
            "step": step,
        }
        columns = epoch_columns()
        with _locked(self.path):
            new = not self.path.exists() or self.path.stat().st_size == 0
            if not new:
                _upgrade_header(self.path, columns)
            with self.path.open("a", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, columns)
                if new:
                    writer.writeheader()
                writer.writerow({k: _fmt(v) for k, v in row.items()})
                handle.flush()
                os.fsync(handle.fileno())


def _upgrade_header(path: Path, columns: list[str]) -> None:
    """Rewrite an ``epochs.csv`` of an older column set with today's ``columns`` (empty
    cells for the new ones), so appended rows line up with the header."""
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    if header == columns:
        return
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def trial_rows(
    trials: list[optuna.trial.FrozenTrial], study_dir: Path | None = None
) -> tuple[list[str], list[dict]]:
    """Columns and rows of ``trials.csv``: base fields, what the trial cost, params, the
    value reported at each epoch's end (``epoch_<n>``; reports within epochs are in
    ``epochs.csv``), the other user attrs.

    The cost columns (:data:`hpo.study.trial_cost.COST_ATTRS`) are always there, empty for
    trials that did not record them. With ``study_dir``, a ``checkpoint`` column names each
    trial's kept checkpoint.
    """
    params = sorted({name for t in trials for name in t.params})
    epoch_values = {t.number: epoch_end_values(t) for t in trials}
    max_epoch = max((max(v, default=0) for v in epoch_values.values()), default=0)
    attrs = sorted({name for t in trials for name in t.user_attrs} - set(COST_ATTRS))
    columns = (
        TRIAL_BASE_COLUMNS
        + list(COST_ATTRS)
        + [f"param_{p}" for p in params]
        + [f"epoch_{e}" for e in range(1, max_epoch + 1)]
        + attrs
        + (["checkpoint"] if study_dir is not None else [])
    )
    rows = []
    for t in trials:
        duration = wall_seconds(t)
        row = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value if t.values else None,
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
            "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
            "duration_s": duration,
        }
        row.update({name: t.user_attrs.get(name) for name in COST_ATTRS})
        row.update({f"param_{p}": t.params.get(p) for p in params})
        row.update({f"epoch_{e}": v for e, v in epoch_values[t.number].items()})
        row.update(t.user_attrs)
        if study_dir is not None:
            kept = trial_dir(study_dir, t.number)
            row["checkpoint"] = str(kept) if kept.is_dir() else None
        rows.append({k: _fmt(v) for k, v in row.items()})
    return columns, rows


def write_trials_csv(study: optuna.Study, path: Path) -> None:
    """Rewrite ``trials.csv`` from the store.

    The store is read under the file's lock: a snapshot taken before another writer's newer
    one could otherwise replace the newer file.
    """
    with _locked(path):
        columns, rows = trial_rows(study.get_trials(deepcopy=False), path.parent)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path, buffer.getvalue())


def sync_epochs_csv(study: optuna.Study, path: Path) -> None:
    """Drop report rows of finished trials that the store never received."""
    if not path.exists():
        return
    with _locked(path):
        # Read under the lock: a row is appended (under it) only after its trial is in the
        # store, so every row found here has its trial in this snapshot.
        trials = {t.number: t for t in study.get_trials(deepcopy=False)}
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = []
        for row in rows:
            trial = trials.get(int(row["trial"]))
            if trial is None:
                continue
            if trial.state.is_finished() and _step(row) not in trial.intermediate_values:
                continue
            kept.append(row)
        if len(kept) == len(rows):
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, epoch_columns())
        writer.writeheader()
        writer.writerows(kept)
        atomic_write_text(path, buffer.getvalue())


def _step(row: dict[str, str]) -> int:
    """A row's step in the store: its ``step``; in rows written before that column, its
    examples; in rows written before reports within epochs, its epoch."""
    return int(row.get("step") or row.get("examples") or row["epoch"])


def sync_logs(study: optuna.Study, study_dir: Path) -> None:
    """Make both logs agree with the store."""
    study_dir.mkdir(parents=True, exist_ok=True)
    write_trials_csv(study, study_dir / "trials.csv")
    sync_epochs_csv(study, study_dir / "epochs.csv")
