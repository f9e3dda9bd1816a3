"""The harness's modules have docstring examples (tests/test_docstrings.py runs them); the example algorithm's runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.test_docstrings import has_examples

#: Modules whose examples need no optional extra beyond the agents one.
MODULES = [
    "stmg_bench",
    "stmg_bench.contract",
    "stmg_bench.registry",
    "stmg_bench.args",
    "stmg_bench.provenance",
    "stmg_bench.selection",
    "stmg_bench.cli",
    "stmg_bench.suites.matrix_study",
    "stmg_bench.suites.matrix_summary",
    "stmg_bench.suites.summary",
    "stmg_bench.suites.control_study",
    pytest.param("stmg_bench.suites.matrix", marks=pytest.mark.agents),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every listed module has at least one example (tests/test_docstrings.py runs them all)."""
    if name == "stmg_bench.suites.matrix":
        pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")
    assert has_examples(name), f"{name} has no runnable example (its examples run in tests/test_docstrings.py)"


def test_the_example_algorithm_outside_the_package_runs_its_example():
    """examples/tabular_learner.py's docstring example runs (it is what the README points users to)."""
    from pathlib import Path

    from stmg_bench.registry import load_object

    path = Path(__file__).resolve().parents[2] / "examples" / "tabular_learner.py"
    module = importlib.import_module(load_object(f"{path}:SequentialQ").__module__)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
