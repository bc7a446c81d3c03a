"""The arithmetic of the benchmarks (``benchmarks/quality_timeline.py``,
``benchmarks/sampler_choice.py``, ``benchmarks/turns.py``): their docstring examples, run
as tests because pytest collects doctests only under ``hpo/``."""

from __future__ import annotations

import doctest
import importlib.util

from tests.conftest import PROJECT_ROOT


def run_examples(name: str) -> doctest.TestResults:
    path = PROJECT_ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return doctest.testmod(module)


def test_best_values_by_time_and_the_targets_are_computed_as_their_examples_say():
    result = run_examples("quality_timeline")

    assert result.attempted >= 10
    assert result.failed == 0


def test_best_within_a_budget_of_examples_is_computed_as_its_examples_say():
    result = run_examples("sampler_choice")

    assert result.attempted >= 3
    assert result.failed == 0


def test_contenders_take_turns_and_report_a_json_line_as_the_examples_say():
    result = run_examples("turns")

    assert result.attempted >= 4
    assert result.failed == 0
