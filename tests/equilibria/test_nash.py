"""Tests for stmg_envs.equilibria.nash: the papers' games and brute force on random games."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from stmg_envs.equilibria import common_payoff_tensor, is_pure_nash_equilibrium, pure_nash_equilibria, pure_nash_mask
from stmg_envs.matrix import ESCAPE, MAINTAIN, MIXING, PENALTY_K_VALUES, penalty_payoff

from .reference import brute_force_nash
from .strategies import GAME_SETTINGS, games


@pytest.mark.parametrize("k", PENALTY_K_VALUES)
def test_penalty_nash_equilibria_for_every_k(k):
    """Penalty(k): pure NE are exactly (a1, a3), (a2, a2), (a3, a1), all strict, for every k in the sweep."""
    game = common_payoff_tensor(penalty_payoff(k))
    assert pure_nash_equilibria(game) == [(0, 2), (1, 1), (2, 0)]
    assert pure_nash_equilibria(game, strict=True) == [(0, 2), (1, 1), (2, 0)]


def test_mixing_has_the_single_nash_equilibrium_a2_a2():
    """Mixing: (a2, a2) = (-5, 0) is the only pure NE."""
    assert pure_nash_equilibria(MIXING) == [(1, 1)]


def test_escape_nash_equilibria_with_a_weak_one():
    """Escape: NE (a1, a1), (a3, a3) are strict; (a2, a2) is a weak NE."""
    game = common_payoff_tensor(ESCAPE)
    assert pure_nash_equilibria(game) == [(0, 0), (1, 1), (2, 2)]
    assert pure_nash_equilibria(game, strict=True) == [(0, 0), (2, 2)]
    assert is_pure_nash_equilibrium(game, (1, 1)) and not is_pure_nash_equilibrium(game, (1, 1), strict=True)


def test_maintain_nash_equilibria_exclude_its_se():
    """Maintain: NE are (a2, a2) and (a3, a3); its SE (a1, a1) is not one."""
    assert pure_nash_equilibria(MAINTAIN) == [(1, 1), (2, 2)]
    assert not is_pure_nash_equilibrium(MAINTAIN, (0, 0))


def test_matching_pennies_has_no_pure_equilibrium():
    """A game without pure NE gives an empty list and an all-False mask."""
    pennies = np.array([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])
    assert pure_nash_equilibria(pennies) == []
    assert not pure_nash_mask(pennies).any()


def test_atol_turns_near_ties_into_weak_equilibria():
    """A deviation gaining 1e-12 breaks the NE exactly, not with atol=1e-9; strictness needs a margin above atol."""
    game = np.array([[[1.0], [1.0 + 1e-12]], [[0.0], [0.0]]])
    assert pure_nash_equilibria(game) == [(1, 0)]
    assert pure_nash_equilibria(game, atol=1e-9) == [(0, 0), (1, 0)]
    assert pure_nash_equilibria(game, strict=True, atol=1e-9) == []


def test_mask_shape_and_dtype():
    """The mask has one boolean entry per joint action."""
    mask = pure_nash_mask(np.zeros((3, 2, 3, 4)))
    assert mask.shape == (2, 3, 4) and mask.dtype == np.bool_ and mask.all()


@GAME_SETTINGS
@given(payoffs=games())
def test_matches_brute_force_deviation_check(payoffs):
    """N = 2..4, 1..4 actions, integer payoffs: weak and strict NE equal an explicit check of every deviation."""
    assert pure_nash_equilibria(payoffs) == brute_force_nash(payoffs)
    assert pure_nash_equilibria(payoffs, strict=True) == brute_force_nash(payoffs, strict=True)
    for joint in brute_force_nash(payoffs):
        assert is_pure_nash_equilibrium(payoffs, joint)
