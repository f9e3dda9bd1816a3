"""The one running normaliser (stmg_envs.normalization): SB3's arithmetic, and the harness's import path kept."""

from __future__ import annotations

import numpy as np
import pytest

from stmg_envs.normalization import ObservationStatistics, RunningMeanStd


def test_the_harness_reexports_the_env_cores_normaliser():
    """stmg_bench.normalization is the same objects (one home, not a second normaliser)."""
    import stmg_bench.normalization as bench
    import stmg_envs.normalization as core

    for name in ("ObservationStatistics", "NormalizedObservations", "RunningMeanStd", "STATE_KEY", "REWARD_KEY"):
        assert getattr(bench, name) is getattr(core, name)


@pytest.mark.agents
def test_running_mean_std_is_sb3s_arithmetic():
    """The same batches give bit-identical means, variances and counts as SB3's RunningMeanStd (which the harness
    used before the normaliser moved into the env core), so normalised trials are unchanged."""
    sb3 = pytest.importorskip("stable_baselines3.common.running_mean_std", reason="needs the agents extra")
    rng = np.random.default_rng(0)
    ours, theirs = RunningMeanStd(shape=(3,)), sb3.RunningMeanStd(shape=(3,))
    for size in (1, 5, 1, 17, 2):
        batch = rng.normal(3.0, 10.0, size=(size, 3))
        ours.update(batch)
        theirs.update(batch)
        assert np.array_equal(ours.mean, theirs.mean) and np.array_equal(ours.var, theirs.var)
        assert ours.count == theirs.count


def test_batch_and_one_at_a_time_updates_agree():
    """Adding a batch at once or row by row gives the same statistics (to rounding): what lets the batched forms
    update with all copies' rows at once."""
    rng = np.random.default_rng(1)
    data = rng.normal(-2.0, 5.0, size=(32, 4))
    batch, single = ObservationStatistics(), ObservationStatistics()
    batch.update("a", data)
    for row in data:
        single.update("a", row[None])
    np.testing.assert_allclose(batch.normalize("a", data), single.normalize("a", data), rtol=0, atol=1e-5)
    assert batch.count("a") == single.count("a") == 32
