"""The native NumPy backend of the matrix games equals the generic backend on the same actions."""

from __future__ import annotations

import numpy as np
import pytest

from stmg_envs.matrix import MatrixGame, maintain, matrix, mixing, penalty
from stmg_envs.matrix.iterated import iterated_matrix
from stmg_envs.vector import BatchedParallel, BatchedSTMG, GenericBackend, MatrixBackend, make_backend

GAMES = {
    "penalty": lambda: penalty(k=-50, episode_length=3),
    "mixing": lambda: mixing(episode_length=2),
    "maintain": lambda: maintain(episode_length=1),
    "three agents": lambda: matrix(generator="general-sum:3:2", episode_length=4),
    "uneven actions": lambda: MatrixGame(np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3), episode_length=3),
}


def _assert_equal(a, b, where):
    if isinstance(a, tuple):
        assert type(a) is type(b), where
        for field, x, y in zip(getattr(a, "_fields", range(len(a))), a, b):
            _assert_equal(x, y, f"{where}.{field}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("order", [None, "reversed", "random"])
@pytest.mark.parametrize("game", list(GAMES))
def test_native_stmg_equals_generic(game, order):
    """Rank observations, time steps (rewards, flags, ranks, final observations, infos) and orders of the
    NumPy backend equal the generic backend's, through several episodes, with fixed and random orders."""
    native = BatchedSTMG(make_backend(GAMES[game], 6, "numpy"), order=order)
    generic = BatchedSTMG(make_backend(GAMES[game], 6, "generic"), order=order)
    assert isinstance(native.backend, MatrixBackend) and isinstance(generic.backend, GenericBackend)
    assert native.single_observation_space == generic.single_observation_space
    assert native.single_action_space == generic.single_action_space
    (obs_a, info_a), (obs_b, info_b) = native.reset(seed=11), generic.reset(seed=11)
    _assert_equal(obs_a, obs_b, "reset")
    assert info_a == info_b == {}
    rng = np.random.default_rng(0)
    stops = np.array(native.layout.action_stop)
    over = 0
    for t in range(40):
        _assert_equal(native.orders, generic.orders, f"orders {t}")
        _assert_equal(native.state(), generic.state(), f"states {t}")
        actions = rng.integers(0, stops[np.maximum(obs_a.agent, 0)])
        (obs_a, done_a), (obs_b, done_b) = native.step(actions), generic.step(actions)
        _assert_equal(obs_a, obs_b, f"step {t}")
        assert (done_a is None) == (done_b is None)
        if done_a is not None:
            _assert_equal(done_a, done_b, f"time step {t}")
            over += int(done_a.episode_over.sum())
    assert over >= 6


@pytest.mark.parametrize("game", list(GAMES))
def test_native_parallel_equals_generic(game):
    """The simultaneous form over the NumPy backend equals it over the generic backend, autoresets included."""
    native = BatchedParallel(make_backend(GAMES[game], 5, "numpy"))
    generic = BatchedParallel(make_backend(GAMES[game], 5, "generic"))
    _assert_equal(native.reset(seed=3), generic.reset(seed=3), "reset")
    rng = np.random.default_rng(1)
    stops = np.array(native.layout.action_stop)
    for t in range(12):
        actions = rng.integers(0, np.broadcast_to(stops, (5, len(stops))))
        _assert_equal(native.step(actions), generic.step(actions), f"step {t}")


def test_auto_picks_the_native_backend_only_for_plain_matrix_games():
    """backend="auto" runs MatrixGame natively; subclasses (the iterated games) keep the generic backend."""
    assert isinstance(make_backend(penalty, 2), MatrixBackend)
    assert isinstance(make_backend(iterated_matrix, 2), GenericBackend)
    with pytest.raises(TypeError, match="MatrixBackend expected a MatrixGame"):
        MatrixBackend(iterated_matrix(), 2)
