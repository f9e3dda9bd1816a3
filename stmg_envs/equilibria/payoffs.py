"""Checked construction of normal-form payoff tensors, priority orders and joint actions.

A normal-form game with ``N`` players, player ``i`` having ``A_i`` actions, is stored as a
float64 array ``payoffs`` of shape ``(N, A_1, ..., A_N)``: ``payoffs[i][a_1, ..., a_N]`` is
player ``i``'s payoff for the joint action ``(a_1, ..., a_N)``. Players and actions are
0-based indices; axis ``1 + i`` of ``payoffs`` holds player ``i``'s actions.

Every solver in :mod:`stmg_envs.equilibria` runs its inputs through these helpers, so all of
them accept array-likes (nested lists included) and fail the same way on bad input.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["as_payoff_tensor", "common_payoff_tensor", "as_order", "as_joint_action", "as_tolerance"]


def _as_real_array(value: npt.ArrayLike, name: str) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise if it is not real and numeric."""
    try:
        table = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(
            f"expected `{name}` to be a rectangular numeric array, got {type(value).__name__} "
            f"that NumPy cannot turn into one ({error})."
        ) from error
    if table.dtype == np.bool_ or not (
        np.issubdtype(table.dtype, np.integer) or np.issubdtype(table.dtype, np.floating)
    ):
        raise TypeError(
            f"expected `{name}` to hold real numbers (integer or float dtype), got dtype {table.dtype}. "
            "Convert it with np.asarray(..., dtype=float)."
        )
    table = table.astype(np.float64, copy=True)
    if not np.all(np.isfinite(table)):
        raise ValueError(f"expected finite payoffs in `{name}`, got NaN or infinity; replace them with finite values.")
    return table


def as_payoff_tensor(payoffs: npt.ArrayLike) -> np.ndarray:
    """Validate a payoff tensor of shape ``(N, A_1, ..., A_N)`` and return a read-only float64 copy.

    Args:
        payoffs: array-like of real numbers; ``payoffs[i]`` is player ``i``'s payoff table.

    Returns:
        A read-only ``np.float64`` array with the same shape.

    Raises:
        TypeError: if the entries are not real numbers (bool, complex, object, strings).
        ValueError: if the first axis is not the number of action axes, some player has
            no action, or an entry is NaN or infinite.

    Examples:
        >>> from stmg_envs.equilibria import as_payoff_tensor
        >>> as_payoff_tensor([[[1, 0], [0, 2]], [[1, 0], [0, 2]]]).shape
        (2, 2, 2)
    """
    table = _as_real_array(payoffs, "payoffs")
    if table.ndim < 2:
        raise ValueError(
            f"expected `payoffs` of shape (N, A_1, ..., A_N) with N >= 1 players, got shape {table.shape}. "
            "For a team game pass the common table to common_payoff_tensor(...) first."
        )
    num_players = table.ndim - 1
    if table.shape[0] != num_players:
        raise ValueError(
            f"expected the first axis of `payoffs` to equal the number of action axes ({num_players} for "
            f"shape {table.shape}), got {table.shape[0]}. `payoffs` must have shape (N, A_1, ..., A_N); "
            "for a team game of shape (A_1, ..., A_N) use common_payoff_tensor(...)."
        )
    if min(table.shape[1:]) < 1:
        raise ValueError(f"expected at least one action per player, got `payoffs` of shape {table.shape}.")
    table.setflags(write=False)
    return table


