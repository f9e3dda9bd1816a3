"""The named matrix games of the STEP and Bi-AC papers.

All are two-agent, three-action games; ``agent_0`` is the row player (the
leader under the default priority order) and ``agent_1`` the column player.
Actions ``0, 1, 2`` are the papers' ``a1, a2, a3``.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from stmg_envs.matrix.matrix_game import MatrixGame

__all__ = [
    "penalty_payoff",
    "PENALTY_K_VALUES",
    "MIXING",
    "ESCAPE",
    "MAINTAIN",
    "penalty",
    "mixing",
    "escape",
    "maintain",
    "matrix",
]

#: The values of ``k`` the STEP paper sweeps (Figure 5).
PENALTY_K_VALUES = (0.0, -25.0, -50.0, -75.0, -100.0)


def penalty_payoff(k: float = -100.0) -> np.ndarray:
    """The Penalty game's common payoff ``[[k, 0, 10], [0, 2, 0], [8, 0, k]]``.

    The row ``8, 0, k`` follows the paper's Table/figures (its text misprints 10).
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or not np.isfinite(k):
        raise ValueError(f"penalty expected a finite real k (the paper uses 0 to -100), got {k!r}.")
    return np.array([[k, 0, 10], [0, 2, 0], [8, 0, k]], dtype=np.float64)


#: Mixing (general-sum): payoffs[0] is the row player's, payoffs[1] the column player's.
MIXING = np.array(
    [
        [[0, -10, -8], [-5, -5, -15], [5, -10, -10]],
        [[5, -5, 4], [-10, 0, -5], [0, -5, 5]],
    ],
    dtype=np.float64,
)
#: Escape (Bi-AC Table 1a), a team game.
ESCAPE = np.array([[15, 10, 0], [10, 10, 0], [0, 0, 30]], dtype=np.float64)
#: Maintain (Bi-AC Table 1b, general-sum).
MAINTAIN = np.array(
    [
        [[20, 0, 0], [30, 10, 0], [0, 0, 5]],
        [[15, 0, 0], [0, 5, 0], [0, 0, 10]],
    ],
    dtype=np.float64,
)
for _table in (MIXING, ESCAPE, MAINTAIN):
    _table.setflags(write=False)


def penalty(k: float = -100.0, *, episode_length: int = 25, render_mode: str | None = None) -> MatrixGame:
    """Penalty game (STEP paper, Fig. 5): a team game whose Stackelberg equilibrium (a1, a3) pays 10.

    Pure Nash equilibria: (a1, a3) = 10, (a2, a2) = 2, (a3, a1) = 8. Miscoordination
    on (a1, a1) or (a3, a3) costs ``k``; the lower ``k``, the more independent
    learners are drawn to the safe but poor (a2, a2).

    Examples:
        >>> from stmg_envs.matrix import penalty
        >>> env = penalty(k=-50)
        >>> env.payoffs[0, 0, 2]
        np.float64(10.0)
    """
    return MatrixGame(
        common_payoff=penalty_payoff(k), episode_length=episode_length, render_mode=render_mode, name="penalty_v0"
    )


def mixing(*, episode_length: int = 25, render_mode: str | None = None) -> MatrixGame:
    """Mixing game (STEP paper, Table 1): general-sum; only NE (a2, a2) = (-5, 0); SE (a1, a1) = (0, 5)."""
    return MatrixGame(MIXING, episode_length=episode_length, render_mode=render_mode, name="mixing_v0")


def escape(*, episode_length: int = 25, render_mode: str | None = None) -> MatrixGame:
    """Escape game (Bi-AC, Table 1a): team game; NE (a1, a1) = 15 and (a3, a3) = 30; SE (a3, a3)."""
    return MatrixGame(common_payoff=ESCAPE, episode_length=episode_length, render_mode=render_mode, name="escape_v0")


def maintain(*, episode_length: int = 25, render_mode: str | None = None) -> MatrixGame:
    """Maintain game (Bi-AC, Table 1b): general-sum; NE (a2, a2), (a3, a3); SE (a1, a1) = (20, 15), not an NE."""
    return MatrixGame(MAINTAIN, episode_length=episode_length, render_mode=render_mode, name="maintain_v0")


def matrix(
    payoffs: ArrayLike | None = None,
    *,
    common_payoff: ArrayLike | None = None,
    generator: str | None = None,
    episode_length: int = 25,
    render_mode: str | None = None,
) -> MatrixGame:
    """Entry point of ``stmg/Matrix-v0``: :class:`MatrixGame` of the game given by exactly one of ``payoffs``,
    ``common_payoff`` or ``generator``.

    Args:
        payoffs: ``(N, A_1, ..., A_N)`` payoffs, ``payoffs[i]`` agent ``i``'s.
        common_payoff: ``(A_1, ..., A_N)`` payoffs of a team game (every agent's).
        generator: A generated game's name ``"<generator>:<players>:<seed>"`` (e.g. ``"team-trap:3:0"``;
            :func:`stmg_envs.matrix.generators.generate` builds it).
        episode_length: Steps per episode.
        render_mode: ``None`` or ``"ansi"``.

    Raises:
        TypeError: none of the three given, or ``generator`` not a string.
        ValueError: more than one given, or a malformed generated game's name.

    ## Version history
    * v0: first version (before 0.1.0: no game is an error, no longer a 2x2 game; ``generator=`` added).

    Examples:
        >>> import numpy as np
        >>> from stmg_envs.matrix.classic import matrix
        >>> env = matrix(np.zeros((3, 2, 2, 2)))   # three agents, two actions each
        >>> env.possible_agents
        ['agent_0', 'agent_1', 'agent_2']
        >>> matrix(generator="team-trap:3:0").payoffs.shape
        (3, 3, 3, 3)
    """
    given = [
        name
        for name, value in (("payoffs", payoffs), ("common_payoff", common_payoff), ("generator", generator))
        if value is not None
    ]
    if not given:
        raise TypeError(
            "stmg/Matrix-v0 expected a game, got none: pass payoffs= (shape (N, A_1, ..., A_N), payoffs[i] agent i's), "
            "common_payoff= (shape (A_1, ..., A_N), a team game) or generator= (a generated game's name such as "
            "'team-trap:3:0', see stmg_envs.matrix.generators)."
        )
    if len(given) > 1:
        raise ValueError(
            f"stmg/Matrix-v0 expected exactly one of payoffs=, common_payoff= or generator=, got {' and '.join(given)}."
        )
    if generator is not None:
        if not isinstance(generator, str):
            raise TypeError(
                f"stmg/Matrix-v0 expected generator= to be a generated game's name such as 'team-trap:3:0', got "
                f"{generator!r} ({type(generator).__name__})."
            )
        from stmg_envs.matrix.generators import generate

        payoffs = generate(generator).payoffs
    return MatrixGame(payoffs, common_payoff=common_payoff, episode_length=episode_length, render_mode=render_mode)
