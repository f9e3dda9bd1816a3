"""Every runnable example in a docstring of stmg_envs, stmg_bench and stmg_agents runs and prints what it claims.

One test per module that has examples, found by walking the packages, so a new module's examples are tested
without being listed anywhere; this is where every example runs. The per-package docstring tests require their
listed modules to have examples (a module that lost its examples would drop out of this walk unnoticed).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import stmg_agents
import stmg_bench
import stmg_envs


def _modules() -> list[str]:
    names = []
    for package in (stmg_envs, stmg_bench, stmg_agents):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            names.append(info.name)
    return sorted(names)


def has_examples(name: str) -> bool:
    """Whether module ``name`` has at least one runnable example (the per-package tests require it of theirs)."""
    module = importlib.import_module(name)
    return any(test.examples for test in doctest.DocTestFinder(exclude_empty=True).find(module))


MODULES = [name for name in _modules() if has_examples(name)]


def test_the_walk_finds_the_packages_examples():
    """The walk reaches modules in every package (a broken walk would test nothing)."""
    assert {name.split(".")[0] for name in MODULES} == {"stmg_envs", "stmg_bench", "stmg_agents"}
    assert "stmg_envs.wrappers.action_codec" in MODULES and "stmg_envs.matrix.generators" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    """The module's examples all pass."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
