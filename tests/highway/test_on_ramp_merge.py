"""Tests of stmg/OnRampMerge-v0 (stmg_envs.highway.OnRampMergeEnv): setting, rewards, episode end, spaces."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.highway

MAIN_SPAWN = (10.0, 50.0, 90.0, 130.0, 170.0, 210.0)
RAMP_SPAWN = (5.0, 45.0, 85.0, 125.0, 165.0, 205.0)
DENSITIES = {"easy": ((1, 3), (1, 3)), "medium": ((2, 4), (2, 4)), "hard": ((4, 6), (3, 5))}


def make(difficulty="easy", **kwargs):
    from stmg_envs.highway import OnRampMergeEnv

    return OnRampMergeEnv(difficulty, **kwargs)


def idle(env):
    return dict.fromkeys(env.agents, 1)


# ----------------------------------------------------------------- setting
@pytest.mark.parametrize("difficulty", sorted(DENSITIES))
def test_vehicle_counts_cover_the_difficultys_ranges(difficulty):
    """Over 40 seeds the controlled and human-driven counts take every value of the difficulty's range, no other."""
    env = make(difficulty)
    (c_low, c_high), (h_low, h_high) = DENSITIES[difficulty]
    assert env.possible_agents == [f"vehicle_{i}" for i in range(c_high)]
    controlled, human = set(), set()
    for seed in range(40):
        env.reset(seed=seed)
        n_controlled = len(env.sim.controlled_vehicles)
        assert env.agents == env.possible_agents[:n_controlled]
        controlled.add(n_controlled)
        human.add(len(env.sim.road.vehicles) - n_controlled)
    assert controlled == set(range(c_low, c_high + 1))
    assert human == set(range(h_low, h_high + 1))


def test_fixed_number_of_controlled_vehicles():
    """num_controlled fixes the agents (the follow-up code's 2/3/4) while humans still follow the difficulty."""
    env = make("medium", num_controlled=3)
    assert env.possible_agents == ["vehicle_0", "vehicle_1", "vehicle_2"]
    for seed in range(5):
        env.reset(seed=seed)
        assert env.agents == env.possible_agents
        assert 2 <= len(env.sim.road.vehicles) - 3 <= 4


