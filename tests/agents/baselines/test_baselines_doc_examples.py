"""The docstring examples of stmg_agents.baselines must run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

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
    """Every >>> example in the module gives the output it shows."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
