"""stmg/IteratedMatrix-v0: the iterated 2x2 games with memory of Oracles & Followers as environments."""

from __future__ import annotations

import itertools
import re
import warnings

import gymnasium
import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import api_test, parallel_api_test

import stmg_envs
from stmg_envs import SequentialGymEnv, STMGEnv, stmg_v0
from stmg_envs.equilibria.iterated import ITERATED_GAMES, iterated_game, iterated_stackelberg, leader_policies, play
from stmg_envs.matrix import IteratedMatrixGame, iterated_matrix

TASK = "stmg/IteratedMatrix-v0"
SETTINGS = [
    {},
    {"game": "smipd"},
    {"game": "bots"},
    {"game": "chicken", "memory": "none", "episode_length": 3},
    {"payoffs": [[[1, 0], [0, 2]], [[2, 0], [0, 1]]], "reward_offset": -1.0},
]


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_pettingzoo_api(kwargs):
    """The parallel game passes parallel_api_test and its STMG form passes api_test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(iterated_matrix(**kwargs), num_cycles=30)
        api_test(stmg_v0(iterated_matrix(**kwargs)), num_cycles=30)
        api_test(stmg_v0(iterated_matrix(**kwargs), flatten=True), num_cycles=30)


def test_registered_in_every_form():
    """The task is in PettingZoo's registry (aec and parallel) and Gymnasium's, and routes kwargs to the game."""
    assert TASK in stmg_envs.registered_task_ids()
    parallel = pettingzoo.make("parallel", TASK, game="smipd")
    assert isinstance(parallel, IteratedMatrixGame) and parallel.memory == "opponent"
    aec = pettingzoo.make("aec", TASK, game="smipd", flatten=True)
    assert isinstance(aec, STMGEnv) and aec.parallel_env.episode_length == 5
    single = gymnasium.make(TASK, game="bots")
    assert isinstance(single.unwrapped, SequentialGymEnv)


def test_short_ipd_episode_by_hand():
    """Three IPD steps, (C, D), (D, D), (D, C): rewards are the table plus -2.5, each agent observes the
    one-hot previous joint action (1 + a0 + 2 a1), the state is that too, and the third step truncates."""
    env = pettingzoo.make("parallel", TASK, game="ipd", episode_length=3)
    obs, infos = env.reset(seed=0)
    assert [infos[a]["memory_state"] for a in env.possible_agents] == [0, 0]
    assert obs["agent_0"].tolist() == [1, 0, 0, 0, 0] and env.state().tolist() == [1, 0, 0, 0, 0]
    expected = [((0, 1), (-1.5, 1.5), 3), ((1, 1), (-0.5, -0.5), 4), ((1, 0), (1.5, -1.5), 2)]
    for t, ((a0, a1), (r0, r1), state) in enumerate(expected):
        obs, rewards, terms, truncs, infos = env.step({"agent_0": a0, "agent_1": a1})
        assert rewards == {"agent_0": r0, "agent_1": r1}
        one_hot = np.eye(5, dtype=np.float32)[state]
        for agent in ("agent_0", "agent_1"):
            assert infos[agent] == {"memory_state": state}
            np.testing.assert_array_equal(obs[agent], one_hot)
        np.testing.assert_array_equal(env.state(), one_hot)
        assert not any(terms.values()) and all(truncs.values()) == (t == 2)
    assert env.agents == []


def test_single_memory_observations_by_hand():
    """In the single-memory IPD each agent observes 1 + the other agent's last action (O&F's small_memory)."""
    env = iterated_matrix("smipd")
    env.reset(seed=0)
    _, _, _, _, infos = env.step({"agent_0": 1, "agent_1": 0})
    assert (infos["agent_0"]["memory_state"], infos["agent_1"]["memory_state"]) == (1, 2)
    obs, _, _, _, infos = env.step({"agent_0": 0, "agent_1": 1})
    assert (infos["agent_0"]["memory_state"], infos["agent_1"]["memory_state"]) == (2, 1)
    assert obs["agent_0"].tolist() == [0, 0, 1] and obs["agent_1"].tolist() == [0, 1, 0]
    assert env.state().tolist() == [0, 0, 0, 1, 0]  # joint action (0, 1)


@pytest.mark.parametrize("name", ["ipd", "smipd", "chicken"])
def test_env_pays_what_the_solver_computes(name):
    """Stationary policies played through the environment earn exactly play()'s returns (sampled pairs)."""
    rng = np.random.default_rng(0)
    policies = leader_policies(name)
    pairs = list(itertools.product(policies, policies))
    for index in rng.choice(len(pairs), size=min(40, len(pairs)), replace=False):
        leader, follower = pairs[index]
        env = iterated_matrix(name)
        _, infos = env.reset(seed=0)
        totals = {"agent_0": 0.0, "agent_1": 0.0}
        while env.agents:
            actions = {"agent_0": leader[infos["agent_0"]["memory_state"]]}
            actions["agent_1"] = follower[infos["agent_1"]["memory_state"]]
            _, rewards, _, _, infos = env.step(actions)
            for agent, reward in rewards.items():
                totals[agent] += reward
        rollout = play(name, leader, follower)
        assert (totals["agent_0"], totals["agent_1"]) == pytest.approx((rollout.leader_value, rollout.follower_value))


