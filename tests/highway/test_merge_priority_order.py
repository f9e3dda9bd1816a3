"""Tests of stmg_envs.highway.merge_priority_order, the dynamic priority for stmg_v0."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.highway


def on_ramp(n, **kwargs):
    from stmg_envs.highway import OnRampMergeEnv

    return OnRampMergeEnv("hard" if n > 3 else "easy", num_controlled=n, **kwargs)


def test_ramp_vehicles_nearest_the_merge_end_act_first():
    """On the merge lane, the vehicle nearer the end (x=400) beats one at x=340, and both beat the main road."""
    from stmg_envs.highway import merge_priority_order

    env = on_ramp(3)
    env.reset(seed=0, options={"controlled": [("main", 300.0, 25.0), ("ramp", 340.0, 25.0), ("ramp", 400.0, 25.0)]})
    assert merge_priority_order(env) == ["vehicle_2", "vehicle_1", "vehicle_0"]


def test_shortest_headway_acts_first():
    """On the main road, a vehicle 10 m behind another acts before one with free road."""
    from stmg_envs.highway import merge_priority_order

    env = on_ramp(2)
    env.reset(
        seed=0,
        options={"controlled": [("main", 200.0, 25.0), ("main", 100.0, 25.0)], "human": [("main", 110.0, 25.0)]},
    )
    assert merge_priority_order(env) == ["vehicle_1", "vehicle_0"]


def test_scores_follow_the_safety_supervisor_formula():
    """score = [-0.5 - driven fraction of the merge lane, on it] + 0.5 log(headway / (1.2 v))."""
    env = on_ramp(2)
    env.reset(
        seed=0,
        options={"controlled": [("main", 100.0, 20.0), ("ramp", 370.0, 25.0)], "human": [("main", 130.0, 20.0)]},
    )
    scores = env.priority_scores()
    assert scores["vehicle_0"] == pytest.approx(0.5 * math.log(30.0 / 24.0))
    assert scores["vehicle_1"] == pytest.approx(-0.5 - 0.5 + 0.5 * math.log(60.0 / 30.0))


def test_ties_are_broken_by_the_rng_or_by_agent_order():
    """Equal scores: agent order without an rng; with rngs, both orders occur, each reproducible."""
    from stmg_envs.highway import merge_priority_order

    env = on_ramp(2)
    env.reset(seed=0, options={"controlled": [("main", 100.0, 25.0), ("main", 200.0, 25.0)]})
    scores = env.priority_scores()
    assert scores["vehicle_0"] == scores["vehicle_1"]
    assert merge_priority_order(env) == ["vehicle_0", "vehicle_1"]
    orders = {tuple(merge_priority_order(env, np.random.default_rng(seed))) for seed in range(20)}
    assert orders == {("vehicle_0", "vehicle_1"), ("vehicle_1", "vehicle_0")}
    assert merge_priority_order(env, np.random.default_rng(5)) == merge_priority_order(env, np.random.default_rng(5))


def test_only_live_agents_are_ranked():
    """After a crash with end_on_any_crash=False, the order holds the surviving agents only."""
    from stmg_envs.highway import merge_priority_order

    env = on_ramp(3, end_on_any_crash=False)
    env.reset(seed=0, options={"controlled": [("main", 100.0, 25.0), ("main", 103.0, 10.0), ("ramp", 20.0, 25.0)]})
    env.step(dict.fromkeys(env.agents, 1))
    assert merge_priority_order(env, np.random.default_rng(0)) == ["vehicle_2"]


def test_works_on_traffic_merge():
    """On the two-car merge the ramp car on the merge lane acts before the main-lane car."""
    from stmg_envs.highway import TrafficMergeEnv, merge_priority_order

    env = TrafficMergeEnv()
    env.reset(seed=0, options={"main": (250.0, 30.0), "ramp": (270.0, 30.0)})
    assert merge_priority_order(env) == ["vehicle_1", "vehicle_0"]


def test_refuses_other_envs():
    """Any env without priority scores is refused with a TypeError naming the expected envs."""
    from stmg_envs.highway import merge_priority_order
    from stmg_envs.matrix import penalty

    with pytest.raises(TypeError, match="OnRampMergeEnv or TrafficMergeEnv"):
        merge_priority_order(penalty())


def test_drives_the_stmg_order_every_time_step():
    """Through stmg_v0(order=merge_priority_order) the AEC order equals the priority ranking at each step."""
    from stmg_envs import stmg_v0
    from stmg_envs.highway import merge_priority_order

    aec = stmg_v0(on_ramp(3), order=merge_priority_order)
    aec.reset(seed=0, options={"controlled": [("main", 300.0, 25.0), ("ramp", 340.0, 25.0), ("ramp", 400.0, 25.0)]})
    assert aec.order == ("vehicle_2", "vehicle_1", "vehicle_0")
    for _ in range(3 * 3):
        if not aec.agents:
            break
        if aec.agent_selection == aec.order[0]:
            assert list(aec.order) == merge_priority_order(aec.parallel_env)
        aec.step(None if any(aec.last()[2:4]) else 1)
