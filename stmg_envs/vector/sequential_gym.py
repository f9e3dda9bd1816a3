"""``K`` copies of the single-agent Gymnasium view of an STMG, as one ``gymnasium.vector.VectorEnv``.

:class:`SequentialGymVectorEnv` is what ``gymnasium.make_vec("stmg/<Task>-v0", num_envs=K)`` builds (the
``vector_entry_point`` of the Gymnasium IDs): the same single observation and action spaces and the same
semantics as ``K`` copies of ``gymnasium.make("stmg/<Task>-v0")`` (:class:`stmg_envs.SequentialGymEnv`, one
decision of the agent whose turn it is per ``step``), stepped by one :class:`~stmg_envs.vector.BatchedSTMG`
(so on a native backend where the task has one): ``step(actions)`` is the decision at the current rank in
every copy, and the step after the last rank runs every copy's time step.

## Autoreset
Gymnasium's ``AutoresetMode.SAME_STEP`` (``metadata["autoreset_mode"]``): the step that ends a copy's
episode returns that copy's next episode's first observation, with ``infos["final_obs"]`` and
``infos["final_info"]`` holding the ended episode's last observation and info (masked by
``infos["_final_obs"]``), exactly as ``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)``.

## Equality guarantee (``tests/vector/test_sequential_gym.py``)
Observations, rewards, terminations, truncations and infos equal, exactly, those of
``gymnasium.make_vec(id, num_envs=K, vectorization_mode="sync", vector_kwargs={"autoreset_mode":
AutoresetMode.SAME_STEP})`` reset with the same seed and fed the same actions, through episode ends.

## Why copies must keep the same number of live agents
The copies advance in lockstep, one rank per ``step``. That is the single-env semantics only while every copy's
time step has as many decisions as the others': a copy whose agent left early would, alone, be at the next
time step's first decision while the others still decide, and a ``VectorEnv`` has no way to step some copies
and not others (a placeholder observation for the waiting copy would be a transition the single env never
makes). So a step at which the copies' numbers of live agents differ raises ``RuntimeError``, and the tasks
whose agents can leave an episode early (``TaskSpec.agents_leave_early``, e.g. ``stmg/OnRampMerge-v0``)
register no ``vector_entry_point``: ``gymnasium.make_vec`` then builds a ``SyncVectorEnv`` of the single env.
For those tasks use :func:`stmg_envs.vector.batched_stmg` (which handles copies with different live agents
by inactive rows).

## Arguments
* ``env_fn``: a registered task id, or a zero-argument factory of the task's ``ParallelEnv``.
* ``num_envs``: ``K``.
* ``order``, ``flatten``: as :func:`stmg_envs.stmg_v0`'s.
* ``backend``: as :func:`stmg_envs.vector.make_backend`'s.
* ``env_kwargs``: the task's arguments (with a task id).

Examples:
    >>> import gymnasium, numpy as np, stmg_envs
    >>> envs = gymnasium.make_vec("stmg/Penalty-v0", num_envs=4, vectorization_mode="vector_entry_point", k=-25)
    >>> obs, infos = envs.reset(seed=0)
    >>> obs["rank"].tolist(), infos["agent"].tolist()
    ([0, 0, 0, 0], ['agent_0', 'agent_0', 'agent_0', 'agent_0'])
    >>> obs, rewards, terminated, truncated, infos = envs.step(np.zeros(4, dtype=np.int64))
    >>> obs, rewards, terminated, truncated, infos = envs.step(np.full(4, 2))
    >>> rewards.tolist()
    [10.0, 10.0, 10.0, 10.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from pettingzoo import ParallelEnv

from stmg_envs.vector.batched import BatchedSTMG, RankObservation, batched_stmg
from stmg_envs.wrappers.priority_order import OrderSpec
from stmg_envs.wrappers.sequential_gym import SequentialGymEnv
from stmg_envs.wrappers.stmg import stmg_v0

__all__ = ["SequentialGymVectorEnv"]


class SequentialGymVectorEnv(VectorEnv):
    """``K`` copies of :class:`stmg_envs.SequentialGymEnv` as a ``VectorEnv`` over a batched STMG (module docstring).

    Attributes:
        batched: The :class:`~stmg_envs.vector.BatchedSTMG` that steps the copies.
        time_steps: ``(K,)`` int64, the time steps each copy's episode has completed (``info["time_step"]``).
    """

    def __init__(
        self,
        env_fn: Callable[[], ParallelEnv] | str,
        num_envs: int,
        order: OrderSpec = None,
        flatten: bool = False,
        backend: str = "auto",
        env_kwargs: dict[str, Any] | None = None,
    ):
        if isinstance(env_fn, str):
            from stmg_envs.registration import make_parallel

            probe = make_parallel(env_fn, **dict(env_kwargs or {}))
        elif callable(env_fn):
            probe = env_fn()
        else:
            raise TypeError(f"expected env_fn to be a task id or a factory of ParallelEnvs, got {env_fn!r}.")
        single = SequentialGymEnv(stmg_v0(probe, order=order, flatten=flatten))  # the spaces, and their checks
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.metadata = {**single.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        single.close()
        self.batched: BatchedSTMG = batched_stmg(env_fn, num_envs, order=order, backend=backend, env_kwargs=env_kwargs)
        self.num_envs = self.batched.num_copies
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self.flatten = flatten
        self.time_steps = np.zeros(self.num_envs, dtype=np.int64)
        self._names = np.array(self.batched.possible_agents, dtype=object)
        self._current: RankObservation | None = None
        if flatten:
            own = spaces.flatten_space(self.batched.layout.observation_space)
            assert own.shape is not None  # flatten_space gives a Box
            width = int(np.prod(own.shape))
            d, n = self.batched.layout.prior_size, self.batched.num_agents
            self._parts = (slice(0, width), slice(width, width + d), slice(width + d, width + d + n), width + d + n)

    # ------------------------------------------------------------------ observations and infos
    def _own_flat(self, own: np.ndarray) -> np.ndarray:
        space = self.batched.layout.observation_space
        if isinstance(space, spaces.Box):
            return own.reshape(len(own), -1)
        return np.stack([np.asarray(spaces.flatten(space, row)) for row in own])

    def _as_obs(self, obs: RankObservation) -> Any:
        if not self.flatten:
            return obs.as_dict()
        own, prior, mask, rank_at = self._parts
        k = len(obs.rank)
        out = np.zeros((k, rank_at + self.batched.num_agents), dtype=np.float32)
        out[:, own] = self._own_flat(obs.observation)
        out[:, prior] = obs.prior_actions
        out[:, mask] = obs.prior_mask
        out[np.arange(k), rank_at + obs.rank] = 1.0
        return out

    def _check_lockstep(self) -> None:
        counts = self.batched.backend.live.sum(axis=1)
        if counts.min() != counts.max():
            raise RuntimeError(
                f"SequentialGymVectorEnv: the copies' numbers of live agents differ ({counts.tolist()}), so their "
                "decisions can no longer be stepped together as K copies of the single env. This task's agents leave "
                "episodes early: use gymnasium.make_vec(..., vectorization_mode='sync') or "
                "stmg_envs.vector.batched_stmg, which handles such copies."
            )

    def _infos(self, obs: RankObservation, agent_rewards: list[dict[Any, float]] | None) -> dict[str, Any]:
        infos: dict[str, Any] = {}
        names, time_steps, rank = self._names[obs.agent], self.time_steps.tolist(), int(obs.rank[0])
        for k in range(self.num_envs):
            info = {
                "agent": names[k],
                "rank": rank,
                "time_step": time_steps[k],
                "agent_rewards": {} if agent_rewards is None else agent_rewards[k],
            }
            infos = self._add_info(infos, info, k)
        return infos

    # ------------------------------------------------------------------ API
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every copy (``seed``: ``None``, an integer (copy ``k`` gets ``seed + k``) or one per copy)."""
        if options is not None and "reset_mask" in options:
            raise ValueError(
                "expected options without 'reset_mask': the copies step in lockstep, so they reset together "
                "(their episodes end and restart on their own, autoreset)."
            )
        obs, _ = self.batched.reset(seed=seed, options=options)
        self.time_steps[:] = 0
        self._check_lockstep()
        self._current = obs
        return self._as_obs(obs), self._infos(obs, None)

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One decision of every copy (the agent at the current rank); see the module docstring."""
        if self._current is None:
            raise RuntimeError("SequentialGymVectorEnv: call reset() first.")
        acting = self._current.agent
        obs, ts = self.batched.step(np.asarray(actions))
        k = self.num_envs
        rewards = np.zeros(k, dtype=np.float64)
        terminated = np.zeros(k, dtype=bool)
        truncated = np.zeros(k, dtype=bool)
        if ts is None:
            self._current = obs
            return self._as_obs(obs), rewards, terminated, truncated, self._infos(obs, None)
        self.time_steps += 1
        acted = ts.acted
        agent_rewards = [
            {self._names[i]: float(ts.rewards[e, i]) for i in np.flatnonzero(acted[e]).tolist()} for e in range(k)
        ]
        for e in range(k):
            values = list(agent_rewards[e].values())
            rewards[e] = float(np.mean(values)) if values else 0.0
        over = ts.episode_over
        infos: dict[str, Any] = {}
        if over.any():
            all_terminated = np.where(acted, ts.terminations, True).all(axis=1)
            terminated[:] = over & all_terminated
            truncated[:] = over & ~all_terminated
            copies = np.flatnonzero(over)
            layout = self.batched.layout
            final = RankObservation(
                ts.final_observation[copies, acting[copies]],
                np.zeros((len(copies), layout.prior_size), dtype=np.float32),
                np.zeros((len(copies), self.batched.num_agents), dtype=np.int8),
                ts.ranks[copies, acting[copies]],
                acting[copies],
                np.ones(len(copies), dtype=bool),
            )
            final_obs = self._as_obs(final)
            for j, e in enumerate(copies.tolist()):
                row = final_obs[j] if self.flatten else {key: value[j] for key, value in final_obs.items()}
                final_info = {
                    "agent": self._names[acting[e]],
                    "rank": -1,
                    "time_step": int(self.time_steps[e]),
                    "agent_rewards": agent_rewards[e],
                }
                infos = self._add_info(infos, {"final_obs": row, "final_info": final_info}, e)
            self.time_steps[over] = 0
            for e in copies.tolist():
                agent_rewards[e] = {}
        self._check_lockstep()
        self._current = obs
        names, time_steps, rank = self._names[obs.agent], self.time_steps.tolist(), int(obs.rank[0])
        for e in range(k):
            info = {"agent": names[e], "rank": rank, "time_step": time_steps[e], "agent_rewards": agent_rewards[e]}
            infos = self._add_info(infos, info, e)
        return self._as_obs(obs), rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        self.batched.close()

    def __repr__(self) -> str:
        return f"SequentialGymVectorEnv({self.batched!r})"
