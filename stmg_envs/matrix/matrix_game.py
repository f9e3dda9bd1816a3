"""Repeated normal-form (matrix) games as PettingZoo ``ParallelEnv``s."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from stmg_envs.equilibria.payoffs import as_payoff_tensor, common_payoff_tensor

__all__ = ["MatrixGame"]


def _as_payoff_tensor(payoffs: Any, common_payoff: Any) -> np.ndarray:
    """Validate the payoff arguments and return the read-only (N, A_1, ..., A_N) float64 tensor."""
    if (payoffs is None) == (common_payoff is None):
        raise ValueError(
            "MatrixGame expected exactly one of `payoffs` (shape (N, A_1, ..., A_N)) or "
            f"`common_payoff` (shape (A_1, ..., A_N)), got payoffs={'set' if payoffs is not None else None}, "
            f"common_payoff={'set' if common_payoff is not None else None}."
        )
    if common_payoff is not None:
        return common_payoff_tensor(common_payoff)
    return as_payoff_tensor(payoffs)


class MatrixGame(ParallelEnv):
    """A normal-form game repeated for a fixed number of steps.

    Every step each agent picks one of its actions; agent ``i`` receives
    ``payoffs[i][a_0, ..., a_{N-1}]``. The observation is constant (the stage
    game never changes), so the only thing to learn is which joint action to
    play; this is the setting of the STEP paper's Penalty and Mixing games and
    of Bi-AC's Escape and Maintain.

    ## Spaces
    * Action of ``agent_i``: ``Discrete(A_i)``.
    * Observation of every agent: ``Box(0, 1, (1,), float32)``, always ``[1.0]``.
    * ``state()``: ``Box(0, 1, (1,), float32)``, the same constant.

    ## Rewards
    ``payoffs[i][joint_action]`` for agent ``i``; with ``common_payoff`` every
    agent gets the same number.

    ## Episode end
    Truncation of every agent after ``episode_length`` steps; never termination.

    ## Arguments
    * ``payoffs``: array of shape ``(N, A_1, ..., A_N)``; ``payoffs[i]`` is agent i's payoff.
    * ``common_payoff``: array of shape ``(A_1, ..., A_N)`` for a team game (instead of ``payoffs``).
    * ``episode_length``: steps per episode, default 25 (as in the STEP paper's code).
    * ``render_mode``: ``None`` or ``"ansi"`` (a text line per step).
    * ``name``: shown in ``repr`` and ``metadata["name"]``.

    ## Version history
    * v0: first version.

    Examples:
        >>> from stmg_envs.matrix import MatrixGame
        >>> env = MatrixGame(common_payoff=[[1, 0], [0, 2]], episode_length=2)
        >>> obs, infos = env.reset(seed=0)
        >>> obs, rewards, terms, truncs, infos = env.step({"agent_0": 1, "agent_1": 1})
        >>> rewards
        {'agent_0': 2.0, 'agent_1': 2.0}
    """

    metadata = {"render_modes": ["ansi"], "name": "matrix_game_v0", "is_parallelizable": True}

    def __init__(
        self,
        payoffs: Any = None,
        *,
        common_payoff: Any = None,
        episode_length: int = 25,
        render_mode: str | None = None,
        name: str = "matrix_game_v0",
    ):
        self.payoffs = _as_payoff_tensor(payoffs, common_payoff)
        if isinstance(episode_length, bool) or not isinstance(episode_length, (int, np.integer)) or episode_length < 1:
            raise ValueError(f"MatrixGame expected `episode_length` to be an integer >= 1, got {episode_length!r}.")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"MatrixGame expected render_mode None or 'ansi', got {render_mode!r}.")
        self.episode_length = int(episode_length)
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "name": name}
        n_agents = self.payoffs.shape[0]
        self.n_actions: tuple[int, ...] = tuple(int(a) for a in self.payoffs.shape[1:])
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self._observation = np.ones(1, dtype=np.float32)
        self._observation.setflags(write=False)
        obs_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.observation_spaces = dict.fromkeys(self.possible_agents, obs_space)
        self.action_spaces = {a: spaces.Discrete(n) for a, n in zip(self.possible_agents, self.n_actions)}
        self.state_space = obs_space
        self._t = 0
        self._last_joint: tuple[int, ...] | None = None

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            for i, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(seed + i)
        self.agents = list(self.possible_agents)
        self._t = 0
        self._last_joint = None
        obs = dict.fromkeys(self.agents, self._observation)
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RuntimeError("MatrixGame.step() called with no live agents: call reset() first.")
        chosen: list[int] = []
        for agent, n in zip(self.possible_agents, self.n_actions):
            try:
                action = actions[agent]
            except KeyError:
                raise KeyError(f"MatrixGame.step expected an action for every agent, missing {agent!r}.") from None
            # Fast path for plain ints; anything else goes through the space's own check.
            if type(action) is not int and not self.action_spaces[agent].contains(action):
                raise ValueError(
                    f"MatrixGame.step: action of {agent!r} expected in {self.action_spaces[agent]}, got {action!r}."
                )
            if not 0 <= action < n:
                raise ValueError(f"MatrixGame.step: action of {agent!r} expected in Discrete({n}), got {action!r}.")
            chosen.append(int(action))
        joint = tuple(chosen)
        self._last_joint = joint
        index: tuple[Any, ...] = (slice(None), *joint)
        values = self.payoffs[index].tolist()
        self._t += 1
        truncated = self._t >= self.episode_length
        agents = self.agents
        rewards = dict(zip(self.possible_agents, values))
        obs = dict.fromkeys(agents, self._observation)
        terms = dict.fromkeys(agents, False)
        truncs = dict.fromkeys(agents, truncated)
        infos: dict[str, dict[str, Any]] = {a: {} for a in agents}
        if truncated:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        return self._observation

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        joint = "-" if self._last_joint is None else ", ".join(f"a{a + 1}" for a in self._last_joint)
        return f"t={self._t} joint action=({joint})"

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{self.metadata['name']}(n_actions={self.n_actions}, episode_length={self.episode_length})"
