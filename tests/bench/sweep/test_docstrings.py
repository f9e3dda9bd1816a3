"""The listed stmg_bench.sweep modules have docstring examples (tests/test_docstrings.py runs every one)."""

from __future__ import annotations

import pytest

from tests.test_docstrings import has_examples

MODULES = [
    "stmg_bench.sweep",
    "stmg_bench.sweep.trial",
    "stmg_bench.sweep.records",
    "stmg_bench.sweep.execution",
    "stmg_bench.sweep.runner",
    "stmg_bench.sweep.cli",
    "stmg_bench.sweep.reporting",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every listed module has at least one example (tests/test_docstrings.py runs them all)."""
    assert has_examples(name), f"{name} has no runnable example (its examples run in tests/test_docstrings.py)"
