"""stmg_agents.distributions: the hot-path sampling, log-probabilities and entropies equal SB3's distributions."""

from __future__ import annotations

import pytest
import torch as th
from stable_baselines3.common.distributions import CategoricalDistribution, DiagGaussianDistribution

from stmg_agents.distributions import (
    categorical_evaluate,
    categorical_sample,
    gaussian_evaluate,
    gaussian_log_prob,
    gaussian_sample,
    unchecked,
)

pytestmark = pytest.mark.agents


def test_categorical_log_probs_and_entropies_equal_sb3s():
    """categorical_evaluate gives SB3's CategoricalDistribution log_prob and entropy for any logits."""
    logits = th.randn(64, 5, generator=th.Generator().manual_seed(0)) * 3
    actions = th.randint(0, 5, (64,), generator=th.Generator().manual_seed(1))
    sb3 = CategoricalDistribution(5).proba_distribution(logits)
    log_prob, entropy = categorical_evaluate(logits, actions)
    th.testing.assert_close(log_prob, sb3.log_prob(actions))
    th.testing.assert_close(entropy, sb3.entropy())
    greedy, greedy_log_prob = categorical_sample(logits, deterministic=True)
    th.testing.assert_close(greedy, sb3.mode())
    th.testing.assert_close(greedy_log_prob, sb3.log_prob(greedy))


def test_categorical_draws_follow_the_probabilities_and_the_generator():
    """Samples from one generator seed repeat; their frequencies match the probabilities."""
    logits = th.log(th.tensor([[0.1, 0.6, 0.3]])).expand(20_000, 3)
    a, log_a = categorical_sample(logits, generator=th.Generator().manual_seed(3))
    b, _ = categorical_sample(logits, generator=th.Generator().manual_seed(3))
    assert th.equal(a, b)
    frequencies = th.bincount(a, minlength=3).double() / len(a)
    th.testing.assert_close(frequencies, th.tensor([0.1, 0.6, 0.3], dtype=th.float64), atol=0.015, rtol=0)
    th.testing.assert_close(log_a, th.log(th.tensor([0.1, 0.6, 0.3]))[a])


def test_gaussian_log_probs_and_entropies_equal_sb3s():
    """gaussian_evaluate gives SB3's DiagGaussianDistribution log_prob and entropy (state-independent log_std)."""
    gen = th.Generator().manual_seed(0)
    mean, log_std, actions = th.randn(32, 3, generator=gen), th.randn(3, generator=gen), th.randn(32, 3, generator=gen)
    sb3 = DiagGaussianDistribution(3).proba_distribution(mean, log_std)
    log_prob, entropy = gaussian_evaluate(mean, log_std, actions)
    th.testing.assert_close(log_prob, sb3.log_prob(actions))
    th.testing.assert_close(entropy, sb3.entropy())
    th.testing.assert_close(gaussian_log_prob(actions, mean, log_std.expand_as(mean)), sb3.log_prob(actions))


def test_gaussian_samples_are_the_mean_plus_scaled_noise():
    """Greedy: the mean; sampled: mean + std * noise from the generator, with its log-density."""
    mean, log_std = th.zeros(50_000, 2), th.log(th.tensor([0.5, 2.0]))
    greedy, _ = gaussian_sample(mean, log_std, deterministic=True)
    assert th.equal(greedy, mean)
    actions, log_prob = gaussian_sample(mean, log_std, generator=th.Generator().manual_seed(0))
    th.testing.assert_close(actions.std(dim=0), th.tensor([0.5, 2.0]), atol=0.02, rtol=0)
    th.testing.assert_close(log_prob, gaussian_log_prob(actions, mean, log_std.expand_as(mean)))


def test_unchecked_distributions_give_sb3s_values_without_validating():
    """unchecked(SB3 distribution): identical log-probabilities, entropies, modes and seeded samples, and no
    argument validation (an out-of-support action, which torch's check refuses, is evaluated)."""
    gen = th.Generator().manual_seed(3)
    logits, mean, log_std = th.randn(16, 4, generator=gen), th.randn(16, 3, generator=gen), th.randn(3, generator=gen)
    pairs = [
        (CategoricalDistribution(4), (logits,), th.randint(0, 4, (16,), generator=gen)),
        (DiagGaussianDistribution(3), (mean, log_std), th.randn(16, 3, generator=gen)),
    ]
    for sb3, params, actions in pairs:
        fast = unchecked(sb3)
        assert type(fast) is not type(sb3) and isinstance(fast, type(sb3)) and fast.action_dim == sb3.action_dim
        sb3.proba_distribution(*params)
        fast.proba_distribution(*params)
        assert th.equal(fast.log_prob(actions), sb3.log_prob(actions))
        assert th.equal(fast.entropy(), sb3.entropy()) and th.equal(fast.mode(), sb3.mode())
        th.manual_seed(7)
        drawn = sb3.sample()
        th.manual_seed(7)
        assert th.equal(fast.sample(), drawn)
    categorical = unchecked(CategoricalDistribution(4)).proba_distribution(logits)
    assert categorical.log_prob(th.full((16,), 1.5)).shape == (16,)
    with pytest.raises(ValueError):
        CategoricalDistribution(4).proba_distribution(logits).log_prob(th.full((16,), 1.5))
    other = object()
    assert unchecked(other) is other
