"""Helpers of the interop tests: the tasks every library runs on, and how to skip cleanly."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import numpy as np
import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)

#: A task: (registry ID, factory kwargs).
Task = tuple[str, dict[str, Any]]

#: The matrix game every library runs on (2 agents, Discrete(3) actions, 25 steps).
MATRIX_TASK: Task = ("stmg/Penalty-v0", {"k": -100})
#: The MuJoCo task every library runs on (2 agents, Box(3) actions), with short episodes.
MUJOCO_TASK: Task = ("stmg/HalfCheetah-v0", {"episode_length": 5})
#: The highway tasks (Discrete(5) actions with action masks), for the info contract and TorchRL.
ONRAMP_TASK: Task = ("stmg/OnRampMerge-v0", {"difficulty": "easy", "num_controlled": 2, "max_steps": 8})
TRAFFIC_MERGE_TASK: Task = ("stmg/TrafficMerge-v0", {})

_INSTALL_HINT = (
    "build the interop environment: python3 -m venv .venv-interop && .venv-interop/bin/pip install "
    "-c constraints.txt -e '.[mujoco,highway,agents,test]' -r requirements/interop.txt"
)


def _mujoco_skip_reason() -> str | None:
    try:
        import mujoco  # noqa: F401
    except ImportError as exc:
        return f"mujoco is not importable ({exc}); install it with: pip install 'stmg-envs[mujoco]'"
    except Exception as exc:  # a missing MUJOCO_GL backend fails at import
        return (
            f"mujoco is not importable with MUJOCO_GL={os.environ.get('MUJOCO_GL')!r} "
            f"({type(exc).__name__}: {exc}); install that backend or unset MUJOCO_GL"
        )
    return None


#: Why MuJoCo tests skip here, or None when mujoco imports.
MUJOCO_SKIP_REASON = _mujoco_skip_reason()


def _highway_skip_reason() -> str | None:
    try:
        import highway_env  # noqa: F401
    except ImportError as exc:
        return f"highway_env is not importable ({exc}); install it with: pip install 'stmg-envs[highway]'"
    return None


#: Why highway tests skip here, or None when highway_env imports.
HIGHWAY_SKIP_REASON = _highway_skip_reason()

#: ``pytest.param``s over the two tasks, the MuJoCo one marked ``mujoco``.
TASKS = [
    pytest.param(MATRIX_TASK, id="Penalty"),
    pytest.param(MUJOCO_TASK, id="HalfCheetah", marks=pytest.mark.mujoco),
]

#: ``pytest.param``s over the two highway tasks, marked ``highway``.
HIGHWAY_TASKS = [
    pytest.param(ONRAMP_TASK, id="OnRampMerge", marks=pytest.mark.highway),
    pytest.param(TRAFFIC_MERGE_TASK, id="TrafficMerge", marks=pytest.mark.highway),
]


def require(module: str) -> ModuleType:
    """Import ``module`` or skip the calling test, saying how to get it.

    Only an ``ImportError`` skips: a library that is installed but broken fails.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"{module} is not importable ({exc}); {_INSTALL_HINT}")


def make_aec(task: Task, **wrapper_kwargs: Any) -> pettingzoo.AECEnv:
    """The sequential form (the STMG) of ``task``, from PettingZoo's registry."""
    task_id, kwargs = task
    return pettingzoo.make("aec", task_id, **kwargs, **wrapper_kwargs)


def make_parallel(task: Task) -> pettingzoo.ParallelEnv:
    """The simultaneous form of ``task``, from PettingZoo's registry."""
    task_id, kwargs = task
    return pettingzoo.make("parallel", task_id, **kwargs)


def one_hot(index: int, size: int) -> np.ndarray:
    """float32 one-hot vector, as the STMG encodes a ``Discrete`` action."""
    out = np.zeros(size, dtype=np.float32)
    out[index] = 1.0
    return out


def random_action(space: Any, rng: np.random.Generator) -> Any:
    """A uniformly drawn action of a ``Discrete`` (plain int) or ``Box`` space, from ``rng``."""
    if hasattr(space, "n"):
        return int(rng.integers(space.n))
    return rng.uniform(space.low, space.high).astype(space.dtype)
