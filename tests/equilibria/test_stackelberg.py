"""Tests for stmg_envs.equilibria.stackelberg: the papers' games, tie rules, and brute force on random games."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from stmg_envs.equilibria import (
    TIE_BREAKS,
    StackelbergEquilibrium,
    common_payoff_tensor,
    decisive_margin,
    stackelberg_equilibrium,
)
from stmg_envs.matrix import ESCAPE, MAINTAIN, MIXING, PENALTY_K_VALUES, penalty_payoff
from stmg_envs.matrix.generators import generate

from .reference import extensive_form_stackelberg, recursive_stackelberg
from .strategies import GAME_SETTINGS, SMALL_INTS, games_with_order, small_extensive_games

# --- the papers' matrix games (FACTS table; agent_0 = row = leader) ---------------------------------


@pytest.mark.parametrize("k", PENALTY_K_VALUES)
@pytest.mark.parametrize("tie_break", TIE_BREAKS)
def test_penalty_se_is_a1_a3_with_payoff_10_for_every_k(k, tie_break):
    """Penalty(k): the row-led SE is (a1, a3) = indices (0, 2) paying 10 to both, whatever k and tie rule."""
    se = stackelberg_equilibrium(common_payoff_tensor(penalty_payoff(k)), tie_break=tie_break)
    assert se.joint_action == (0, 2)
    assert se.payoffs == (10.0, 10.0)


def test_mixing_se_is_a1_a1_paying_0_and_5():
    """Mixing: the row-led SE is (a1, a1) with payoffs (0, 5) (average 2.5)."""
    se = stackelberg_equilibrium(MIXING)
    assert (se.joint_action, se.payoffs) == ((0, 0), (0.0, 5.0))


def test_escape_se_is_a3_a3_paying_30():
    """Escape: the row-led SE is (a3, a3) = 30, the global optimum of the team game."""
    se = stackelberg_equilibrium(common_payoff_tensor(ESCAPE))
    assert (se.joint_action, se.payoffs) == ((2, 2), (30.0, 30.0))


def test_maintain_se_is_a1_a1_paying_20_and_15():
    """Maintain: the row-led SE is (a1, a1) = (20, 15)."""
    se = stackelberg_equilibrium(MAINTAIN)
    assert (se.joint_action, se.payoffs) == ((0, 0), (20.0, 15.0))


def test_maintain_with_the_column_player_leading():
    """Order (1, 0): the column player leads, and Maintain's SE becomes (a3, a3) = (5, 10)."""
    se = stackelberg_equilibrium(MAINTAIN, order=[1, 0])
    assert (se.joint_action, se.payoffs, se.order, se.leader) == ((2, 2), (5.0, 10.0), (1, 0), 1)


# --- the tie rules, on hand-made games --------------------------------------------------------------

# The follower (column) is indifferent after row 0; after row 1 it strictly prefers column 1 (leader gets 3).
_LOW_INDEX_BAD_FOR_LEADER = np.array([[[0, 5], [3, 3]], [[1, 1], [0, 1]]])
_LOW_INDEX_GOOD_FOR_LEADER = np.array([[[5, 0], [3, 3]], [[1, 1], [0, 1]]])


@pytest.mark.parametrize(
    ("payoffs", "tie_break", "expected"),
    [
        (_LOW_INDEX_BAD_FOR_LEADER, "optimistic", (0, 1)),
        (_LOW_INDEX_BAD_FOR_LEADER, "leader_pessimistic", (1, 1)),
        (_LOW_INDEX_BAD_FOR_LEADER, "first", (1, 1)),
        (_LOW_INDEX_GOOD_FOR_LEADER, "optimistic", (0, 0)),
        (_LOW_INDEX_GOOD_FOR_LEADER, "leader_pessimistic", (1, 1)),
        (_LOW_INDEX_GOOD_FOR_LEADER, "first", (0, 0)),
    ],
)
def test_two_player_tie_rules(payoffs, tie_break, expected):
    """An indifferent follower favours the leader (optimistic), hurts it (pessimistic) or takes index 0 (first)."""
    assert stackelberg_equilibrium(payoffs, tie_break=tie_break).joint_action == expected


