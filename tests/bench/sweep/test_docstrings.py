"""The runnable examples in stmg_bench.sweep docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

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
    """Every module has at least one example and none of them fails."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
