"""Observation normalisation on the batched arrays (NormalizedBackend) with the one ObservationStatistics."""

from __future__ import annotations

import numpy as np
import pytest

from stmg_envs.normalization import STATE_KEY, NormalizedObservations, ObservationStatistics
from stmg_envs.vector import BatchedParallel, BatchedSTMG, NormalizedBackend, make_backend


def _box_env():
    """Two agents with Box observations that drift (so the statistics matter), and a global state."""
    from stmg_envs.matrix import mixing

    return mixing(episode_length=4)


def _trained_statistics():
    stats = ObservationStatistics()
    rng = np.random.default_rng(0)
    for agent in ("agent_0", "agent_1"):
        stats.update(agent, rng.normal(0.5, 2.0, size=(10, 1)))
    return stats


def test_frozen_statistics_equal_the_single_env_wrapper_exactly():
    """update=False: every joint step of copy k equals NormalizedObservations(env, stats, update=False) stepped alone,
    through episode ends (final observations included)."""
    stats = _trained_statistics()
    k = 3
    venv = BatchedParallel(NormalizedBackend(make_backend(_box_env, k, "generic"), stats, update=False))
    singles = [NormalizedObservations(_box_env(), stats, update=False) for _ in range(k)]
    first, _ = venv.reset(seed=5)
    for e, env in enumerate(singles):
        obs, _ = env.reset(seed=5 + e)
        for i, agent in enumerate(env.possible_agents):
            np.testing.assert_array_equal(first.observation[e, i], obs[agent])
    rng = np.random.default_rng(1)
    for _ in range(9):
        actions = rng.integers(0, 3, size=(k, 2))
        out = venv.step(actions)
        for e, env in enumerate(singles):
            obs, rew, *_ = env.step({a: int(actions[e, i]) for i, a in enumerate(env.possible_agents)})
            for i, agent in enumerate(env.possible_agents):
                np.testing.assert_array_equal(out.final_observation[e, i], obs[agent])
                assert out.rewards[e, i] == rew[agent]
            if out.episode_over[e]:
                obs, _ = env.reset()
                for i, agent in enumerate(env.possible_agents):
                    np.testing.assert_array_equal(out.observation[e, i], obs[agent])
    assert stats.count("agent_0") == 10  # read, never updated


def test_updates_add_every_returned_row_once_then_normalise_with_the_batch():
    """update=True: the statistics count every row the copies returned (resets and steps) once, and each batch is
    normalised with the statistics after it (VecNormalize's order)."""
    k = 4
    stats = ObservationStatistics()
    raw = make_backend(_box_env, k, "numpy")
    venv = BatchedSTMG(NormalizedBackend(raw, stats), order="random")
    venv.reset(seed=0)
    rng = np.random.default_rng(2)
    for _ in range(12):
        venv.step(rng.integers(0, 3, size=k))
    # 6 time steps of 2 ranks: 6 joint steps of 4 copies, plus the resets (the first and one after 4 time steps)
    assert stats.count("agent_0") == 4 * (1 + 6 + 1)
    rows = venv.backend.inner.observations[:, 0]
    np.testing.assert_array_equal(venv.backend.observations[:, 0], stats.normalize("agent_0", rows))


def test_state_is_normalised_with_the_state_statistics():
    """states(): standardised with STATE_KEY's statistics (updated on each read when update=True)."""
    stats = ObservationStatistics()
    backend = NormalizedBackend(make_backend(_box_env, 2, "generic"), stats)
    if backend.state_space is None:
        pytest.skip("the task has no global state")
    venv = BatchedParallel(backend)
    venv.reset(seed=0)
    state = venv.state()
    assert stats.count(STATE_KEY) == 2 and state.dtype == np.float32


def test_bad_arguments_say_what_was_expected():
    """A non-backend, non-statistics or integer observations are refused with 'expected ...'."""
    with pytest.raises(TypeError, match="expected a stmg_envs.vector Backend"):
        NormalizedBackend(object(), ObservationStatistics())
    with pytest.raises(TypeError, match="expected statistics"):
        NormalizedBackend(make_backend(_box_env, 2), {})