@pytest.mark.parametrize(
    ("outcomes", "tie_break", "expected_action"),
    [
        # Player 2 (last) is indifferent; its two actions give (p0, p1) = (1, 0) or (0, 9).
        (((1, 0, 7), (0, 9, 7)), "optimistic", 0),  # the top leader p0 comes first
        (((1, 0, 7), (0, 9, 7)), "leader_pessimistic", 1),
        (((1, 0, 7), (0, 9, 7)), "first", 0),
        # p0 is indifferent too, so p1's payoff decides.
        (((1, 0, 7), (1, 9, 7)), "optimistic", 1),
        (((1, 0, 7), (1, 9, 7)), "leader_pessimistic", 0),
        (((1, 9, 7), (1, 0, 7)), "first", 0),
    ],
)
def test_three_player_ties_follow_the_leaders_lexicographically(outcomes, tie_break, expected_action):
    """With N = 3 the last mover breaks ties by p0's payoff first, then p1's, then the lowest index."""
    payoffs = np.zeros((3, 1, 1, 2))
    payoffs[:, 0, 0, 0] = outcomes[0]
    payoffs[:, 0, 0, 1] = outcomes[1]
    se = stackelberg_equilibrium(payoffs, tie_break=tie_break)
    assert se.joint_action == (0, 0, expected_action)


def test_leader_ties_go_to_the_lowest_index():
    """The top leader has nobody to favour: among equally good actions it takes the lowest index."""
    payoffs = common_payoff_tensor([[0, 1], [1, 0], [0, 1]])
    for tie_break in TIE_BREAKS:
        assert stackelberg_equilibrium(payoffs, tie_break=tie_break).joint_action == (0, 1)


def test_atol_merges_near_ties():
    """Follower payoffs 1 and 1 + 1e-12 are a tie under atol=1e-9 (optimistic then favours the leader), not under 0."""
    payoffs = np.array([[[0.0, 5.0]], [[1.0 + 1e-12, 1.0]]])
    assert stackelberg_equilibrium(payoffs).joint_action == (0, 0)
    assert stackelberg_equilibrium(payoffs, atol=1e-9).joint_action == (0, 1)


def test_single_player_picks_its_best_action():
    """N = 1: the SE is the player's best action (lowest index among ties)."""
    assert stackelberg_equilibrium([[3, 7, 7]]).joint_action == (1,)