def test_spawn_rules():
    """Controlled vehicles split main/ramp (main first, n//2) on distinct 40 m spawn points +/-1.5 m, at 25-27 m/s."""
    env = make("hard")
    for seed in range(10):
        env.reset(seed=seed)
        vehicles = env.sim.road.vehicles
        controlled = env.sim.controlled_vehicles
        n = len(controlled)
        on_main = [v.lane_index == ("a", "b", 0) for v in controlled]
        assert on_main == [True] * (n // 2) + [False] * (n - n // 2)
        points = []
        for v in vehicles:
            spawn = MAIN_SPAWN if v.lane_index == ("a", "b", 0) else RAMP_SPAWN
            assert v.lane_index in (("a", "b", 0), ("j", "k", 0))
            nearest = min(spawn, key=lambda p: abs(p - v.position[0]))
            assert abs(nearest - v.position[0]) <= 1.5
            points.append((v.lane_index, nearest))
            assert 25.0 <= v.speed <= 27.0
        assert len(set(points)) == len(points)


def test_timing_and_actions_follow_the_paper():
    """15 Hz simulation, 5 Hz decisions, 5 meta-actions, target speeds 10..30 m/s."""
    env = make()
    env.reset(seed=0)
    assert env.sim.config["simulation_frequency"] == 15 and env.sim.config["policy_frequency"] == 5
    assert env.action_space("vehicle_0").n == 5
    assert list(env.sim.controlled_vehicles[0].target_speeds) == [10.0, 15.0, 20.0, 25.0, 30.0]


def test_road_sections_and_ramp_obstacle():
    """Sections 220/100/100/100 m on one main lane; an obstacle closes the merge lane at x = 420."""
    env = make()
    env.reset(seed=0)
    network = env.sim.road.network
    assert len(network.graph["a"]["b"]) == 1 and len(network.graph["b"]["c"]) == 2
    merge_lane = network.get_lane(("b", "c", 1))
    assert merge_lane.start[0] == pytest.approx(320.0) and merge_lane.end[0] == pytest.approx(420.0)
    assert network.get_lane(("c", "d", 0)).end[0] == pytest.approx(520.0)
    (obstacle,) = env.sim.road.objects
    assert obstacle.position[0] == pytest.approx(420.0)


# ------------------------------------------------------------------ rewards
def test_speed_and_merging_lane_terms_on_a_hand_placed_vehicle():
    """A lone vehicle at 20 m/s on the merge lane at x=400: speed term 0.5, merge cost -4 exp(-0.4), no headway cost."""
    env = make()
    env.reset(seed=0, options={"controlled": [("ramp", 400.0, 20.0)]})
    vehicle = env.sim.controlled_vehicles[0]
    assert vehicle.lane_index == ("b", "c", 1)
    terms = env.sim.reward_terms(vehicle)
    assert terms["high_speed"] == pytest.approx(0.5)
    assert terms["merging_lane"] == pytest.approx(-4 * math.exp(-(20.0**2) / 1000.0))
    assert terms["headway"] == 0.0
    assert terms["collision"] == 0.0


def test_headway_term_counts_the_vehicle_ahead_in_the_lane_and_the_next_segment():
    """Headway 10 m at 20 m/s costs 4 log(10/24), also across a segment border; vehicles in other lanes do not count."""
    env = make()
    env.reset(seed=0, options={"controlled": [("main", 100.0, 20.0)], "human": [("main", 110.0, 20.0)]})
    expected = 4 * math.log(10.0 / (1.2 * 20.0))
    assert env.sim.reward_terms(env.sim.controlled_vehicles[0])["headway"] == pytest.approx(expected)
    env.reset(seed=0, options={"controlled": [("main", 315.0, 20.0)], "human": [("main", 325.0, 20.0)]})
    vehicle = env.sim.controlled_vehicles[0]
    assert vehicle.lane_index == ("a", "b", 0)
    assert env.sim.reward_terms(vehicle)["headway"] == pytest.approx(expected)
    env.reset(seed=0, options={"controlled": [("main", 330.0, 20.0)], "human": [("ramp", 340.0, 20.0)]})
    assert env.sim.reward_terms(env.sim.controlled_vehicles[0])["headway"] == 0.0


def test_step_reward_is_the_sum_of_the_reported_terms():
    """Each agent's step reward equals the sum of its infos' reward_* terms, which match the post-step state."""
    env = make("hard")
    _, infos = env.reset(seed=3)
    assert all(info[f"reward_{name}"] == 0.0 for info in infos.values() for name in env.sim.REWARD_TERMS)
    _, rewards, _, _, infos = env.step(dict.fromkeys(env.agents, 3))
    for i, agent in enumerate(rewards):
        terms = {name: infos[agent][f"reward_{name}"] for name in env.sim.REWARD_TERMS}
        assert rewards[agent] == pytest.approx(sum(terms.values()))
        sim_terms = env.sim.reward_terms(env.sim.controlled_vehicles[i])
        assert tuple(sim_terms) == env.sim.REWARD_TERMS
        assert terms == pytest.approx(sim_terms)


def test_rewards_are_per_agent():
    """Two vehicles at different speeds get different speed terms (no shared team reward)."""
    env = make(num_controlled=2)
    env.reset(seed=0, options={"controlled": [("main", 50.0, 15.0), ("ramp", 50.0, 30.0)]})
    _, rewards, _, _, infos = env.step(idle(env))
    assert infos["vehicle_0"]["reward_high_speed"] < infos["vehicle_1"]["reward_high_speed"]
    assert rewards["vehicle_0"] != rewards["vehicle_1"]


# -------------------------------------------------------------- episode end
CRASH = {
    "controlled": [("main", 100.0, 25.0), ("main", 103.0, 10.0), ("ramp", 20.0, 25.0)],
    "human": [("main", 250.0, 25.0)],
}


def test_a_crash_ends_the_episode_for_everyone():
    """Two overlapping vehicles crash in the first step: every agent terminates, the crashed ones pay 200."""
    env = make("medium")
    env.reset(seed=0, options=CRASH)
    _, rewards, terminations, truncations, infos = env.step(idle(env))
    assert terminations == {"vehicle_0": True, "vehicle_1": True, "vehicle_2": True}
    assert not any(truncations.values())
    assert env.agents == []
    assert [infos[a]["crashed"] for a in sorted(infos)] == [True, True, False]
    assert infos["vehicle_0"]["reward_collision"] == -200.0
    assert infos["vehicle_2"]["reward_collision"] == 0.0
    assert rewards["vehicle_0"] < -190.0 < rewards["vehicle_2"]


def test_without_end_on_any_crash_only_crashed_agents_leave():
    """With end_on_any_crash=False the crashed agents terminate and the others drive on."""
    env = make("medium", end_on_any_crash=False)
    env.reset(seed=0, options=CRASH)
    _, _, terminations, _, _ = env.step(idle(env))
    assert terminations == {"vehicle_0": True, "vehicle_1": True, "vehicle_2": False}
    assert env.agents == ["vehicle_2"]
    observations, rewards, _, _, _ = env.step({"vehicle_2": 1})
    assert list(observations) == list(rewards) == ["vehicle_2"]


def test_truncation_at_the_time_limit():
    """Without a crash the episode is truncated after max_steps decisions (100 by default: 20 s at 5 Hz)."""
    assert make().max_steps == 100
    env = make(num_controlled=1, max_steps=4)
    env.reset(seed=0, options={"controlled": [("main", 10.0, 25.0)]})
    for step in range(4):  # noqa: B007
        assert env.agents == ["vehicle_0"]
        _, _, terminations, truncations, _ = env.step({"vehicle_0": 1})
    assert truncations == {"vehicle_0": True} and terminations == {"vehicle_0": False}
    assert env.agents == []


# ------------------------------------------------------------------- spaces
def test_observation_is_flattened_normalised_kinematics():
    """25 float32 values: [presence, x/150, y/12, vx/45, vy/45], own row absolute, others relative, absent rows 0."""
    env = make(num_controlled=1)
    scenario = {"controlled": [("main", 90.0, 20.0)], "human": [("main", 120.0, 20.0)]}
    observations, _ = env.reset(seed=0, options=scenario)
    obs = observations["vehicle_0"]
    assert obs.dtype == np.float32 and obs.shape == (25,)
    assert env.observation_space("vehicle_0").contains(obs)
    rows = obs.reshape(5, 5)
    np.testing.assert_allclose(rows[0], [1.0, 90.0 / 150, 0.0, 20.0 / 45, 0.0], atol=1e-6)
    np.testing.assert_allclose(rows[1], [1.0, 30.0 / 150, 0.0, 0.0, 0.0], atol=1e-6)
    assert not rows[2:].any()


def test_agent_id_is_appended_as_one_hot():
    """agent_id_in_obs=True appends a one-hot of length possible_agents to each observation."""
    env = make("hard", agent_id_in_obs=True)
    observations, _ = env.reset(seed=0)
    assert env.observation_space("vehicle_0").shape == (31,)
    for i, agent in enumerate(env.agents):
        np.testing.assert_array_equal(observations[agent][25:], np.eye(6, dtype=np.float32)[i])


def test_spaces_are_cached_and_state_fits_its_space():
    """observation/action spaces are the same object each call; state() lies in state_space."""
    env = make("hard")
    env.reset(seed=0)
    assert env.observation_space("vehicle_3") is env.observation_space("vehicle_3")
    assert env.action_space("vehicle_3") is env.action_space("vehicle_3")
    state = env.state()
    assert state.shape == env.state_space.shape == ((6 + 5) * 7,)
    assert env.state_space.contains(state)


def test_action_mask_marks_meaningful_actions():
    """On the main lane no lane change is possible; at the lowest target speed SLOWER is masked."""
    env = make(num_controlled=1)
    _, infos = env.reset(seed=0, options={"controlled": [("main", 50.0, 10.0)]})
    np.testing.assert_array_equal(infos["vehicle_0"]["action_mask"], [0, 1, 0, 1, 0])


def test_rgb_array_render_returns_an_image():
    """render_mode='rgb_array' gives an H x W x 3 uint8 frame with content, without a display."""
    env = make(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.dtype == np.uint8 and frame.shape == (120, 600, 3)
    assert frame.std() > 0


def test_rgb_array_frames_are_drawn_under_sdl_dummy_driver():
    """With SDL_VIDEODRIVER=dummy (highway-env then skips drawing) frames still show the road."""
    code = (
        "from stmg_envs.highway import OnRampMergeEnv\n"
        "env = OnRampMergeEnv(render_mode='rgb_array'); env.reset(seed=0)\n"
        "print(float(env.render().std()))\n"
    )
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert float(result.stdout.strip().splitlines()[-1]) > 0


# --------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"difficulty": "extreme"}, ValueError, "difficulty"),
        ({"num_controlled": 0}, ValueError, "num_controlled"),
        ({"num_controlled": 7, "difficulty": "hard"}, ValueError, r"num_controlled. in \[1, 6\]"),
        ({"num_controlled": 2.0}, TypeError, "num_controlled"),
        ({"agent_id_in_obs": 1}, TypeError, "agent_id_in_obs"),
        ({"max_steps": 0}, ValueError, "max_steps"),
        ({"reward": {"collision": 1}}, TypeError, "OnRampReward"),
        ({"render_mode": "ansi"}, ValueError, "render_mode"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    """Each invalid constructor argument raises with a message naming it."""
    kwargs = {"difficulty": "easy", **kwargs}
    with pytest.raises(error, match=match):
        make(**kwargs)


def test_bad_actions_are_refused():
    """Missing live agents, unknown agents and out-of-range actions raise ValueError naming the problem."""
    env = make(num_controlled=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        env.step({"vehicle_0": 1})
    with pytest.raises(ValueError, match="unknown agents"):
        env.step({"vehicle_0": 1, "vehicle_1": 1, "car": 1})
    with pytest.raises(ValueError, match=r"integer in \[0, 4\]"):
        env.step({"vehicle_0": 5, "vehicle_1": 1})
    with pytest.raises(ValueError, match="expected an agent in"):
        env.observation_space("vehicle_9")


def test_bad_scenarios_are_refused():
    """A scenario with too many vehicles, a position off the ramp or a malformed vehicle is refused."""
    env = make(num_controlled=1)
    with pytest.raises(ValueError, match="1..1 vehicles"):
        env.reset(options={"controlled": [("main", 10.0, 25.0), ("main", 50.0, 25.0)]})
    with pytest.raises(ValueError, match="ramp"):
        env.reset(options={"controlled": [("ramp", 450.0, 25.0)]})
    with pytest.raises(ValueError, match=r"\(road, x, speed\)"):
        env.reset(options={"controlled": [("main", 10.0)]})
