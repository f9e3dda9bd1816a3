"""STEP on the control tasks: a short learn on HalfCheetah 2x3 (Box actions) and on easy on-ramp runs, saves and loads."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from gymnasium import spaces

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents import STEP
from stmg_envs import stmg_v0

needs_mujoco = pytest.mark.skipif(
    importlib.util.find_spec("mujoco") is None, reason="needs the [mujoco] extra: pip install 'stmg-envs[mujoco]'"
)
needs_highway = pytest.mark.skipif(
    importlib.util.find_spec("highway_env") is None,
    reason="needs the [highway] extra: pip install 'stmg-envs[highway]'",
)

CHEETAH = {"agent_conf": "2x3", "episode_length": 15}


def _observations(env, steps: int, seed: int) -> list[dict]:
    """Observations of the acting agents over the first ``steps`` decisions (zero torques / IDLE)."""
    env.reset(seed=seed)
    seen = []
    for agent in env.agent_iter(steps):
        obs, _, terminated, truncated, _ = env.last()
        seen.append(obs)
        space = env.action_space(agent)
        action = None if terminated or truncated else (np.zeros(space.shape, space.dtype) if space.shape else 1)
        env.step(action)
    return seen


@pytest.mark.agents
@pytest.mark.mujoco
@needs_mujoco
def test_short_learn_on_halfcheetah_2x3_runs_saves_and_loads(tmp_path):
    """A Gaussian-head STEP learns a few rollouts on HalfCheetah 2x3; a saved copy acts exactly like the original."""
    import pettingzoo

    model = STEP("stmg/HalfCheetah-v0", env_kwargs=CHEETAH, seed=0, n_envs=2, n_steps=10, batch_size=10)
    assert isinstance(model.action_space, spaces.Box) and model.action_space.shape == (3,)
    log_std_before = model.policy.log_std.detach().clone()
    model.learn(40)
    assert model.num_timesteps == 40
    assert not np.allclose(log_std_before.numpy(), model.policy.log_std.detach().numpy()), (
        "the Gaussian std never trained"
    )
    episodes = list(model.ep_info_buffer)
    assert episodes and all(info["l"] == 15 for info in episodes)

    path = tmp_path / "step_halfcheetah.zip"
    model.save(path)
    loaded = STEP.load(path, env="stmg/HalfCheetah-v0", env_kwargs=CHEETAH)
    env = pettingzoo.make("aec", "stmg/HalfCheetah-v0", **CHEETAH)
    for obs in _observations(env, 8, seed=5):
        original, _ = model.predict(obs, deterministic=True)
        restored, _ = loaded.predict(obs, deterministic=True)
        assert original.shape == (3,)
        np.testing.assert_array_equal(original, restored)
    loaded.learn(20)  # the loaded model keeps training
    assert loaded.num_timesteps == 20


@pytest.mark.agents
@pytest.mark.highway
@needs_highway
def test_short_learn_on_easy_onramp_runs_saves_and_loads(tmp_path):
    """STEP learns on the easy on-ramp in the merge priority order (agents come and go); a saved copy acts the same."""
    from stmg_envs.highway import OnRampMergeEnv, merge_priority_order

    def make():
        return stmg_v0(OnRampMergeEnv("easy"), order=merge_priority_order)

    model = STEP(make, seed=1, n_envs=2, n_steps=20, ent_coef=0.01)
    assert isinstance(model.action_space, spaces.Discrete) and model.n_agents == 3
    model.learn(80)
    assert model.num_timesteps == 80
    path = tmp_path / "step_onramp.zip"
    model.save(path)
    loaded = STEP.load(path, env=make)
    for obs in _observations(make(), 12, seed=3):
        original, _ = model.predict(obs, deterministic=True)
        restored, _ = loaded.predict(obs, deterministic=True)
        assert int(original) in range(5)
        assert int(original) == int(restored)
