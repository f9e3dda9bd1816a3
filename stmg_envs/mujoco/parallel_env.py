"""A thin, API-complete ``ParallelEnv`` around Gymnasium-Robotics' MaMuJoCo.

``gymnasium_robotics.mamujoco_v1.parallel_env`` steps the robot; this wrapper
keeps that stepping and adds what the library leaves out or gets loose:

* ``state_space`` (the library has ``state()`` but no space for it);
* ``render_mode`` and ``metadata["render_fps"]`` attributes;
* ``episode_length`` (the time limit of the underlying Gymnasium env);
* optional zero-padding of the observations to one shared length (agents of
  most partitions observe different numbers of values; a parameter-shared
  policy, e.g. through ``gymnasium.make("stmg/<Task>-v0")``, needs one space);
* one ``info`` dict per agent (the library hands every agent the *same* dict, so
  a wrapper writing ``infos[a]["rank"]`` would overwrite the other agents');
* ``agents`` as its own list (the library aliases it to ``possible_agents``);
* clear errors for missing or mis-shaped actions and for stepping a finished
  episode (the library keeps simulating past the end).

Seeding: ``reset(seed=s)`` seeds the simulator's initial-state noise; the physics
is deterministic, so equal seeds and equal actions give equal trajectories. As in
Gymnasium, action spaces are seeded separately (``action_space(a).seed(s)``).

This module imports nothing from MuJoCo; build instances with
:func:`stmg_envs.mujoco.make_mamujoco` (or the per-robot factories).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv

__all__ = ["MaMuJoCoParallelEnv"]


class MaMuJoCoParallelEnv(ParallelEnv[str, np.ndarray, np.ndarray]):
    """Multi-Agent MuJoCo task as a PettingZoo ``ParallelEnv`` with a global state.

    All agents share the robot's reward (a fully cooperative task). Observations
    are the library's local ``agent_obsk`` views, float64 ``Box`` spaces with
    infinite bounds (joint velocities are unbounded), zero-padded at the end to
    the longest agent's length if ``pad_observations``; ``state()`` is the
    single-agent Gymnasium observation of the whole robot.

    Args:
        mamujoco: A ``gymnasium_robotics`` ``MultiAgentMujocoEnv`` (what
            ``mamujoco_v1.parallel_env(...)`` returns). The wrapper owns it.
        scenario: Name of the robot, for ``repr`` and ``metadata["name"]``.
        agent_conf: Name of the partition, for ``repr`` and ``metadata["name"]``.
        pad_observations: Append zeros to every agent's observation up to the
            longest one, so that all agents share one observation space.

    Attributes:
        mamujoco: The wrapped library env (its ``map_*`` helpers and
            ``agent_action_partitions`` stay available there).
        state_space: ``Box`` of ``state()``.
        render_mode: The render mode the env was built with, or ``None``.
        episode_length: Steps after which the episode is truncated (``None``
            if the underlying env has no time limit).
        observation_sizes: Each agent's unpadded observation length.

    Example:
        >>> from stmg_envs.mujoco import half_cheetah
        >>> env = half_cheetah("6x1", episode_length=5)
        >>> obs, infos = env.reset(seed=0)
        >>> env.state().shape == env.state_space.shape
        True
        >>> while env.agents:
        ...     actions = {a: env.action_space(a).sample() for a in env.agents}
        ...     obs, rewards, terminations, truncations, infos = env.step(actions)
        >>> truncations["agent_0"]
        True
        >>> env.close()

        Any other MaMuJoCo task can be wrapped directly:

        >>> from gymnasium_robotics import mamujoco_v1
        >>> hopper = MaMuJoCoParallelEnv(mamujoco_v1.parallel_env("Hopper", "3x1", max_episode_steps=50))
        >>> hopper.episode_length, hopper.state_space.shape
        (50, (11,))
        >>> hopper.close()
    """

    metadata: dict[str, Any] = {
        "render_modes": ["human", "rgb_array", "depth_array"],
        "name": "mamujoco",
        "is_parallelizable": True,
        "has_manual_policy": False,
    }

    def __init__(
        self,
        mamujoco: Any,
        *,
        scenario: str | None = None,
        agent_conf: str | None = None,
        pad_observations: bool = False,
    ):
        self.mamujoco = mamujoco
        self.scenario = scenario
        self.agent_conf = agent_conf
        self.pad_observations = bool(pad_observations)
        single = mamujoco.single_agent_env

        self.possible_agents: list[str] = list(mamujoco.possible_agents)
        self.agents: list[str] = []
        self.observation_sizes: dict[str, int] = {
            agent: mamujoco.observation_space(agent).shape[0] for agent in self.possible_agents
        }
        self._padded_size = max(self.observation_sizes.values())
        self.observation_spaces: dict[str, gymnasium.spaces.Box] = {
            agent: self._padded_space(mamujoco.observation_space(agent))
            if self.pad_observations
            else mamujoco.observation_space(agent)
            for agent in self.possible_agents
        }
        self.action_spaces: dict[str, gymnasium.spaces.Box] = {
            agent: mamujoco.action_space(agent) for agent in self.possible_agents
        }
        self.state_space = gymnasium.spaces.Box(
            low=-np.inf,
            high=np.inf,
            shape=single.observation_space.shape,
            dtype=single.observation_space.dtype,
        )
        self.render_mode: str | None = single.render_mode
        spec = getattr(single, "spec", None)
        self.episode_length: int | None = spec.max_episode_steps if spec is not None else None

        # Reset infos carry fewer keys than step infos (x_position only); libraries that build their
        # info specs from reset() (TorchRL) then fail on step. Learn the step keys once, to pad resets.
        single.reset(seed=0)
        zero = np.zeros(single.action_space.shape, dtype=single.action_space.dtype)
        self._step_info_keys: tuple[str, ...] = tuple(single.step(zero)[4])

        name = "mamujoco" if scenario is None else f"mamujoco_{scenario}_{agent_conf}"
        self.metadata = {
            **type(self).metadata,
            "name": name,
            "render_fps": single.metadata.get("render_fps"),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scenario={self.scenario!r}, agent_conf={self.agent_conf!r}, "
            f"agents={len(self.possible_agents)}, episode_length={self.episode_length}, "
            f"pad_observations={self.pad_observations})"
        )

    def observation_space(self, agent: str) -> gymnasium.spaces.Box:
        """The (cached) observation space of ``agent``."""
        try:
            return self.observation_spaces[agent]
        except KeyError:
            raise KeyError(f"expected an agent in {self.possible_agents}, got {agent!r}") from None

    def action_space(self, agent: str) -> gymnasium.spaces.Box:
        """The (cached) action space of ``agent``: joint torques in ``[-1, 1]``."""
        try:
            return self.action_spaces[agent]
        except KeyError:
            raise KeyError(f"expected an agent in {self.possible_agents}, got {agent!r}") from None

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start an episode; ``seed`` seeds the initial-state noise.

        Args:
            seed: Seed of the simulator's random initial state.
            options: Passed to the underlying Gymnasium env's ``reset``.

        Returns:
            Observations and infos (one dict per agent) of every agent.
        """
        observations, infos = self.mamujoco.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        if self.pad_observations:
            observations = self._pad(observations)
        blank = dict.fromkeys(self._step_info_keys, 0.0)
        return observations, {agent: {**blank, **infos[agent]} for agent in self.agents}

    def step(
        self, actions: dict[str, np.ndarray]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Apply every agent's joint torques and advance the simulation one step.

        Args:
            actions: One action per live agent, each of shape ``action_space(a).shape``.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)`` keyed by
            agent; the reward is shared. When the robot falls (termination) or
            the episode length is reached (truncation), ``agents`` becomes empty.

        Raises:
            RuntimeError: If no episode is running (call ``reset()``).
            ValueError: If an action is missing, unexpected or mis-shaped.
        """
        if not self.agents:
            raise RuntimeError(
                "step() called with no live agents: call reset() before the first step "
                "and after each episode ends"
            )
        self._check_actions(actions)
        observations, rewards, terminations, truncations, infos = self.mamujoco.step(actions)
        agents = self.agents
        reward = float(rewards[agents[0]])
        terminated = bool(terminations[agents[0]])
        truncated = bool(truncations[agents[0]])
        info = infos[agents[0]]
        if terminated or truncated:
            self.agents = []
        if self.pad_observations:
            observations = self._pad(observations)
        return (
            observations,
            dict.fromkeys(agents, reward),
            dict.fromkeys(agents, terminated),
            dict.fromkeys(agents, truncated),
            {agent: dict(info) for agent in agents},
        )

    def _padded_space(self, space: gymnasium.spaces.Box) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(low=-np.inf, high=np.inf, shape=(self._padded_size,), dtype=space.dtype)

    def _pad(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        padded = {}
        for agent, observation in observations.items():
            out = np.zeros(self._padded_size, dtype=observation.dtype)
            out[: observation.shape[0]] = observation
            padded[agent] = out
        return padded

    def _check_actions(self, actions: dict[str, np.ndarray]) -> None:
        if actions.keys() != set(self.agents):
            raise ValueError(
                f"expected one action for each live agent {sorted(self.agents)}, "
                f"got actions for {sorted(actions)}"
            )
        for agent, action in actions.items():
            expected = self.action_spaces[agent].shape
            if np.shape(action) != expected:
                raise ValueError(
                    f"expected the action of {agent!r} to have shape {expected}, "
                    f"got shape {np.shape(action)}"
                )

    def state(self) -> np.ndarray:
        """Global state: the single-agent Gymnasium observation of the whole robot."""
        return self.mamujoco.state()

    def render(self) -> np.ndarray | None:
        """Render with the Gymnasium MuJoCo renderer (see ``render_mode``)."""
        return self.mamujoco.render()

    def close(self) -> None:
        """Release the simulator and any rendering context."""
        self.mamujoco.close()
