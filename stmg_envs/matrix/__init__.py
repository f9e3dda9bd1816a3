"""Repeated matrix games: :class:`MatrixGame` and the named games of the papers."""

from stmg_envs.matrix.classic import (
    ESCAPE,
    MAINTAIN,
    MIXING,
    PENALTY_K_VALUES,
    escape,
    maintain,
    matrix,
    mixing,
    penalty,
    penalty_payoff,
)
from stmg_envs.matrix.iterated import ITERATED_GAMES, IteratedMatrixGame, iterated_matrix
from stmg_envs.matrix.matrix_game import MatrixGame

__all__ = [
    "MatrixGame",
    "IteratedMatrixGame",
    "iterated_matrix",
    "ITERATED_GAMES",
    "penalty",
    "mixing",
    "escape",
    "maintain",
    "matrix",
    "penalty_payoff",
    "PENALTY_K_VALUES",
    "MIXING",
    "ESCAPE",
    "MAINTAIN",
]
