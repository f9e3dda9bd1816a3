"""The recipes of the docs' interop page run: SuperSuit and SB3 in both environments, RLlib, TorchRL and
Tianshou where they are installed (``.venv-interop``)."""

from __future__ import annotations

import importlib

import pytest

from tests.docs.examples import DOCS, python_blocks

pytestmark = [pytest.mark.both_envs, pytest.mark.slow]

#: Libraries a recipe may need that only the interop environment has, by the module that must import.
INTEROP_ONLY = {"ray": "ray.rllib", "torchrl": "torchrl", "tianshou": "tianshou"}


def _needs(block: str) -> list[str]:
    return [module for name, module in INTEROP_ONLY.items() if f"from {name}" in block or f"import {name}" in block]


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:  # not installed here, or installed without its own dependencies (ray without rllib's)
        return False
    return True


def test_every_recipe_runs_where_its_library_is_installed(tmp_path, monkeypatch):
    """Blocks run in order in one namespace; one whose library is missing here is skipped, and the run says which.

    In .venv-interop every library is installed, so there every block runs.
    """
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(DOCS / "interop.md")
    assert len(blocks) >= 6
    namespace: dict = {"__name__": "__docs__"}
    skipped = []
    for i, block in enumerate(blocks):
        missing = [module for module in _needs(block) if not _importable(module)]
        if missing:
            skipped.append((i, missing))
            continue
        exec(compile(block, f"interop.md[block {i}]", "exec"), namespace)
    if skipped:
        pytest.skip(f"ran {len(blocks) - len(skipped)} of {len(blocks)} recipes; not installed here: {skipped}")
