"""Packaging: every sub-package is installed, agents/ is importable as stmg_agents, and nothing heavy loads on import."""

from __future__ import annotations

import subprocess
import sys

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    """A sub-package added without listing it in pyproject.toml would be missing from non-editable installs."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, name in (("stmg_envs", "stmg_envs"), ("agents", "stmg_agents")):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *parts)))
    assert found == listed


def test_import_is_light():
    """import stmg_envs registers every task without importing torch, mujoco or highway_env."""
    code = (
        "import sys, stmg_envs\n"
        "heavy = [m for m in ('torch', 'mujoco', 'highway_env', 'stable_baselines3') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
