"""The generic backend: ``K`` copies of any PettingZoo ``ParallelEnv``, stepped one after another.

It works for every task whose spaces :class:`~stmg_envs.vector.layout.BatchLayout` can stack,
and is the reference the native backends are tested against: a batched form over it equals
``K`` independent :func:`stmg_envs.stmg_v0` copies fed the same actions (``tests/vector``).

Examples:
    >>> import numpy as np
    >>> from stmg_envs.matrix import penalty
    >>> backend = GenericBackend(lambda: penalty(k=-50), num_copies=2)
    >>> backend.reset(np.arange(2), [0, 1])
    {}
    >>> out = backend.step(np.array([[0, 2], [1, 1]]))
    >>> out.rewards.tolist()
    [[10.0, 10.0], [2.0, 2.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from stmg_envs.vector.backend import Backend, SparseInfos, StepArrays
from stmg_envs.vector.layout import BatchLayout

__all__ = ["GenericBackend", "layout_of"]


def layout_of(env: ParallelEnv) -> BatchLayout:
    """The :class:`~stmg_envs.vector.layout.BatchLayout` of a parallel env's agents."""
    if not isinstance(env, ParallelEnv):
        raise TypeError(f"expected a factory returning a pettingzoo.ParallelEnv, got {type(env).__name__}.")
    agents = list(env.possible_agents)
    if not agents:
        raise ValueError("expected at least one agent in possible_agents, got none.")
    return BatchLayout(agents, [env.observation_space(a) for a in agents], [env.action_space(a) for a in agents])


class GenericBackend(Backend):
    """``K`` copies made by ``env_fn``, stepped in a Python loop (see the module docstring).

    Args:
        env_fn: A zero-argument factory returning a new PettingZoo ``ParallelEnv`` on each call.
        num_copies: ``K``.
        first: An env ``env_fn`` already made, used as copy 0 (saves building one).

    Raises:
        TypeError: ``env_fn`` is not callable or returns something else than a ``ParallelEnv``, or the
            spaces cannot be stacked (:class:`~stmg_envs.vector.layout.BatchLayout`).
        ValueError: copies whose agents or spaces differ, or a bad ``num_copies``.
    """

    def __init__(self, env_fn: Callable[[], ParallelEnv], num_copies: int, first: ParallelEnv | None = None):
        if not callable(env_fn):
            raise TypeError(f"expected env_fn to be a zero-argument factory of ParallelEnvs, got {env_fn!r}.")
        env = env_fn() if first is None else first
        layout = layout_of(env)
        super().__init__(layout, num_copies)
        self.envs: list[ParallelEnv] = [env]
        for _ in range(self.num_copies - 1):
            other = env_fn()
            if other is env or any(other is e for e in self.envs):
                raise ValueError("expected env_fn to return a new env on each call, got the same object twice.")
            if not isinstance(other, ParallelEnv) or list(other.possible_agents) != list(layout.possible_agents):
                raise ValueError(
                    f"expected every copy to have the agents {list(layout.possible_agents)}, got "
                    f"{getattr(other, 'possible_agents', type(other).__name__)}."
                )
            self.envs.append(other)
        self.name = str(getattr(env, "metadata", {}).get("name", type(env).__name__))
        self._index = {agent: i for i, agent in enumerate(layout.possible_agents)}
        # The live agents of each copy, as the env listed them (the order its actions dict is built in).
        self._agents: list[list[Any]] = [[] for _ in range(self.num_copies)]
        self._discrete = layout.action_kind == "discrete"
        space = getattr(env, "state_space", None)
        self.state_space = space if isinstance(space, spaces.Box) else None

    def reset(self, copies: np.ndarray, seeds: Sequence[int | None], options: dict | None = None) -> SparseInfos:
        layout, index, observations = self.layout, self._index, self.observations
        infos: SparseInfos = {}
        for e, seed in zip(np.asarray(copies).tolist(), seeds):
            env = self.envs[e]
            obs, info = env.reset(seed=seed, options=options)
            observations[e] = layout.blanks
            for agent, value in obs.items():
                layout.write(observations, e, index[agent], value)
            agents = list(env.agents)
            self._agents[e] = agents
            live = self.live[e]
            live[:] = False
            for agent in agents:
                live[index[agent]] = True
            kept = {agent: value for agent, value in info.items() if value and agent in agents}
            if kept:
                infos[e] = kept
        return infos

    def step(self, actions: np.ndarray) -> StepArrays:
        k, n = self.num_copies, self.num_agents
        rewards = np.zeros((k, n), dtype=np.float64)
        terminations = np.zeros((k, n), dtype=bool)
        truncations = np.zeros((k, n), dtype=bool)
        infos: SparseInfos = {}
        layout, index, observations, live = self.layout, self._index, self.observations, self.live
        discrete = self._discrete
        for e, env in enumerate(self.envs):
            before = self._agents[e]
            row = actions[e].tolist() if discrete else actions[e].copy()  # fresh values the env may keep
            joint = {agent: row[index[agent]] for agent in before}
            obs, rew, term, trunc, info = env.step(joint)
            for agent, value in obs.items():
                layout.write(observations, e, index[agent], value)
            after = list(env.agents)
            self._agents[e] = after
            changed = after != before
            gone: set[Any] = set()
            if changed:
                known = set(before)
                reported = before + [a for a in after if a not in known]
                gone = known.difference(after)
            else:
                reported = before
            for agent in reported:
                i = index[agent]
                rewards[e, i] = rew.get(agent, 0.0)
                done_term = bool(term.get(agent))
                done_trunc = bool(trunc.get(agent))
                if changed and agent in gone and not (done_term or done_trunc):
                    done_term = True  # gone from the env without a flag: over for it all the same (stmg_v0)
                terminations[e, i] = done_term
                truncations[e, i] = done_trunc
            live_row = live[e]
            live_row[:] = False
            for agent in after:
                live_row[index[agent]] = True
            if after and (terminations[e].any() or truncations[e].any()):
                live_row &= ~(terminations[e] | truncations[e])  # finished agents a loose env kept listed
                self._agents[e] = [a for a in after if live_row[index[a]]]
            if info:
                kept = {agent: value for agent, value in info.items() if value and agent in reported}
                if kept:
                    infos[e] = kept
        return StepArrays(rewards, terminations, truncations, infos)

    def states(self) -> np.ndarray:
        if self.state_space is None:
            return super().states()
        space = self.state_space
        out = np.empty((self.num_copies, *space.shape), dtype=space.dtype)
        for e, env in enumerate(self.envs):
            out[e] = env.state()
        return out

    def order_view(self, copy: int) -> ParallelEnv:
        """The copy's own ``ParallelEnv``: an order callable gets what it gets under ``stmg_v0``."""
        return self.envs[copy]

    def close(self) -> None:
        for env in self.envs:
            env.close()
