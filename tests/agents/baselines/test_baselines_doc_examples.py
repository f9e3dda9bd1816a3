"""The listed stmg_agents.baselines modules have docstring examples (tests/test_docstrings.py runs every one)."""

from __future__ import annotations

import pytest

from tests.test_docstrings import has_examples

pytestmark = pytest.mark.agents

MODULES = [
    "stmg_agents.baselines",
    "stmg_agents.baselines.base",
    "stmg_agents.baselines.config",
    "stmg_agents.baselines.env_source",
    "stmg_agents.baselines.ippo",
    "stmg_agents.baselines.mappo",
    "stmg_agents.baselines.mappo_networks",
    "stmg_agents.baselines.mappo_rollout",
    "stmg_agents.baselines.observation_encoding",
    "stmg_agents.baselines.persistence",
    "stmg_agents.baselines.rng",
    "stmg_agents.baselines.shared_policy_env",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    """Every listed module has at least one example (tests/test_docstrings.py runs them all)."""
    assert has_examples(name), f"{name} has no runnable example (its examples run in tests/test_docstrings.py)"
