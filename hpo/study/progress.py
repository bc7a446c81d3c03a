"""The progress display: trials done, the latest trial's state and value, the best so far.

On a terminal it is a live status line; otherwise one plain line per finished trial, so
that logs and pipes get no control characters.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console

from hpo.study.trial_steps import epochs_reached, format_epochs

if TYPE_CHECKING:
    import optuna
    from rich.status import Status


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
        text = self.line(trial)
        if self._status is not None:
            self.console.print(text, highlight=False, markup=False)
            self._status.update(self._waiting_text())
        else:
            print(text, flush=True)
            sys.stdout.flush()
