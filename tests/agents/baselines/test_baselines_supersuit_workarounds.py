"""Guards for the SuperSuit 3.11 / SB3 pitfalls that IPPO works around."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback
from supersuit import pettingzoo_env_to_vec_env_v1

from stmg_agents.baselines import IPPO
from stmg_agents.baselines.ippo import SeedableSB3VecEnv
from stmg_agents.baselines.shared_policy_env import SharedPolicyParallelEnv

pytestmark = pytest.mark.agents


def test_ppo_seed_reaches_every_env_copy(dying_agent_env):
    """PPO(seed=...) on the SuperSuit vector env must not crash and must seed copy i with seed + i."""
    agent = IPPO(dying_agent_env, seed=5, n_envs=3)
    assert isinstance(agent.model.env, SeedableSB3VecEnv)
    agent.learn(2 * agent.config.rollout_joint_steps)  # SB3 resets the env inside learn: must not crash
    copies = [markov.par_env.env for markov in agent.model.env.venv.vec_envs]
    assert [env.seeds[0] for env in copies] == [5, 6, 7]
    assert all(len(env.seeds) > 1 and set(env.seeds[1:]) == {None} for env in copies)  # streams continue


def test_seedable_vec_env_applies_seed_once():
    """seed() is applied by the next reset only; a second reset is unseeded (SB3's VecEnv convention)."""

    class Recorder:
        num_envs, observation_space, action_space, render_mode = 2, None, None, None

        def __init__(self):
            self.seeds = []

        def reset(self, seed=None, options=None):
            self.seeds.append(seed)
            return np.zeros((2, 1)), [{}, {}]

    inner = Recorder()
    venv = SeedableSB3VecEnv(inner)
    assert venv.seed(3) == [3, 4]
    venv.reset()
    venv.reset()
    assert inner.seeds == [3, None]


def test_truncation_ends_the_game_and_is_flagged(dying_agent_env):
    """A game that stops by truncation must end (black_death_v3 bug) and say TimeLimit.truncated for SB3."""
    env = SharedPolicyParallelEnv(dying_agent_env(length=3, death_step=None))
    env.reset(seed=0)
    for _ in range(2):
        _, _, terms, truncs, _ = env.step({"agent_0": 0, "agent_1": 1})
        assert env.agents == ["agent_0", "agent_1"] and not any(terms.values()) and not any(truncs.values())
    obs, _, terms, truncs, infos = env.step({"agent_0": 0, "agent_1": 1})
    assert env.agents == []
    assert truncs == {"agent_0": True, "agent_1": True} and terms == {"agent_0": False, "agent_1": False}
    for agent in env.possible_agents:
        assert infos[agent]["TimeLimit.truncated"] is True
        np.testing.assert_array_equal(infos[agent]["terminal_observation"], obs[agent])


def test_dead_agent_is_kept_with_zero_observation_and_reward(dying_agent_env):
    """An agent that terminates early is reported once, then stays (black death) with zeros until the game ends."""
    env = SharedPolicyParallelEnv(dying_agent_env(length=4, death_step=2))
    env.reset(seed=0)
    env.step({"agent_0": 0, "agent_1": 0})
    _, rewards, terms, truncs, infos = env.step({"agent_0": 0, "agent_1": 0})
    assert terms["agent_1"] and not truncs["agent_1"] and infos["agent_1"]["TimeLimit.truncated"] is False
    assert not terms["agent_0"] and env.agents == ["agent_0", "agent_1"]
    obs, rewards, terms, truncs, _ = env.step({"agent_0": 0, "agent_1": 1})  # agent_1's action is ignored
    assert rewards == {"agent_0": 1.0, "agent_1": 0.0}
    np.testing.assert_array_equal(obs["agent_1"], env.encoder.zero_row("agent_1"))
    assert not any(terms.values()) and not any(truncs.values())
    _, _, terms, truncs, _ = env.step({"agent_0": 0, "agent_1": 1})
    assert env.agents == []
    assert truncs["agent_0"] and terms["agent_1"]  # the dead agent's zero stream ends without bootstrap


def test_unequal_spaces_and_deaths_pass_pettingzoo_env_to_vec_env(dying_agent_env):
    """pettingzoo_env_to_vec_env_v1 rejects unequal spaces and agent death; the wrapper makes both pass."""
    raw = dying_agent_env()
    with pytest.raises(AssertionError):
        pettingzoo_env_to_vec_env_v1(raw)
    vec = pettingzoo_env_to_vec_env_v1(SharedPolicyParallelEnv(dying_agent_env(length=4, death_step=2)))
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (2, 3 + 2)
    dones = []
    for _ in range(9):  # more than two games: auto-reset must work after a death
        obs, _, terms, truncs, _ = vec.step(np.array([0, 1]))
        dones.append((terms | truncs).tolist())
    assert dones[1] == [0, 1] and dones[3] == [1, 1] and dones[5] == [0, 1] and dones[7] == [1, 1]


def test_sb3_bootstraps_the_truncated_step(dying_agent_env):
    """SB3 must add gamma * V(terminal obs) to the reward of a truncated step (needs TimeLimit.truncated)."""
    agent = IPPO(lambda: dying_agent_env(length=3, death_step=None), seed=0, n_envs=1, n_steps=3)
    seen = {}

    class Capture(BaseCallback):
        def _on_step(self):
            infos = self.locals["infos"]
            if infos[0].get("TimeLimit.truncated"):
                terminal = np.stack([info["terminal_observation"] for info in infos])
                seen["bootstrap"] = (
                    self.model.policy.predict_values(self.model.policy.obs_to_tensor(terminal)[0])
                    .detach()
                    .numpy()
                    .ravel()
                )
            return True

        def _on_rollout_end(self):
            seen["rewards"] = self.model.rollout_buffer.rewards.copy()

    agent.model.learn(6, callback=Capture())
    np.testing.assert_allclose(seen["rewards"][:2], 1.0)
    np.testing.assert_allclose(seen["rewards"][2], 1.0 + agent.config.gamma * seen["bootstrap"], rtol=1e-5)
