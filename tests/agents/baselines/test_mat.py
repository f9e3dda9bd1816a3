"""MAT, the Multi-Agent Transformer (stmg_agents.baselines.mat): its chained decoder, orders, read-outs, saves and learning."""

from __future__ import annotations

import itertools

import numpy as np
import pettingzoo
import pytest
import torch

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents.baselines.mat import MAT, MATConfig
from stmg_bench.contract import check_algorithm, check_instance
from stmg_bench.suites.matrix import game_spec

PENALTY = {"k": -100.0}
SMALL = {"n_envs": 2, "n_steps": 5, "n_epochs": 2, "n_embd": 16}  # tiny runs for the behaviour checks


def penalty_env():
    return pettingzoo.make("parallel", "stmg/Penalty-v0", **PENALTY)


def game_env(game: str):
    task_id, kwargs = game_spec(game)
    return lambda: pettingzoo.make("parallel", task_id, **kwargs)


def first_observations(make_env):
    observations, _ = make_env().reset(seed=0)
    return observations


def test_the_decoder_is_autoregressive_in_its_order():
    """An agent's distribution changes with the actions decoded before it and never with its own or later ones.

    On a three-agent game with the order (agent_1, agent_2, agent_0): changing agent_1's action changes agent_2's
    and agent_0's distributions but not its own; changing agent_0's (the last) changes nobody's.
    """
    make_env = game_env("team-trap:3:0")
    model = MAT(make_env, seed=0, order=("agent_1", "agent_2", "agent_0"))
    obs = first_observations(make_env)
    base = {"agent_0": 0, "agent_1": 0, "agent_2": 0}
    before = model.conditional_probabilities(obs, base)
    first_changed = model.conditional_probabilities(obs, {**base, "agent_1": 1})
    last_changed = model.conditional_probabilities(obs, {**base, "agent_0": 1})
    np.testing.assert_array_equal(first_changed["agent_1"], before["agent_1"])
    for agent in ("agent_2", "agent_0"):
        assert np.abs(first_changed[agent] - before[agent]).max() > 1e-4, agent
    for agent in base:
        np.testing.assert_allclose(last_changed[agent], before[agent], rtol=0, atol=1e-7)


@pytest.mark.parametrize("order", [None, ("agent_2", "agent_0", "agent_1")])
def test_joint_probabilities_are_the_product_of_the_chained_conditionals(order):
    """joint_probabilities sums to 1, has axes in possible_agents order, and equals prod_i pi(a_i | o, a_<i)."""
    make_env = game_env("team-trap:3:0")
    model = MAT(make_env, seed=1, order=order, **SMALL).learn(10)
    obs = first_observations(make_env)
    joint = model.joint_probabilities(obs)
    n_actions = [int(make_env().action_space(a).n) for a in model.possible_agents]
    assert joint.shape == tuple(n_actions) and joint.sum() == pytest.approx(1.0)
    for joint_action in itertools.product(*(range(n) for n in n_actions)):
        actions = dict(zip(model.possible_agents, joint_action))
        conditionals = model.conditional_probabilities(obs, actions)
        expected = np.prod([conditionals[a][actions[a]] for a in model.possible_agents])
        assert joint[joint_action] == pytest.approx(expected, rel=1e-6)


def test_greedy_joint_action_follows_the_greedy_earlier_actions():
    """act_joint takes the first agent's argmax, then each next agent's argmax given those greedy actions."""
    model = MAT(penalty_env, seed=2, order=("agent_1", "agent_0"), **SMALL).learn(10)
    obs = first_observations(penalty_env)
    greedy = model.act_joint(obs)
    leader = model.conditional_probabilities(obs, {"agent_0": 0, "agent_1": 0})["agent_1"]
    assert greedy["agent_1"] == int(np.argmax(leader))
    follower = model.conditional_probabilities(obs, {"agent_0": 0, "agent_1": greedy["agent_1"]})["agent_0"]
    assert greedy["agent_0"] == int(np.argmax(follower))


