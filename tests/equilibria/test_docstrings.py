"""The listed stmg_envs.equilibria modules have docstring examples (tests/test_docstrings.py runs every one)."""

from __future__ import annotations

import pytest

from tests.test_docstrings import has_examples

MODULES = [
    "stmg_envs.equilibria",
    "stmg_envs.equilibria.payoffs",
    "stmg_envs.equilibria.stackelberg",
    "stmg_envs.equilibria.nash",
    "stmg_envs.equilibria.cooperation",
    "stmg_envs.equilibria.outcome",
    "stmg_envs.equilibria.iterated",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every listed module has at least one example (tests/test_docstrings.py runs them all)."""
    assert has_examples(name), f"{name} has no runnable example (its examples run in tests/test_docstrings.py)"
