"""The ``hpo`` command line: parse, call one library function, print.

Exit codes: 0 done, 1 a run-time failure, 2 bad input, 130 interrupted. Each module of this
package registers its commands with :data:`hpo.cli.app.app`: ``search`` (optimize,
grid-search), ``results`` (best, report, trials, studies, delete, dashboard) and ``models``
(train, evaluate, translate, predict, lottery).
"""

from __future__ import annotations

import signal
import sys
from importlib import import_module

import typer

from hpo.cli.app import app
from hpo.errors import HpoError
from hpo.host_memory import use_huge_pages

__all__ = ["app", "main"]

# Each module registers its commands on import; `hpo --help` lists them in this order.
for _commands in ("search", "results", "models"):
    import_module(f"hpo.cli.{_commands}")


def _interrupt_on_sigterm() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hpo`` console script; returns the exit code."""
    _interrupt_on_sigterm()
    use_huge_pages()  # before any tensor: PyTorch reads it once
    try:
        result = app(args=argv, prog_name="hpo", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except HpoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        # Argument errors of the parser (typer's own click, vendored or not).
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            if exc.exit_code == 2 and "help" not in type(exc).__name__.lower():
                print(f"error: {exc.format_message()}", file=sys.stderr)
            return exc.exit_code
        raise


if __name__ == "__main__":
    sys.exit(main())
