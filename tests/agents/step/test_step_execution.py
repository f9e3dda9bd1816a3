"""Received and symmetric (decentralised) execution pick the same joint action where observations are shared."""

from __future__ import annotations

import numpy as np
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents import STEP
from stmg_agents.step.execution import play_time_step, symmetric_action
from stmg_envs import stmg_v0
from stmg_envs.matrix import MatrixGame, penalty

pytestmark = pytest.mark.agents


@pytest.fixture(scope="module")
def trained_penalty() -> STEP:
    model = STEP("stmg/Penalty-v0", seed=1, env_kwargs={"k": -50})
    return model.learn(1000)


def test_modes_agree_on_a_trained_matrix_game(trained_penalty):
    """Over several episodes, every agent recomputing its superiors' greedy actions plays the received-mode joint action."""
    received_env, symmetric_env = stmg_v0(penalty(k=-50)), stmg_v0(penalty(k=-50))
    for seed in range(3):
        received_env.reset(seed=seed)
        symmetric_env.reset(seed=seed)
        for _ in range(3):
            received = play_time_step(trained_penalty, received_env, mode="received")
            symmetric = play_time_step(trained_penalty, symmetric_env, mode="symmetric")
            assert received == symmetric


@pytest.mark.parametrize("order", [None, ["agent_2", "agent_0", "agent_1"]])
def test_modes_agree_with_three_agents_and_any_order(order):
    """With three agents (random payoffs) and a non-default order, both modes agree; recomputed superiors are right."""
    payoffs = np.random.default_rng(0).normal(size=(3, 3, 3, 3))
    model = STEP(stmg_v0(MatrixGame(payoffs), order=order), seed=0, n_envs=2, n_steps=10)
    model.learn(40)
    env_a, env_b = stmg_v0(MatrixGame(payoffs), order=order), stmg_v0(MatrixGame(payoffs), order=order)
    env_a.reset(seed=0)
    env_b.reset(seed=0)
    received = play_time_step(model, env_a, mode="received")
    assert play_time_step(model, env_b, mode="symmetric") == received
    # the last agent alone, from its own blind observation, recomputes both superiors' actions
    env = stmg_v0(MatrixGame(payoffs), order=order)
    env.reset(seed=0)
    last = env.order[-1]
    blind = dict(env.observe(last))
    action, superiors = symmetric_action(model, blind, env.order)
    assert superiors == {a: received[a] for a in env.order[:-1]}
    assert int(action) == received[last]


def test_symmetric_action_rejects_bad_input(trained_penalty):
    """Malformed observations and orders that do not fit are clear errors."""
    env = stmg_v0(penalty())
    env.reset(seed=0)
    obs = env.observe("agent_1")
    with pytest.raises(ValueError, match="keys"):
        symmetric_action(trained_penalty, {"observation": obs["observation"]}, env.order)
    with pytest.raises(ValueError, match="distinct agents"):
        symmetric_action(trained_penalty, obs, ["agent_0", "agent_9"])
    with pytest.raises(ValueError, match="position in the order"):
        symmetric_action(trained_penalty, dict(obs, rank=np.int64(5)), env.order)
    with pytest.raises(ValueError, match="mode"):
        play_time_step(trained_penalty, env, mode="telepathic")  # type: ignore[arg-type]


def test_predict_symmetric_method(trained_penalty):
    """STEP.predict_symmetric is the method form of symmetric_action."""
    env = stmg_v0(penalty(k=-50))
    env.reset(seed=0)
    obs = env.observe("agent_1")
    assert trained_penalty.predict_symmetric(obs, env.order)[1] == symmetric_action(trained_penalty, obs, env.order)[1]
