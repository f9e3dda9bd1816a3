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
from stmg_envs.matrix.matrix_game import MatrixGame

__all__ = [
    "MatrixGame",
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
