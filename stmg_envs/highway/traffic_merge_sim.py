"""highway-env simulation of Bi-AC's two-car merge (Zhang et al. 2020).

:class:`TrafficMergeSim` subclasses highway-env's
:class:`~highway_env.envs.merge_env.MergeEnv`: one controlled car on the main
lane (the leader of the bi-level game), one on the on-ramp (the follower),
and nobody else. :class:`stmg_envs.highway.TrafficMergeEnv` presents it as a
PettingZoo ``ParallelEnv``.

This module imports ``highway-env``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stmg_envs.highway._deps import require_highway_env

require_highway_env()

from highway_env.envs.merge_env import MergeEnv  # noqa: E402
from highway_env.vehicle.controller import MDPVehicle  # noqa: E402
from highway_env.vehicle.kinematics import Vehicle  # noqa: E402

from stmg_envs.highway._rendering import OffscreenRenderMixin  # noqa: E402
from stmg_envs.highway.config import TrafficMergeReward  # noqa: E402
from stmg_envs.highway.merge_road import MERGE_LANE, lane_at, make_merge_road, priority_score  # noqa: E402

__all__ = ["FastMDPVehicle", "TrafficMergeSim"]


class FastMDPVehicle(MDPVehicle):
    """An ``MDPVehicle`` allowed up to 70 m/s (highway-env caps vehicles at 40 m/s; Bi-AC's cars reach 70)."""

    MAX_SPEED = 70.0


class TrafficMergeSim(OffscreenRenderMixin, MergeEnv):
    """Bi-AC's two-car merge on highway-env 1.12.

    * Road: one main lane and an on-ramp, sections ``ENDS = (200, 50, 30, 800)`` m
      (before, converging, merge, after), ramp end open: a car still on the merge
      lane at its end is steered onto the main lane by highway-env.
    * Cars: ``controlled_vehicles[0]`` on the main lane and ``controlled_vehicles[1]``
      on the ramp, both at x = 215 m with speeds uniform in 38..40 m/s; target
      speeds 20, 30, ..., 70 m/s; highway-env's 5 meta-actions.
    * Timing: simulation at 15 Hz, one decision per second (as in Bi-AC).
    * End: a crash, or a car passing ``MERGE_END_X = 310`` m (the decision's simulation stops
      there); truncation after ``config["max_decisions"]`` decisions.
    * Rewards (paid at the end only, :class:`~stmg_envs.highway.TrafficMergeReward`): the car ahead
      when one passes gets ``first``, the other ``second``; a crash costs both a penalty set by how
      far the main-lane car got.
    """

    ENDS: tuple[float, float, float, float] = (200.0, 50.0, 30.0, 800.0)
    MAIN_Y = 4.0
    START_X = 215.0
    MERGE_END_X = 310.0
    TARGET_SPEEDS: tuple[float, ...] = (20.0, 30.0, 40.0, 50.0, 60.0, 70.0)
    #: Headway settings used only by :meth:`priority_score` (Chen et al.'s values).
    HEADWAY_TIME = 1.2
    HEADWAY_HORIZON = 60.0

    @classmethod
    def default_config(cls) -> dict:
        config = super().default_config()
        config.update(
            {
                "observation": {
                    "type": "MultiAgentObservation",
                    "observation_config": {"type": "Kinematics", "vehicles_count": 2},
                },
                "action": {
                    "type": "MultiAgentAction",
                    "action_config": {"type": "DiscreteMetaAction", "target_speeds": list(cls.TARGET_SPEEDS)},
                },
                "simulation_frequency": 15,
                "policy_frequency": 1,
                "max_decisions": 20,
                "initial_speed_range": (38.0, 40.0),
                "reward": TrafficMergeReward(),
                "screen_width": 600,
                "screen_height": 150,
                "scaling": 4,
                "centering_position": [0.5, 0.5],
            }
        )
        return config

    def _reset(self) -> None:
        self.decision_step = 0
        self.road = make_merge_road(
            self.ENDS,
            main_y=self.MAIN_Y,
            obstacle=False,
            np_random=self.np_random,
            record_history=self.config["show_trajectories"],
            neighbour_vehicles_connected_lanes=self.config["neighbour_vehicles_connected_lanes"],
        )
        low, high = self.config["initial_speed_range"]
        speeds = self.np_random.uniform(low, high, 2).tolist()
        self.populate(main=(self.START_X, speeds[0]), ramp=(self.START_X, speeds[1]))

    def populate(self, main: tuple[float, float], ramp: tuple[float, float]) -> None:
        """Replace both cars: ``main`` and ``ramp`` are ``(x, speed)`` of the main-lane and the ramp car."""
        self.road.vehicles = []
        self.controlled_vehicles = []
        for road_name, (x, speed) in (("main", main), ("ramp", ramp)):
            lane_index, longitudinal = lane_at(self.ENDS, road_name, x)
            lane = self.road.network.get_lane(lane_index)
            vehicle = FastMDPVehicle(
                self.road,
                lane.position(longitudinal, 0.0),
                heading=lane.heading_at(longitudinal),
                speed=float(speed),
                target_speeds=np.array(self.TARGET_SPEEDS),
            )
            self.controlled_vehicles.append(vehicle)
            self.road.vehicles.append(vehicle)
        self.define_spaces()

    # ------------------------------------------------------------- dynamics
    def step(self, action: tuple[int, int]) -> tuple[Any, float, bool, bool, dict]:
        """Apply both meta-actions and simulate one decision period.

        Returns:
            ``(observations, mean reward, terminated, truncated, info)``; ``info["agents_rewards"]``
            holds both rewards and ``info["outcome"]`` one of ``"running"``, ``"main_first"``,
            ``"ramp_first"``, ``"crash"``.
        """
        if self.road is None or not self.controlled_vehicles:
            raise RuntimeError("TrafficMergeSim.step() called before reset().")
        self.decision_step += 1
        self.time += 1 / self.config["policy_frequency"]
        self._simulate(action)
        outcome = self.outcome()
        rewards = self.outcome_rewards(outcome)
        terminated = outcome != "running"
        truncated = self._is_truncated()
        info = self._info(None, action)
        info["agents_rewards"] = rewards
        info["agents_terminated"] = (terminated, terminated)
        if self.render_mode == "human":
            self.render()
        return None, float(np.mean(rewards)), terminated, truncated, info

    def _simulate(self, action: tuple[int, int] | None = None) -> None:
        """Simulate one decision period; stop at the frame where the episode ends (as Bi-AC does)."""
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

    def outcome(self) -> str:
        """``"crash"`` (first), ``"main_first"`` or ``"ramp_first"`` once a car passed, else ``"running"``."""
        main, ramp = self.controlled_vehicles
        if main.crashed or ramp.crashed:
            return "crash"
        if max(main.position[0], ramp.position[0]) > self.MERGE_END_X:
            return "main_first" if main.position[0] > ramp.position[0] else "ramp_first"
        return "running"

    def outcome_rewards(self, outcome: str) -> tuple[float, float]:
        """``(main-lane reward, ramp reward)`` for ``outcome``."""
        reward: TrafficMergeReward = self.config["reward"]
        if outcome == "main_first":
            return reward.first, reward.second
        if outcome == "ramp_first":
            return reward.second, reward.first
        if outcome == "crash":
            penalty = reward.crash_penalty(self.controlled_vehicles[0].position[0])
            return penalty, penalty
        return 0.0, 0.0

    def _is_terminated(self) -> bool:
        return self.outcome() != "running"

    def _is_truncated(self) -> bool:
        return self.decision_step >= self.config["max_decisions"]

    def _reward(self, action: Any) -> float:
        return float(np.mean(self.outcome_rewards(self.outcome())))

    def _rewards(self, action: Any) -> dict[str, float]:
        main, ramp = self.outcome_rewards(self.outcome())
        return {"main": main, "ramp": ramp}

    def _info(self, obs: Any, action: Any = None) -> dict:
        return {
            "speed": tuple(v.speed for v in self.controlled_vehicles),
            "crashed": tuple(v.crashed for v in self.controlled_vehicles),
            "action": action,
            "outcome": self.outcome(),
        }

    # ------------------------------------------------------------ utilities
    def priority_score(self, vehicle: Vehicle) -> float:
        """Chen et al.'s safety-supervisor priority of ``vehicle`` on this road (lower acts first)."""
        return priority_score(
            vehicle, self.road, self.ENDS, headway_time=self.HEADWAY_TIME, horizon=self.HEADWAY_HORIZON
        )

    def available_actions(self, index: int) -> list[int]:
        """Meta-actions that change something for car ``index`` (IDLE always)."""
        return self.action_type.agents_action_types[index].get_available_actions()

    @staticmethod
    def on_merge_lane(vehicle: Vehicle) -> bool:
        """Whether ``vehicle`` is on the merge lane."""
        return vehicle.lane_index == MERGE_LANE
