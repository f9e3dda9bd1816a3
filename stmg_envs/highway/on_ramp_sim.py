"""highway-env simulation of the multi-agent on-ramp of Chen et al. (2021).

:class:`OnRampMergeSim` subclasses highway-env's :class:`~highway_env.envs.merge_env.MergeEnv`
(which has a single controlled vehicle) and adds what the multi-agent task
needs: Chen et al.'s road and spawn rules, several controlled vehicles driven
through highway-env's ``MultiAgentAction`` / ``MultiAgentObservation``, per-agent
rewards, and hand-placed scenarios. It is a plain ``gymnasium.Env`` in
highway-env's multi-agent convention (tuple actions and observations,
``info["agents_rewards"]``, ``info["agents_terminated"]``);
:class:`stmg_envs.highway.OnRampMergeEnv` presents it as a PettingZoo ``ParallelEnv``.

This module imports ``highway-env``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from stmg_envs.highway._deps import require_highway_env

require_highway_env()

from highway_env import utils  # noqa: E402
from highway_env.envs.common.observation import MultiAgentObservation  # noqa: E402
from highway_env.envs.merge_env import MergeEnv  # noqa: E402
from highway_env.vehicle.kinematics import Vehicle  # noqa: E402

from stmg_envs.highway._checks import check_real  # noqa: E402
from stmg_envs.highway._rendering import OffscreenRenderMixin  # noqa: E402
from stmg_envs.highway.config import OnRampReward  # noqa: E402
from stmg_envs.highway.kinematics_observation import FastKinematicObservation  # noqa: E402
from stmg_envs.highway.merge_road import (  # noqa: E402
    MERGE_LANE,
    RAMP_LANES,
    headway_distance,
    lane_at,
    make_merge_road,
    priority_score,
)

__all__ = ["OnRampMergeSim", "VehicleSpec"]

#: ``(road, x, speed)``: a vehicle on ``"main"`` or ``"ramp"`` at global position ``x`` (m) with ``speed`` (m/s).
VehicleSpec = tuple[str, float, float]


class OnRampMergeSim(OffscreenRenderMixin, MergeEnv):
    """Chen et al.'s on-ramp merge with several controlled vehicles, on highway-env 1.12.

    * Road: one main lane and an on-ramp, sections ``ENDS = (220, 100, 100, 100)`` m
      (before, converging, merge, after); an obstacle closes the ramp's end.
    * Timing: simulation at 15 Hz, decisions at 5 Hz; truncation after
      ``config["max_decisions"]`` (100, i.e. 20 s).
    * Vehicles: per episode, the numbers of controlled and human-driven (IDM)
      vehicles are drawn from the inclusive ranges ``config["controlled_vehicles"]``
      and ``config["human_vehicles"]``. Spawn points lie every 40 m on the main
      road (10..210) and the ramp (5..205); half the controlled vehicles (rounded
      down) start on the main road, the rest on the ramp, then the same for the
      human-driven ones; speeds are uniform in 25..27 m/s and positions get
      uniform noise of +/-1.5 m.
    * Controlled vehicles track 5 target speeds 10, 15, ..., 30 m/s and take
      highway-env's 5 meta-actions (see :data:`stmg_envs.highway.ACTIONS`).
    * Observation of each controlled vehicle: Kinematics of itself and the 4
      nearest vehicles (ahead or behind), ``[presence, x, y, vx, vy]`` scaled by
      ``x/150, y/12, v/45``; others relative to the observer, the observer's own
      row absolute; not clipped (as in the reference code).
    * Reward of each controlled vehicle: :class:`~stmg_envs.highway.OnRampReward`.
    * Episode end: any crash of a controlled vehicle (``config["end_on_any_crash"]``),
      otherwise only when all of them crashed; the simulation of a decision stops at
      the frame where a crash ends the episode.

    Use :meth:`populate` to place vehicles by hand.
    """

    ENDS: tuple[float, float, float, float] = (220.0, 100.0, 100.0, 100.0)
    MAIN_SPAWN_POINTS: tuple[float, ...] = (10.0, 50.0, 90.0, 130.0, 170.0, 210.0)
    RAMP_SPAWN_POINTS: tuple[float, ...] = (5.0, 45.0, 85.0, 125.0, 165.0, 205.0)
    TARGET_SPEEDS: tuple[float, ...] = (10.0, 15.0, 20.0, 25.0, 30.0)
    #: Chen et al. observe vehicles within 6 x 30 m.
    PERCEPTION_DISTANCE = 180.0
    #: Index of IDLE among the meta-actions.
    IDLE = 1
    #: Names of the weighted reward terms, in the order of :meth:`reward_terms`.
    REWARD_TERMS: tuple[str, ...] = ("collision", "high_speed", "merging_lane", "headway")

    @classmethod
    def default_config(cls) -> dict:
        config = super().default_config()
        config.update(
            {
                "observation": {
                    "type": "MultiAgentObservation",
                    "observation_config": {
                        "type": "Kinematics",
                        "vehicles_count": 5,
                        "features": ["presence", "x", "y", "vx", "vy"],
                        "features_range": {
                            "x": [-150.0, 150.0],
                            "y": [-12.0, 12.0],
                            "vx": [-45.0, 45.0],
                            "vy": [-45.0, 45.0],
                        },
                        "absolute": False,
                        "normalize": True,
                        "clip": False,
                        "see_behind": True,
                        "include_obstacles": False,
                    },
                },
                "action": {
                    "type": "MultiAgentAction",
                    "action_config": {
                        "type": "DiscreteMetaAction",
                        "longitudinal": True,
                        "lateral": True,
                        "target_speeds": list(cls.TARGET_SPEEDS),
                    },
                },
                "simulation_frequency": 15,
                "policy_frequency": 5,
                "max_decisions": 100,
                "controlled_vehicles": (1, 3),
                "human_vehicles": (1, 3),
                "initial_speed_range": (25.0, 27.0),
                "position_noise": 1.5,
                "end_on_any_crash": True,
                "reward": OnRampReward(),
                "screen_width": 600,
                "screen_height": 120,
                "scaling": 3,
                "centering_position": [0.3, 0.5],
            }
        )
        return config

    def define_spaces(self) -> None:
        """highway-env's spaces, with the Kinematics observations computed by NumPy (same values)."""
        super().define_spaces()
        use_fast_kinematics(self)

    # ----------------------------------------------------------------- scene
    def _reset(self) -> None:
        self.decision_step = 0
        self.road = make_merge_road(
            self.ENDS,
            main_y=0.0,
            obstacle=True,
            np_random=self.np_random,
            record_history=self.config["show_trajectories"],
            neighbour_vehicles_connected_lanes=self.config["neighbour_vehicles_connected_lanes"],
        )
        self._make_vehicles()

    def _make_vehicles(self) -> None:
        """Draw the vehicle counts, spawn points, speeds and noise; place the vehicles."""
        rng = self.np_random
        low, high = self.config["controlled_vehicles"]
        n_controlled = int(rng.integers(low, high + 1))
        low, high = self.config["human_vehicles"]
        n_human = int(rng.integers(low, high + 1))

        main_points = list(self.MAIN_SPAWN_POINTS)
        ramp_points = list(self.RAMP_SPAWN_POINTS)

        def draw(points: list[float], count: int) -> list[float]:
            chosen = [float(p) for p in rng.choice(points, count, replace=False)] if count else []
            for p in chosen:
                points.remove(p)
            return chosen

        controlled_main = draw(main_points, n_controlled // 2)
        controlled_ramp = draw(ramp_points, n_controlled - n_controlled // 2)
        human_main = draw(main_points, n_human // 2)
        human_ramp = draw(ramp_points, n_human - n_human // 2)

        n_total = n_controlled + n_human
        speed_low, speed_high = self.config["initial_speed_range"]
        speeds = iter(rng.uniform(speed_low, speed_high, n_total).tolist())
        noise_scale = self.config["position_noise"]
        noise = iter(rng.uniform(-noise_scale, noise_scale, n_total).tolist())

        def specs(road: str, points: list[float]) -> list[VehicleSpec]:
            return [(road, p + next(noise), next(speeds)) for p in points]

        controlled = specs("main", controlled_main) + specs("ramp", controlled_ramp)
        human = specs("main", human_main) + specs("ramp", human_ramp)
        self.populate(controlled, human)

    def populate(self, controlled: Sequence[VehicleSpec], human: Sequence[VehicleSpec] = ()) -> None:
        """Replace all vehicles on the road by the given ones.

        Controlled vehicles are created in the given order (the i-th is agent
        ``vehicle_i``); human-driven ones use ``config["other_vehicles_type"]``.
        The action and observation types are rebound to the new vehicles.

        Args:
            controlled: ``(road, x, speed)`` of each controlled vehicle, road ``"main"`` or ``"ramp"``.
            human: ``(road, x, speed)`` of each human-driven vehicle.

        Raises:
            ValueError: a malformed spec or a position off the road.
        """
        road = self.road
        road.vehicles = []
        controlled_class = self.action_type.vehicle_class
        human_class = utils.class_from_path(self.config["other_vehicles_type"])
        self.controlled_vehicles = [self._spawn(controlled_class, spec) for spec in controlled]
        road.vehicles.extend(self.controlled_vehicles)
        road.vehicles.extend(self._spawn(human_class, spec) for spec in human)
        self.define_spaces()

    def _spawn(self, vehicle_class: Any, spec: VehicleSpec) -> Vehicle:
        try:
            road_name, x, speed = spec
        except (TypeError, ValueError):
            raise ValueError(f"expected a vehicle as (road, x, speed), got {spec!r}.") from None
        speed = check_real("OnRampMergeSim.populate", "speed", speed)
        lane_index, longitudinal = lane_at(self.ENDS, road_name, x)
        lane = self.road.network.get_lane(lane_index)
        return vehicle_class(
            self.road, lane.position(longitudinal, 0.0), heading=lane.heading_at(longitudinal), speed=speed
        )

    # ------------------------------------------------------------- dynamics
    def step(self, action: tuple[int, ...]) -> tuple[tuple[np.ndarray, ...], float, bool, bool, dict]:
        """Apply one meta-action per controlled vehicle and simulate one decision period.

        Returns:
            ``(observations, mean reward, terminated, truncated, info)`` with
            ``info["agents_rewards"]``, ``info["agents_terminated"]`` and
            ``info["agents_reward_terms"]`` (one entry per controlled vehicle).
        """
        if self.road is None or not self.controlled_vehicles:
            raise RuntimeError("OnRampMergeSim.step() called before reset().")
        self.decision_step += 1
        self.time += 1 / self.config["policy_frequency"]
        self._simulate(action)
        obs = self.observation_type.observe()
        terms = tuple(self.reward_terms(v) for v in self.controlled_vehicles)
        rewards = tuple(sum(t.values()) for t in terms)
        terminated = self._is_terminated()
        truncated = self._is_truncated()
        crashed = [v.crashed for v in self.controlled_vehicles]
        info = self._info(obs, action)
        info["agents_rewards"] = rewards
        info["agents_reward_terms"] = terms
        info["agents_terminated"] = tuple(c or (terminated and self.config["end_on_any_crash"]) for c in crashed)
        if self.render_mode == "human":
            self.render()
        return obs, float(np.mean(rewards)), terminated, truncated, info

    def _simulate(self, action: tuple[int, ...] | None = None) -> None:
        """Simulate one decision period; stop at the frame where a crash ends the episode."""
        frames = int(self.config["simulation_frequency"] // self.config["policy_frequency"])
        dt = 1 / self.config["simulation_frequency"]
        for frame in range(frames):
            if frame == 0 and action is not None and not self.config["manual_control"]:
                self.action_type.act(action)
            self.road.act()
            self.road.step(dt)
            self.steps += 1
            if self._is_terminated():
                break
            if frame < frames - 1:
                self._automatic_rendering()
        self.enable_auto_render = False

    def _is_terminated(self) -> bool:
        crashed = [v.crashed for v in self.controlled_vehicles]
        return any(crashed) if self.config["end_on_any_crash"] else all(crashed)

    def _is_truncated(self) -> bool:
        return self.decision_step >= self.config["max_decisions"]

    def _info(self, obs: Any, action: Any = None) -> dict:
        return {
            "speed": tuple(v.speed for v in self.controlled_vehicles),
            "crashed": tuple(v.crashed for v in self.controlled_vehicles),
            "action": action,
        }

    # -------------------------------------------------------------- rewards
    def reward_terms(self, vehicle: Vehicle) -> dict[str, float]:
        """The weighted terms of ``vehicle``'s reward in the current state (their sum is the reward)."""
        weights: OnRampReward = self.config["reward"]
        scaled_speed = utils.lmap(vehicle.speed, weights.speed_range, [0, 1])
        if vehicle.lane_index == MERGE_LANE:
            before, converging, merge, _ = self.ENDS
            merging_cost = -math.exp(-((vehicle.position[0] - (before + converging + merge)) ** 2) / (10 * merge))
        else:
            merging_cost = 0.0
        if vehicle.speed > 0:
            headway = headway_distance(vehicle, self.road, weights.headway_horizon)
            headway_cost = min(0.0, math.log(headway / (weights.headway_time * vehicle.speed)))
        else:
            headway_cost = 0.0
        return {
            "collision": -weights.collision if vehicle.crashed else 0.0,
            "high_speed": weights.high_speed * float(np.clip(scaled_speed, 0.0, 1.0)),
            "merging_lane": weights.merging_lane * merging_cost,
            "headway": weights.headway * headway_cost,
        }

    def _reward(self, action: Any) -> float:
        return float(np.mean([sum(self.reward_terms(v).values()) for v in self.controlled_vehicles]))

    def _rewards(self, action: Any) -> dict[str, float]:
        terms = [self.reward_terms(v) for v in self.controlled_vehicles]
        return {name: float(np.mean([t[name] for t in terms])) for name in terms[0]} if terms else {}

    # ------------------------------------------------------------ utilities
    def priority_score(self, vehicle: Vehicle) -> float:
        """Chen et al.'s safety-supervisor priority of ``vehicle`` (lower acts first)."""
        weights: OnRampReward = self.config["reward"]
        return priority_score(
            vehicle, self.road, self.ENDS, headway_time=weights.headway_time, horizon=weights.headway_horizon
        )

    def available_actions(self, index: int) -> list[int]:
        """Meta-actions that change something for controlled vehicle ``index`` (IDLE always)."""
        return self.action_type.agents_action_types[index].get_available_actions()

    @staticmethod
    def on_ramp(vehicle: Vehicle) -> bool:
        """Whether ``vehicle`` is on a ramp lane segment."""
        return vehicle.lane_index in RAMP_LANES


def use_fast_kinematics(env: Any) -> None:
    """Swap the per-agent Kinematics observations of ``env`` for :class:`FastKinematicObservation`."""
    obs_type = env.observation_type
    if isinstance(obs_type, MultiAgentObservation) and obs_type.observation_config.get("type") == "Kinematics":
        fast = []
        for old in obs_type.agents_observation_types:
            new = FastKinematicObservation(env, **obs_type.observation_config)
            new.observer_vehicle = old.observer_vehicle
            fast.append(new)
        obs_type.agents_observation_types = fast
