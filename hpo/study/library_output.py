"""What libraries say while a study runs goes to the study's ``warnings.log``, not the terminal.

Between progress lines a user should read hpo's lines only. Optuna logs every failed trial
with its full traceback (a Ctrl-C among them) and warns through Python warnings that name
its own source files; sacrebleu warns about tokenized periods on every validation of a
young model. While a study runs, all of these go to ``runs/<study>/warnings.log``, each
distinct message once per study, and the run's summary says where they are. A trial ended
by Ctrl-C is not logged at all: the trial's ``fail_reason`` says so already.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from hpo.config import study_dir_for

LOG_NAME = "warnings.log"
LIBRARY_LOGGERS = ("optuna", "sacrebleu")

_FAILED_TRIAL = re.compile(r"Trial (\d+) failed")

Run = TypeVar("Run", bound=Callable[..., Any])


class LibraryOutput:
    """A context manager that routes library warnings and log records into ``path``.

    Example:
        .. code-block:: python

            with LibraryOutput(Path("runs/demo/warnings.log")) as output:
                study.optimize(objective, n_trials=20)
            if output.grew():
                print(f"library warnings in {output.path}")
    """

    def __init__(self, path: Path):
        self.path = path
        self._seen = _logged_messages(path)
        self._size_before = _size(path)
        self._interrupted_trials: set[str] = set()
        self._handler = _RoutingHandler(self)
        self._saved: list[tuple[logging.Logger, bool, list[logging.Handler]]] = []
        self._catching = warnings.catch_warnings()

    def __enter__(self) -> LibraryOutput:
        self._catching.__enter__()
        warnings.showwarning = self._show_warning
        for name in LIBRARY_LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.propagate, list(logger.handlers)))
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.addHandler(self._handler)
            logger.propagate = False
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for logger, propagate, handlers in self._saved:
            logger.removeHandler(self._handler)
            for handler in handlers:
                logger.addHandler(handler)
            logger.propagate = propagate
        self._saved.clear()
        self._catching.__exit__(*exc_info)

    def grew(self) -> bool:
        """Whether anything (from this process or a worker) was written since the start."""
        return _size(self.path) > self._size_before

    def _show_warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        self.write(f"{category.__name__}: {message}", f"{filename}:{lineno}")

    def take(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        failed = _FAILED_TRIAL.match(message)
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt) and failed:
            self._interrupted_trials.add(failed.group(1))
            return
        if failed and failed.group(1) in self._interrupted_trials:
            return  # Optuna's second line about the same interrupted trial
        detail = ""
        if record.exc_info:
            detail = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        self.write(f"{record.name} {record.levelname.lower()}: {message}", detail)

    def write(self, message: str, detail: str = "") -> None:
        """Append ``message`` (and indented ``detail``) unless the study logged it before."""
        first_line = message.strip().splitlines()[0] if message.strip() else message
        if first_line in self._seen:
            return
        self._seen.add(first_line)
        lines = [f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {first_line}"]
        rest = message.strip().splitlines()[1:] + detail.splitlines()
        lines += [f"    {line}" for line in rest]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
        except OSError:
            pass  # a log of warnings must never stop a study


class _RoutingHandler(logging.Handler):
    def __init__(self, output: LibraryOutput):
        super().__init__(level=logging.WARNING)
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        self.output.take(record)


def routes_library_output(run: Run) -> Run:
    """Run ``run(config, ...)`` with library output routed to the study's ``warnings.log``.

    The returned summary's ``warnings_log`` names the file when the run added to it.
    """

    @functools.wraps(run)
    def routed(config: Any, *args: Any, **kwargs: Any) -> Any:
        with LibraryOutput(study_dir_for(config.name) / LOG_NAME) as output:
            summary = run(config, *args, **kwargs)
        if output.grew():
            summary.warnings_log = output.path
        return summary

    return routed  # type: ignore[return-value]


def _logged_messages(path: Path) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    lines = text.splitlines()
    return {line.split("] ", 1)[1] for line in lines if line.startswith("[") and "] " in line}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


__all__ = ["LOG_NAME", "LibraryOutput", "routes_library_output"]
