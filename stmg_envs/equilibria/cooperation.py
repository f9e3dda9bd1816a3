"""Bi-AC's cooperation level of a game, and the correlated random games of its Fig. 2.

Zhang et al., "Bi-level Actor-Critic for Multi-agent Coordination" (AAAI 2020), Eq. (6),
define the cooperation level (CL) of a two-player Markov game as the correlation between
the agents' values over all joint policies ``pi``:

.. math::

    CL = \\frac{\\sum_{\\pi} (V_1^{\\pi} - \\bar V_1)(V_2^{\\pi} - \\bar V_2)}
              {\\sqrt{\\sum_{\\pi} (V_1^{\\pi} - \\bar V_1)^2 \\sum_{\\pi} (V_2^{\\pi} - \\bar V_2)^2}},
    \\qquad \\bar V_i = \\frac{1}{|\\pi|} \\sum_{\\pi} V_i^{\\pi},

so a team game has CL 1 and a zero-sum game CL -1. For a normal-form (stage) game we take
the joint policies to be the pure joint actions, each counted once, so ``V_i^pi`` is the
payoff table entry ``payoffs[i][a]`` and CL is the Pearson correlation of the two payoff
tables over their cells. This is the quantity Bi-AC's Fig. 2 varies: it samples every
cell's payoff pair from a bivariate normal with mean 0, variance 1 and covariance ``rho``
(:func:`sample_correlated_game`), whose expected CL is ``rho``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stmg_envs.equilibria.payoffs import as_payoff_tensor

__all__ = ["cooperation_level", "pairwise_cooperation_levels", "sample_correlated_game"]


def pairwise_cooperation_levels(payoffs: npt.ArrayLike) -> np.ndarray:
    """The ``(N, N)`` matrix of Bi-AC cooperation levels between every pair of players.

    Entry ``[i, j]`` is Bi-AC's Eq. (6) applied to players ``i`` and ``j``: the Pearson
    correlation of ``payoffs[i]`` and ``payoffs[j]`` over all joint actions (see
    :mod:`stmg_envs.equilibria.cooperation`). An entry involving a player whose payoff is
    constant over all joint actions is undefined (0/0) and is NaN.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``.

    Returns:
        A symmetric float64 array of shape ``(N, N)`` with values in ``[-1, 1]`` (or NaN).

    Examples:
        >>> from stmg_envs.equilibria import pairwise_cooperation_levels
        >>> pairwise_cooperation_levels([[[1, 0], [0, 2]], [[-1, 0], [0, -2]]]).round(6).tolist()
        [[1.0, -1.0], [-1.0, 1.0]]
    """
    table = as_payoff_tensor(payoffs)
    flat = table.reshape(table.shape[0], -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    centred[np.ptp(flat, axis=1) == 0] = 0.0  # exactly constant rows: no rounding noise from the mean
    # Scale each row by its largest magnitude first so that the products below cannot overflow.
    scale = np.abs(centred).max(axis=1, keepdims=True)
    centred = np.divide(centred, scale, out=np.zeros_like(centred), where=scale > 0)
    covariance = centred @ centred.T
    norms = np.sqrt(np.diag(covariance))
    denominator = np.outer(norms, norms)
    with np.errstate(invalid="ignore", divide="ignore"):
        levels = np.where(denominator > 0, covariance / denominator, np.nan)
    return np.clip(levels, -1.0, 1.0)


def cooperation_level(payoffs: npt.ArrayLike) -> float:
    """Bi-AC's cooperation level (Eq. 6 of Zhang et al., AAAI 2020) of a two-player game.

    The correlation between the two players' payoffs over all pure joint actions: 1 for a
    team game, -1 for a zero-sum game (see :mod:`stmg_envs.equilibria.cooperation` for how the
    paper's sum over joint policies maps to a normal-form game). It is undefined (NaN)
    when either player's payoff is constant, e.g. in a 1x1 game.

    Args:
        payoffs: array-like of shape ``(2, A_1, A_2)``. For more players use
            :func:`pairwise_cooperation_levels`.

    Returns:
        The cooperation level in ``[-1, 1]``, or NaN when undefined.

    Raises:
        ValueError: if the game does not have exactly two players.

    Examples:
        >>> from stmg_envs.equilibria import cooperation_level
        >>> row = [[20, 0, 0], [30, 10, 0], [0, 0, 5]]      # Bi-AC's Maintain game
        >>> column = [[15, 0, 0], [0, 5, 0], [0, 0, 10]]
        >>> round(cooperation_level([row, column]), 3)
        0.375
    """
    table = as_payoff_tensor(payoffs)
    if table.shape[0] != 2:
        raise ValueError(
            f"expected a two-player game for Bi-AC's cooperation level, got {table.shape[0]} players "
            f"(payoffs of shape {table.shape}); use pairwise_cooperation_levels(...) for N players."
        )
    return float(pairwise_cooperation_levels(table)[0, 1])


def sample_correlated_game(
    num_actions: Sequence[int],
    cooperation: float,
    *,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Sample a random game as in Bi-AC's Fig. 2: correlated standard-normal payoffs per joint action.

    For every joint action, the players' payoffs are drawn jointly from a multivariate
    normal with mean 0, variance 1 and correlation ``cooperation`` between every two
    players, independently across joint actions. For two players the expected
    :func:`cooperation_level` of the sample is ``cooperation``; ``cooperation = 1`` gives a
    team game.

    Args:
        num_actions: ``(A_1, ..., A_N)``, the number of actions of each player (``N >= 1``).
        cooperation: the correlation; must lie in ``[-1 / (N - 1), 1]`` (``[-1, 1]`` for two
            players) for the covariance matrix to be valid; 1 gives an exact team game
            (all players share one table) and, for two players, -1 an exact zero-sum game.
        seed: an int seed, a ``np.random.Generator``, or None for fresh entropy.

    Returns:
        A float64 array of shape ``(N, A_1, ..., A_N)``.

    Raises:
        ValueError: on a bad ``num_actions`` or ``cooperation`` out of range.

    Examples:
        >>> from stmg_envs.equilibria import cooperation_level, sample_correlated_game
        >>> game = sample_correlated_game((100, 100), 0.8, seed=0)
        >>> game.shape, abs(cooperation_level(game) - 0.8) < 0.05
        ((2, 100, 100), True)
    """
    try:
        shape = tuple(num_actions) if not isinstance(num_actions, (str, bytes)) else ()
    except TypeError:
        shape = ()
    if not shape or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1 for a in shape):
        raise ValueError(
            f"expected `num_actions` to be a non-empty sequence of positive ints (A_1, ..., A_N), got {num_actions!r}."
        )
    shape = tuple(int(a) for a in shape)
    num_players = len(shape)
    lowest = -1.0 / (num_players - 1) if num_players > 1 else -np.inf
    if (
        isinstance(cooperation, bool)
        or not isinstance(cooperation, (int, float, np.integer, np.floating))
        or not (lowest <= cooperation <= 1.0)
    ):
        raise ValueError(
            f"expected `cooperation` to be a correlation in [{lowest:g}, 1] for {num_players} players, "
            f"got {cooperation!r}."
        )
    rng = np.random.default_rng(seed)
    cells = int(np.prod(shape))
    if cooperation == 1:  # an exact team game, not one equal up to rounding
        common = rng.standard_normal(cells)
        return np.broadcast_to(common, (num_players, cells)).reshape((num_players, *shape)).copy()
    if num_players == 2 and cooperation == -1:  # an exact zero-sum game
        table = rng.standard_normal(cells)
        return np.stack([table, -table]).reshape((2, *shape))
    covariance = np.full((num_players, num_players), float(cooperation))
    np.fill_diagonal(covariance, 1.0)
    # An eigen-decomposition (unlike Cholesky) also copes with the singular case cooperation = lowest.
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    factor = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    normal = rng.standard_normal((num_players, cells))
    samples = factor @ normal
    return samples.reshape((num_players, *shape))
