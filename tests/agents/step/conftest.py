"""STEP tests need the [agents] extra (torch, stable-baselines3); without it, skip this folder."""

import importlib.util

if any(importlib.util.find_spec(name) is None for name in ("torch", "stable_baselines3")):
    collect_ignore_glob = ["test_*.py"]
