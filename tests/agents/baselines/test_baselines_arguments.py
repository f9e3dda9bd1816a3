"""Bad arguments to IPPO and MAPPO must fail early with a message saying what was expected."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from pettingzoo.utils.conversions import parallel_to_aec

from stmg_agents.baselines import IPPO, MAPPO, IPPOConfig, MAPPOConfig
from stmg_envs.matrix import penalty

pytestmark = pytest.mark.agents

ALGORITHMS = [IPPO, MAPPO]


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_unknown_hyper_parameter_names_the_right_one(cls):
    """A misspelt or foreign (MAPPO-code) name must be rejected with the matching field suggested."""
    with pytest.raises(TypeError, match="unknown hyper-parameter 'lr'.*did you mean 'learning_rate'"):
        cls(penalty, lr=1e-3)
    with pytest.raises(TypeError, match="did you mean 'n_envs'"):
        cls(penalty, n_rollout_threads=4)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_envs", 0, "expected `n_envs` to be an int >= 1, got 0"),
        ("n_steps", 2.5, "expected `n_steps` to be an int >= 1"),
        ("gamma", 1.5, r"expected `gamma` in \[0.0, 1.0\], got 1.5"),
        ("learning_rate", 0.0, r"expected `learning_rate` in \(0.0"),
        ("hidden_sizes", (64, 0), "expected `hidden_sizes` to be a non-empty tuple of positive ints"),
        ("activation", "gelu", "expected `activation` to be one of"),
        ("normalize_advantage", 1, "expected `normalize_advantage` to be a bool"),
        ("ent_coef", float("nan"), "expected `ent_coef` to be a finite number"),
    ],
)
@pytest.mark.parametrize("config", [IPPOConfig, MAPPOConfig])
def test_bad_values_are_rejected(config, field, value, message):
    """Each shared hyper-parameter is range-checked with an 'expected X, got Y' message."""
    with pytest.raises(ValueError, match=message):
        config(**{field: value})


def test_mappo_specific_values_are_rejected():
    """MAPPO's own fields are checked too."""
    with pytest.raises(ValueError, match="expected `critic_input` to be one of"):
        MAPPOConfig(critic_input="obs")
    with pytest.raises(ValueError, match="expected `huber_delta` in"):
        MAPPOConfig(huber_delta=-1.0)


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_minibatches_must_divide_the_rollout(cls):
    """n_minibatches that does not divide n_envs * n_steps * n_agents is refused before training."""
    with pytest.raises(ValueError, match="expected `n_minibatches` to divide the 200 agent-samples"):
        cls(penalty, n_minibatches=3)


@pytest.mark.parametrize("cls", ALGORITHMS)
@pytest.mark.parametrize("seed", [-1, 1.5, True, 2**32])
def test_bad_seed(cls, seed):
    """The seed must be an int in [0, 2**32)."""
    with pytest.raises(ValueError, match="expected `seed` to be an int in"):
        cls(penalty, seed=seed)


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_wrong_environment_kinds(cls):
    """AEC envs, Gymnasium envs and non-callables are refused with what to pass instead."""
    with pytest.raises(TypeError, match="got an AECEnv.*aec_to_parallel"):
        cls(parallel_to_aec(penalty()))
    with pytest.raises(TypeError, match="expected a registered id"):
        cls(42)
    with pytest.raises(TypeError, match="expected the environment factory to return a PettingZoo ParallelEnv"):
        cls(lambda: gymnasium.make("CartPole-v1"))
    with pytest.raises(TypeError, match="env_kwargs only applies to a registered id or a factory"):
        cls(penalty(), env_kwargs={"k": 0})


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_unequal_action_spaces_are_refused(cls):
    """A shared actor needs one action space; the error points at pad_action_space_v0."""
    from stmg_envs.matrix import MatrixGame

    with pytest.raises(ValueError, match="same action space.*pad_action_space_v0"):
        cls(lambda: MatrixGame(payoffs=np.zeros((2, 2, 3))))


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_learn_and_predict_arguments(cls):
    """learn() needs a positive int budget; predict() needs a dict keyed by known agents."""
    agent = cls(penalty, n_envs=1)
    for bad in (0, -5, 10.0, True):
        with pytest.raises(ValueError, match="expected `total_timesteps` to be an int >= 1"):
            agent.learn(bad)
    with pytest.raises(TypeError, match="expected `callback` to be a stable_baselines3 BaseCallback"):
        agent.learn(25, callback="print")
    with pytest.raises(TypeError, match="expected a dict of observations keyed by agent name"):
        agent.predict([np.ones(1)])
    with pytest.raises(KeyError, match="unknown agents \\['agent_9'\\]"):
        agent.predict({"agent_9": np.ones(1)})
    with pytest.raises(ValueError, match="expected an observation of flat size 1 for 'agent_0'"):
        agent.predict({"agent_0": np.ones(4)})


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_action_readout_needs_discrete_actions(cls, dying_agent_env):
    """The matrix-game read-out is only defined for Discrete actions."""
    agent = cls(lambda: dying_agent_env(box_actions=True), n_envs=1)
    with pytest.raises(TypeError, match="action_readout expects a Discrete action space"):
        agent.action_readout()


def test_mappo_without_state_suggests_concat_obs(stateless_env):
    """MAPPO's default critic reads state(); without one the error names the alternative, which works."""
    with pytest.raises(ValueError, match="critic_input='concat_obs'"):
        MAPPO(stateless_env)
    agent = MAPPO(stateless_env, critic_input="concat_obs", n_envs=1, n_steps=4).learn(8)
    assert agent.num_timesteps == 8
