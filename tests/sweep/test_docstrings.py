"""The runnable examples in stmg_envs.sweep docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stmg_envs.sweep",
    "stmg_envs.sweep.trial",
    "stmg_envs.sweep.records",
    "stmg_envs.sweep.execution",
    "stmg_envs.sweep.runner",
    "stmg_envs.sweep.cli",
    "stmg_envs.sweep.reporting",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every module has at least one example and none of them fails."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
