"""Tests of stmg/TrafficMerge-v0 (stmg_envs.highway.TrafficMergeEnv): Bi-AC's two-car merge."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.highway

IDLE = {"vehicle_0": 1, "vehicle_1": 1}


def make(**kwargs):
    from stmg_envs.highway import TrafficMergeEnv

    return TrafficMergeEnv(**kwargs)


def test_start_is_level_at_38_to_40_m_s():
    """The main-lane car and the ramp car start level at x=215 with speeds in 38..40 m/s."""
    env = make()
    for seed in range(5):
        env.reset(seed=seed)
        main, ramp = env.sim.controlled_vehicles
        assert main.lane_index == ("a", "b", 0) and ramp.lane_index == ("k", "b", 0)
        assert main.position[0] == pytest.approx(215.0) and ramp.position[0] == pytest.approx(215.0)
        assert 38.0 <= main.speed <= 40.0 and 38.0 <= ramp.speed <= 40.0


@pytest.mark.parametrize("main_x, ramp_x, expected", [(240.0, 225.0, (50.0, 10.0)), (225.0, 240.0, (10.0, 50.0))])
def test_the_car_ahead_when_one_passes_gets_50_the_other_10(main_x, ramp_x, expected):
    """Whoever is ahead when a car passes x=310 gets 50, the other 10; both terminate; nothing was paid before."""
    env = make()
    env.reset(seed=0, options={"main": (main_x, 30.0), "ramp": (ramp_x, 30.0)})
    rewards_before = []
    while env.agents:
        _, rewards, terminations, truncations, infos = env.step(IDLE)
        rewards_before.append(rewards)
    assert tuple(rewards_before[-1].values()) == expected
    assert all(r == {"vehicle_0": 0.0, "vehicle_1": 0.0} for r in rewards_before[:-1])
    assert terminations == {"vehicle_0": True, "vehicle_1": True} and not any(truncations.values())
    first = "main_first" if main_x > ramp_x else "ramp_first"
    assert env.sim.outcome() == first
    for agent in infos:
        assert (infos[agent]["main_first"], infos[agent]["ramp_first"], infos[agent]["crash"]) == (
            first == "main_first",
            first == "ramp_first",
            False,
        )
    assert max(v.position[0] for v in env.sim.controlled_vehicles) > 310.0


@pytest.mark.parametrize("x, penalty", [(250.0, -25.0), (262.0, -20.0), (267.0, -15.0), (272.0, -10.0), (290.0, -5.0)])
def test_a_crash_costs_both_cars_more_the_earlier_it_happens(x, penalty):
    """Cars put on top of each other crash at once; both get the penalty of the main-lane car's position."""
    env = make()
    env.reset(seed=0, options={"main": (x, 5.0), "ramp": (200.0, 5.0)})
    main, ramp = env.sim.controlled_vehicles
    ramp.position = main.position.copy()
    _, rewards, terminations, _, infos = env.step(IDLE)
    assert env.sim.outcome() == "crash"
    assert all(info["crash"] and not info["main_first"] and not info["ramp_first"] for info in infos.values())
    assert main.position[0] == pytest.approx(x, abs=1.0)
    assert rewards == {"vehicle_0": penalty, "vehicle_1": penalty}
    assert terminations == {"vehicle_0": True, "vehicle_1": True}


def test_episodes_end_within_a_few_decisions():
    """From the start a pass or a crash happens within 6 one-second decisions, whatever the actions."""
    env = make()
    rng = np.random.default_rng(0)
    for seed in range(8):
        env.reset(seed=seed)
        steps = 0
        while env.agents:
            _, _, terminations, truncations, infos = env.step({a: int(rng.integers(5)) for a in env.agents})
            steps += 1
        assert steps <= 6 and all(terminations.values()) and not any(truncations.values())
        assert env.sim.outcome() in ("main_first", "ramp_first", "crash")
        flags = [infos["vehicle_0"][key] for key in ("main_first", "ramp_first", "crash")]
        assert flags.count(True) == 1 and flags[("main_first", "ramp_first", "crash").index(env.sim.outcome())]


def test_observation_is_bi_acs_time_one_hot_and_relative_gap():
    """Observation: one-hot of the decision step, then (x_other - x_own)/40 and (v_other - v_own)/80."""
    env = make(max_steps=20)
    observations, _ = env.reset(seed=0, options={"main": (230.0, 30.0), "ramp": (220.0, 40.0)})
    obs0, obs1 = observations["vehicle_0"], observations["vehicle_1"]
    assert obs0.shape == (23,) and obs0.dtype == np.float32
    assert obs0[0] == 1.0 and not obs0[1:21].any()
    assert obs0[21] == pytest.approx(-10.0 / 40) and obs1[21] == pytest.approx(10.0 / 40, abs=1e-6)
    assert obs0[22] == pytest.approx(10.0 / 80) and obs1[22] == pytest.approx(-10.0 / 80)
    observations, *_ = env.step(IDLE)
    assert observations["vehicle_0"][1] == 1.0 and observations["vehicle_0"][0] == 0.0


def test_agent_id_and_state():
    """agent_id_in_obs appends a 2-long one-hot; state() has 11 float32 entries and lies in state_space."""
    env = make(agent_id_in_obs=True)
    observations, _ = env.reset(seed=0)
    np.testing.assert_array_equal(observations["vehicle_1"][-2:], [0.0, 1.0])
    assert env.observation_space("vehicle_1").contains(observations["vehicle_1"])
    assert env.state().shape == (11,) and env.state_space.contains(env.state())


def test_cars_reach_bi_acs_speeds():
    """Target speeds 20..70 m/s: repeated FASTER takes a car above highway-env's usual 40 m/s cap."""
    env = make()
    env.reset(seed=0, options={"main": (100.0, 40.0), "ramp": (50.0, 30.0)})
    for _ in range(3):
        env.step({"vehicle_0": 3, "vehicle_1": 1})
    assert env.sim.controlled_vehicles[0].speed > 50.0


def test_rgb_array_render_returns_an_image():
    """render_mode='rgb_array' gives an H x W x 3 uint8 frame with content."""
    env = make(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.shape == (150, 600, 3) and frame.dtype == np.uint8 and frame.std() > 0


@pytest.mark.parametrize(
    "kwargs, error",
    [({"max_steps": 0}, ValueError), ({"agent_id_in_obs": "yes"}, TypeError), ({"reward": 50}, TypeError)],
)
def test_bad_arguments_are_refused(kwargs, error):
    """Invalid constructor arguments raise with a message naming TrafficMergeEnv."""
    with pytest.raises(error, match="TrafficMergeEnv expected"):
        make(**kwargs)


def test_bad_scenarios_are_refused():
    """Only one of 'main'/'ramp', or a malformed (x, speed), is refused."""
    env = make()
    with pytest.raises(ValueError, match="both options"):
        env.reset(options={"main": (220.0, 30.0)})
    with pytest.raises(ValueError, match=r"\(x, speed\)"):
        env.reset(options={"main": (220.0, 30.0), "ramp": 5})
