"""Tests for stmg_envs.equilibria.outcome.classify_outcome: labels for the papers' games and consistency."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stmg_envs.equilibria import (
    TIE_BREAKS,
    classify_outcome,
    common_payoff_tensor,
    pure_nash_equilibria,
    stackelberg_equilibrium,
)
from stmg_envs.matrix import ESCAPE, MAINTAIN, MIXING, PENALTY_K_VALUES, penalty_payoff

from .strategies import GAME_SETTINGS, games_with_order

_PENALTY_TAGS = {(0, 2): "SE", (1, 1): "NE[1]", (2, 0): "NE[2]", (0, 0): "none", (2, 2): "none", (1, 0): "none"}


@pytest.mark.parametrize("k", PENALTY_K_VALUES)
@pytest.mark.parametrize(("joint_action", "tag"), sorted(_PENALTY_TAGS.items()))
def test_penalty_labels(k, joint_action, tag):
    """Penalty(k): (a1, a3) is the SE, (a2, a2) and (a3, a1) the other NE, the rest neither."""
    assert classify_outcome(common_payoff_tensor(penalty_payoff(k)), joint_action).tag == tag


def test_penalty_se_is_also_flagged_as_a_nash_equilibrium():
    """Label precedence is SE over NE, but is_nash and nash_index still record that the SE is NE number 0."""
    result = classify_outcome(common_payoff_tensor(penalty_payoff(-100)), (0, 2))
    assert (result.label, result.is_nash, result.is_strict_nash, result.nash_index) == ("SE", True, True, 0)
    assert result.nash_equilibria == ((0, 2), (1, 1), (2, 0))


def test_mixing_labels():
    """Mixing: (a1, a1) is the SE (not an NE); (a2, a2) the NE; (a3, a3) neither."""
    assert classify_outcome(MIXING, (0, 0)).label == "SE"
    assert not classify_outcome(MIXING, (0, 0)).is_nash
    assert classify_outcome(MIXING, (1, 1)).tag == "NE[0]"
    assert classify_outcome(MIXING, (2, 2)).label == "none"


def test_escape_weak_equilibrium_is_labelled_ne_but_not_strict():
    """Escape: (a2, a2) is labelled NE (index 1) and flagged as not strict; (a3, a3) is the SE."""
    game = common_payoff_tensor(ESCAPE)
    weak = classify_outcome(game, (1, 1))
    assert (weak.label, weak.nash_index, weak.is_strict_nash) == ("NE", 1, False)
    assert classify_outcome(game, (2, 2)).label == "SE"
    assert classify_outcome(game, (0, 0)).tag == "NE[0]"


def test_maintain_se_is_not_a_nash_equilibrium():
    """Maintain: the SE (a1, a1) = (20, 15) is not an NE; the label is SE with is_nash False."""
    result = classify_outcome(MAINTAIN, (0, 0))
    assert (result.label, result.is_nash, result.nash_index, result.payoffs) == ("SE", False, None, (20.0, 15.0))


def test_order_decides_which_joint_action_is_the_se():
    """Maintain's (a3, a3) is the SE when the column player leads and just an NE when the row player leads."""
    assert classify_outcome(MAINTAIN, (2, 2), order=[1, 0]).label == "SE"
    assert classify_outcome(MAINTAIN, (2, 2)).tag == "NE[1]"


def test_equally_good_outcome_matches_se_payoffs_without_being_the_se():
    """A second global optimum of a team game is labelled NE, with matches_stackelberg_payoffs True."""
    result = classify_outcome(common_payoff_tensor([[5, 0], [0, 5]]), (1, 1))
    assert (result.label, result.matches_stackelberg_payoffs) == ("NE", True)
    assert result.stackelberg.joint_action == (0, 0)


def test_tie_rule_is_passed_to_the_se():
    """The tie rule chooses the reference SE, hence the label."""
    payoffs = np.array([[[0, 5], [3, 3]], [[1, 1], [0, 1]]])  # indifferent follower after row 0
    assert classify_outcome(payoffs, (0, 1)).label == "SE"
    assert classify_outcome(payoffs, (0, 1), tie_break="leader_pessimistic").label != "SE"


def test_result_is_frozen_and_accepts_numpy_actions():
    """NumPy integer actions are accepted and stored as Python ints in an immutable result."""
    result = classify_outcome(MIXING, np.array([1, 1]))
    assert result.joint_action == (1, 1) and all(type(a) is int for a in result.joint_action)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.label = "SE"  # type: ignore[misc]


@GAME_SETTINGS
@given(game=games_with_order(), tie_break=st.sampled_from(TIE_BREAKS), data=st.data())
def test_fields_agree_with_the_solvers(game, tie_break, data):
    """On random games the label, flags and NE index agree with stackelberg_equilibrium and pure_nash_equilibria."""
    payoffs, order = game
    joint = tuple(data.draw(st.integers(0, size - 1), label=f"a{i}") for i, size in enumerate(payoffs.shape[1:]))
    result = classify_outcome(payoffs, joint, order, tie_break=tie_break)
    se = stackelberg_equilibrium(payoffs, order, tie_break=tie_break)
    nash = pure_nash_equilibria(payoffs)
    assert result.stackelberg == se
    assert result.is_stackelberg == (joint == se.joint_action)
    assert result.is_nash == (joint in nash) and result.nash_equilibria == tuple(nash)
    assert result.nash_index == (nash.index(joint) if joint in nash else None)
    assert result.label == ("SE" if joint == se.joint_action else "NE" if joint in nash else "none")
    assert result.matches_stackelberg_payoffs == (result.payoffs == se.payoffs)
    assert (not result.is_strict_nash) or joint in pure_nash_equilibria(payoffs, strict=True)
