"""The native MuJoCo backend: ``K`` simulations of a Multi-Agent MuJoCo robot stepped in C by ``mujoco.batch``.

:class:`MuJoCoBackend` runs ``K`` copies of a :class:`~stmg_envs.mujoco.MaMuJoCoParallelEnv` as one
``mujoco.batch.Batch`` (MuJoCo >= 4.0, which needs Python >= 3.11): the agents' actions are scattered
into the robots' controls, all simulations advance ``frame_skip`` substeps in one call (on
``nthread`` threads), and every agent's observation is read out of the simulators' arrays with the
index arrays the parallel env traced once (:class:`~stmg_envs.mujoco.parallel_env.ObservationGathers`).
Rewards, terminations, infos, the global state, the initial-state noise (drawn per copy from a
generator seeded as Gymnasium seeds the robot) and the time limit follow Gymnasium's ``-v5`` robots.

Which robots: HalfCheetah, Ant and ManySegmentAnt (every partition). Ant's rewards and observations
read the contact forces ``cfrc_ext``, which Gymnasium computes with ``mj_rnePostConstraint`` after the
step and ``mujoco.batch`` does not: for Ant the batch keeps each simulation's ``MjData``
(``persistent=True``) and runs ``mj_rnePostConstraint`` on a copy of each after every step (about a
tenth of the physics' time). Any other env, or one whose observations the parallel env does not
gather, keeps the generic backend: :meth:`MuJoCoBackend.fits` says which, and
:func:`~stmg_envs.vector.make_backend` falls back by itself, as it does where ``mujoco.batch`` is
missing (MuJoCo < 4).

Equality: tested against the generic backend (our parallel env, itself checked equal to
Gymnasium-Robotics') through episode ends: observations, rewards, global states and infos within an
absolute tolerance of 1e-9 (in practice bit-identical: ``mujoco.batch`` steps as ``mj_step`` does),
terminations and truncations exactly (``tests/vector/test_mujoco.py``).

Examples:
    >>> import numpy as np
    >>> from stmg_envs.mujoco import half_cheetah
    >>> from stmg_envs.vector import BatchedSTMG
    >>> backend = MuJoCoBackend(half_cheetah("2x3", episode_length=3), num_copies=4, nthread=1)
    >>> venv = BatchedSTMG(backend)
    >>> obs, infos = venv.reset(seed=0)
    >>> obs.observation.shape, sorted(infos[0]["agent_0"])
    ((4, 12), ['reward_ctrl', 'reward_forward', 'x_position', 'x_velocity'])
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from stmg_envs.vector.backend import Backend, SparseInfos, StepArrays
from stmg_envs.vector.generic import layout_of

__all__ = ["MuJoCoBackend", "batch_available"]

#: Simulator fields the native backend reads observations from (``cfrc_ext``: computed after each step).
_NATIVE_SOURCES = frozenset({"qpos", "qvel", "cfrc_ext"})
#: The Gymnasium robots the native backend steps, by class: ``(module, class name)``.
_ROBOTS = {
    ("gymnasium.envs.mujoco.half_cheetah_v5", "HalfCheetahEnv"): "half_cheetah",
    ("gymnasium.envs.mujoco.ant_v5", "AntEnv"): "ant",
}


def batch_available() -> bool:
    """Whether ``mujoco.batch`` (MuJoCo >= 4.0) can be imported."""
    try:
        import mujoco.batch  # noqa: F401
    except Exception:  # ImportError, or a MuJoCo without the module
        return False
    return True


class _ArrayInfos(Mapping):
    """Sparse infos ``{copy: {agent: {key: value}}}`` built on access from one ``(K, keys)`` array.

    The robot's info is the same for every agent of a copy; only the copies in ``copies`` have infos.
    """

    __slots__ = ("_agents", "_copies", "_keys", "_values")

    def __init__(self, keys: tuple[str, ...], values: np.ndarray, copies: np.ndarray, agents: Sequence[Any]):
        self._keys = keys
        self._values = values
        self._copies = copies
        self._agents = agents

    def __getitem__(self, copy_index: int) -> dict[Any, dict[str, Any]]:
        rows = np.flatnonzero(self._copies == copy_index)
        if not len(rows):
            raise KeyError(copy_index)
        values = self._values[int(rows[0])]
        return {agent: dict(zip(self._keys, values)) for agent in self._agents}

    def __iter__(self) -> Iterator[int]:
        return iter(self._copies.tolist())

    def __len__(self) -> int:
        return len(self._copies)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class MuJoCoBackend(Backend):
    """``K`` copies of a Multi-Agent MuJoCo task on ``mujoco.batch`` (see the module docstring).

    Args:
        env: A :class:`~stmg_envs.mujoco.MaMuJoCoParallelEnv` of a robot this backend runs (:meth:`fits`); its
            model and settings are read, it is not stepped.
        num_copies: ``K``.
        nthread: Simulation threads of ``mujoco.batch`` (0: all CPUs). The default, 1, is what
            :func:`~stmg_envs.vector.make_backend` builds: one thread per process, as a plain env steps, so that
            parallel trials (one per core) do not oversubscribe the cores; pass more to spread one process's
            copies over several cores (the results are the same: the simulations are independent).

    Raises:
        TypeError: an env this backend does not run.
    """

    @staticmethod
    def fits(env: Any) -> bool:
        """Whether the native backend runs ``env``: a gathered HalfCheetah or Ant ``-v5`` robot (Ant's
        observations with contact forces or without) with a time limit, not rendering, and ``mujoco.batch``
        importable."""
        from stmg_envs.mujoco.parallel_env import MaMuJoCoParallelEnv

        if type(env) is not MaMuJoCoParallelEnv or not env.fast_observations or env._time_limit is None:
            return False
        robot = env._robot
        kind = _ROBOTS.get((type(robot).__module__, type(robot).__name__))
        gathers = env._gathers
        if kind is None or gathers is None or robot.render_mode is not None:
            return False
        if not set(gathers.sources) <= _NATIVE_SOURCES or (kind == "half_cheetah" and "cfrc_ext" in gathers.sources):
            return False
        return batch_available()

    def __init__(self, env: Any, num_copies: int, nthread: int = 1):
        if not self.fits(env):
            raise TypeError(
                "MuJoCoBackend expected a HalfCheetah, Ant or ManySegmentAnt MaMuJoCoParallelEnv (stmg_envs.mujoco) "
                f"with mujoco.batch available, got {env!r}; use the generic backend."
            )
        import mujoco
        import mujoco.batch

        super().__init__(layout_of(env), num_copies)
        self.env = env
        self.name = str(env.metadata.get("name", "mamujoco"))
        robot = env._robot
        gathers = env._gathers
        model = robot.model
        k = self.num_copies
        self.robot = _ROBOTS[(type(robot).__module__, type(robot).__name__)]
        self.frame_skip = int(robot.frame_skip)
        self.dt = float(robot.dt)
        self.episode_length = int(env._time_limit)
        self._model = model
        self._forward_weight = float(robot._forward_reward_weight)
        self._ctrl_weight = float(robot._ctrl_cost_weight)
        self._noise = float(robot._reset_noise_scale)
        self._init_qpos = np.array(robot.init_qpos, dtype=np.float64)
        self._init_qvel = np.array(robot.init_qvel, dtype=np.float64)
        ant = self.robot == "ant"
        self.batch = mujoco.batch.Batch(model, k, nthread=nthread, persistent=ant)
        self._qpos = self.batch.bind("qpos")
        self._qvel = self.batch.bind("qvel")
        self._ctrl = self.batch.bind("ctrl")
        if ant:
            self._xpos = self.batch.bind("xpos")
            self._main_body = int(model.body(robot._main_body).id)
            self._contact_range = tuple(float(v) for v in robot._contact_force_range)
            self._contact_weight = float(robot._contact_cost_weight)
            self._healthy_reward = float(robot._healthy_reward)
            self._healthy_z = tuple(float(v) for v in robot._healthy_z_range)
            self._terminate_unhealthy = bool(robot._terminate_when_unhealthy)
            self._state_contact = bool(robot._include_cfrc_ext_in_observation)
            self._cfrc = np.zeros((k, *robot.data.cfrc_ext.shape), dtype=np.float64)
            self._datas = [mujoco.MjData(model) for _ in range(k)]
            self._rne = mujoco.mj_rnePostConstraint
        sources = {"qpos": self._qpos, "qvel": self._qvel}
        if "cfrc_ext" in gathers.sources:
            sources["cfrc_ext"] = self._cfrc
        self._sources = [sources[name] for name in gathers.sources]
        # The gathers index the sources concatenated, plus one zero (the padding): a table filled in place.
        sizes = [int(np.prod(source.shape[1:])) for source in self._sources]
        starts = np.cumsum([0, *sizes])
        self._source_columns = [slice(int(a), int(b)) for a, b in itertools.pairwise(starts.tolist())]
        self._table = np.zeros((k, int(starts[-1]) + 1), dtype=np.float64)
        self._flat_gather = np.ascontiguousarray(gathers.observation.reshape(-1))
        self._low = gathers.low
        if gathers.low is not None and gathers.high is not None:
            self._flat_low, self._flat_high = gathers.low.reshape(-1), gathers.high.reshape(-1)
        self._action_index = gathers.action
        self._identity_actions = bool(np.array_equal(gathers.action, np.arange(model.nu)))
        self._robot_action = np.zeros((k, model.nu), dtype=np.float64)
        # Each copy's initial-state noise generator, as the robot's np_random would be in a copy made now.
        self._np_random = [copy.deepcopy(robot.np_random) for _ in range(k)]
        self._elapsed = np.zeros(k, dtype=np.int64)
        self._info_keys: tuple[str, ...] = tuple(env._step_info_keys)
        # state(): the robot's own observation (qpos without the excluded positions, qvel, clipped contact forces).
        self.state_space = env.state_space
        skip = 2 if ant else 1
        self._state_from = skip if robot._exclude_current_positions_from_observation else 0

    # ------------------------------------------------------------------ observations
    def _gather_observations(self, copies: np.ndarray | None = None) -> None:
        """Every agent's observation (of ``copies``; ``None``: all) by one gather from the simulators' arrays."""
        table, k = self._table, self.num_copies
        for source, columns in zip(self._sources, self._source_columns):
            table[:, columns] = source.reshape(k, -1)
        if copies is None:
            flat = self.observations.reshape(k, -1)  # a view: the gather writes the observations in place
            np.take(table, self._flat_gather, axis=1, out=flat)
            if self._low is not None:
                np.clip(flat, self._flat_low, self._flat_high, out=flat)
            return
        observations = table[copies[:, None], self._flat_gather[None]]
        if self._low is not None:
            observations = np.clip(observations, self._flat_low, self._flat_high)
        self.observations[copies] = observations.reshape(len(copies), *self.observations.shape[1:])

    def states(self) -> np.ndarray:
        parts = [self._qpos[:, self._state_from :], self._qvel]
        if self.robot == "ant" and self._state_contact:
            low, high = self._contact_range
            parts.append(np.clip(self._cfrc[:, 1:], low, high).reshape(self.num_copies, -1))
        return np.concatenate(parts, axis=1)

    # ------------------------------------------------------------------ episodes
    def reset(self, copies: np.ndarray, seeds: Sequence[int | None], options: dict | None = None) -> SparseInfos:
        from gymnasium.utils import seeding

        copies = np.asarray(copies, dtype=np.int64)
        nq, nv = self._init_qpos.shape[0], self._init_qvel.shape[0]
        qpos = np.empty((len(copies), nq))
        qvel = np.empty((len(copies), nv))
        for j, (e, seed) in enumerate(zip(copies.tolist(), seeds)):
            if seed is not None:
                self._np_random[e] = seeding.np_random(seed)[0]
            rng = self._np_random[e]
            qpos[j] = self._init_qpos + rng.uniform(low=-self._noise, high=self._noise, size=nq)
            qvel[j] = self._init_qvel + self._noise * rng.standard_normal(nv)
        self.batch.reset(copies, stage=0)  # mjSTAGE_NONE: the state is written next, then forward()
        self._qpos[copies] = qpos
        self._qvel[copies] = qvel
        self.batch.forward(copies)
        if self.robot == "ant":
            self._cfrc[copies] = 0.0  # a reset's mj_forward leaves them zero, as after mj_resetData
        self._gather_observations(copies)
        self._elapsed[copies] = 0
        self.live[copies] = True
        values = np.zeros((len(copies), len(self._info_keys)))
        position = self._qpos[copies]
        reset_info = {"x_position": position[:, 0]}
        if self.robot == "ant":
            reset_info["y_position"] = position[:, 1]
            reset_info["distance_from_origin"] = np.linalg.norm(position[:, :2], ord=2, axis=1)
        for column, key in enumerate(self._info_keys):
            if key in reset_info:
                values[:, column] = reset_info[key]
        return _ArrayInfos(self._info_keys, values, copies, self.possible_agents)  # type: ignore[return-value]

    def step(self, actions: np.ndarray) -> StepArrays:
        k, n = self.num_copies, self.num_agents
        if self._identity_actions:
            robot_action = actions.reshape(k, -1).astype(np.float64)
        else:
            robot_action = self._robot_action
            robot_action[:, self._action_index] = actions.reshape(k, -1)
        ant = self.robot == "ant"
        before = (self._xpos[:, self._main_body, :2] if ant else self._qpos[:, :1]).copy()
        self._ctrl[:] = robot_action
        self.batch.step(nstep=self.frame_skip)
        after = (self._xpos[:, self._main_body, :2] if ant else self._qpos[:, :1]).copy()
        velocity = (after - before) / self.dt
        forward = velocity[:, 0] * self._forward_weight
        ctrl_cost = self._ctrl_weight * np.sum(np.square(robot_action), axis=1)
        info: dict[str, np.ndarray] = {}
        if ant:
            self._contact_forces()
            qpos, qvel = self._qpos, self._qvel
            low_z, high_z = self._healthy_z
            finite = np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1)
            healthy = finite & (low_z <= qpos[:, 2]) & (qpos[:, 2] <= high_z)
            healthy_reward = healthy * self._healthy_reward
            low, high = self._contact_range
            contact_cost = self._contact_weight * np.sum(
                np.square(np.clip(self._cfrc, low, high)).reshape(k, -1), axis=1
            )
            reward = (forward + healthy_reward) - (ctrl_cost + contact_cost)
            terminated = ~healthy if self._terminate_unhealthy else np.zeros(k, dtype=bool)
            info = {
                "x_position": qpos[:, 0].copy(),
                "y_position": qpos[:, 1].copy(),
                "distance_from_origin": np.linalg.norm(qpos[:, :2], ord=2, axis=1),
                "x_velocity": velocity[:, 0],
                "y_velocity": velocity[:, 1],
                "reward_contact": -contact_cost,
                "reward_survive": healthy_reward,
            }
        else:
            reward = forward - ctrl_cost
            terminated = np.zeros(k, dtype=bool)
            info = {"x_position": after[:, 0], "x_velocity": velocity[:, 0]}
        info["reward_forward"] = forward
        info["reward_ctrl"] = -ctrl_cost
        self._gather_observations()
        self._elapsed += 1
        truncated = self._elapsed >= self.episode_length
        self.live[terminated | truncated] = False
        values = np.empty((k, len(self._info_keys)), dtype=np.float64)
        for column, key in enumerate(self._info_keys):
            values[:, column] = info[key]
        infos = _ArrayInfos(self._info_keys, values, np.arange(k), self.possible_agents)
        return StepArrays(
            np.repeat(reward[:, None], n, axis=1),
            np.repeat(terminated[:, None], n, axis=1),
            np.repeat(truncated[:, None], n, axis=1),
            infos,  # type: ignore[arg-type]
        )

    def _contact_forces(self) -> None:
        """Every simulation's ``cfrc_ext`` as Gymnasium has it after a step (``mj_rnePostConstraint`` on a copy)."""
        batch, model, rne, cfrc = self.batch, self._model, self._rne, self._cfrc
        for sim, data in enumerate(self._datas):
            batch.get_data(sim, data)
            rne(model, data)
            cfrc[sim] = data.cfrc_ext

    def close(self) -> None:
        self.env.close()
