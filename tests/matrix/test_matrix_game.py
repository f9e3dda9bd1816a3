"""MatrixGame and the named games: payoffs, episode length, argument checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from stmg_envs.matrix import (
    ESCAPE,
    MAINTAIN,
    MIXING,
    PENALTY_K_VALUES,
    MatrixGame,
    escape,
    maintain,
    matrix,
    mixing,
    penalty,
)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"payoffs": np.zeros((3, 2, 2))}, "first axis"),
        ({"payoffs": np.zeros(3)}, "shape"),
        ({"payoffs": [[["a"]]]}, "real numbers"),
        ({"common_payoff": [[np.nan, 1.0], [0.0, 1.0]]}, "finite"),
        ({"payoffs": np.zeros((2, 2, 2)), "common_payoff": np.zeros((2, 2))}, "exactly one"),
        ({}, "exactly one"),
        ({"common_payoff": np.zeros((2, 2)), "episode_length": 0}, "episode_length"),
        ({"common_payoff": np.zeros((2, 0))}, "at least one action per player"),
    ],
)
def test_matrix_game_validates_arguments(kwargs, fragment):
    """MatrixGame rejects malformed payoffs and lengths with an error that says what was expected."""
    with pytest.raises((ValueError, TypeError), match=fragment):
        MatrixGame(**kwargs)


def test_rewards_are_the_payoff_entries_for_every_joint_action():
    """Stepping a 3-agent game with any joint action pays payoffs[i][joint] to agent i."""
    payoffs = np.random.default_rng(0).normal(size=(3, 2, 3, 2))
    game = MatrixGame(payoffs, episode_length=100)
    game.reset(seed=0)
    for joint in itertools.product(range(2), range(3), range(2)):
        _, rewards, _, _, _ = game.step(dict(zip(game.possible_agents, joint)))
        assert rewards == {f"agent_{i}": payoffs[(i, *joint)] for i in range(3)}


def test_episode_truncates_after_episode_length():
    """All agents are truncated (never terminated) after episode_length steps."""
    game = penalty(episode_length=3)
    game.reset(seed=0)
    for t in range(3):
        _, _, terms, truncs, _ = game.step({"agent_0": 1, "agent_1": 1})
        assert not any(terms.values()) and all(truncs.values()) == (t == 2)
    assert game.agents == []


def test_named_games_match_the_papers():
    """Penalty, Mixing, Escape, Maintain carry the payoffs of the STEP and Bi-AC papers."""
    for k in PENALTY_K_VALUES:
        table = penalty(k).payoffs
        assert table.shape == (2, 3, 3) and np.array_equal(table[0], table[1])
        assert table[0].tolist() == [[k, 0, 10], [0, 2, 0], [8, 0, k]]
    assert np.array_equal(mixing().payoffs, MIXING)
    assert np.array_equal(escape().payoffs[0], ESCAPE) and np.array_equal(maintain().payoffs, MAINTAIN)


def test_matrix_task_refuses_a_missing_game_naming_the_three_ways_to_give_one():
    """stmg/Matrix-v0 without a game is an error listing payoffs=, common_payoff= and generator= (it used to build
    a 2x2 game silently); two ways at once are refused too."""
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)

    for make in (matrix, lambda: pettingzoo.make("parallel", "stmg/Matrix-v0", episode_length=3)):
        with pytest.raises(TypeError) as info:
            make()
        assert all(way in str(info.value) for way in ("payoffs=", "common_payoff=", "generator="))
    with pytest.raises(
        ValueError, match="exactly one of payoffs=, common_payoff= or generator=, got payoffs and generator"
    ):
        matrix(np.zeros((2, 2, 2)), generator="team-trap:2:0")


def test_matrix_task_builds_a_generated_game_by_its_name():
    """generator="team-trap:3:0" gives stmg/Matrix-v0 the generated game's payoffs (in both forms); a bad name or
    a non-string says what was expected."""
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)
    from stmg_envs.matrix.generators import generate

    expected = generate("team-trap:3:0").payoffs
    assert np.array_equal(pettingzoo.make("parallel", "stmg/Matrix-v0", generator="team-trap:3:0").payoffs, expected)
    aec = pettingzoo.make("aec", "stmg/Matrix-v0", generator="team-trap:3:0", order="reversed")
    assert np.array_equal(aec.parallel_env.payoffs, expected) and aec.possible_agents == [
        "agent_0",
        "agent_1",
        "agent_2",
    ]
    with pytest.raises(ValueError, match="unknown generator 'no-such'"):
        matrix(generator="no-such:3:0")
    with pytest.raises(TypeError, match="expected generator= to be a generated game's name"):
        matrix(generator=3)


def test_bad_actions_and_k():
    """The parallel game rejects missing or out-of-range actions and a non-finite k."""
    game = penalty()
    game.reset(seed=0)
    with pytest.raises(KeyError, match="agent_1"):
        game.step({"agent_0": 0})
    with pytest.raises(ValueError, match="Discrete"):
        game.step({"agent_0": 0, "agent_1": 3})
    with pytest.raises(ValueError, match="finite real k"):
        penalty(float("nan"))


def test_parallel_api_and_render():
    """PettingZoo's parallel_api_test passes; ansi rendering names the last joint action."""
    parallel_api_test(mixing(), num_cycles=30)
    game = mixing(render_mode="ansi")
    game.reset(seed=0)
    game.step({"agent_0": 2, "agent_1": 0})
    assert game.render() == "t=1 joint action=(a3, a1)"
