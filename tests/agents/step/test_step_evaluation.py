"""Joint-policy read-out (exact joint-action distribution, greedy joint action) and one-call training."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents import STEP
from stmg_agents.step.evaluation import joint_policy_readout, train_step
from stmg_envs import stmg_v0
from stmg_envs.matrix import MatrixGame, mixing
from tests.agents.step.toy_games import CountdownGame

pytestmark = pytest.mark.agents


def policy_probs(model: STEP, obs: dict) -> np.ndarray:
    tensors = {k: th.as_tensor(np.asarray(v)[None]) for k, v in obs.items()}
    with th.no_grad():
        return model.policy.action_probabilities(tensors)[0].numpy()


def test_readout_is_the_product_of_the_rank_policies():
    """P(a) = pi^leader(a_0) * pi^follower(a_1 | a_0), read off the STMG itself."""
    model = STEP("stmg/Mixing-v0", seed=0, n_envs=2, n_steps=25)
    model.learn(100)
    readout = joint_policy_readout(model, env=stmg_v0(mixing()), seed=0)
    assert readout.joint_probabilities.shape == (3, 3)
    assert readout.joint_probabilities.sum() == pytest.approx(1.0)
    env = stmg_v0(mixing())
    env.reset(seed=0)
    leader = policy_probs(model, env.observe("agent_0"))
    np.testing.assert_allclose(readout.marginal("agent_0"), leader, rtol=1e-5)
    for a0 in range(3):
        env.reset(seed=0)
        env.step(a0)
        follower = policy_probs(model, env.observe("agent_1"))
        np.testing.assert_allclose(readout.joint_probabilities[a0], leader[a0] * follower, rtol=1e-5)
    greedy_leader = int(leader.argmax())
    assert readout.greedy_joint_action["agent_0"] == greedy_leader
    assert readout.greedy_joint_action["agent_1"] == int(readout.joint_probabilities[greedy_leader].argmax())
    payoffs = env.parallel_env.payoffs
    np.testing.assert_allclose(
        readout.expected_payoffs(payoffs), [(payoffs[i] * readout.joint_probabilities).sum() for i in range(2)]
    )


def test_readout_axes_follow_possible_agents_whatever_the_order():
    """With order agent_2, agent_0, agent_1 the distribution's axes are still agent_0, agent_1, agent_2."""
    payoffs = np.random.default_rng(1).normal(size=(3, 2, 2, 2))
    order = ["agent_2", "agent_0", "agent_1"]
    model = STEP(stmg_v0(MatrixGame(payoffs), order=order), seed=0, n_envs=1, n_steps=5)
    readout = joint_policy_readout(model, seed=0)
    assert readout.order == tuple(order) and readout.agents == ("agent_0", "agent_1", "agent_2")
    env = stmg_v0(MatrixGame(payoffs), order=order)
    env.reset(seed=0)
    top = policy_probs(model, env.observe("agent_2"))
    np.testing.assert_allclose(readout.marginal("agent_2"), top, rtol=1e-5)
    with pytest.raises(ValueError, match="payoffs of shape"):
        readout.expected_payoffs(np.zeros((3, 3, 3)))


def test_train_step_returns_model_and_readout():
    """One call trains on a registered task and reads out the joint policy (None for Box actions)."""
    model, readout = train_step("stmg/Penalty-v0", total_timesteps=100, seed=0, env_kwargs={"k": 0}, n_envs=2)
    assert model.num_timesteps == 100 and readout is not None and readout.joint_probabilities.shape == (3, 3)
    _, none = train_step(lambda: stmg_v0(CountdownGame(2, box_actions=True)), total_timesteps=12, n_envs=2, n_steps=6)
    assert none is None
    with pytest.raises(ValueError, match="Discrete"):
        joint_policy_readout(_)
