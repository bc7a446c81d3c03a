"""The progress display: trials done, the latest trial's state and value, the best so far,
and, while a trial trains, its reports (:class:`TrialProgress`).

On a terminal it is a live status line; otherwise one plain line per finished trial and per
report, so that logs and pipes get no control characters.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from hpo.durations import format_duration
from hpo.study.too_slow import stopped_before_reporting
from hpo.study.trial_cost import trial_cost
from hpo.study.trial_steps import epochs_at, epochs_reached, format_epochs

if TYPE_CHECKING:
    import optuna
    from rich.status import Status

    from hpo.training import EpochRecord


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class ProgressDisplay:
    """A study callback (``callbacks=[display]``) and a context manager around the run."""

    def __init__(
        self,
        study: optuna.Study,
        total: int | None,
        console: Console | None = None,
        show_worker: bool = False,
        quiet: bool = False,
    ):
        self.quiet = quiet
        self.study = study
        self.total = total
        self.show_worker = show_worker
        self.done = 0
        self.console = console or Console(stderr=False)
        self._status: Status | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal and not self.quiet:
            self._status = status = self.console.status(self._waiting_text())
            status.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._status is not None:
            self._status.__exit__(*exc_info)
            self._status = None

    def _waiting_text(self) -> str:
        of = f"/{self.total}" if self.total else ""
        return f"study {self.study.study_name}: {self.done}{of} trials done, next one running"

    def line(self, trial: optuna.trial.FrozenTrial) -> str:
        of = f"/{self.total}" if self.total else ""
        parts = [
            f"[{self.done}{of}] trial {trial.number} {trial.state.name}",
            f"value={_value(trial.value if trial.values else None)}",
        ]
        if trial.state.name == "PRUNED" and trial.intermediate_values:
            parts.append(f"at epoch {format_epochs(epochs_reached(trial))}")
        reason = trial.user_attrs.get("fail_reason")
        if reason:
            parts.append(f"({reason})")
        if self.show_worker and trial.user_attrs.get("worker"):
            parts.append(f"on {trial.user_attrs['worker']}")
        try:
            best = self.study.best_trial
            parts.append(f"| best={_value(best.value)} (trial {best.number})")
        except ValueError:
            parts.append("| best=-")
        return " ".join(parts)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.done += 1
        if self.quiet:
            return
        warning = stopped_before_reporting(trial)
        lines = [f"warning: trial {trial.number} {warning}"] if warning else []
        lines.append(self.line(trial))
        for text in lines:
            if self._status is not None:
                self.console.print(text, highlight=False, markup=False)
            else:
                print(text, flush=True)
        if self._status is not None:
            self._status.update(self._waiting_text())
        else:
            sys.stdout.flush()

    def trial_line(self, text: str) -> None:
        """Show a running trial's progress: the live line on a terminal, a plain line else."""
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(text)
        else:
            print(text, flush=True)

    def for_trial(
        self,
        trial: optuna.Trial,
        metric: str,
        max_epochs: int | None,
        trial_limit: float | None,
        deadline: float | None,
    ) -> TrialProgress:
        """A report callback for ``trial`` that shows its progress here."""
        return TrialProgress(
            self.trial_line, trial.number, metric, max_epochs, trial_limit, deadline
        )


class TrialProgress:
    """After each report of a running trial: which report, how far into its epochs, the data
    seen, the value, the speed and the time left.

    ``trial_limit`` is the trial's time limit in seconds and ``deadline`` the study's end on
    the ``time.monotonic`` clock, each None where there is none; ``max_epochs`` None for a
    trial that has none (the best training on).

    Example:
        >>> lines = []
        >>> progress = TrialProgress(lines.append, 3, "accuracy", max_epochs=10,
        ...                          trial_limit=None, deadline=None)
        >>> from hpo.training import EpochRecord
        >>> progress(EpochRecord(0.5, 0.9, 0.8, {"accuracy": 0.71}, 1e-3, 12.0, 2500.0,
        ...                      examples=5000))
        >>> lines[0]
        'trial 3: report 1, epoch 0.5/10, 5,000 examples, accuracy=0.71, 2,500 tokens/s'
    """

    def __init__(
        self,
        show: Callable[[str], None],
        number: int,
        metric: str,
        max_epochs: int | None,
        trial_limit: float | None,
        deadline: float | None,
    ):
        self.show = show
        self.number = number
        self.metric = metric
        self.max_epochs = max_epochs
        self.trial_limit = trial_limit
        self.deadline = deadline
        self.started = time.monotonic()
        self.count = 0

    def __call__(self, record: EpochRecord) -> None:
        self.count += 1
        now = time.monotonic()
        trial_left = None if self.trial_limit is None else self.trial_limit - (now - self.started)
        study_left = None if self.deadline is None else self.deadline - now
        self.show(
            report_line(
                self.number,
                self.count,
                format_epochs(record.epoch) + (f"/{self.max_epochs}" if self.max_epochs else ""),
                record.examples,
                f"{self.metric}={record.value(self.metric):.4g}",
                record.tokens_per_s,
                trial_left,
                study_left,
            )
        )


