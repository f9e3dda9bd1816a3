"""The docstring examples of stmg_agents.step must run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

pytestmark = pytest.mark.agents

MODULES = [
    "stmg_agents",
    "stmg_agents.step",
    "stmg_agents.step._checks",
    "stmg_agents.step.algorithm",
    "stmg_agents.step.buffer",
    "stmg_agents.step.evaluation",
    "stmg_agents.step.execution",
    "stmg_agents.step.hypernetwork",
    "stmg_agents.step.inference",
    "stmg_agents.step.losses",
    "stmg_agents.step.networks",
    "stmg_agents.step.policy",
    "stmg_agents.step.vec_env",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    """Every >>> example in the module gives the output it shows (and there is at least one)."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    assert result.attempted > 0, f"{name} has no runnable example"