def test_orders_none_tuple_and_random():
    """None decodes in possible_agents order, a tuple in its order, 'random' draws permutations per episode."""
    assert MAT(penalty_env, seed=0).decoding_order() == ("agent_0", "agent_1")
    assert MAT(penalty_env, seed=0, order=["agent_1", "agent_0"]).decoding_order() == ("agent_1", "agent_0")
    random_model = MAT(penalty_env, seed=0, order="random", **{**SMALL, "n_steps": 13})
    assert random_model.decoding_order() == ("agent_0", "agent_1")  # the read-outs' default for a random order
    drawn = {tuple(random_model._draw_order()) for _ in range(40)}
    assert drawn == {(0, 1), (1, 0)}
    random_model.learn(52)  # 26 steps per copy: each copy's second episode draws its order again
    assert random_model.num_timesteps == 52
    for bad in ("reversed", ("agent_0",), ("agent_0", "agent_0")):
        with pytest.raises(ValueError, match="expected `order`"):
            MAT(penalty_env, seed=0, order=bad)


def test_centralized_execution_contract():
    """MAT declares a centralized, order-aware simultaneous algorithm; act() for one agent says to use act_joint."""
    check_algorithm(MAT, {"n_envs": 2, "order": ("agent_0", "agent_1")})
    model = MAT(penalty_env, seed=0)
    check_instance(model)
    assert (MAT.form, MAT.execution, MAT.uses_order) == ("simultaneous", "centralized", True)
    assert not hasattr(model, "action_probabilities")
    with pytest.raises(NotImplementedError, match="act_joint"):
        model.act("agent_0", np.ones(1, np.float32))
    with pytest.raises(KeyError, match="needs every agent's observation"):
        model.act_joint({"agent_0": np.ones(1, np.float32)})


def test_learn_counts_joint_steps_calls_back_after_each_update_and_stops_on_false():
    """learn runs whole rollouts, calls callback(num_timesteps) after each, and a False stops it."""
    seen: list[int] = []
    model = MAT(penalty_env, seed=0, **{**SMALL, "n_steps": 10}).learn(50, callback=seen.append)
    assert seen == [20, 40, 60] and model.num_timesteps == 60
    stopped = MAT(penalty_env, seed=0, **{**SMALL, "n_steps": 10}).learn(1_000, callback=lambda n: False)
    assert stopped.num_timesteps == 20


def test_same_seed_same_run_and_other_seed_differs():
    """Two runs with one seed give identical weights and joint policies; another seed does not."""
    obs = first_observations(penalty_env)
    runs = [MAT(penalty_env, seed=s, **SMALL).learn(20) for s in (5, 5, 6)]
    joints = [m.joint_probabilities(obs) for m in runs]
    np.testing.assert_array_equal(joints[0], joints[1])
    for a, b in zip(runs[0].network.parameters(), runs[1].network.parameters()):
        assert torch.equal(a, b)
    assert not np.array_equal(joints[0], joints[2])


