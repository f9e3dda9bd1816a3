"""``stmg/OnRampMerge-v0``: multi-agent highway on-ramp merging (Chen et al. 2021) as a ``ParallelEnv``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from stmg_envs.highway._checks import check_bool, check_choice, check_int
from stmg_envs.highway._deps import require_highway_env
from stmg_envs.highway._parallel_base import HighwayParallelEnv
from stmg_envs.highway.config import DIFFICULTIES, OnRampReward

require_highway_env()

from stmg_envs.highway.on_ramp_sim import OnRampMergeSim  # noqa: E402

__all__ = ["OnRampMergeEnv", "max_controlled"]

_OBS_ROWS, _OBS_FEATURES = 5, 5
_STATE_FEATURES = ("presence", "controlled", "crashed", "x", "y", "vx", "vy")
_SPAWN_POINTS_PER_ROAD = len(OnRampMergeSim.MAIN_SPAWN_POINTS)


def max_controlled(difficulty: str) -> int:
    """Most controlled vehicles a fixed-count episode of ``difficulty`` can hold.

    The spawn points (6 on the main road, 6 on the ramp) must also fit the
    difficulty's largest number of human-driven vehicles.

    Examples:
        >>> max_controlled("hard")
        6
    """
    check_choice("max_controlled", "difficulty", difficulty, tuple(DIFFICULTIES))
    humans = DIFFICULTIES[difficulty].human[1]

    def fits(n: int) -> bool:
        on_main = n // 2 + humans // 2
        on_ramp = n - n // 2 + humans - humans // 2
        return on_main <= _SPAWN_POINTS_PER_ROAD and on_ramp <= _SPAWN_POINTS_PER_ROAD

    return max(n for n in range(1, 2 * _SPAWN_POINTS_PER_ROAD + 1) if fits(n))


class OnRampMergeEnv(HighwayParallelEnv):
    """Highway on-ramp merging in mixed traffic, one agent per controlled vehicle.

    The setting of Chen et al. (2021), "Deep multi-agent reinforcement learning
    for highway on-ramp merging in mixed traffic", which the STEP paper uses,
    rebuilt on highway-env 1.12 by subclassing its ``MergeEnv``
    (:class:`~stmg_envs.highway.on_ramp_sim.OnRampMergeSim`, available as ``env.sim``).
    A single main lane meets an on-ramp (sections 220/100/100/100 m, ramp closed at
    its end); controlled vehicles (agents) and human-driven IDM vehicles start on
    both; each agent wants to drive fast and safely.

    ## Agents
    ``"vehicle_0"`` ... ``"vehicle_{N-1}"``, N = ``num_controlled`` if given, else the
    difficulty's maximum (3 / 4 / 6). Each episode draws its number of controlled
    vehicles (unless fixed); only the first ones are in ``agents``. The first
    ``n // 2`` agents start on the main road, the rest on the ramp.

    | difficulty | controlled | human-driven |
    |---|---|---|
    | ``"easy"`` | 1-3 | 1-3 |
    | ``"medium"`` | 2-4 | 2-4 |
    | ``"hard"`` | 4-6 | 3-5 |

    ## Spaces
    * Action: ``Discrete(5)``, highway-env's meta-actions
      ``0 LANE_LEFT, 1 IDLE, 2 LANE_RIGHT, 3 FASTER, 4 SLOWER`` (target speeds 10..30 m/s in steps of 5).
      ``infos[agent]["action_mask"]`` marks the ones that change something.
    * Observation: ``Box(float32, (25,))``, the Kinematics of the vehicle and its 4
      nearest neighbours, rows ``[presence, x, y, vx, vy]`` flattened; x/150, y/12,
      v/45; neighbours relative to the vehicle, its own row absolute; absent rows 0;
      not clipped (as in Chen et al.'s code). With ``agent_id_in_obs=True`` a one-hot
      agent ID of length N follows (as in the authors' follow-up code): shape ``(25 + N,)``.
    * ``state()``: ``Box(float32, (M * 7,), -1, 1)`` with M = N + the difficulty's most
      human-driven vehicles: one row per controlled slot (agent order), then per
      human-driven vehicle, ``[presence, controlled, crashed, x/500 - 1, y/12, vx/45, vy/45]``
      clipped; unused rows are 0.

    ## Rewards (per agent, :class:`~stmg_envs.highway.OnRampReward`)
    ``-200 * crashed + clip(lmap(v, [10, 30], [0, 1])) + 4 * merge_cost + 4 * min(0, log(headway / (1.2 v)))``,
    merge_cost = ``-exp(-(x - 420)**2 / 1000)`` on the merge lane. ``infos[agent]`` holds the four
    weighted terms of the last step's reward as ``"reward_collision"``, ``"reward_high_speed"``,
    ``"reward_merging_lane"`` and ``"reward_headway"`` (0 after ``reset()``).

    ## Infos
    Numbers and arrays only, with the same keys at ``reset()`` and after every step (so that
    TorchRL and Tianshou can store them): ``"crashed"``, ``"speed"`` (m/s), ``"on_ramp"``,
    ``"action_mask"`` (``int8``, length 5) and the four reward terms above.

    ## Episode end
    Decisions at 5 Hz (simulation 15 Hz). A crashed agent terminates; with
    ``end_on_any_crash=True`` (default, as in the paper) any crash of a controlled vehicle
    terminates every agent. Truncation after ``max_steps`` decisions (100 = 20 s).

    ## Arguments
    * ``difficulty``: ``"easy"``, ``"medium"`` or ``"hard"``.
    * ``num_controlled``: fix the number of controlled vehicles every episode (the authors'
      follow-up code uses 2, 3 or 4); ``None`` draws it from the difficulty's range.
      At most :func:`max_controlled` ``(difficulty)``.
    * ``agent_id_in_obs``: append a one-hot agent ID to each observation.
    * ``end_on_any_crash``: end the episode for everyone at the first crash; if ``False`` only
      crashed agents leave (their vehicles stay on the road, braking to a halt).
    * ``max_steps``: decisions per episode.
    * ``reward``: an :class:`~stmg_envs.highway.OnRampReward` with the reward weights.
    * ``render_mode``: ``None``, ``"rgb_array"`` (works headless) or ``"human"``.

    ``reset(options={"controlled": [...], "human": [...]})`` places vehicles by hand
    instead of drawing them, each as ``(road, x, speed)`` with road ``"main"`` or ``"ramp"``
    and the global position ``x`` in metres (the merge lane spans 320..420 on the ramp).
    Other option keys are ignored.

    ## Version history
    * v0: first version. Before the first release its infos changed: the reward terms moved from a
      nested ``"reward_terms"`` dict, present only after a step, to the flat keys above.

    Examples:
        >>> from stmg_envs.highway import OnRampMergeEnv
        >>> env = OnRampMergeEnv("easy", num_controlled=2)
        >>> obs, infos = env.reset(seed=0)
        >>> env.agents
        ['vehicle_0', 'vehicle_1']
        >>> obs["vehicle_0"].shape
        (25,)
        >>> obs, rewards, terms, truncs, infos = env.step({"vehicle_0": 3, "vehicle_1": 1})
        >>> sorted(key for key in infos["vehicle_0"] if key.startswith("reward_"))
        ['reward_collision', 'reward_headway', 'reward_high_speed', 'reward_merging_lane']
    """

    metadata = {**HighwayParallelEnv.metadata, "name": "on_ramp_merge_v0", "render_fps": 5}

    def __init__(
        self,
        difficulty: str = "easy",
        *,
        num_controlled: int | None = None,
        agent_id_in_obs: bool = False,
        end_on_any_crash: bool = True,
        max_steps: int = 100,
        reward: OnRampReward | None = None,
        render_mode: str | None = None,
    ):
        name = "OnRampMergeEnv"
        self.difficulty = check_choice(name, "difficulty", difficulty, tuple(DIFFICULTIES))
        density = DIFFICULTIES[difficulty]
        if num_controlled is not None:
            num_controlled = check_int(name, "num_controlled", num_controlled, 1, max_controlled(difficulty))
        self.num_controlled = num_controlled
        self.agent_id_in_obs = check_bool(name, "agent_id_in_obs", agent_id_in_obs)
        self.end_on_any_crash = check_bool(name, "end_on_any_crash", end_on_any_crash)
        self.max_steps = check_int(name, "max_steps", max_steps, 1)
        if reward is None:
            reward = OnRampReward()
        if not isinstance(reward, OnRampReward):
            raise TypeError(f"{name} expected `reward` to be an OnRampReward or None, got {type(reward).__name__}.")
        self.reward = reward
        self.render_mode = check_choice(name, "render_mode", render_mode, (None, *self.metadata["render_modes"]))

        controlled_range = (num_controlled, num_controlled) if num_controlled else density.controlled
        n_agents = controlled_range[1]
        self.max_human = density.human[1]
        self.possible_agents = [f"vehicle_{i}" for i in range(n_agents)]
        self.agents = []
        self.sim = OnRampMergeSim(
            config={
                "controlled_vehicles": controlled_range,
                "human_vehicles": density.human,
                "max_decisions": self.max_steps,
                "end_on_any_crash": self.end_on_any_crash,
                "reward": reward,
            },
            render_mode=render_mode,
        )

        obs_size = _OBS_ROWS * _OBS_FEATURES
        low = np.full(obs_size + (n_agents if self.agent_id_in_obs else 0), -np.inf, dtype=np.float32)
        high = np.full_like(low, np.inf)
        low[obs_size:], high[obs_size:] = 0.0, 1.0
        n_rows = n_agents + self.max_human
        self._init_spaces(
            spaces.Box(low, high, dtype=np.float32),
            spaces.Box(-1.0, 1.0, shape=(n_rows * len(_STATE_FEATURES),), dtype=np.float32),
        )
        self._agent_ids = np.eye(n_agents, dtype=np.float32)

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        scenario = self._check_options(options)
        self._seed_action_spaces(seed)
        raw_obs, _ = self.sim.reset(seed=seed)
        if scenario is not None:
            self.sim.populate(*scenario)
            raw_obs = self.sim.observation_type.observe()
        self.agents = self.possible_agents[: len(self.sim.controlled_vehicles)]
        observations = {a: self._observation(i, raw_obs[i]) for i, a in enumerate(self.agents)}
        infos = {a: self._info(i) for i, a in enumerate(self.agents)}
        return observations, infos

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        joint = self._joint_action(actions)
        live = self.agents
        n_vehicles = len(self.sim.controlled_vehicles)
        idle = OnRampMergeSim.IDLE
        sim_action = tuple(joint.get(self.possible_agents[i], idle) for i in range(n_vehicles))
        raw_obs, _, _, truncated, sim_info = self.sim.step(sim_action)

        observations, rewards, terminations, truncations, infos = {}, {}, {}, {}, {}
        for agent in live:
            i = self._agent_index[agent]
            observations[agent] = self._observation(i, raw_obs[i])
            rewards[agent] = float(sim_info["agents_rewards"][i])
            terminations[agent] = bool(sim_info["agents_terminated"][i])
            truncations[agent] = bool(truncated) and not terminations[agent]
            infos[agent] = self._info(i, sim_info["agents_reward_terms"][i])
        self.agents = [a for a in live if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        n_agents = len(self.possible_agents)
        rows = np.zeros((n_agents + self.max_human, len(_STATE_FEATURES)), dtype=np.float64)
        controlled = self.sim.controlled_vehicles
        controlled_ids = {id(v) for v in controlled}
        humans = [v for v in self.sim.road.vehicles if id(v) not in controlled_ids] if self.sim.road else []
        slots = list(enumerate(controlled)) + list(enumerate(humans, start=n_agents))
        for row, vehicle in slots:
            if row >= len(rows):
                break
            velocity = vehicle.velocity
            rows[row] = (
                1.0,
                float(row < n_agents),
                float(vehicle.crashed),
                vehicle.position[0] / 500.0 - 1.0,
                vehicle.position[1] / 12.0,
                velocity[0] / 45.0,
                velocity[1] / 45.0,
            )
        return np.clip(rows, -1.0, 1.0).astype(np.float32).reshape(-1)

    # -------------------------------------------------------------- helpers
    def _observation(self, index: int, raw: np.ndarray) -> np.ndarray:
        flat = np.asarray(raw, dtype=np.float32).reshape(-1)
        if self.agent_id_in_obs:
            flat = np.concatenate([flat, self._agent_ids[index]])
        return flat

    def _info(self, index: int, reward_terms: Mapping[str, float] | None = None) -> dict[str, Any]:
        """The agent's info: numbers only, with the same keys from ``reset()`` on (the reward terms are 0 there),
        so that array-based libraries (TorchRL, Tianshou) can store every info."""
        vehicle = self.sim.controlled_vehicles[index]
        info: dict[str, Any] = {
            "crashed": bool(vehicle.crashed),
            "speed": float(vehicle.speed),
            "on_ramp": OnRampMergeSim.on_ramp(vehicle),
            "action_mask": self._action_mask(index),
        }
        for name in OnRampMergeSim.REWARD_TERMS:
            info[f"reward_{name}"] = float(reward_terms[name]) if reward_terms is not None else 0.0
        return info

    def _check_options(self, options: Mapping[str, Any] | None) -> tuple[list, list] | None:
        """Validate ``reset`` options; return ``(controlled, human)`` of a hand-placed scenario, if any."""
        name = "OnRampMergeEnv.reset"
        if options is None:
            return None
        if not isinstance(options, Mapping):
            raise TypeError(f"{name} expected `options` to be a dict or None, got {type(options).__name__}.")
        if "controlled" not in options:
            if "human" in options:
                raise ValueError(
                    f"{name} expected options['controlled'] (a list of (road, x, speed)) with options['human']."
                )
            return None  # other keys are ignored (PettingZoo's api_test passes arbitrary options)
        controlled, human = options["controlled"], options.get("human", ())
        for key, value, limit in (
            ("controlled", controlled, len(self.possible_agents)),
            ("human", human, self.max_human),
        ):
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise TypeError(f"{name} expected options[{key!r}] to be a list of (road, x, speed), got {value!r}.")
            low = 1 if key == "controlled" else 0
            if not low <= len(value) <= limit:
                raise ValueError(f"{name} expected {low}..{limit} vehicles in options[{key!r}], got {len(value)}.")
        return list(controlled), list(human)

    def __repr__(self) -> str:
        fixed = f", num_controlled={self.num_controlled}" if self.num_controlled else ""
        return f"OnRampMergeEnv(difficulty={self.difficulty!r}{fixed})"
