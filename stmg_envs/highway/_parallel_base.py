"""What the two highway ``ParallelEnv``s share: spaces, action checks, rendering, priority scores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from stmg_envs.highway.config import ACTIONS

__all__ = ["HighwayParallelEnv"]

_N_ACTIONS = len(ACTIONS)


class HighwayParallelEnv(ParallelEnv):
    """Base of :class:`~stmg_envs.highway.OnRampMergeEnv` and :class:`~stmg_envs.highway.TrafficMergeEnv`.

    Subclasses set ``self.sim`` (a highway-env environment whose
    ``controlled_vehicles[i]`` is agent ``possible_agents[i]``) and call
    :meth:`_init_spaces`.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array", "human"], "is_parallelizable": True}

    sim: Any
    possible_agents: list[str]
    agents: list[str]

    def _init_spaces(self, observation_space: spaces.Box, state_space: spaces.Box) -> None:
        self.observation_spaces = dict.fromkeys(self.possible_agents, observation_space)
        self.action_spaces = {a: spaces.Discrete(_N_ACTIONS) for a in self.possible_agents}
        self.state_space = state_space
        self._agent_index = {a: i for i, a in enumerate(self.possible_agents)}

    # ---------------------------------------------------------------- spaces
    def observation_space(self, agent: str) -> spaces.Space:
        try:
            return self.observation_spaces[agent]
        except KeyError:
            raise ValueError(self._unknown_agent(agent)) from None

    def action_space(self, agent: str) -> spaces.Space:
        try:
            return self.action_spaces[agent]
        except KeyError:
            raise ValueError(self._unknown_agent(agent)) from None

    def _unknown_agent(self, agent: Any) -> str:
        return f"{type(self).__name__} expected an agent in {self.possible_agents}, got {agent!r}."

    def _seed_action_spaces(self, seed: int | None) -> None:
        if seed is not None:
            for i, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(seed + i)

    # --------------------------------------------------------------- actions
    def _joint_action(self, actions: Mapping[str, Any]) -> dict[str, int]:
        """Check ``actions`` (one per live agent) and return them as ints.

        Actions of agents that are not alive (terminated, truncated or not in
        this episode) are ignored, as PettingZoo's wrappers may send them.
        """
        name = type(self).__name__
        if not self.agents:
            raise RuntimeError(f"{name}.step() called with no live agents: call reset() first.")
        if not isinstance(actions, Mapping):
            raise TypeError(
                f"{name}.step expected a dict {{agent: action}} for the live agents {self.agents}, "
                f"got {type(actions).__name__}."
            )
        unknown = [a for a in actions if a not in self._agent_index]
        if unknown:
            raise ValueError(
                f"{name}.step got actions for unknown agents {unknown}; agents are {self.possible_agents}."
            )
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"{name}.step expected an action for every live agent {self.agents}, missing {missing}.")
        joint = {}
        for agent in self.agents:
            action = actions[agent]
            if isinstance(action, np.ndarray) and action.shape == ():
                action = action.item()
            if (
                isinstance(action, (bool, np.bool_))
                or not isinstance(action, (int, np.integer))
                or not (0 <= action < _N_ACTIONS)
            ):
                raise ValueError(
                    f"{name}.step: action of {agent!r} expected an integer in [0, {_N_ACTIONS - 1}] "
                    f"(Discrete({_N_ACTIONS}): {dict(ACTIONS)}), got {action!r}."
                )
            joint[agent] = int(action)
        return joint

    def _action_mask(self, index: int) -> np.ndarray:
        mask = np.zeros(_N_ACTIONS, dtype=np.int8)
        mask[self.sim.available_actions(index)] = 1
        return mask

    # -------------------------------------------------------------- priority
    def priority_scores(self) -> dict[str, float]:
        """Chen et al.'s safety-supervisor priority of each live agent's vehicle (lower acts first).

        See :func:`stmg_envs.highway.merge_priority_order`.
        """
        vehicles = self.sim.controlled_vehicles
        return {a: self.sim.priority_score(vehicles[self._agent_index[a]]) for a in self.agents}

    # ------------------------------------------------------------ rendering
    def render(self) -> np.ndarray | None:
        """An RGB image of the road (``render_mode="rgb_array"``), or ``None``.

        Works headless: highway-env draws off-screen for ``"rgb_array"``.
        """
        if self.render_mode is None:
            gymnasium.logger.warn(
                f"{type(self).__name__}.render() called without a render_mode; "
                "create the env with render_mode='rgb_array' to get images."
            )
            return None
        return self.sim.render()

    def close(self) -> None:
        self.sim.close()
