"""The listed stmg_envs.highway modules have docstring examples (tests/test_docstrings.py runs every one)."""

from __future__ import annotations

import pytest

from tests.test_docstrings import has_examples

LIGHT_MODULES = ["stmg_envs.highway.config", "stmg_envs.highway.priority"]
HIGHWAY_MODULES = [
    "stmg_envs.highway",
    "stmg_envs.highway._deps",
    "stmg_envs.highway.merge_road",
    "stmg_envs.highway.on_ramp",
    "stmg_envs.highway.traffic_merge",
]


def run_examples(name: str) -> None:
    assert has_examples(name), f"{name} has no example (its examples run in tests/test_docstrings.py)"


@pytest.mark.parametrize("name", LIGHT_MODULES[:1])
def test_docstring_examples_without_highway_env(name):
    """Modules that need no highway-env have examples (tests/test_docstrings.py runs them)."""
    run_examples(name)


@pytest.mark.highway
@pytest.mark.parametrize("name", LIGHT_MODULES[1:] + HIGHWAY_MODULES)
def test_docstring_examples(name):
    """The env modules (and the priority order, which builds an env) have examples (run in tests/test_docstrings.py)."""
    run_examples(name)
