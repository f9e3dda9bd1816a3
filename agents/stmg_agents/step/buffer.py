"""Per-agent rollout storage for STEP, built on SB3's ``DictRolloutBuffer``.

Each (env copy, agent) pair is a *lane* with its own trajectory and reward
stream: the buffer holds ``n_steps`` temporal steps x ``n_envs * n_agents``
lanes (lane ``e * n_agents + k`` is agent ``possible_agents[k]`` of copy
``e``). Lanes in which the agent did not act at a step (dead, not spawned
yet) are marked invalid; they are stored as episode starts with zero value and
reward, which makes SB3's own ``compute_returns_and_advantage`` compute GAE per
agent correctly across them, and they never reach the loss.

Examples:
    >>> import numpy as np, torch as th
    >>> from gymnasium import spaces
    >>> obs_space = spaces.Dict({"observation": spaces.Box(0, 1, (1,)), "prior_actions": spaces.Box(0, 1, (4,)),
    ...                          "prior_mask": spaces.MultiBinary(2), "rank": spaces.Discrete(2)})
    >>> buf = STMGRolloutBuffer(2, obs_space, spaces.Discrete(2), n_envs=1, n_agents=2, gamma=1.0, gae_lambda=1.0)
    >>> buf.n_lanes
    2
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import DictRolloutBuffer

from stmg_agents.step._checks import check_int

__all__ = ["STMGRolloutBuffer", "STMGRolloutSamples"]


class STMGRolloutSamples(NamedTuple):
    """A training batch of decisions (all of one rank when drawn by :meth:`STMGRolloutBuffer.rank_samples`)."""

    observations: dict[str, th.Tensor]
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor

    def select(self, index: th.Tensor) -> STMGRolloutSamples:
        """The rows ``index`` of every field."""
        return STMGRolloutSamples(
            {k: v[index] for k, v in self.observations.items()},
            self.actions[index],
            self.old_values[index],
            self.old_log_prob[index],
            self.advantages[index],
            self.returns[index],
        )

    def __len__(self) -> int:
        return int(self.actions.shape[0])


class STMGRolloutBuffer(DictRolloutBuffer):
    """Rollout buffer with one lane per (env copy, agent).

    Args:
        buffer_size: Temporal steps per rollout (``n_steps``).
        observation_space: The subgame-state ``Dict`` space.
        action_space: The shared action space.
        device: Torch device of the samples.
        gae_lambda: GAE lambda.
        gamma: Discount factor.
        n_envs: Number of env copies.
        n_agents: Number of possible agents.
    """

    valid: np.ndarray
    ranks: np.ndarray
    off_policy: np.ndarray

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        gae_lambda: float = 1,
        gamma: float = 0.99,
        n_envs: int = 1,
        n_agents: int = 1,
    ):
        self.n_agents = check_int(n_agents, "n_agents")
        self.n_copies = int(n_envs)
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device,
            gae_lambda=gae_lambda,
            gamma=gamma,
            n_envs=int(n_envs) * self.n_agents,
        )

    @property
    def n_lanes(self) -> int:
        """``n_envs * n_agents``."""
        return self.n_envs

    def reset(self) -> None:
        super().reset()
        self.valid = np.zeros((self.buffer_size, self.n_envs), dtype=bool)
        self.ranks = np.zeros((self.buffer_size, self.n_envs), dtype=np.int64)
        self.off_policy = np.zeros((self.buffer_size, self.n_envs), dtype=bool)
        self._flat: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ writing
    def begin_step(self, step: int, episode_starts: np.ndarray) -> None:
        """Start temporal step ``step``: ``episode_starts[lane]`` is 1 where the lane's last step ended its episode."""
        self.episode_starts[step] = episode_starts

    def add_decisions(
        self,
        step: int,
        lanes: np.ndarray,
        obs: dict[str, np.ndarray],
        actions: np.ndarray,
        values: np.ndarray,
        log_probs: np.ndarray,
        ranks: np.ndarray,
        explored: np.ndarray | None = None,
    ) -> None:
        """Store the decisions of ``lanes`` at ``step`` (one row per lane); ``explored`` marks decisions whose action
        the policy did not choose (STEP's ``leader_explore``): contexts for the ranks below, but off-policy for
        their own rank (see :meth:`end_step`)."""
        count = len(lanes)
        for key, shape in self.obs_shape.items():
            self.observations[key][step, lanes] = np.asarray(obs[key]).reshape(count, *shape)
        self.actions[step, lanes] = np.asarray(actions).reshape(count, self.action_dim)
        self.values[step, lanes] = values
        self.log_probs[step, lanes] = log_probs
        self.ranks[step, lanes] = ranks
        self.off_policy[step, lanes] = False if explored is None else explored
        self.valid[step, lanes] = True

    def end_step(self, step: int, rewards: np.ndarray) -> None:
        """Store the lanes' rewards of ``step`` (bootstrap values of truncations already added).

        Lanes that did not act are made episode starts with zero value and reward. Where a decision of
        the step was explored, every decision of its env copy at that rank or above it is marked
        ``off_policy``: its reward came from an action its policy did not choose (its own, or one below it).
        """
        off = self.off_policy[step].reshape(self.n_copies, self.n_agents)
        if off.any():
            ranks = self.ranks[step].reshape(self.n_copies, self.n_agents)
            lowest = np.where(off, ranks, -1).max(axis=1, keepdims=True)  # the last-deciding explored rank
            self.off_policy[step] = (self.valid[step].reshape(off.shape) & (ranks <= lowest)).reshape(-1)
        invalid = ~self.valid[step]
        self.rewards[step] = np.where(invalid, 0.0, rewards)
        if invalid.any():
            self.episode_starts[step, invalid] = 1.0
            self.values[step, invalid] = 0.0
        self.pos = step + 1
        self.full = self.pos == self.buffer_size

    # ------------------------------------------------------------------ reading
    def _flatten(self) -> dict[str, np.ndarray]:
        if self._flat is None:
            flat = {f"obs:{k}": self.swap_and_flatten(v) for k, v in self.observations.items()}
            for name in ("actions", "values", "log_probs", "advantages", "returns", "valid", "ranks", "off_policy"):
                flat[name] = self.swap_and_flatten(getattr(self, name))
            self._flat = flat
        return self._flat

    def ranks_present(self) -> list[int]:
        """Sorted ranks that have at least one valid decision."""
        flat = self._flatten()
        return sorted(int(r) for r in np.unique(flat["ranks"][flat["valid"]]))

    def rank_samples(self, rank: int) -> STMGRolloutSamples:
        """All valid on-policy decisions taken at ``rank`` (not ``off_policy``), as torch tensors (lane-major order)."""
        flat = self._flatten()
        return self._samples(np.flatnonzero(flat["valid"] & (flat["ranks"] == rank) & ~flat["off_policy"]))

    def _samples(self, index: np.ndarray) -> STMGRolloutSamples:
        flat = self._flatten()
        obs = {k: self.to_torch(flat[f"obs:{k}"][index]) for k in self.observations}
        actions = flat["actions"][index]
        return STMGRolloutSamples(
            obs,
            self.to_torch(actions.astype(np.float32, copy=False)),
            self.to_torch(flat["values"][index].reshape(-1)),
            self.to_torch(flat["log_probs"][index].reshape(-1)),
            self.to_torch(flat["advantages"][index].reshape(-1)),
            self.to_torch(flat["returns"][index].reshape(-1)),
        )

    def all_samples(self) -> STMGRolloutSamples:
        """Every valid on-policy decision (not ``off_policy``), all ranks (lane-major order)."""
        flat = self._flatten()
        return self._samples(np.flatnonzero(flat["valid"] & ~flat["off_policy"]))

    def get(self, batch_size: int | None = None) -> Iterator[STMGRolloutSamples]:  # type: ignore[override]
        """Shuffled minibatches of the valid decisions of all ranks (SB3's ``get``, without the empty lane slots).

        STEP itself trains rank by rank with :meth:`rank_samples`.
        """
        samples = self.all_samples()
        n = len(samples)
        order = th.as_tensor(np.random.permutation(n), device=self.device)
        size = n if batch_size is None else batch_size
        for start in range(0, n, max(size, 1)):
            yield samples.select(order[start : start + size])

    def valid_returns(self) -> np.ndarray:
        """Returns of every valid decision (for the value normaliser)."""
        return self.returns[self.valid]

    def valid_values(self) -> np.ndarray:
        """Values of every valid decision."""
        return self.values[self.valid]
