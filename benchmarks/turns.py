"""Fresh processes taking turns: how the side-by-side benchmarks compare two contenders.

Each contender trains in a process of its own (nothing one leaves behind, kernels built,
memory mapped, huge pages, can help or hurt the other), the contenders alternate, and
every round runs them in the other order, so that neither always goes first on a machine
whose speed drifts. A child prints its findings as one JSON line, last.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence


def in_turns(
    names: Sequence[str], rounds: int, run_one: Callable[[str], dict]
) -> dict[str, list[dict]]:
    """``run_one(name)`` for every contender, ``rounds`` times, each round in the other order.

    >>> order = []
    >>> runs = in_turns(["a", "b"], 2, lambda name: order.append(name) or {"name": name})
    >>> order, [run["name"] for run in runs["b"]]
    (['a', 'b', 'b', 'a'], ['b', 'b'])
    """
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for turn in range(rounds):
        for name in list(names)[:: 1 if turn % 2 == 0 else -1]:
            runs[name].append(run_one(name))
    return runs


def child_lines(command: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The standard output of a child that must succeed, line by line."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the training process failed:\n{done.stderr[-3000:]}")
    return done.stdout.splitlines()


def last_json(lines: Sequence[str]) -> dict:
    """The child's findings: its last line that holds a JSON object.

    >>> last_json(["starting", '{"train_s": [1.5]}', "done"])
    {'train_s': [1.5]}
    """
    return json.loads(next(line for line in reversed(lines) if line.startswith("{")))


def process_usage() -> dict:
    """This process's page faults, CPU seconds in the kernel and in the program, and peak
    memory so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "faults": usage.ru_minflt,
        "system_s": usage.ru_stime,
        "user_s": usage.ru_utime,
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
    }
