"""The docstring examples of stmg_agents.step exist (tests/test_docstrings.py runs every one)."""

from __future__ import annotations

import pytest

from tests.test_docstrings import has_examples

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
    """Every listed module has at least one example (tests/test_docstrings.py runs them all)."""
    assert has_examples(name), f"{name} has no runnable example (its examples run in tests/test_docstrings.py)"
