"""Small hand-made ``ParallelEnv``s for the baseline tests.

They exercise what the matrix games do not: unequal observation spaces, an
agent that leaves early, no ``state()``, a ``Box`` action space, and resets
that record their seeds.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv

# The baselines need the [agents] extra (torch, stable-baselines3, supersuit); without it, skip this folder.
if any(importlib.util.find_spec(name) is None for name in ("torch", "stable_baselines3", "supersuit")):
    collect_ignore_glob = ["test_*.py"]


class DyingAgentEnv(ParallelEnv):
    """Two agents; ``agent_0`` sees Box(1), ``agent_1`` sees Box(3).

    ``agent_1`` terminates after ``death_step`` steps (None: never); the game
    truncates after ``length`` steps. Reward: 1 per live agent per step, or with
    ``reward_actions=True`` (Box actions) the sum of the agent's action, so that
    training has a direction to go (raise every action entry towards +1).
    Every reset seed is appended to ``seeds``.
    """

    metadata = {"name": "dying_agent_v0", "render_modes": []}

    def __init__(
        self, length: int = 4, death_step: int | None = 2, box_actions: bool = False, reward_actions: bool = False
    ) -> None:
        self.possible_agents = ["agent_0", "agent_1"]
        self.agents: list[str] = []
        self.length = length
        self.death_step = death_step
        self.render_mode = None
        self._obs_spaces = {
            "agent_0": spaces.Box(-1.0, 1.0, (1,), np.float32),
            "agent_1": spaces.Box(-1.0, 1.0, (3,), np.float32),
        }
        action = spaces.Box(-1.0, 1.0, (2,), np.float32) if box_actions else spaces.Discrete(2)
        self._action_spaces = dict.fromkeys(self.possible_agents, action)
        self.seeds: list[int | None] = []
        self.t = 0
        self.reward_actions = reward_actions

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    def _obs(self) -> dict[str, np.ndarray]:
        value = np.float32(self.t / 10)
        return {a: np.full(self._obs_spaces[a].shape, value, np.float32) for a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.seeds.append(seed)
        self.agents = list(self.possible_agents)
        self.t = 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        assert set(actions) == set(self.agents), f"actions for {sorted(actions)}, live {self.agents}"
        self.t += 1
        live = list(self.agents)
        rewards = {a: float(np.sum(actions[a])) if self.reward_actions else 1.0 for a in live}
        terms = {a: a == "agent_1" and self.t == self.death_step for a in live}
        truncs = {a: self.t >= self.length and not terms[a] for a in live}
        obs = self._obs()
        infos = {a: {} for a in live}
        self.agents = [a for a in live if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        return np.array([self.t / 10, len(self.agents)], np.float32)


class StatelessEnv(DyingAgentEnv):
    """:class:`DyingAgentEnv` without ``state()`` and without deaths."""

    def __init__(self) -> None:
        super().__init__(length=4, death_step=None)

    def state(self) -> np.ndarray:
        raise NotImplementedError


@pytest.fixture
def dying_agent_env() -> type[DyingAgentEnv]:
    """The class of the two-agent env with unequal spaces and an early death."""
    return DyingAgentEnv


@pytest.fixture
def stateless_env() -> type[StatelessEnv]:
    """The class of an env whose ``state()`` raises ``NotImplementedError``."""
    return StatelessEnv
