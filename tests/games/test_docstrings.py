"""The runnable examples in stmg_envs.games docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stmg_envs.games",
    "stmg_envs.games.payoffs",
    "stmg_envs.games.stackelberg",
    "stmg_envs.games.nash",
    "stmg_envs.games.cooperation",
    "stmg_envs.games.outcome",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every module has at least one example and none of them fails."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