def test_result_is_a_frozen_dataclass_of_python_scalars():
    """The result is immutable and holds plain ints/floats, so it can be hashed, compared and logged."""
    se = stackelberg_equilibrium(np.array(MIXING, dtype=np.int32))
    assert isinstance(se, StackelbergEquilibrium)
    assert all(type(a) is int for a in se.joint_action) and all(type(v) is float for v in se.payoffs)
    assert se.tie_break == "optimistic" and se.order == (0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        se.order = (1, 0)  # type: ignore[misc]
    assert hash(se) == hash(stackelberg_equilibrium(MIXING))


def test_input_array_is_not_modified():
    """Solving must not write into the caller's array."""
    payoffs = np.array(MAINTAIN)
    stackelberg_equilibrium(payoffs, order=[1, 0])
    np.testing.assert_array_equal(payoffs, MAINTAIN)


# --- random games against independent brute force ----------------------------------------------------


@GAME_SETTINGS
@given(game=small_extensive_games(), tie_break=st.sampled_from(TIE_BREAKS))
def test_matches_enumeration_of_all_extensive_form_profiles(game, tie_break):
    """N = 2, 3: equals the path of the one strategy profile in which every mover obeys the tie rule everywhere."""
    payoffs, order = game
    se = stackelberg_equilibrium(payoffs, order, tie_break=tie_break)
    assert se.joint_action == extensive_form_stackelberg(payoffs, order, tie_break)


@GAME_SETTINGS
@given(game=games_with_order(), tie_break=st.sampled_from(TIE_BREAKS))
def test_matches_recursive_backward_induction(game, tie_break):
    """N = 2..4, 1..4 actions each: equals plain recursive backward induction; payoffs are those of the joint action."""
    payoffs, order = game
    se = stackelberg_equilibrium(payoffs, order, tie_break=tie_break)
    assert se.joint_action == recursive_stackelberg(payoffs, order, tie_break)
    assert se.payoffs == tuple(float(v) for v in payoffs[(slice(None), *se.joint_action)])
    assert se.order == order


@GAME_SETTINGS
@given(game=games_with_order(), tie_break=st.sampled_from(TIE_BREAKS), data=st.data())
def test_relabelling_players_relabels_the_equilibrium(game, tie_break, data):
    """Renumbering the players (payoff axes and order alike) renumbers the SE and changes nothing else."""
    payoffs, order = game
    n = payoffs.shape[0]
    perm = data.draw(st.permutations(range(n)), label="perm")  # new player j is old player perm[j]
    relabelled = np.transpose(payoffs[list(perm)], (0, *(1 + p for p in perm)))
    new_index = {old: new for new, old in enumerate(perm)}
    new_order = tuple(new_index[p] for p in order)
    original = stackelberg_equilibrium(payoffs, order, tie_break=tie_break)
    renamed = stackelberg_equilibrium(relabelled, new_order, tie_break=tie_break)
    assert renamed.joint_action == tuple(original.joint_action[perm[j]] for j in range(n))


@st.composite
def _team_games(draw):
    n = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    common = draw(hnp.arrays(np.int64, shape, elements=SMALL_INTS))
    return common, tuple(draw(st.permutations(range(n))))


@GAME_SETTINGS
@given(game=_team_games(), tie_break=st.sampled_from(TIE_BREAKS))
def test_team_game_se_reaches_the_global_optimum_under_any_order(game, tie_break):
    """Common payoff: the SE under any order and tie rule attains the maximum of the common table."""
    common, order = game
    se = stackelberg_equilibrium(common_payoff_tensor(common), order, tie_break=tie_break)
    assert common[se.joint_action] == common.max()


@pytest.mark.parametrize("game", ["general-sum:3:0", "general-sum:4:0", "general-sum:5:0"])
def test_the_decisive_margin_is_the_smallest_gap_whose_swap_changes_the_se(game):
    """decisive_margin agrees with a brute force over every context: swap the reply for the mover's next-best
    action in a recursive backward induction (the ranks above re-solving), keep the gaps whose swap changes the
    SE, take the smallest; a gap whose swap leaves the SE alone does not count (each game has smaller ones)."""
    payoffs = np.asarray(generate(game).payoffs)
    n = payoffs.shape[0]

    def solve(swapped: tuple[int, ...] | None, prefix: tuple[int, ...] = ()) -> tuple[int, ...]:
        if len(prefix) == n:
            return prefix
        outcomes = [solve(swapped, (*prefix, a)) for a in range(3)]
        ranked = np.argsort([-payoffs[len(prefix)][o] for o in outcomes], kind="stable")
        return outcomes[ranked[1] if prefix == swapped else ranked[0]]

    se = solve(None)
    gaps, decisive = [], []
    for context in itertools.chain.from_iterable(itertools.product(range(3), repeat=k) for k in range(n)):
        values = sorted((payoffs[len(context)][solve(None, (*context, a))] for a in range(3)), reverse=True)
        gaps.append(values[0] - values[1])
        if solve(context) != se:
            decisive.append((values[0] - values[1], len(context), context))
    margin, rank, context = min(decisive)
    found = decisive_margin(payoffs)
    assert found.margin == pytest.approx(margin) and (found.rank, found.context) == (rank, context)
    assert min(gaps) < margin  # a smaller gap exists whose swap does not change the SE


def test_the_decisive_margin_of_the_papers_games_and_its_edge_cases():
    """Penalty's SE hinges on the leader's 10 against 8 (gap 2) for every k; Mixing's on agent_1's reply to a1;
    a tie that decides the SE gives 0; a game of one-action players has no decisive gap (inf); bad tie rules are
    refused."""
    for k in PENALTY_K_VALUES:
        assert decisive_margin(common_payoff_tensor(penalty_payoff(k))) == (2.0, 0, ())
    assert decisive_margin(MIXING) == (1.0, 1, (0,))
    tied = np.zeros((2, 2, 1))  # the leader is indifferent: the tie rule (lowest index) picks its action
    assert decisive_margin(tied) == (0.0, 0, ())
    assert decisive_margin(np.ones((2, 1, 1))) == (float("inf"), None, None)
    with pytest.raises(ValueError):
        decisive_margin(MIXING, tie_break="coin")
