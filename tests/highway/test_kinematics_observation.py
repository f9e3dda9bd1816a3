"""Tests of stmg_envs.highway.kinematics_observation: the NumPy Kinematics equals highway-env's own."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.highway


@pytest.mark.parametrize("overrides", [{}, {"clip": True}, {"absolute": True}, {"features": ["presence", "vx", "x"]}])
def test_fast_kinematics_equals_highway_envs(overrides):
    """Along random on-ramp episodes both implementations give the same array for every agent."""
    from highway_env.envs.common.observation import KinematicObservation

    from stmg_envs.highway import OnRampMergeEnv
    from stmg_envs.highway.kinematics_observation import FastKinematicObservation

    env = OnRampMergeEnv("hard")
    rng = np.random.default_rng(0)
    compared = 0
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(15):
            config = {**env.sim.config["observation"]["observation_config"], **overrides}
            for vehicle in env.sim.controlled_vehicles:
                reference, fast = KinematicObservation(env.sim, **config), FastKinematicObservation(env.sim, **config)
                reference.observer_vehicle = fast.observer_vehicle = vehicle
                expected = reference.observe()
                actual = fast.observe()
                assert actual.dtype == expected.dtype
                np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
                compared += 1
            if not env.agents:
                break
            env.step({a: int(rng.integers(5)) for a in env.agents})
    assert compared > 50


def test_the_env_uses_the_fast_observation():
    """Every agent of OnRampMergeEnv is observed through FastKinematicObservation."""
    from stmg_envs.highway import OnRampMergeEnv
    from stmg_envs.highway.kinematics_observation import FastKinematicObservation

    env = OnRampMergeEnv("medium")
    env.reset(seed=0)
    types = env.sim.observation_type.agents_observation_types
    assert len(types) == len(env.agents) and all(type(t) is FastKinematicObservation for t in types)
