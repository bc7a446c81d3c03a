"""The arithmetic of the time-to-quality benchmark (``benchmarks/quality_timeline.py``): its
docstring examples, run as tests because pytest collects doctests only under ``hpo/``."""

from __future__ import annotations

import doctest
import importlib.util

from tests.conftest import PROJECT_ROOT


def test_best_values_by_time_and_the_targets_are_computed_as_their_examples_say():
    path = PROJECT_ROOT / "benchmarks" / "quality_timeline.py"
    spec = importlib.util.spec_from_file_location("quality_timeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    result = doctest.testmod(module)

    assert result.attempted >= 10
    assert result.failed == 0
