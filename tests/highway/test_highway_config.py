"""Tests of stmg_envs.highway.config: densities, reward weights and their validation (no highway-env needed)."""

from __future__ import annotations

import pytest

from stmg_envs.highway.config import ACTIONS, DIFFICULTIES, OnRampReward, TrafficDensity, TrafficMergeReward


def test_difficulties_match_chen_et_al():
    """easy 1-3 + 1-3, medium 2-4 + 2-4, hard 4-6 + 3-5 (controlled + human-driven)."""
    assert {name: (d.controlled, d.human) for name, d in DIFFICULTIES.items()} == {
        "easy": ((1, 3), (1, 3)),
        "medium": ((2, 4), (2, 4)),
        "hard": ((4, 6), (3, 5)),
    }


def test_actions_are_highway_envs_meta_actions():
    """The 5 meta-actions keep highway-env's DiscreteMetaAction indices."""
    assert dict(ACTIONS) == {0: "LANE_LEFT", 1: "IDLE", 2: "LANE_RIGHT", 3: "FASTER", 4: "SLOWER"}


def test_on_ramp_reward_defaults_are_the_papers():
    """Default weights: collision 200, speed 1, merging lane 4, headway 4, headway time 1.2 s, speeds 10..30."""
    reward = OnRampReward()
    assert (reward.collision, reward.high_speed, reward.merging_lane, reward.headway) == (200.0, 1.0, 4.0, 4.0)
    assert (reward.headway_time, reward.speed_range, reward.headway_horizon) == (1.2, (10.0, 30.0), 60.0)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"collision": "big"}, TypeError),
        ({"headway": float("nan")}, ValueError),
        ({"headway_time": 0.0}, ValueError),
        ({"speed_range": (30.0, 10.0)}, ValueError),
        ({"speed_range": 10.0}, ValueError),
    ],
)
def test_on_ramp_reward_rejects_bad_weights(kwargs, error):
    """Non-numbers, non-finite weights, a non-positive headway time and a bad speed range are refused."""
    with pytest.raises(error, match="OnRampReward expected"):
        OnRampReward(**kwargs)


def test_crash_penalty_is_worse_the_earlier():
    """Bi-AC's schedule: -25 before x=260, then -20, -15, -10 every 5 m, -5 from 275 on."""
    reward = TrafficMergeReward()
    xs = [200.0, 259.9, 260.0, 264.9, 265.0, 270.0, 274.9, 275.0, 400.0]
    assert [reward.crash_penalty(x) for x in xs] == [-25, -25, -20, -20, -15, -10, -10, -5, -5]


def test_traffic_merge_reward_rejects_unsorted_thresholds():
    """crash_penalties must be sorted by increasing x."""
    with pytest.raises(ValueError, match="sorted by increasing x"):
        TrafficMergeReward(crash_penalties=((270.0, -10.0), (260.0, -20.0)))


def test_traffic_density_rejects_empty_ranges():
    """A range whose maximum is below its minimum, or no controlled vehicle, is refused."""
    with pytest.raises(ValueError, match="controlled"):
        TrafficDensity(controlled=(0, 2), human=(1, 1))
    with pytest.raises(ValueError, match="human"):
        TrafficDensity(controlled=(1, 2), human=(3, 1))
