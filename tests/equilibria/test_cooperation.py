"""Tests for stmg_envs.equilibria.cooperation: Bi-AC's cooperation level (Eq. 6) and Fig. 2's random games."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from stmg_envs.equilibria import (
    common_payoff_tensor,
    cooperation_level,
    pairwise_cooperation_levels,
    sample_correlated_game,
)
from stmg_envs.matrix import ESCAPE, MAINTAIN

from .strategies import GAME_SETTINGS

_TWO_PLAYER_GAMES = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: hnp.arrays(np.int64, (2, *shape), elements=st.integers(-20, 20))
)


def _eq6(v1: np.ndarray, v2: np.ndarray) -> float:
    """Bi-AC Eq. (6) written out term by term over all joint actions."""
    v1, v2 = v1.ravel().tolist(), v2.ravel().tolist()
    m1, m2 = sum(v1) / len(v1), sum(v2) / len(v2)
    numerator = sum((x - m1) * (y - m2) for x, y in zip(v1, v2))
    return numerator / math.sqrt(sum((x - m1) ** 2 for x in v1) * sum((y - m2) ** 2 for y in v2))


def test_team_game_has_cooperation_level_one():
    """Bi-AC: a cooperative (common-payoff) game has cooperation level 1."""
    assert cooperation_level(common_payoff_tensor(ESCAPE)) == pytest.approx(1.0)


def test_zero_sum_game_has_cooperation_level_minus_one():
    """Bi-AC: a zero-sum game has cooperation level -1."""
    assert cooperation_level(np.stack([MAINTAIN[0], -MAINTAIN[0]])) == pytest.approx(-1.0)


def test_maintain_value():
    """Maintain's two payoff tables correlate at 0.3751 over the nine joint actions."""
    assert cooperation_level(MAINTAIN) == pytest.approx(0.37509689, abs=1e-8)


@GAME_SETTINGS
@given(payoffs=_TWO_PLAYER_GAMES)
def test_equals_equation_6_written_out(payoffs):
    """Random 2-player games: equals Eq. (6) summed explicitly over joint actions; NaN when a table is constant."""
    if np.ptp(payoffs[0]) == 0 or np.ptp(payoffs[1]) == 0:
        assert math.isnan(cooperation_level(payoffs))
    else:
        assert cooperation_level(payoffs) == pytest.approx(_eq6(payoffs[0], payoffs[1]), abs=1e-12)


@GAME_SETTINGS
@given(
    payoffs=_TWO_PLAYER_GAMES,
    scales=st.tuples(st.floats(0.01, 100), st.floats(0.01, 100)),
    shifts=st.tuples(st.floats(-100, 100), st.floats(-100, 100)),
)
def test_invariant_to_positive_affine_rescaling(payoffs, scales, shifts):
    """Rescaling each player's payoff by a positive factor and shifting it leaves the level unchanged."""
    assume(np.ptp(payoffs[0]) > 0 and np.ptp(payoffs[1]) > 0)
    rescaled = np.stack([scales[i] * payoffs[i] + shifts[i] for i in range(2)])
    assert cooperation_level(rescaled) == pytest.approx(cooperation_level(payoffs), abs=1e-9)


def test_constant_payoff_is_nan_not_rounding_noise():
    """A constant table (here 0.1 everywhere, whose mean is inexact) gives NaN, including a 1x1 game."""
    assert math.isnan(cooperation_level(np.stack([np.full((3, 3), 0.1), MAINTAIN[1]])))
    assert math.isnan(cooperation_level(np.ones((2, 1, 1))))


def test_huge_payoffs_do_not_overflow():
    """Payoffs near the float64 limit still give a finite level in [-1, 1]."""
    game = np.stack([MAINTAIN[0] * 1e306, MAINTAIN[1] * 1e306])
    assert cooperation_level(game) == pytest.approx(cooperation_level(MAINTAIN), abs=1e-9)


def test_pairwise_levels_for_three_players():
    """N players: a symmetric (N, N) matrix with unit diagonal whose entries are the 2-player levels."""
    rng = np.random.default_rng(0)
    game = rng.integers(-5, 5, size=(3, 3, 2, 4)).astype(float)
    levels = pairwise_cooperation_levels(game)
    assert levels.shape == (3, 3)
    np.testing.assert_allclose(levels, levels.T)
    np.testing.assert_allclose(np.diag(levels), 1.0)
    assert levels[0, 2] == pytest.approx(_eq6(game[0], game[2]))


@pytest.mark.parametrize("rho", [-0.5, 0.0, 0.5, 0.9])
def test_sampled_game_has_about_the_requested_level(rho):
    """Bi-AC Fig. 2: a 100x100 game sampled with covariance rho has cooperation level within 0.05 of rho."""
    game = sample_correlated_game((100, 100), rho, seed=1)
    assert game.shape == (2, 100, 100)
    assert abs(cooperation_level(game) - rho) < 0.05


def test_sampled_three_player_game_is_equicorrelated():
    """Three players: every pair correlates at about rho, each payoff has about unit variance."""
    game = sample_correlated_game((20, 20, 20), 0.3, seed=2)
    levels = pairwise_cooperation_levels(game)
    assert np.all(np.abs(levels[np.triu_indices(3, 1)] - 0.3) < 0.05)
    np.testing.assert_allclose(game.reshape(3, -1).std(axis=1), 1.0, atol=0.05)


def test_sampling_extremes_are_exact():
    """cooperation=1 gives an exact team game; -1 with two players an exact zero-sum game."""
    team = sample_correlated_game((4, 5), 1.0, seed=3)
    np.testing.assert_array_equal(team[0], team[1])
    zero_sum = sample_correlated_game((4, 5), -1.0, seed=3)
    np.testing.assert_array_equal(zero_sum[0], -zero_sum[1])
    lowest = sample_correlated_game((30, 30, 30), -0.5, seed=3)  # the most negative valid equicorrelation
    np.testing.assert_allclose(lowest.sum(axis=0), 0.0, atol=1e-9)


def test_sampling_is_deterministic_under_a_seed():
    """The same seed gives the same game; a Generator is accepted as well."""
    first, second = (sample_correlated_game((3, 3), 0.2, seed=7) for _ in range(2))
    np.testing.assert_array_equal(first, second)
    game = sample_correlated_game((3, 3), 0.2, seed=np.random.default_rng(7))
    assert game.shape == (2, 3, 3)
