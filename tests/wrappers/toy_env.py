"""A configurable ParallelEnv that records what it is given, for testing the STMG wrapper.

It supports heterogeneous spaces, agents that terminate or get truncated at
given steps, agents that appear mid-episode, ``Dict`` observations with an
action mask, and rewards that are a known function of the joint action.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


def encoded(space: spaces.Space, action: Any) -> np.ndarray:
    """Reference encoding of an action, written independently of the wrapper's codec."""
    if isinstance(space, spaces.Discrete):
        out = np.zeros(space.n, np.float32)
        out[int(action) - int(space.start)] = 1
        return out
    if isinstance(space, spaces.MultiDiscrete):
        parts = []
        for n, start, a in zip(space.nvec.ravel(), np.asarray(space.start).ravel(), np.ravel(action)):
            part = np.zeros(int(n), np.float32)
            part[int(a) - int(start)] = 1
            parts.append(part)
        return np.concatenate(parts)
    return np.asarray(action, np.float32).ravel()


def joint_reward(agent_index: int, joint: dict[str, Any]) -> float:
    """A deterministic reward that depends on every action of the joint action."""
    text = repr(agent_index) + repr(sorted((k, np.asarray(v).round(6).tolist()) for k, v in joint.items()))
    return int(hashlib.sha256(text.encode()).hexdigest()[:6], 16) / 2**24


@dataclass(frozen=True)
class AgentSpec:
    """How one agent of :class:`ToyParallelEnv` behaves."""

    action_space: spaces.Space
    obs_size: int = 3
    with_action_mask: bool = False
    appears_at: int = 0
    terminates_at: int | None = None
    truncated_at: int | None = None


@dataclass
class ToyParallelEnv(ParallelEnv):
    """ParallelEnv whose agents follow :class:`AgentSpec` schedules; logs every joint action."""

    specs: dict[str, AgentSpec]
    episode_length: int = 10
    log: list[dict[str, Any]] = field(default_factory=list)
    reset_count: int = 0

    metadata = {"name": "toy_parallel_v0", "render_modes": []}

    def __post_init__(self) -> None:
        self.possible_agents = list(self.specs)
        self.agents: list[str] = []
        self._obs_spaces: dict[str, spaces.Space] = {}
        for name, spec in self.specs.items():
            box = spaces.Box(-10.0, 10.0, shape=(spec.obs_size,), dtype=np.float32)
            if spec.with_action_mask:
                n = spec.action_space.n  # type: ignore[attr-defined]
                self._obs_spaces[name] = spaces.Dict(
                    {"observation": box, "action_mask": spaces.Box(0, 1, shape=(n,), dtype=np.int8)}
                )
            else:
                self._obs_spaces[name] = box
        self.state_space = spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
        self.t = 0
        self.render_mode = None

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.specs[agent].action_space

    def _obs(self, agent: str) -> Any:
        spec = self.specs[agent]
        index = self.possible_agents.index(agent)
        vec = np.full(spec.obs_size, (self.t % 10) - index * 0.5, dtype=np.float32)
        if spec.with_action_mask:
            n = spec.action_space.n  # type: ignore[attr-defined]
            mask = np.ones(n, dtype=np.int8)
            mask[self.t % n] = 0 if n > 1 else 1
            return {"observation": vec, "action_mask": mask}
        return vec

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.reset_count += 1
        self.t = 0
        self.agents = [a for a, s in self.specs.items() if s.appears_at == 0]
        return {a: self._obs(a) for a in self.agents}, {a: {"t": 0} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        assert set(actions) == set(self.agents), f"expected actions for {self.agents}, got {list(actions)}"
        self.log.append(dict(actions))
        self.t += 1
        rewards = {a: joint_reward(self.possible_agents.index(a), actions) for a in self.agents}
        terms, truncs = {}, {}
        for a in self.agents:
            spec = self.specs[a]
            terms[a] = spec.terminates_at is not None and self.t >= spec.terminates_at
            truncs[a] = self.t >= self.episode_length or (spec.truncated_at is not None and self.t >= spec.truncated_at)
        finished = self.agents
        survivors = [a for a in self.agents if not (terms[a] or truncs[a])]
        newcomers = [
            a
            for a, s in self.specs.items()
            if s.appears_at == self.t and a not in finished and self.t < self.episode_length
        ]
        self.agents = survivors + newcomers
        obs = {a: self._obs(a) for a in finished + newcomers}
        infos = {a: {"t": self.t} for a in finished + newcomers}
        for a in newcomers:
            rewards[a] = 0.0
            terms[a] = truncs[a] = False
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        return np.array([self.t], dtype=np.float32)

    def close(self) -> None:
        pass


def mixed_specs() -> dict[str, AgentSpec]:
    """Three agents with Discrete, Box and MultiDiscrete actions (heterogeneous spaces)."""
    return {
        "disc_0": AgentSpec(spaces.Discrete(3), obs_size=2),
        "box_1": AgentSpec(spaces.Box(-1.0, 2.0, shape=(2,), dtype=np.float32), obs_size=4),
        "multi_2": AgentSpec(spaces.MultiDiscrete([2, 3]), obs_size=3),
    }