def test_docstring_table_matches_the_games():
    """The table on the task's docs page (iterated_matrix's docstring) holds the payoffs and settings the code
    plays and the solver's optima."""
    rows = re.findall(r"^\s*\| `(\w+)`[^|]*\|(.+)\|\s*$", iterated_matrix.__doc__ or "", flags=re.MULTILINE)
    assert {name for name, _ in rows} == set(ITERATED_GAMES) - {"prisoners_dilemma"}
    for name, cells in rows:
        game = ITERATED_GAMES[name]
        parts = [c.strip() for c in cells.split("|")]
        for cell, (a0, a1) in zip(parts[:4], [(0, 0), (0, 1), (1, 0), (1, 1)]):
            assert [float(x) for x in cell.split(",")] == [game.payoffs[0, a0, a1], game.payoffs[1, a0, a1]], name
        assert parts[4:7] == [game.memory, str(game.episode_length), f"{game.reward_offset:g}"], name
        best = [iterated_stackelberg(game, follower=f).leader_value for f in ("markov", "memory-1")]
        assert parts[7] == f"{best[0]:g} / {best[1]:g}", name


@pytest.mark.parametrize(
    "kwargs,error,fragment",
    [
        ({"payoffs": np.zeros((3, 2, 2, 2))}, ValueError, r"shape \(2, 2, 2\).*got shape \(3, 2, 2, 2\) \(3 agents"),
        ({"payoffs": np.zeros((2, 3, 2))}, ValueError, r"shape \(2, 2, 2\).*got shape \(2, 3, 2\)"),
        ({"payoffs": [[["a"]]]}, TypeError, "real numbers"),
        ({"game": "ipd2"}, ValueError, r"one of \['assurance', 'battle', 'bots'.*got 'ipd2'"),
        ({"game": "ipd", "payoffs": np.zeros((2, 2, 2))}, ValueError, "either `game` or `payoffs`, got both"),
        ({"memory": "full"}, ValueError, r"`memory` to be one of \('joint', 'opponent', 'none'\), got 'full'"),
        ({"episode_length": 0}, ValueError, "integer >= 1, got 0"),
        ({"reward_offset": float("nan")}, ValueError, "finite real number, got nan"),
        ({"render_mode": "human"}, ValueError, "render_mode"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, error, fragment):
    """Wrong agent counts, shapes, names and settings are refused with 'expected X, got Y'."""
    with pytest.raises(error, match=fragment):
        iterated_matrix(**kwargs)


def test_settings_override_the_named_game():
    """memory, episode_length and reward_offset override a named game's settings; payoffs default to
    joint memory, 10 steps, no offset."""
    env = iterated_matrix("ipd", memory="opponent", episode_length=4, reward_offset=0.0)
    assert (env.memory, env.episode_length, env.reward_offset) == ("opponent", 4, 0.0)
    assert env.observation_space("agent_1").shape == (3,)
    custom = iterated_game(payoffs=[[[1, 0], [0, 2]], [[2, 0], [0, 1]]])
    assert (custom.memory, custom.episode_length, custom.reward_offset, custom.name) == ("joint", 10, 0.0, "custom")
