"""The Gymnasium view of an STMG: one decision per step, team reward, checkers, SB3 training."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_envs import SequentialGymEnv, stmg_v0
from stmg_envs.matrix import mixing
from tests.wrappers.toy_env import AgentSpec, ToyParallelEnv, mixed_specs


def test_one_decision_per_step_and_team_reward_on_the_completing_decision():
    """Rewards are 0 until the last agent acts, then the mean of the agents' rewards; info says whose turn."""
    env = SequentialGymEnv(stmg_v0(mixing()))
    obs, info = env.reset(seed=0)
    assert info["agent"] == "agent_0" and int(obs["rank"]) == 0
    obs, reward, term, trunc, info = env.step(0)
    assert reward == 0.0 and info["agent"] == "agent_1" and info["agent_rewards"] == {}
    assert obs["prior_actions"][:3].tolist() == [1, 0, 0]
    obs, reward, term, trunc, info = env.step(0)
    assert info["agent_rewards"] == {"agent_0": 0.0, "agent_1": 5.0} and reward == 2.5
    assert info["agent"] == "agent_0" and not (term or trunc)


def test_episode_ends_with_truncation_after_the_last_time_step():
    """A 25-step matrix game ends after 50 decisions, truncated, not terminated."""
    env = gymnasium.make("stmg/Penalty-v0")
    env.reset(seed=0)
    for decision in range(50):
        _, _, term, trunc, info = env.step(1)
        assert (term or trunc) == (decision == 49)
    assert trunc and not term and info["time_step"] == 25


def test_agents_that_die_early_are_skipped():
    """Dead steps are taken inside the view: the episode goes on with the remaining agents."""
    specs = {
        "a_0": AgentSpec(gymnasium.spaces.Discrete(2), terminates_at=1),
        "a_1": AgentSpec(gymnasium.spaces.Discrete(2)),
    }
    env = SequentialGymEnv(stmg_v0(ToyParallelEnv(specs, episode_length=3)))
    env.reset(seed=0)
    env.step(0)
    _, _, _, _, info = env.step(1)
    assert info["agent"] == "a_1"  # a_0 terminated after the first time step
    _, _, term, trunc, _ = env.step(1)
    _, _, term, trunc, _ = env.step(1)
    assert trunc and not term


def test_heterogeneous_spaces_give_a_clear_error():
    """A single Gymnasium view needs shared spaces; otherwise say which agents differ and what to do."""
    with pytest.raises(ValueError, match="pad"):
        SequentialGymEnv(stmg_v0(ToyParallelEnv(mixed_specs())))
    with pytest.raises(TypeError, match="expected an STMG"):
        SequentialGymEnv(mixing())


@pytest.mark.parametrize("flatten", [False, True])
def test_gymnasium_and_sb3_checkers_pass(flatten):
    """Gymnasium's check_env and SB3's check_env accept the view, Dict or flat."""
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gymnasium.make("stmg/Mixing-v0", flatten=flatten)
    check_env(env.unwrapped)
    sb3_check_env(gymnasium.make("stmg/Mixing-v0", flatten=flatten).unwrapped)


@pytest.mark.agents
@pytest.mark.parametrize("policy,flatten", [("MultiInputPolicy", False), ("MlpPolicy", True)])
def test_sb3_ppo_trains_unchanged(policy, flatten):
    """SB3 PPO learns on gymnasium.make('stmg/...') as is, and its greedy follower answers the leader."""
    from stable_baselines3 import PPO

    env = gymnasium.make("stmg/Penalty-v0", k=0, flatten=flatten)
    model = PPO(policy, env, n_steps=256, batch_size=64, n_epochs=4, learning_rate=3e-3, seed=0, device="cpu")
    model.learn(3000)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))
    returns = []
    for _ in range(2):
        obs, _ = env.reset()
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, term, trunc, _ = env.step(int(action))
            total += reward
            done = term or trunc
        returns.append(total)
    # Random play earns 25 * mean(payoffs) = 25 * 20/9 ~ 56; a trained team does clearly better.
    assert np.mean(returns) > 100
