"""Bi-AC's bi-level tabular Q-learning (stmg_agents.baselines.biac): Eq. 8-11, the SE it reaches, its errors and saves."""

from __future__ import annotations

import json

import numpy as np
import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents.baselines.biac import BiLevelQLearning
from stmg_bench.suites.matrix import game_spec, joint_policy, make_env_factory, order_indices
from stmg_envs.equilibria import stackelberg_equilibrium


def factory(game: str, order: str = "possible_agents"):
    task_id, kwargs = game_spec(game)
    return make_env_factory("sequential", task_id, kwargs, order), pettingzoo.make("parallel", task_id, **kwargs)


@pytest.mark.parametrize("game", ["penalty:0", "penalty:-100", "mixing", "escape", "maintain"])
@pytest.mark.parametrize("order", ["possible_agents", "reversed"])
def test_reaches_the_stackelberg_equilibrium_of_the_order_it_plays(game, order):
    """On the paper's two-agent games (Maintain's SE is not an NE) every seed ends at the SE of its order."""
    make_env, parallel = factory(game, order)
    se = stackelberg_equilibrium(parallel.payoffs, order=order_indices(order, parallel.possible_agents)).joint_action
    for seed in range(3):
        model = BiLevelQLearning(make_env, seed=seed, gamma=0.0).learn(1_500)
        greedy, joint = joint_policy(model, make_env, seed=0)
        assert tuple(greedy) == tuple(se), (game, order, seed)
        assert joint[tuple(se)] == 1.0


def test_one_update_follows_eq_10_and_11():
    """After the first two time steps of an episode the first joint action's entries are alpha * reward."""
    make_env, parallel = factory("maintain")
    model = BiLevelQLearning(make_env, seed=0, gamma=0.0, learning_rate_leader=0.5, learning_rate_follower=0.25)
    model.learn(2)  # the first step's update needs the second step's state
    [table] = model.q_tables.values()
    visited = np.argwhere(table[0] != 0)
    assert len(visited) >= 1
    a1, a2 = visited[0]
    assert table[0, a1, a2] == pytest.approx(0.5 * parallel.payoffs[0, a1, a2])
    assert table[1, a1, a2] == pytest.approx(0.25 * parallel.payoffs[1, a1, a2])


def test_the_stage_game_is_solved_leader_first():
    """Eq. 8-9: the leader picks its best action against the follower's best responses, not its own max."""
    table = np.zeros((2, 3, 3))
    table[0] = [[1, 9, 0], [0, 0, 0], [0, 0, 0]]  # the leader would like (a1, a2)...
    table[1] = [[5, 0, 0], [0, 0, 0], [0, 0, 0]]  # ...but the follower answers a1 with a1
    assert BiLevelQLearning._stackelberg(table) == (0, 0)


def test_targets_bootstrap_from_the_next_states_stackelberg_value():
    """With gamma = 0.5 in a repeated game (the next state is the same), Q converges to r + 0.5 Q(SE): 2 r at the SE."""
    make_env, parallel = factory("penalty:0")
    model = BiLevelQLearning(make_env, seed=0, gamma=0.5, learning_rate_leader=0.5, learning_rate_follower=0.5)
    model.learn(20_000)
    [table] = model.q_tables.values()
    se = stackelberg_equilibrium(parallel.payoffs).joint_action
    q_se = 2 * parallel.payoffs[0][se]
    assert table[0][se] == pytest.approx(q_se, abs=0.05)
    other = (1, 1)  # not the SE, visited while exploring
    assert table[0][other] == pytest.approx(parallel.payoffs[0][other] + 0.5 * q_se, abs=0.5)


def test_more_than_two_agents_or_continuous_actions_are_refused_clearly():
    """Three agents, or Box actions, raise ValueError saying what the learner supports."""
    with pytest.raises(ValueError, match="two-agent games: expected 2 agents, got 3"):
        BiLevelQLearning(factory("team-trap:3:0")[0], seed=0)
    with pytest.raises(ValueError, match="needs Discrete actions"):
        BiLevelQLearning(lambda: pettingzoo.make("aec", "stmg/HalfCheetah-v0", agent_conf="2x3"), seed=0)
    with pytest.raises(ValueError, match=r"expected learning_rate_leader in \(0, 1\], got 0.0"):
        BiLevelQLearning(factory("mixing")[0], seed=0, learning_rate_leader=0.0)


def test_same_seed_same_tables_and_save_load_round_trip(tmp_path):
    """Two runs with one seed learn identical tables; a save loads back with the same tables, counters and RNG."""
    make_env = factory("penalty:-50")[0]
    a = BiLevelQLearning(make_env, seed=7, n_envs=2).learn(300)
    b = BiLevelQLearning(make_env, seed=7, n_envs=2).learn(300)
    assert a.q_tables.keys() == b.q_tables.keys()
    for key in a.q_tables:
        np.testing.assert_array_equal(a.q_tables[key], b.q_tables[key])
    a.save(tmp_path / "biac.json")
    loaded = BiLevelQLearning.load(tmp_path / "biac.json", make_env)
    assert loaded.num_timesteps == 300 and loaded.n_envs == 2
    for key in a.q_tables:
        np.testing.assert_array_equal(loaded.q_tables[key], a.q_tables[key])
    assert loaded._rng.random() == a._rng.random()


def test_loading_something_else_says_what_was_expected(tmp_path):
    """A JSON file without the format tag, or a non-JSON file, raises ValueError naming the expected save."""
    (tmp_path / "other.json").write_text(json.dumps({"format": "something"}))
    with pytest.raises(ValueError, match="expected a BiLevelQLearning save"):
        BiLevelQLearning.load(tmp_path / "other.json", factory("mixing")[0])
    (tmp_path / "binary.zip").write_bytes(b"PK\x03\x04\xff\xfe")
    with pytest.raises(ValueError, match="expected a BiLevelQLearning save"):
        BiLevelQLearning.load(tmp_path / "binary.zip", factory("mixing")[0])
