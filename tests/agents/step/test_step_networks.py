"""stmg_agents.step.networks: the value normaliser keeps SB3's running statistics (one running-mean normaliser)."""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3.common.running_mean_std import RunningMeanStd

from stmg_agents.step.networks import ValueNormalizer


def test_value_normalizer_tracks_sb3_running_mean_std_and_round_trips():
    """After any sequence of batches its mean, variance and count are RunningMeanStd's (to the last bits, where
    torch and NumPy sum a batch in different orders); normalize
    then denormalize gives the values back; a state dict restores the statistics; disabled, it is the identity."""
    rng = np.random.default_rng(0)
    norm, reference = ValueNormalizer(), RunningMeanStd(shape=())
    for size in (1, 7, 100, 3):
        batch = rng.normal(5.0, 3.0, size)
        norm.update(th.as_tensor(batch))
        reference.update(batch)
        np.testing.assert_allclose(float(norm.mean), float(reference.mean), rtol=1e-12)
        assert float(norm.count) == reference.count
        np.testing.assert_allclose(float(norm.var), float(reference.var), rtol=1e-12)
    values = th.tensor([0.0, 5.0, 10.0], dtype=th.float64)
    th.testing.assert_close(norm.denormalize(norm.normalize(values)), values)
    copy = ValueNormalizer()
    copy.load_state_dict(norm.state_dict())
    assert copy.stats() == norm.stats()
    off = ValueNormalizer(enabled=False)
    off.update(values)
    assert th.equal(off.normalize(values), values) and float(off.count) == 1e-4
