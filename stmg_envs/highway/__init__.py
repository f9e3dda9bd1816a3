"""Highway on-ramp merging tasks, built on highway-env (``pip install 'stmg-envs[highway]'``).

* :class:`OnRampMergeEnv` (``stmg/OnRampMerge-v0``): Chen et al. (2021)'s multi-agent
  on-ramp merge in mixed traffic, difficulty ``"easy"``, ``"medium"`` or ``"hard"``.
* :class:`TrafficMergeEnv` (``stmg/TrafficMerge-v0``): Bi-AC's two-car merge.
* :func:`merge_priority_order`: a dynamic priority order for :func:`stmg_envs.stmg_v0`.

Importing this package does not import highway-env; the environments do, on
first use, and say how to install it if it is missing.

Examples:
    >>> from stmg_envs import stmg_v0
    >>> from stmg_envs.highway import OnRampMergeEnv, merge_priority_order
    >>> aec = stmg_v0(OnRampMergeEnv("medium"), order=merge_priority_order)
"""

from __future__ import annotations

import importlib
from typing import Any

from stmg_envs.highway.config import ACTIONS, DIFFICULTIES, OnRampReward, TrafficDensity, TrafficMergeReward
from stmg_envs.highway.priority import merge_priority_order

__all__ = [
    "ACTIONS",
    "DIFFICULTIES",
    "OnRampMergeEnv",
    "OnRampReward",
    "TrafficDensity",
    "TrafficMergeEnv",
    "TrafficMergeReward",
    "max_controlled",
    "merge_priority_order",
]

_LAZY = {
    "OnRampMergeEnv": "stmg_envs.highway.on_ramp",
    "max_controlled": "stmg_envs.highway.on_ramp",
    "TrafficMergeEnv": "stmg_envs.highway.traffic_merge",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