def report_line(
    number: int,
    count: int,
    epochs: str,
    examples: int | None,
    value: str,
    tokens_per_s: float | None,
    trial_left: float | None,
    study_left: float | None,
) -> str:
    """One report of a running trial as the progress display shows it.

    Example:
        >>> print(report_line(4, 2, "1/10", 900, "bleu=3.1", None, 125.0, 60.0))
        trial 4: report 2, epoch 1/10, 900 examples, bleu=3.1, 2m5s left in the trial, 1m left in...
    """
    parts = [f"trial {number}: report {count}", f"epoch {epochs}"]
    if examples:
        parts.append(f"{examples:,} examples")
    parts.append(value)
    if tokens_per_s is not None:
        parts.append(f"{tokens_per_s:,.0f} tokens/s")
    if trial_left is not None:
        parts.append(f"{format_duration(max(0.0, trial_left))} left in the trial")
    if study_left is not None:
        parts.append(f"{format_duration(max(0.0, study_left))} left in the study")
    return ", ".join(parts)


class StoredReports:
    """The progress of trials that other processes train, read from the store: called with
    the study's trials, it shows each new report of a running trial as :class:`TrialProgress`
    does, with the worker that runs it.

    Tokens per second come from the cost the trial records at each report
    (:mod:`hpo.study.trial_cost`), the time left in the trial from the ``time_limit_s`` it
    records when it starts; ``deadline`` is the study's end on the ``time.monotonic``
    clock, None where there is none.

    Example:
        >>> import optuna
        >>> from optuna.trial import TrialState
        >>> trial = optuna.trial.create_trial(state=TrialState.RUNNING,
        ...     intermediate_values={500: 0.4, 1000: 0.62},
        ...     user_attrs={"epoch_examples": 2000, "tokens_seen": 24000,
        ...                 "train_seconds": 12.0, "worker": "gpu1:42/w0"})
        >>> lines = []
        >>> reports = StoredReports(lines.append, "f1", max_epochs=10, deadline=None)
        >>> trial.number = 7
        >>> reports([trial]); reports([trial])  # the second read finds nothing new
        >>> len(lines)
        1
        >>> print(lines[0])
        trial 7: report 2, epoch 0.5/10, 1,000 examples, f1=0.62, 2,000 tokens/s on gpu1:42/w0
    """

    def __init__(
        self,
        show: Callable[[str], None],
        metric: str,
        max_epochs: int,
        deadline: float | None,
    ):
        self.show = show
        self.metric = metric
        self.max_epochs = max_epochs
        self.deadline = deadline
        self.shown: dict[int, int] = {}  # reports shown, by trial number

    def __call__(self, trials: Sequence[FrozenTrial]) -> None:
        for trial in trials:
            count = len(trial.intermediate_values)
            if trial.state != TrialState.RUNNING or count <= self.shown.get(trial.number, 0):
                continue
            self.shown[trial.number] = count
            self.show(self.line(trial, count))

    def line(self, trial: FrozenTrial, count: int) -> str:
        step = max(trial.intermediate_values)
        cost = trial_cost(trial)
        tokens_per_s = None
        if cost.tokens_seen and cost.train_seconds:
            tokens_per_s = cost.tokens_seen / cost.train_seconds
        trial_left = None
        limit = trial.user_attrs.get("time_limit_s")
        if isinstance(limit, (int, float)) and trial.datetime_start is not None:
            # Optuna stamps trials with the local wall clock.
            ran = (datetime.datetime.now() - trial.datetime_start).total_seconds()
            trial_left = limit - ran
        study_left = None if self.deadline is None else self.deadline - time.monotonic()
        text = report_line(
            trial.number,
            count,
            f"{format_epochs(epochs_at(trial, step))}/{self.max_epochs}",
            cost.examples_seen or step,
            f"{self.metric}={trial.intermediate_values[step]:.4g}",
            tokens_per_s,
            trial_left,
            study_left,
        )
        worker = trial.user_attrs.get("worker")
        return f"{text} on {worker}" if worker else text