def test_save_load_round_trip_and_foreign_or_damaged_files(tmp_path):
    """A save loads back with the same policy, order and counters, and trains on identically; others are refused."""
    model = MAT(penalty_env, seed=3, order=("agent_1", "agent_0"), **SMALL, ent_coef=[0.2, 0.01]).learn(20)
    model.save(tmp_path / "mat.zip")
    loaded = MAT.load(tmp_path / "mat.zip", penalty_env)
    obs = first_observations(penalty_env)
    np.testing.assert_array_equal(loaded.joint_probabilities(obs), model.joint_probabilities(obs))
    assert loaded.order == ("agent_1", "agent_0") and loaded.num_timesteps == 20
    assert loaded.config == model.config
    (tmp_path / "notes.json").write_text('{"format": "stmg_agents.BiLevelQLearning/1"}')
    with pytest.raises(ValueError, match="unreadable"):
        MAT.load(tmp_path / "notes.json", penalty_env)
    from stmg_agents.baselines import MAPPO

    MAPPO(penalty_env, seed=0, torch_num_threads=None).save(tmp_path / "mappo.zip")
    with pytest.raises(ValueError, match="expected a saved MAT agent, got a save of 'MAPPO'"):
        MAT.load(tmp_path / "mappo.zip", penalty_env)
    data = (tmp_path / "mat.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="unreadable|damaged"):
        MAT.load(tmp_path / "cut.zip", penalty_env)
    with pytest.raises(ValueError, match="the save is for agents"):
        MAT.load(tmp_path / "mat.zip", game_env("team-trap:3:0"))


def test_config_errors_name_the_setting():
    """Unknown names list the known ones; bad values say what was expected."""
    with pytest.raises(TypeError, match=r"unknown hyper-parameter 'lr' for MAT.*expected one of \[.*'learning_rate'"):
        MAT(penalty_env, seed=0, lr=1e-3)
    with pytest.raises(ValueError, match="expected `n_heads` to divide `n_embd`"):
        MATConfig(n_embd=64, n_heads=3)
    with pytest.raises(ValueError, match="expected `n_minibatches` <= n_envs \\* n_steps"):
        MATConfig(n_envs=1, n_steps=2, n_minibatches=3)
    assert MATConfig(ent_coef=[0.3, 0.01]).ent_coef == (0.3, 0.01)


def test_unequal_observations_box_actions_and_dying_agents(dying_agent_env):
    """Observations of different sizes are padded; Box actions are Gaussian and clipped; an agent that dies early is
    masked out; joint_probabilities refuses Box actions."""
    model = MAT(lambda: dying_agent_env(box_actions=True, reward_actions=True), seed=0, n_envs=2, n_steps=4)
    assert model.encoder.obs_dim == 3
    model.learn(16)
    env = dying_agent_env(box_actions=True)
    obs, _ = env.reset(seed=0)
    joint = model.act_joint(obs)
    assert all(a.shape == (2,) and np.all(np.abs(a) <= 1.0) for a in joint.values())
    assert model.network.log_std.requires_grad
    with pytest.raises(TypeError, match="needs Discrete actions"):
        model.joint_probabilities(obs)
    discrete = MAT(dying_agent_env, seed=0, n_envs=2, n_steps=4).learn(16)
    assert discrete.num_timesteps == 16 and np.isfinite(discrete.last_update_stats["policy_loss"])


def test_different_action_spaces_are_refused(dying_agent_env):
    """Agents with different action spaces raise a ValueError that says MAT needs one shared space."""
    from gymnasium import spaces

    def make_env():
        env = dying_agent_env()
        env._action_spaces = {"agent_0": spaces.Discrete(2), "agent_1": spaces.Discrete(3)}
        return env

    with pytest.raises(ValueError, match="all agents need the same action space"):
        MAT(make_env, seed=0)


def test_joint_probabilities_refuse_too_many_joint_actions():
    """Above MAX_JOINT_ACTIONS joint actions, joint_probabilities raises instead of enumerating."""
    from stmg_agents.baselines import mat

    make_env = game_env("team-trap:3:0")
    model = MAT(make_env, seed=0)
    limit = mat.MAX_JOINT_ACTIONS
    try:
        mat.MAX_JOINT_ACTIONS = 8
        with pytest.raises(ValueError, match="expected at most 8"):
            model.joint_probabilities(first_observations(make_env))
    finally:
        mat.MAX_JOINT_ACTIONS = limit


@pytest.mark.slow
def test_reaches_the_optimum_of_penalty_k_minus_100():
    """Penalty k=-100 (common payoff, optimum (a1, a3) = 10; the safe NE (a2, a2) = 2): MAT's chained decoder lets
    agent_1 learn its best reply to each of agent_0's actions, and most seeds end at the optimum."""
    obs = first_observations(penalty_env)
    hits = 0
    for seed in range(3):
        model = MAT(penalty_env, seed=seed, **SANITY_SETTINGS).learn(SANITY_STEPS)
        greedy = model.act_joint(obs)
        hits += (greedy["agent_0"], greedy["agent_1"]) == (0, 2)
    assert hits >= 2


SANITY_SETTINGS = {"gamma": 0.0, "ent_coef": [0.3, 0.01], "learning_rate": 1e-3, "n_epochs": 10, "n_envs": 8,
                   "n_steps": 10}  # fmt: skip
SANITY_STEPS = 1_600
