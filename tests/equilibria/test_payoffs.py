"""Bad-input errors of stmg_envs.equilibria: every public entry point says what it expected and what it got."""

from __future__ import annotations

import numpy as np
import pytest

from stmg_envs.equilibria import (
    as_joint_action,
    as_order,
    as_payoff_tensor,
    classify_outcome,
    common_payoff_tensor,
    cooperation_level,
    pure_nash_equilibria,
    sample_correlated_game,
    stackelberg_equilibrium,
)
from stmg_envs.matrix import MIXING

SOLVERS = [
    pytest.param(stackelberg_equilibrium, id="stackelberg"),
    pytest.param(pure_nash_equilibria, id="nash"),
    pytest.param(lambda p: classify_outcome(p, (0, 0)), id="classify"),
]


def test_valid_tensor_becomes_a_read_only_float_copy():
    """Lists and int arrays are accepted; the result is float64, read-only and detached from the input."""
    source = np.array(MIXING, dtype=np.int64)
    table = as_payoff_tensor(source)
    assert table.dtype == np.float64 and not table.flags.writeable
    source[0, 0, 0] = 99
    assert table[0, 0, 0] == 0


def test_common_payoff_gives_every_player_the_same_table():
    """common_payoff_tensor([[...]]) of shape (A_1..A_N) has shape (N, A_1..A_N) with identical slices."""
    table = common_payoff_tensor(np.arange(6).reshape(2, 3))
    assert table.shape == (2, 2, 3)
    np.testing.assert_array_equal(table[0], table[1])


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    ("payoffs", "error", "message"),
    [
        (np.zeros((3, 3)), ValueError, "expected the first axis of `payoffs` to equal the number of action axes"),
        (np.zeros((3, 2, 2)), ValueError, "got 3"),
        (np.zeros(3), ValueError, "expected `payoffs` of shape (N, A_1, ..., A_N)"),
        (np.zeros((2, 0, 3)), ValueError, "expected at least one action per player"),
        (np.array([[[0, np.nan]], [[0, 1]]]), ValueError, "expected finite payoffs"),
        (np.array([[[0, np.inf]], [[0, 1]]]), ValueError, "expected finite payoffs"),
        (np.ones((2, 2, 2), dtype=bool), TypeError, "got dtype bool"),
        (np.ones((2, 2, 2), dtype=complex), TypeError, "got dtype complex128"),
        ([[["a", "b"]], [["c", "d"]]], TypeError, "expected `payoffs` to hold real numbers"),
        ([[[1, 2]], [[3]]], ValueError, "rectangular numeric array"),
    ],
)
def test_malformed_payoffs_are_rejected(solver, payoffs, error, message):
    """Wrong shapes, empty action sets, NaN/inf and non-real dtypes raise a clear 'expected ..., got ...' error."""
    with pytest.raises(error, match="expected") as info:
        solver(payoffs)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "common", [3.0, np.zeros((0, 2)), [[1.0, np.nan]], np.array([["x"]])], ids=["scalar", "empty", "nan", "str"]
)
def test_malformed_common_payoff_is_rejected(common):
    """common_payoff_tensor rejects scalars, empty axes, non-finite and non-numeric tables."""
    with pytest.raises((ValueError, TypeError), match="expected"):
        common_payoff_tensor(common)


@pytest.mark.parametrize(
    "order", [[0], [0, 0], [0, 2], [1, 0, 2], [True, False], "01", 0, [0.0, 1.0], np.array([[0, 1]])]
)
def test_bad_order_is_rejected(order):
    """Orders that are not a permutation of the player indices raise ValueError naming what was expected."""
    with pytest.raises(ValueError, match=r"expected `order`.*got"):
        stackelberg_equilibrium(MIXING, order)


def test_numpy_order_is_accepted():
    """An order given as a NumPy integer array works like the list."""
    assert as_order(np.array([1, 0]), 2) == (1, 0)
    assert stackelberg_equilibrium(MIXING, np.array([1, 0])).order == (1, 0)


@pytest.mark.parametrize("tie_break", ["pessimistic", "", None, "FIRST"])
def test_unknown_tie_break_is_rejected(tie_break):
    """tie_break must be one of the documented rules."""
    with pytest.raises(ValueError, match=r"expected `tie_break` to be one of .*got"):
        stackelberg_equilibrium(MIXING, tie_break=tie_break)


@pytest.mark.parametrize("atol", [-1e-9, float("nan"), float("inf"), True, "0"])
def test_bad_atol_is_rejected(atol):
    """atol must be a non-negative finite number, for every solver."""
    for call in (
        lambda: stackelberg_equilibrium(MIXING, atol=atol),
        lambda: pure_nash_equilibria(MIXING, atol=atol),
        lambda: classify_outcome(MIXING, (0, 0), atol=atol),
    ):
        with pytest.raises(ValueError, match=r"expected `atol`.*got"):
            call()


@pytest.mark.parametrize(
    "joint_action", [(0,), (0, 0, 0), (3, 0), (0, -1), (0.0, 1), (True, 0), "01", 1, np.zeros((1, 2), dtype=int)]
)
def test_bad_joint_action_is_rejected(joint_action):
    """classify_outcome rejects joint actions of the wrong length, out of range or not integers."""
    with pytest.raises(ValueError, match=r"expected.*got"):
        classify_outcome(MIXING, joint_action)


def test_joint_action_accepts_numpy_integers():
    """NumPy integer scalars are valid actions and come back as Python ints."""
    assert as_joint_action((np.int64(2), np.int8(0)), (3, 3)) == (2, 0)


def test_cooperation_level_needs_two_players():
    """cooperation_level is Bi-AC's two-player definition; other N point to pairwise_cooperation_levels."""
    with pytest.raises(ValueError, match=r"expected a two-player game.*got 3 players.*pairwise_cooperation_levels"):
        cooperation_level(np.zeros((3, 2, 2, 2)))


@pytest.mark.parametrize(
    ("num_actions", "cooperation"),
    [
        ((), 0.0),
        ((0, 3), 0.0),
        ((2.0, 3), 0.0),
        (5, 0.0),
        ((3, 3), 1.5),
        ((3, 3), -1.01),
        ((3, 3, 3), -0.6),
        ((3, 3), float("nan")),
        ((3, 3), True),
    ],
)
def test_sample_correlated_game_rejects_bad_arguments(num_actions, cooperation):
    """Bad shapes and correlations outside [-1/(N-1), 1] raise ValueError."""
    with pytest.raises(ValueError, match=r"expected.*got"):
        sample_correlated_game(num_actions, cooperation, seed=0)
