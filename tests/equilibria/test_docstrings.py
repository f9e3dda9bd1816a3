"""The runnable examples in stmg_envs.equilibria docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stmg_envs.equilibria",
    "stmg_envs.equilibria.payoffs",
    "stmg_envs.equilibria.stackelberg",
    "stmg_envs.equilibria.nash",
    "stmg_envs.equilibria.cooperation",
    "stmg_envs.equilibria.outcome",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every module has at least one example and none of them fails."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
