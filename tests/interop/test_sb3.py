"""Stable-Baselines3 trains directly on ``gymnasium.make("stmg/...")``: on-policy, off-policy, Dict or flat.

The Gymnasium view presents the STMG one decision at a time; SB3 needs nothing
else (``MultiInputPolicy`` for the Dict observation, ``MlpPolicy`` for
``flatten=True``). PPO on the Mixing game is covered in
``tests/wrappers/test_sequential_gym.py``; here: both interop tasks, both
observation forms, and replay buffers.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from tests.interop.helpers import TASKS, Task, require

pytestmark = [pytest.mark.both_envs, pytest.mark.agents]

FORMS = [pytest.param(False, id="dict"), pytest.param(True, id="flat")]


def _make(task: Task, flatten: bool) -> gymnasium.Env:
    task_id, kwargs = task
    return gymnasium.make(task_id, flatten=flatten, **kwargs)


@pytest.mark.parametrize("flatten", FORMS)
@pytest.mark.parametrize("task", TASKS)
def test_sb3_env_checker_accepts_the_gym_view(task: Task, flatten: bool):
    """SB3's check_env finds nothing to complain about (spaces, dtypes, reset/step signatures)."""
    env_checker = require("stable_baselines3.common.env_checker")
    env = _make(task, flatten)
    env_checker.check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("flatten", FORMS)
@pytest.mark.parametrize("task", TASKS)
def test_sb3_ppo_and_an_off_policy_algorithm_train(task: Task, flatten: bool):
    """PPO and DQN (Discrete actions) or SAC (Box actions) run their updates and predict valid actions."""
    sb3 = require("stable_baselines3")
    env = _make(task, flatten)
    policy = "MlpPolicy" if flatten else "MultiInputPolicy"
    ppo = sb3.PPO(policy, env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    ppo.learn(64)
    assert ppo.num_timesteps == 64
    if isinstance(env.action_space, gymnasium.spaces.Discrete):
        off = sb3.DQN(policy, env, learning_starts=16, buffer_size=200, batch_size=8, seed=0, device="cpu")
    else:
        off = sb3.SAC(policy, env, learning_starts=16, buffer_size=200, batch_size=8, seed=0, device="cpu")
    off.learn(48)
    assert off.num_timesteps == 48
    obs, _ = env.reset(seed=1)
    for model in (ppo, off):
        action, _ = model.predict(obs, deterministic=True)
        assert env.action_space.contains(action if env.action_space.shape else int(action))


def test_sb3_replay_buffer_holds_each_deciders_own_observation():
    """DQN's buffer stores, decision by decision, the observation of the agent who decided (ranks alternate 0, 1).

    Guards against observation aliasing: an env that handed out one reused
    array would leave the buffer full of copies of the last observation.
    """
    sb3 = require("stable_baselines3")
    env = gymnasium.make("stmg/Penalty-v0", flatten=True)
    model = sb3.DQN("MlpPolicy", env, learning_starts=1000, buffer_size=100, seed=0, device="cpu")
    model.learn(20)
    stored = model.replay_buffer.observations[:20, 0]  # (decisions, obs size), one env
    ranks = stored[:, -2:].argmax(axis=1)  # the rank one-hot closes the flat observation
    assert ranks.tolist() == [0, 1] * 10
    followers = stored[1::2]
    leaders_actions = model.replay_buffer.actions[0:20:2, 0, 0].astype(int)
    np.testing.assert_array_equal(followers[:, 1:4].argmax(axis=1), leaders_actions)  # agent_0's slot, one-hot
    assert (stored[0::2, 1:7] == 0).all()  # the leader sees no prior actions
