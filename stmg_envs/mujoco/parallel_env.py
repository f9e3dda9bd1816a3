"""A thin, API-complete ``ParallelEnv`` around Gymnasium-Robotics' MaMuJoCo.

``gymnasium_robotics.mamujoco_v1.parallel_env`` defines the robot's factorisation;
this wrapper keeps its meaning and adds what the library leaves out or gets loose:

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
  episode (the library keeps simulating past the end);
* observations by index gathers: the library rebuilds every agent's local
  observation each step in Python loops over joints and bodies (its ``obsk``
  helpers); this wrapper traces that builder once at construction into index
  arrays (:class:`ObservationGathers`) and then reads all agents' observations
  out of the simulator's arrays in one gather per step, and ``state()`` is the
  robot's observation that the single-agent env's ``step`` already returned.
  The result equals the library's observations exactly, its quirks included
  (ManySegmentAnt's graph has some joints read the root's x/y position; tested on
  all nine sub-scenarios for ``agent_obsk`` 0, 1 and 2, through episode ends); an
  env whose builder computes rather than reads (Hopper's clipped velocities), or
  that fails the check at construction, keeps the library's own path
  (``fast_observations`` is then ``False``). On that path the robot is stepped
  under the wrappers ``gymnasium.make`` adds (``TimeLimit``, ``OrderEnforcing``,
  ``PassiveEnvChecker``), whose work this class does itself; a robot with any
  other wrapper is stepped through all of them.

Seeding: ``reset(seed=s)`` seeds the simulator's initial-state noise; the physics
is deterministic, so equal seeds and equal actions give equal trajectories. As in
Gymnasium, action spaces are seeded separately (``action_space(a).seed(s)``).

This module imports nothing from MuJoCo; build instances with
:func:`stmg_envs.mujoco.make_mamujoco` (or the per-robot factories).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv

__all__ = ["MaMuJoCoParallelEnv", "ObservationGathers"]

_ZERO = np.zeros(1)


#: The simulator arrays (``MjData`` fields) a local observation may read.
_SOURCES = ("qpos", "qvel", "cinert", "cvel", "qfrc_actuator", "cfrc_ext")
#: Tracer values are ``_CODE * (source + 1) + flat index`` (exact in float64).
_CODE = float(2**24)


class ObservationGathers(NamedTuple):
    """Index arrays that read every agent's observation out of the simulator in one gather.

    Attributes:
        sources: The ``MjData`` fields read, in the order they are concatenated
            (with one zero appended, the padding value).
        observation: ``(n_agents, width)`` indices into that concatenation:
            row ``i`` is agent ``i``'s observation, padded with the zero to
            ``width`` (the longest agent's length).
        low, high: ``(n_agents, width)`` clip bounds (the library clips contact
            forces to ``[-1, 1]``; ``-inf``/``inf`` elsewhere), or both ``None``
            where nothing is clipped (HalfCheetah): no clip on the hot path then.
        sizes: Each agent's unpadded observation length.
        action: Positions in the robot's action vector of the agents' actions,
            concatenated in ``possible_agents`` order.
    """

    sources: tuple[str, ...]
    observation: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    sizes: tuple[int, ...]
    action: np.ndarray


class _Tracer:
    """Stands in for ``MjData``: each array element holds a code naming its field and position."""

    def __init__(self, data: Any, sources: tuple[str, ...], offset: float = 0.0):
        for i, name in enumerate(sources):
            array = getattr(data, name)
            codes = _CODE * (i + 1) + np.arange(array.size, dtype=np.float64) + offset
            setattr(self, name, codes.reshape(array.shape))


def _clip_bounds(body_fn: Any) -> tuple[float, float] | None:
    """``(low, high)`` if ``body_fn`` is an element-wise clip (as in the library's graphs), else ``None``."""
    probe = [-1e9, -0.5, 0.0, 0.5, 1e9]
    out = np.asarray(body_fn(0, list(probe)), dtype=np.float64)
    if out.shape != (5,) or not np.array_equal(out[1:4], probe[1:4]):
        return None
    return float(out[0]), float(out[4])


def _standard_time_limit(env: Any) -> int | None:
    """The time limit of ``env`` if its wrappers are exactly what ``gymnasium.make`` adds, else ``None``.

    ``gymnasium.make`` wraps a MuJoCo robot in ``TimeLimit`` (the episode length),
    ``OrderEnforcing`` and ``PassiveEnvChecker``; stepping the robot under them changes
    nothing but the time limit, which the caller then counts.
    """
    from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

    limit = None
    while isinstance(env, gymnasium.Wrapper):
        if type(env) is TimeLimit:
            limit = env._max_episode_steps
        elif type(env) not in (OrderEnforcing, PassiveEnvChecker):
            return None
        env = env.env
    return limit


def _gathers_of(mamujoco: Any) -> ObservationGathers | None:
    """Trace the library's observation builder once into index arrays, or ``None`` where it cannot be traced.

    The library's ``build_obs`` runs on a :class:`_Tracer`, so each observation
    element comes out as the code of the simulator value it reads; a category
    the tracer does not hold, or an ``extra_obs`` function that computes rather
    than reads, cannot be traced. (The library's own ``observation_factorization``
    is not used: for ManySegmentAnt it maps some joints' positions to the wrong
    values.)
    """
    from gymnasium_robotics.envs.multiagent_mujoco.obsk import build_obs

    if getattr(mamujoco, "agent_obsk", None) is None:
        return None
    used = {c for level in mamujoco.local_categories for c in level} | set(mamujoco.global_categories)
    if not used <= set(_SOURCES):
        return None
    data = mamujoco.single_agent_env.unwrapped.data
    sources = tuple(name for name in _SOURCES if name in used)
    starts = np.cumsum([0] + [getattr(data, name).size for name in sources])
    rows, lows, highs = [], [], []
    for k_dict in mamujoco.k_dicts:
        arguments = (k_dict, mamujoco.local_categories, mamujoco.mujoco_globals, mamujoco.global_categories)
        tracer = _Tracer(data, sources)
        codes = build_obs(tracer, *arguments, True)
        # The same trace shifted by 0.25: an element read straight from the simulator shifts with it.
        shifted = build_obs(_Tracer(data, sources, offset=0.25), *arguments, True)
        if codes.shape != shifted.shape or not np.array_equal(shifted - codes, np.full(codes.shape, 0.25)):
            return None
        field = codes // _CODE - 1
        position = codes - _CODE * (field + 1)
        if codes.size and (field.min() < 0 or field.max() >= len(sources)):
            return None
        index = starts[field.astype(np.intp)] + position.astype(np.intp)
        # Where the library applies a body function (its contact-force clip), the untraced build differs.
        applied = build_obs(tracer, *arguments, False)
        low, high = np.full(codes.shape, -np.inf), np.full(codes.shape, np.inf)
        changed = applied != codes
        if changed.any():
            bounds = {
                _clip_bounds(node.body_fn)
                for nodes in k_dict.values()
                for node in (*nodes, *mamujoco.mujoco_globals)
                if node.body_fn is not None
            }
            if len(bounds) != 1:
                return None
            pair = bounds.pop()
            if pair is None:
                return None
            low[changed], high[changed] = pair
        rows.append(index)
        lows.append(low)
        highs.append(high)
    sizes = tuple(len(row) for row in rows)
    width = max(sizes)
    observation = np.full((len(rows), width), starts[-1], dtype=np.intp)  # padding: the appended zero
    low, high = np.full((len(rows), width), -np.inf), np.full((len(rows), width), np.inf)
    for i, (row, row_low, row_high) in enumerate(zip(rows, lows, highs)):
        observation[i, : len(row)], low[i, : len(row)], high[i, : len(row)] = row, row_low, row_high
    action = np.array(
        [node.act_ids for partition in mamujoco.agent_action_partitions for node in partition], dtype=np.intp
    )
    if sorted(action.tolist()) != list(range(mamujoco.single_agent_env.action_space.shape[0])):
        return None
    if not np.isfinite(low).any() and not np.isfinite(high).any():
        return ObservationGathers(sources, observation, None, None, sizes, action)
    return ObservationGathers(sources, observation, low, high, sizes, action)


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
        fast_observations: Whether observations are read by index gathers
            (:class:`ObservationGathers`, every task this package builds) or
            built by the library (an env the gathers do not reproduce exactly).

    Examples:
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
        self._agent_set = frozenset(self.possible_agents)
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

        self._robot = single.unwrapped  # its MjData is read each step (MujocoEnv resets it in place)
        self._gathers = self._checked_gathers(mamujoco)
        self.fast_observations = self._gathers is not None
        # With the gathers, step the robot itself when `gymnasium.make` put only its standard wrappers around
        # it: their work is done here (the time limit below, the reset-before-step check in `step`; the passive
        # checker's one-time check ran on the step above). Any other wrapper keeps the whole chain.
        self._time_limit = _standard_time_limit(single) if self.fast_observations else None
        self._step_robot = single.step if self._time_limit is None else self._robot.step
        self._elapsed = 0
        self._state: np.ndarray | None = None  # the robot's observation vector of the current step

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

    def _checked_gathers(self, mamujoco: Any) -> ObservationGathers | None:
        """The gathers, if they give the library's observations on a short random trajectory."""
        try:
            gathers = _gathers_of(mamujoco)
        except Exception:  # an unusual factorisation: keep the library's path
            return None
        if gathers is None:
            return None
        single = mamujoco.single_agent_env
        rng = np.random.default_rng(0)
        single.reset(seed=0)
        for _ in range(10):
            expected = mamujoco._get_obs()
            got = self._observations_from(gathers, pad=False)
            if any(not np.array_equal(got[a], expected[a]) for a in self.possible_agents):
                return None
            single.step(rng.uniform(-1.0, 1.0, single.action_space.shape))
        return gathers

    def _observations_from(self, gathers: ObservationGathers, pad: bool) -> dict[str, np.ndarray]:
        """Every agent's observation, by one gather from the simulator's arrays (and one clip where the library clips)."""
        data = self._robot.data
        table = np.concatenate([*(getattr(data, name).ravel() for name in gathers.sources), _ZERO])
        table = table[gathers.observation]
        if gathers.low is not None:
            table = np.clip(table, gathers.low, gathers.high)
        if pad:
            return dict(zip(self.possible_agents, table))
        return {agent: table[i, :size] for i, (agent, size) in enumerate(zip(self.possible_agents, gathers.sizes))}

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
        if self._gathers is None:
            observations, infos = self.mamujoco.reset(seed=seed, options=options)
            info = infos[self.possible_agents[0]]
            if self.pad_observations:
                observations = self._pad(observations)
        else:
            self._state, info = self.mamujoco.single_agent_env.reset(seed=seed, options=options)
            self._elapsed = 0
            observations = self._observations_from(self._gathers, self.pad_observations)
        self.agents = list(self.possible_agents)
        blank = dict.fromkeys(self._step_info_keys, 0.0)
        return observations, {agent: {**blank, **info} for agent in self.agents}

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
                "step() called with no live agents: call reset() before the first step and after each episode ends"
            )
        self._check_actions(actions)
        agents = self.agents
        gathers = self._gathers
        if gathers is None:
            observations, rewards, terminations, truncations, infos = self.mamujoco.step(actions)
            reward = float(rewards[agents[0]])
            terminated = bool(terminations[agents[0]])
            truncated = bool(truncations[agents[0]])
            info = infos[agents[0]]
            if self.pad_observations:
                observations = self._pad(observations)
        else:
            # The library's step, without its per-agent observation loops: scatter the
            # actions into the robot's action, step it, gather the observations.
            robot_action = np.empty(gathers.action.shape[0], dtype=np.float64)
            robot_action[gathers.action] = np.concatenate(
                [np.asarray(actions[agent], dtype=np.float64).reshape(-1) for agent in self.possible_agents]
            )
            self._state, reward, terminated, truncated, info = self._step_robot(robot_action)
            reward, terminated, truncated = float(reward), bool(terminated), bool(truncated)
            if self._time_limit is not None:
                self._elapsed += 1
                truncated = truncated or self._elapsed >= self._time_limit
            observations = self._observations_from(gathers, self.pad_observations)
        if terminated or truncated:
            self.agents = []
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
        if actions.keys() != self._agent_set:  # live agents are all of them (the robot ends as a whole)
            raise ValueError(
                f"expected one action for each live agent {sorted(self.agents)}, got actions for {sorted(actions)}"
            )
        for agent, action in actions.items():
            expected = self.action_spaces[agent].shape
            if getattr(action, "shape", None) != expected and np.shape(action) != expected:
                raise ValueError(
                    f"expected the action of {agent!r} to have shape {expected}, got shape {np.shape(action)}"
                )

    def state(self) -> np.ndarray:
        """Global state: the single-agent Gymnasium observation of the whole robot (a new array)."""
        if self._state is None or self._gathers is None:
            return self.mamujoco.state()
        return self._state.copy()

    def render(self) -> np.ndarray | None:
        """Render with the Gymnasium MuJoCo renderer (see ``render_mode``)."""
        return self.mamujoco.render()

    def close(self) -> None:
        """Release the simulator and any rendering context."""
        self.mamujoco.close()
