"""Subgame-state spaces and random observation batches for testing the N-level policy without an env."""

from __future__ import annotations

import numpy as np
import torch as th
from gymnasium import spaces


def subgame_space(
    n_agents: int, action_space: spaces.Space, obs_dim: int = 4, action_mask: bool = False
) -> spaces.Dict:
    """The STMG subgame-state space for ``n_agents`` agents sharing ``action_space``."""
    slot = action_space.n if isinstance(action_space, spaces.Discrete) else int(np.prod(action_space.shape))
    parts = {
        "observation": spaces.Box(-1.0, 1.0, (obs_dim,), np.float32),
        "prior_actions": spaces.Box(-1.0, 1.0, (n_agents * slot,), np.float32),
        "prior_mask": spaces.MultiBinary(n_agents),
        "rank": spaces.Discrete(n_agents),
    }
    if action_mask:
        parts["action_mask"] = spaces.MultiBinary(int(action_space.n))
    return spaces.Dict(parts)


def batch(space: spaces.Dict, size: int, rank: int | None = None, seed: int = 0) -> dict[str, th.Tensor]:
    """Random observations with a consistent prior mask (the ranks above are filled)."""
    rng = np.random.default_rng(seed)
    n = space["rank"].n
    ranks = rng.integers(0, n, size) if rank is None else np.full(size, rank)
    slot = space["prior_actions"].shape[0] // n
    prior = np.zeros((size, n * slot), np.float32)
    mask = np.zeros((size, n), np.int8)
    for row, r in enumerate(ranks):
        for k in range(r):
            prior[row, k * slot + rng.integers(slot)] = 1.0
            mask[row, k] = 1
    out = {
        "observation": th.as_tensor(rng.uniform(-1, 1, (size, space["observation"].shape[0])).astype(np.float32)),
        "prior_actions": th.as_tensor(prior),
        "prior_mask": th.as_tensor(mask),
        "rank": th.as_tensor(ranks.astype(np.int64)),
    }
    if "action_mask" in space.spaces:
        out["action_mask"] = th.as_tensor(np.tile(np.array([1, 0, 1], np.int8), (size, 1)))
    return out
