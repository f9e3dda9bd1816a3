"""Pure Nash equilibria of N-player normal-form games, vectorised with NumPy.

A joint action ``a`` is a pure Nash equilibrium (NE) when no player gains by deviating
alone: ``u_i(a) >= u_i(b, a_{-i}) - atol`` for every player ``i`` and action ``b``. It is a
*strict* NE when every unilateral deviation loses more than ``atol``:
``u_i(b, a_{-i}) < u_i(a) - atol`` for all ``b != a_i``. An NE that is not strict is *weak*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stmg_envs.equilibria.payoffs import as_joint_action, as_payoff_tensor, as_tolerance

__all__ = ["pure_nash_mask", "pure_nash_equilibria", "is_pure_nash_equilibrium"]


def pure_nash_mask(payoffs: npt.ArrayLike, *, strict: bool = False, atol: float = 0.0) -> np.ndarray:
    """Boolean mask of shape ``(A_1, ..., A_N)`` marking the pure Nash equilibria.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``; ``payoffs[i]`` is player ``i``'s payoff.
        strict: mark only strict equilibria (every unilateral deviation loses more than ``atol``).
        atol: payoff differences up to ``atol`` count as ties (default 0: exact comparison).

    Returns:
        ``mask[a]`` is True iff the joint action ``a`` is a (strict, if asked) pure NE.

    Examples:
        >>> from stmg_envs.equilibria import common_payoff_tensor, pure_nash_mask
        >>> pure_nash_mask(common_payoff_tensor([[1, 0], [0, 2]])).astype(int).tolist()
        [[1, 0], [0, 1]]
    """
    table = as_payoff_tensor(payoffs)
    tolerance = as_tolerance(atol)
    mask = np.ones(table.shape[1:], dtype=bool)
    for player in range(table.shape[0]):
        own = table[player]
        best = own.max(axis=player, keepdims=True)
        if not strict:
            mask &= own >= best - tolerance
            continue
        if own.shape[player] == 1:  # no deviation exists: the only action is strictly best
            continue
        runner_up = np.take(np.sort(own, axis=player), [-2], axis=player)
        mask &= (own == best) & (runner_up < best - tolerance)
    return mask


def pure_nash_equilibria(payoffs: npt.ArrayLike, *, strict: bool = False, atol: float = 0.0) -> list[tuple[int, ...]]:
    """All pure Nash equilibria, as joint actions in lexicographic (row-major) order.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``; ``payoffs[i]`` is player ``i``'s payoff.
        strict: return only strict equilibria (see :mod:`stmg_envs.equilibria.nash`).
        atol: payoff differences up to ``atol`` count as ties (default 0: exact comparison).

    Returns:
        A list of joint actions (tuples of ints in player index order); empty if none exists.

    Raises:
        TypeError: if ``payoffs`` is not a real numeric array.
        ValueError: on a malformed ``payoffs`` or ``atol``.

    Examples:
        >>> from stmg_envs.equilibria import common_payoff_tensor, pure_nash_equilibria
        >>> escape = common_payoff_tensor([[15, 10, 0], [10, 10, 0], [0, 0, 30]])
        >>> pure_nash_equilibria(escape)
        [(0, 0), (1, 1), (2, 2)]
        >>> pure_nash_equilibria(escape, strict=True)   # (1, 1) is only a weak NE
        [(0, 0), (2, 2)]
    """
    mask = pure_nash_mask(payoffs, strict=strict, atol=atol)
    return [tuple(int(a) for a in index) for index in np.argwhere(mask)]


def is_pure_nash_equilibrium(
    payoffs: npt.ArrayLike, joint_action: Sequence[int], *, strict: bool = False, atol: float = 0.0
) -> bool:
    """Whether one joint action is a (strict, if asked) pure Nash equilibrium.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``.
        joint_action: one action index per player, in player index order.
        strict: require every unilateral deviation to lose more than ``atol``.
        atol: payoff differences up to ``atol`` count as ties.

    Examples:
        >>> from stmg_envs.equilibria import common_payoff_tensor, is_pure_nash_equilibrium
        >>> is_pure_nash_equilibrium(common_payoff_tensor([[1, 0], [0, 2]]), (0, 0))
        True
    """
    table = as_payoff_tensor(payoffs)
    action = as_joint_action(joint_action, table.shape[1:])
    return bool(pure_nash_mask(table, strict=strict, atol=atol)[action])