def common_payoff_tensor(common_payoff: npt.ArrayLike) -> np.ndarray:
    """Turn a team game's common table of shape ``(A_1, ..., A_N)`` into a ``(N, A_1, ..., A_N)`` tensor.

    Every player receives the same payoff, so ``result[i] == common_payoff`` for all ``i``.

    Args:
        common_payoff: array-like of real numbers with one axis per player.

    Returns:
        A read-only ``np.float64`` array of shape ``(N, A_1, ..., A_N)``.

    Raises:
        TypeError: if the entries are not real numbers.
        ValueError: if ``common_payoff`` is a scalar, some player has no action, or an
            entry is NaN or infinite.

    Examples:
        >>> from stmg_envs.equilibria import common_payoff_tensor
        >>> common_payoff_tensor([[1, 0], [0, 2]]).shape
        (2, 2, 2)
    """
    table = _as_real_array(common_payoff, "common_payoff")
    if table.ndim < 1:
        raise ValueError(
            f"expected `common_payoff` of shape (A_1, ..., A_N) with one axis per player, got a scalar {table!r}."
        )
    return as_payoff_tensor(np.broadcast_to(table, (table.ndim, *table.shape)))


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def as_order(order: Sequence[int] | None, num_players: int) -> tuple[int, ...]:
    """Validate a priority order of player indices (first acts first); ``None`` means ``0, 1, ..., N-1``.

    Args:
        order: a permutation of ``range(num_players)``, or ``None``.
        num_players: the number of players ``N``.

    Returns:
        The order as a tuple of Python ints.

    Raises:
        ValueError: if ``order`` is not a permutation of ``0, ..., N-1``.

    Examples:
        >>> from stmg_envs.equilibria import as_order
        >>> as_order(None, 3), as_order([2, 0, 1], 3)
        ((0, 1, 2), (2, 0, 1))
    """
    if order is None:
        return tuple(range(num_players))
    if isinstance(order, (str, bytes)) or not isinstance(order, (Sequence, np.ndarray)):
        raise ValueError(
            f"expected `order` to be a sequence of player indices (a permutation of 0..{num_players - 1}) "
            f"or None, got {order!r}."
        )
    if isinstance(order, np.ndarray) and order.ndim != 1:
        raise ValueError(f"expected `order` to be one-dimensional, got an array of shape {order.shape}.")
    items = list(order)
    if not all(_is_integer(item) for item in items) or sorted(int(i) for i in items) != list(range(num_players)):
        raise ValueError(
            f"expected `order` to be a permutation of the player indices 0..{num_players - 1} "
            f"(first acts first), got {order!r}."
        )
    return tuple(int(i) for i in items)


def as_joint_action(joint_action: Sequence[int], num_actions: Sequence[int]) -> tuple[int, ...]:
    """Validate a joint action (one action index per player, in player index order).

    Args:
        joint_action: ``(a_1, ..., a_N)`` with ``0 <= a_i < A_i``.
        num_actions: ``(A_1, ..., A_N)``, e.g. ``payoffs.shape[1:]``.

    Returns:
        The joint action as a tuple of Python ints.

    Raises:
        ValueError: if the length is not ``N`` or an action is not an integer in range.

    Examples:
        >>> from stmg_envs.equilibria import as_joint_action
        >>> as_joint_action([0, 2], (3, 3))
        (0, 2)
    """
    shape = tuple(int(a) for a in num_actions)
    if isinstance(joint_action, (str, bytes)) or not isinstance(joint_action, (Sequence, np.ndarray)):
        raise ValueError(
            f"expected `joint_action` to be a sequence of {len(shape)} action indices, got {joint_action!r}."
        )
    if isinstance(joint_action, np.ndarray) and joint_action.ndim != 1:
        raise ValueError(
            f"expected `joint_action` to be one-dimensional ({len(shape)} entries), got an array of shape "
            f"{joint_action.shape}."
        )
    items = list(joint_action)
    if len(items) != len(shape):
        raise ValueError(
            f"expected `joint_action` with one action per player ({len(shape)} entries), got {len(items)}: "
            f"{joint_action!r}."
        )
    for player, (action, size) in enumerate(zip(items, shape)):
        if not _is_integer(action) or not 0 <= int(action) < size:
            raise ValueError(
                f"expected player {player}'s action to be an integer in [0, {size - 1}], got {action!r} "
                f"in joint action {joint_action!r}."
            )
    return tuple(int(a) for a in items)


def as_tolerance(atol: float) -> float:
    """Validate a payoff tolerance: payoffs closer than ``atol`` count as tied.

    Raises:
        ValueError: if ``atol`` is not a non-negative finite real number.

    Examples:
        >>> from stmg_envs.equilibria.payoffs import as_tolerance
        >>> as_tolerance(0)
        0.0
    """
    if isinstance(atol, (bool, np.bool_)) or not isinstance(atol, numbers.Real) or not np.isfinite(atol) or atol < 0:
        raise ValueError(f"expected `atol` to be a non-negative finite number, got {atol!r}.")
    return float(atol)
