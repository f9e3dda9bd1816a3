"""Packaging: import names match their folders, the env core stays free of training code, and nothing heavy loads on import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_import_name_matches_its_folder():
    """Readers and tools follow an import name to its file: stmg_envs/, stmg_bench/ and agents/stmg_agents/."""
    import stmg_agents
    import stmg_bench
    import stmg_envs

    assert Path(stmg_envs.__file__).parent == ROOT / "stmg_envs"
    assert Path(stmg_bench.__file__).parent == ROOT / "stmg_bench"
    assert Path(stmg_agents.__file__).parent == ROOT / "agents" / "stmg_agents"


def test_the_env_core_never_imports_the_harness_or_training_code():
    """stmg_envs depends on no training code and never imports the benchmark harness (architecture rule)."""
    offenders = []
    for path in (ROOT / "stmg_envs").rglob("*.py"):
        text = path.read_text()
        for banned in ("stmg_bench", "stmg_agents", "import torch", "stable_baselines3"):
            if banned in text:
                offenders.append(f"{path.relative_to(ROOT)}: {banned}")
    assert offenders == []


def test_import_is_light():
    """import stmg_envs registers every task without importing torch, mujoco or highway_env."""
    code = (
        "import sys, stmg_envs\n"
        "heavy = [m for m in ('torch', 'mujoco', 'highway_env', 'stable_baselines3') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
