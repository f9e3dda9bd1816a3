"""Tests of stmg_envs.matrix.generators: seeded N-player games with the structure their docstring promises."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers stmg/Matrix-v0)
from stmg_envs.equilibria.nash import is_pure_nash_equilibrium, pure_nash_equilibria
from stmg_envs.equilibria.stackelberg import TIE_BREAKS, stackelberg_equilibrium
from stmg_envs.matrix import generators
from stmg_envs.matrix.generators import general_sum, generate, suite, team_trap

SUITE = suite()


def test_docstring_examples_run():
    """The module's examples run and print what they claim."""
    result = doctest.testmod(generators, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_default_suite_has_four_games_for_each_n_in_3_4_5():
    """nagent: 4 games (2 of each generator) for N = 3, 4, 5, three actions each, all names distinct."""
    assert len({g.name for g in SUITE}) == 12
    for n in (3, 4, 5):
        games = [g for g in SUITE if g.n_players == n]
        assert sorted(g.generator for g in games) == ["general-sum"] * 2 + ["team-trap"] * 2
        assert all(g.payoffs.shape == (n,) + (3,) * n for g in games)


@pytest.mark.parametrize("game", SUITE, ids=[g.name for g in SUITE])
def test_a_name_rebuilds_the_same_game(game):
    """generate(name) gives bit-identical payoffs (reproducible from the name alone), read-only."""
    again = generate(game.name)
    np.testing.assert_array_equal(again.payoffs, game.payoffs)
    assert again.stackelberg_equilibrium == game.stackelberg_equilibrium
    with pytest.raises(ValueError):
        game.payoffs[(0,) * game.payoffs.ndim] = 1.0


@pytest.mark.parametrize("game", [g for g in SUITE if g.generator == "team-trap"], ids=lambda g: g.name)
def test_team_traps_have_a_safe_nash_a_unique_optimum_and_penalties_at_least_the_best_reward(game):
    """Common payoff; the optimum is the unique maximum and the SE under every order; all-safe is a strict pure NE;
    partial coordination on the optimum costs at least the best reward."""
    common = game.payoffs[0]
    assert all(np.array_equal(game.payoffs[i], common) for i in range(game.n_players))
    best = common[game.optimum]
    assert np.sum(common == best) == 1
    for order in itertools.permutations(range(game.n_players)):
        assert stackelberg_equilibrium(game.payoffs, order).joint_action == game.optimum
    assert is_pure_nash_equilibrium(game.payoffs, game.safe, strict=True)
    assert game.safe != game.optimum and common[game.safe] < best
    assert common.min() <= -best
    # Leaving the all-safe action alone for one's optimal action is punished (the trap).
    for i in range(game.n_players):
        deviation = list(game.safe)
        deviation[i] = game.optimum[i]
        assert common[tuple(deviation)] <= -best


@pytest.mark.parametrize("game", [g for g in SUITE if g.generator == "general-sum"], ids=lambda g: g.name)
def test_general_sum_games_have_a_unique_se_that_is_not_a_pure_nash(game):
    """Strict preferences (every tie rule gives the same SE under every order); the default-order SE is not a NE."""
    for i in range(game.n_players):
        values = game.payoffs[i].ravel()
        assert len(np.unique(values)) == values.size
    assert not is_pure_nash_equilibrium(game.payoffs, game.stackelberg_equilibrium)
    assert game.stackelberg_equilibrium not in pure_nash_equilibria(game.payoffs)
    for order in [tuple(range(game.n_players)), tuple(reversed(range(game.n_players)))]:
        outcomes = {stackelberg_equilibrium(game.payoffs, order, tie_break=rule).joint_action for rule in TIE_BREAKS}
        assert len(outcomes) == 1


def test_different_seeds_give_different_games():
    """Seeds matter: two seeds of one generator differ."""
    assert not np.array_equal(team_trap(3, 0).payoffs, team_trap(3, 1).payoffs)
    assert not np.array_equal(general_sum(3, 0).payoffs, general_sum(3, 1).payoffs)


def test_a_generated_game_runs_as_stmg_matrix_v0_and_pays_its_payoffs():
    """The payoffs go to stmg/Matrix-v0 unchanged: playing the SE pays each agent its SE payoff."""
    game = generate("general-sum:3:0")
    env = pettingzoo.make("parallel", "stmg/Matrix-v0", payoffs=game.payoffs, episode_length=2)
    env.reset(seed=0)
    _, rewards, *_ = env.step(dict(zip(env.possible_agents, game.stackelberg_equilibrium)))
    expected = game.payoffs[(slice(None), *game.stackelberg_equilibrium)]
    assert [rewards[a] for a in env.possible_agents] == pytest.approx(expected.tolist())
    assert game.make(episode_length=3).possible_agents == env.possible_agents


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("team-trap:3", "expected a game name"),
        ("climbing:3:0", "unknown generator 'climbing'"),
        ("team-trap:x:0", "expected a game name"),
        ("team-trap:1:0", "expected n_players to be an int >= 2, got 1"),
    ],
)
def test_bad_names_say_what_was_expected(name, message):
    """A malformed name, an unknown generator or too few players is refused with what was expected."""
    with pytest.raises(ValueError, match=message):
        generate(name)


def test_team_traps_need_three_actions_and_sizes_are_capped():
    """A trap needs optimal, safe and another action; a game too big to tabulate is refused before it is built."""
    with pytest.raises(ValueError, match="n_actions to be an int >= 3, got 2"):
        team_trap(3, 0, n_actions=2)
    with pytest.raises(ValueError, match="at most 1,000,000 joint actions"):
        team_trap(13, 0)


@pytest.mark.parametrize("n_players", [3, 4, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_robust_sum_games_keep_the_general_sum_promises_with_a_decisive_margin_of_at_least_half_a_point(
    n_players, seed
):
    """robust-sum:<N>:<seed> has a unique SE that is not a pure NE (as general-sum) and a decisive margin of
    at least ROBUST_MARGIN; where general-sum:<N>:<seed> already has that margin it is the same game (the 3- and
    4-agent suite games), otherwise another draw (the 5-agent ones, whose SE hinges on gaps of 0.13 and 0.01)."""
    from stmg_envs.equilibria import decisive_margin

    robust, plain = generate(f"robust-sum:{n_players}:{seed}"), generate(f"general-sum:{n_players}:{seed}")
    assert robust.generator == "robust-sum" and robust.name == f"robust-sum:{n_players}:{seed}"
    assert not robust.se_is_nash
    assert not is_pure_nash_equilibrium(robust.payoffs, robust.stackelberg_equilibrium)
    assert decisive_margin(robust.payoffs).margin >= generators.ROBUST_MARGIN
    same = bool((robust.payoffs == plain.payoffs).all())
    assert same == (decisive_margin(plain.payoffs).margin >= generators.ROBUST_MARGIN)
    assert same == (n_players < 5)


def test_min_margin_is_checked():
    """A negative, non-numeric or impossible min_margin is refused with what was expected."""
    for bad in (-0.1, "wide", 20.0, True):
        with pytest.raises(ValueError, match="expected min_margin to be a number in"):
            general_sum(3, seed=0, min_margin=bad)


def test_a_margin_no_name_rebuilds_is_refused():
    """min_margin other than 0 and ROBUST_MARGIN is refused: the game's name (general-sum or robust-sum) would not
    rebuild it through generate."""
    with pytest.raises(ValueError, match="no generator name rebuilds a game drawn with another margin"):
        general_sum(3, seed=0, min_margin=0.3)
    assert general_sum(3, seed=0, min_margin=generators.ROBUST_MARGIN).name == "robust-sum:3:0"
