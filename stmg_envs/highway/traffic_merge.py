"""``stmg/TrafficMerge-v0``: Bi-AC's two-car highway merge as a ``ParallelEnv``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from stmg_envs.highway._checks import check_bool, check_choice, check_int, check_real
from stmg_envs.highway._deps import require_highway_env
from stmg_envs.highway._parallel_base import HighwayParallelEnv
from stmg_envs.highway.config import TrafficMergeReward

require_highway_env()

from stmg_envs.highway.traffic_merge_sim import TrafficMergeSim  # noqa: E402

__all__ = ["TrafficMergeEnv"]

#: Scales of Bi-AC's relative observation: gap in metres, speed difference in m/s.
_GAP_SCALE, _SPEED_DIFF_SCALE = 40.0, 80.0
_STATE_PER_CAR = 5


class TrafficMergeEnv(HighwayParallelEnv):
    """Bi-AC's traffic merge: a main-lane car (leader) and a ramp car (follower) race for the merge.

    The "Highway Merge" experiment of Zhang et al. (2020), "Bi-level Actor-Critic
    for Multi-agent Coordination", rebuilt on highway-env 1.12 by subclassing its
    ``MergeEnv`` (:class:`~stmg_envs.highway.traffic_merge_sim.TrafficMergeSim`, as ``env.sim``).
    Both cars start level at x = 215 m at 38-40 m/s; the ramp's 30 m merge lane
    ends at x = 280 m, where a car still on it is steered onto the main lane. The
    car ahead when one passes x = 310 m wins. With the main-lane car leading, the
    Stackelberg outcome is that it goes first (Bi-AC reaches it in ~72 % of runs).

    ## Agents
    ``"vehicle_0"``: the main-lane car (the leader in Bi-AC); ``"vehicle_1"``: the ramp car.

    ## Spaces
    * Action: ``Discrete(5)``, highway-env's meta-actions
      ``0 LANE_LEFT, 1 IDLE, 2 LANE_RIGHT, 3 FASTER, 4 SLOWER`` (target speeds 20..70 m/s in steps
      of 10). Bi-AC listed them as IDLE, LANE_LEFT, LANE_RIGHT, FASTER, SLOWER; the indices here
      follow highway-env.
    * Observation (Bi-AC's): ``Box(float32, (max_steps + 3,))``: a one-hot of the decision step
      (length ``max_steps + 1``), then ``(x_other - x_own) / 40`` and ``(v_other - v_own) / 80``
      (not clipped). With ``agent_id_in_obs=True`` a one-hot agent ID of length 2 follows.
    * ``state()``: ``Box(float32, (11,))``: ``t / max_steps``, then per car
      ``[x / 310, y / 12, vx / 70, vy / 70, crashed]``.

    ## Rewards (:class:`~stmg_envs.highway.TrafficMergeReward`)
    0 until the end. When a car passes x = 310 m: 50 to the car ahead, 10 to the other.
    A crash gives both the same penalty, from -25 (the main-lane car before x = 260 m) in
    steps of 5 up to -5 (past 275 m). (The paper's text gives -10 for a crash; this schedule is
    the one of Bi-AC's code.)

    ## Infos
    Numbers and arrays only, with the same keys at ``reset()`` and after every step (so that
    TorchRL and Tianshou can store them): ``"crashed"`` (this agent's car), ``"speed"`` (m/s),
    the outcome as three flags, ``"main_first"`` (the main-lane car passed x = 310 m first),
    ``"ramp_first"`` and ``"crash"`` (either car; it takes precedence), all ``False`` while
    the episode runs, and ``"action_mask"`` (``int8``, length 5). ``env.sim.outcome()`` gives
    the outcome as a string.

    ## Episode end
    One decision per second (simulation 15 Hz). Both agents terminate at a crash or when a car
    passes x = 310 m, usually after 2-4 decisions; truncation after ``max_steps`` decisions.

    ## Arguments
    * ``max_steps``: decisions per episode (default 20, Bi-AC's path length).
    * ``agent_id_in_obs``: append a one-hot agent ID to each observation.
    * ``reward``: a :class:`~stmg_envs.highway.TrafficMergeReward`.
    * ``render_mode``: ``None``, ``"rgb_array"`` (works headless) or ``"human"``.

    ``reset(options={"main": (x, speed), "ramp": (x, speed)})`` places the cars by hand
    (global x in metres; the ramp ends at 280). Other option keys are ignored.

    ## Version history
    * v0: first version. Before the first release its infos changed: the outcome string
      ``"outcome"`` became the three flags above.

    Examples:
        >>> from stmg_envs.highway import TrafficMergeEnv
        >>> env = TrafficMergeEnv()
        >>> obs, infos = env.reset(seed=0)
        >>> obs["vehicle_0"].shape
        (23,)
        >>> while env.agents:
        ...     obs, rewards, terms, truncs, infos = env.step({"vehicle_0": 3, "vehicle_1": 4})
        >>> infos["vehicle_0"]["main_first"], rewards
        (True, {'vehicle_0': 50.0, 'vehicle_1': 10.0})
    """

    metadata = {**HighwayParallelEnv.metadata, "name": "traffic_merge_v0", "render_fps": 1}

    def __init__(
        self,
        *,
        max_steps: int = 20,
        agent_id_in_obs: bool = False,
        reward: TrafficMergeReward | None = None,
        render_mode: str | None = None,
    ):
        name = "TrafficMergeEnv"
        self.max_steps = check_int(name, "max_steps", max_steps, 1)
        self.agent_id_in_obs = check_bool(name, "agent_id_in_obs", agent_id_in_obs)
        if reward is None:
            reward = TrafficMergeReward()
        if not isinstance(reward, TrafficMergeReward):
            raise TypeError(
                f"{name} expected `reward` to be a TrafficMergeReward or None, got {type(reward).__name__}."
            )
        self.reward = reward
        self.render_mode = check_choice(name, "render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.possible_agents = ["vehicle_0", "vehicle_1"]
        self.agents = []
        self.sim = TrafficMergeSim(config={"max_decisions": self.max_steps, "reward": reward}, render_mode=render_mode)

        n_time = self.max_steps + 1
        size = n_time + 2 + (2 if self.agent_id_in_obs else 0)
        low, high = np.zeros(size, dtype=np.float32), np.ones(size, dtype=np.float32)
        low[n_time : n_time + 2], high[n_time : n_time + 2] = -np.inf, np.inf
        self._init_spaces(
            spaces.Box(low, high, dtype=np.float32),
            spaces.Box(-np.inf, np.inf, shape=(1 + 2 * _STATE_PER_CAR,), dtype=np.float32),
        )

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        scenario = self._check_options(options)
        self._seed_action_spaces(seed)
        self.sim.reset(seed=seed)
        if scenario is not None:
            self.sim.populate(**scenario)
        self.agents = list(self.possible_agents)
        return {a: self._observation(i) for i, a in enumerate(self.agents)}, {
            a: self._info(i) for i, a in enumerate(self.agents)
        }

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        joint = self._joint_action(actions)
        _, _, terminated, truncated, sim_info = self.sim.step((joint["vehicle_0"], joint["vehicle_1"]))
        agents = self.agents
        observations = {a: self._observation(i) for i, a in enumerate(agents)}
        rewards = {a: float(sim_info["agents_rewards"][i]) for i, a in enumerate(agents)}
        terminations = {a: bool(terminated) for a in agents}
        truncations = {a: bool(truncated) and not terminated for a in agents}
        infos = {a: self._info(i) for i, a in enumerate(agents)}
        if terminated or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        values = [min(self.sim.decision_step, self.max_steps) / self.max_steps]
        for vehicle in self.sim.controlled_vehicles:
            velocity = vehicle.velocity
            values += [
                vehicle.position[0] / TrafficMergeSim.MERGE_END_X,
                vehicle.position[1] / 12.0,
                velocity[0] / 70.0,
                velocity[1] / 70.0,
                float(vehicle.crashed),
            ]
        return np.asarray(values, dtype=np.float32)

    # -------------------------------------------------------------- helpers
    def _observation(self, index: int) -> np.ndarray:
        obs = np.zeros(self.observation_spaces["vehicle_0"].shape, dtype=np.float32)
        obs[min(self.sim.decision_step, self.max_steps)] = 1.0
        own, other = self.sim.controlled_vehicles[index], self.sim.controlled_vehicles[1 - index]
        n_time = self.max_steps + 1
        obs[n_time] = (other.position[0] - own.position[0]) / _GAP_SCALE
        obs[n_time + 1] = (other.speed - own.speed) / _SPEED_DIFF_SCALE
        if self.agent_id_in_obs:
            obs[n_time + 2 + index] = 1.0
        return obs

    def _info(self, index: int) -> dict[str, Any]:
        """The agent's info: numbers only, with the same keys from ``reset()`` on, so that array-based
        libraries (TorchRL, Tianshou) can store every info; the outcome is one flag per kind."""
        vehicle = self.sim.controlled_vehicles[index]
        outcome = self.sim.outcome()
        return {
            "crashed": bool(vehicle.crashed),
            "speed": float(vehicle.speed),
            "main_first": outcome == "main_first",
            "ramp_first": outcome == "ramp_first",
            "crash": outcome == "crash",
            "action_mask": self._action_mask(index),
        }

    def _check_options(self, options: Mapping[str, Any] | None) -> dict[str, tuple[float, float]] | None:
        name = "TrafficMergeEnv.reset"
        if options is None:
            return None
        if not isinstance(options, Mapping):
            raise TypeError(f"{name} expected `options` to be a dict or None, got {type(options).__name__}.")
        given = {"main", "ramp"} & set(options)
        if not given:
            return None  # other keys are ignored (PettingZoo's api_test passes arbitrary options)
        if given != {"main", "ramp"}:
            raise ValueError(
                f"{name} expected both options 'main' and 'ramp' (each (x, speed)), got only {sorted(given)}."
            )
        scenario = {}
        for key in ("main", "ramp"):
            try:
                x, speed = options[key]
            except (TypeError, ValueError):
                raise ValueError(f"{name} expected options[{key!r}] as (x, speed), got {options[key]!r}.") from None
            scenario[key] = (
                check_real(name, f"options[{key!r}][0]", x),
                check_real(name, f"options[{key!r}][1]", speed),
            )
        return scenario

    def __repr__(self) -> str:
        return f"TrafficMergeEnv(max_steps={self.max_steps})"
