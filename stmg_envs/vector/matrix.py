"""The native NumPy backend of the matrix games: every copy's step in a few array operations.

:class:`MatrixBackend` runs ``K`` copies of a :class:`~stmg_envs.matrix.MatrixGame` (Penalty,
Mixing, Escape, Maintain, ``stmg/Matrix-v0``): the rewards of all copies are one gather from the
payoff tensor, the episode clock one array. It is tested equal to the generic backend on the
same actions (``tests/vector/test_matrix.py``). Subclasses of ``MatrixGame`` (the iterated
games, whose observations and infos change each step) keep the generic backend.

Examples:
    >>> import numpy as np
    >>> from stmg_envs.matrix import penalty
    >>> backend = MatrixBackend(penalty(k=-50, episode_length=1), num_copies=3)
    >>> backend.reset(np.arange(3), [None] * 3)
    {}
    >>> out = backend.step(np.array([[0, 2], [0, 0], [1, 1]]))
    >>> out.rewards[:, 0].tolist(), out.truncations.all(), backend.live.any()
    ([10.0, -50.0, 2.0], np.True_, np.False_)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stmg_envs.matrix.matrix_game import MatrixGame
from stmg_envs.vector.backend import Backend, SparseInfos, StepArrays
from stmg_envs.vector.generic import layout_of

__all__ = ["MatrixBackend"]


class MatrixBackend(Backend):
    """``K`` copies of a ``MatrixGame`` as arrays (see the module docstring).

    Args:
        game: The game (its payoffs and episode length are read once; it is not stepped).
        num_copies: ``K``.

    Raises:
        TypeError: ``game`` is not exactly a ``MatrixGame`` (:meth:`fits`).
    """

    @staticmethod
    def fits(env: Any) -> bool:
        """Whether ``env`` is a game this backend runs: exactly a ``MatrixGame`` (not a subclass)."""
        return type(env) is MatrixGame

    def __init__(self, game: MatrixGame, num_copies: int):
        if not self.fits(game):
            raise TypeError(f"MatrixBackend expected a MatrixGame (not a subclass), got {type(game).__name__}.")
        super().__init__(layout_of(game), num_copies)
        self.game = game
        self.name = str(game.metadata.get("name", "matrix_game_v0"))
        n = self.num_agents
        self.episode_length = game.episode_length
        self._flat_payoffs = np.ascontiguousarray(game.payoffs.reshape(n, -1).T)  # (prod A, N)
        self._dims = tuple(game.n_actions)
        self._strides = np.array([int(np.prod(self._dims[i + 1 :])) for i in range(n)], dtype=np.int64)
        self._t = np.zeros(self.num_copies, dtype=np.int64)
        self.observations[:] = 1.0  # the constant observation of every agent
        self.state_space = game.state_space
        self._state = np.asarray(game.state(), dtype=game.state_space.dtype)

    def reset(self, copies: np.ndarray, seeds: Sequence[int | None], options: dict | None = None) -> SparseInfos:
        self._t[copies] = 0
        self.live[copies] = True
        return {}

    def step(self, actions: np.ndarray) -> StepArrays:
        cells = actions @ self._strides if actions.dtype == np.int64 else actions.astype(np.int64) @ self._strides
        rewards = self._flat_payoffs[cells]
        self._t += 1
        over = self._t >= self.episode_length
        truncations = np.repeat(over[:, None], self.num_agents, axis=1)
        self.live[over] = False
        return StepArrays(rewards, np.zeros_like(truncations), truncations, {})

    def states(self) -> np.ndarray:
        return np.broadcast_to(self._state, (self.num_copies, *self._state.shape)).copy()
