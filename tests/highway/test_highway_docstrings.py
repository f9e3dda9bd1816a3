"""The runnable examples in stmg_envs.highway docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

LIGHT_MODULES = ["stmg_envs.highway.config", "stmg_envs.highway.priority"]
HIGHWAY_MODULES = [
    "stmg_envs.highway",
    "stmg_envs.highway._deps",
    "stmg_envs.highway.merge_road",
    "stmg_envs.highway.on_ramp",
    "stmg_envs.highway.traffic_merge",
]


def run_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0


@pytest.mark.parametrize("name", LIGHT_MODULES[:1])
def test_docstring_examples_without_highway_env(name):
    """Examples of modules that need no highway-env run."""
    run_examples(name)


@pytest.mark.highway
@pytest.mark.parametrize("name", LIGHT_MODULES[1:] + HIGHWAY_MODULES)
def test_docstring_examples(name):
    """Examples of the env modules (and the priority order, which builds an env) run."""
    run_examples(name)
