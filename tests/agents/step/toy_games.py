"""Small ParallelEnvs for testing STEP: agents that die, dynamic orders, Box actions, uneven observations."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class CountdownGame(ParallelEnv):
    """``n_agents`` agents; agent ``i`` terminates after ``lifetimes[i]`` steps (``None``: never).

    Reward of agent ``i`` each step: 1 if its action (for ``Box`` actions: the
    sign of its first component) matches agent 0's, else 0. Episodes are
    truncated after ``episode_length`` steps. Observations are
    ``[t / episode_length, i / n_agents]`` followed by ``extra_obs[i]`` zeros,
    so agents may observe vectors of different lengths.
    """

    metadata = {"name": "countdown_v0", "render_modes": []}

    def __init__(
        self,
        n_agents: int = 3,
        lifetimes: tuple[int | None, ...] | None = None,
        episode_length: int = 6,
        box_actions: bool = False,
        extra_obs: tuple[int, ...] | None = None,
    ):
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.lifetimes = tuple(lifetimes) if lifetimes is not None else (None,) * n_agents
        self.episode_length = episode_length
        self.box_actions = box_actions
        extra = tuple(extra_obs) if extra_obs is not None else (0,) * n_agents
        self._obs_spaces = {
            a: spaces.Box(-1.0, 1.0, shape=(2 + extra[i],), dtype=np.float32)
            for i, a in enumerate(self.possible_agents)
        }
        act = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32) if box_actions else spaces.Discrete(3)
        self._act_spaces = dict.fromkeys(self.possible_agents, act)
        self.agents: list[str] = []
        self._t = 0

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_spaces[agent]

    def _obs(self) -> dict[str, np.ndarray]:
        out = {}
        for a in self.agents:
            i = self.possible_agents.index(a)
            o = np.zeros(self._obs_spaces[a].shape, dtype=np.float32)
            o[0], o[1] = self._t / self.episode_length, i / len(self.possible_agents)
            out[a] = o
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.agents = list(self.possible_agents)
        self._t = 0
        return self._obs(), {a: {} for a in self.agents}

    def _key(self, action: Any) -> int:
        return int(np.asarray(action).reshape(-1)[0] > 0) if self.box_actions else int(action)

    def step(self, actions: dict[str, Any]):
        self._t += 1
        lead = self._key(actions.get("agent_0", 0))
        rewards = {a: float(self._key(actions[a]) == lead) for a in self.agents}
        truncated = self._t >= self.episode_length
        terms, truncs = {}, {}
        for a in self.agents:
            life = self.lifetimes[self.possible_agents.index(a)]
            terms[a] = life is not None and self._t >= life
            truncs[a] = truncated and not terms[a]
        obs = self._obs()
        infos = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos


def rotating_order(parallel_env: Any, rng: np.random.Generator) -> list[str]:
    """A dynamic order: the live agents rotated by the current time step."""
    live = list(parallel_env.agents)
    shift = parallel_env._t % max(len(live), 1)
    return live[shift:] + live[:shift]
