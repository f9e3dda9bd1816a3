"""Reference agents for stmg-envs: STEP, and the baselines (:mod:`stmg_agents.baselines`: IPPO, MAPPO, seq-ppo, Bi-AC).

Importing this package is cheap: ``STEP`` and friends (torch, Stable-Baselines3)
load on first access.

Examples:
    >>> from stmg_agents import STEP
    >>> STEP.__name__
    'STEP'
"""

from __future__ import annotations

import importlib
from typing import Any

_STEP = (
    "STEP",
    "NLevelPolicy",
    "STMGVecEnv",
    "joint_policy_readout",
    "train_step",
    "play_time_step",
    "symmetric_action",
)
_BASELINES = ("IPPO", "MAPPO", "IPPOConfig", "MAPPOConfig", "ActionReadout")
_MODULES = {"SeqPPO": "stmg_agents.baselines.seq_ppo", "BiLevelQLearning": "stmg_agents.baselines.biac"}
__all__ = [*_STEP, *_BASELINES, *_MODULES]  # noqa: PLE0604


def __getattr__(name: str) -> Any:
    if name in _STEP:
        return getattr(importlib.import_module("stmg_agents.step"), name)
    if name in _BASELINES:
        return getattr(importlib.import_module("stmg_agents.baselines"), name)
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'stmg_agents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
