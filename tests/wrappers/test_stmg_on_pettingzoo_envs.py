"""The STMG wrapper on PettingZoo's own parallel environments passes PettingZoo's conformance tests."""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest
from pettingzoo.test import api_test, seed_test

from stmg_envs import stmg_v0
from stmg_envs.testing import aec_determinism_test


def rps():
    from pettingzoo.classic import rps_v2

    return rps_v2.parallel_env(num_actions=5, max_cycles=15)


def knights_archers_zombies():
    """Agents die mid-episode (zombies kill them); Discrete actions; vector observations."""
    from pettingzoo.butterfly import knights_archers_zombies_v11

    return knights_archers_zombies_v11.parallel_env(
        obs_method="vector", max_cycles=60, num_archers=2, num_knights=2, line_death=True
    )


def cooperative_pong():
    """Image observations, two paddles with different shapes of paddle."""
    from pettingzoo.butterfly import cooperative_pong_v6

    return cooperative_pong_v6.parallel_env(max_cycles=30)


ENVS = {"rps": rps, "knights_archers_zombies": knights_archers_zombies, "cooperative_pong": cooperative_pong}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("make", ENVS.values(), ids=ENVS.keys())
@pytest.mark.parametrize("order", [None, "random"])
def test_api_and_seed_tests(make, order):
    """api_test and seed_test pass on the STMG of a PettingZoo parallel env, for fixed and random orders."""
    api_test(stmg_v0(make(), order=order), num_cycles=40)
    seed_test(lambda: stmg_v0(make(), order=order), num_cycles=40)


@pytest.mark.parametrize("make", [rps, knights_archers_zombies], ids=["rps", "knights_archers_zombies"])
def test_multi_step_determinism(make):
    """Same seed, same actions: identical trajectories over many decisions (incl. deaths in KAZ)."""
    aec_determinism_test(lambda: stmg_v0(make()), num_steps=300)


def test_flatten_on_knights_archers_zombies():
    """flatten=True works where observations are 2-D arrays."""
    api_test(stmg_v0(knights_archers_zombies(), flatten=True), num_cycles=40)
