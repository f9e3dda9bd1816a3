"""The NumPy rollout snapshot computes what the torch policy computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from torch import nn

from stmg_agents.step.inference import snapshot_or_none
from stmg_agents.step.policy import NLevelPolicy
from tests.agents.step.subgame_batches import batch, subgame_space

pytestmark = pytest.mark.agents

CONFIGS = [
    dict(),
    dict(activation_fn=nn.ReLU),
    dict(prior_encoding="concat"),
    dict(prior_encoding="set", activation_fn=nn.ReLU),
    dict(rank_encoding="sinusoidal", target_net_arch=(8,)),
    dict(normalize_values=False, net_arch=dict(pi=[32], vf=[16, 16])),
]


@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,), np.float32)])
@pytest.mark.parametrize("config", CONFIGS)
def test_snapshot_matches_torch_policy(config, action_space):
    """Greedy actions are identical; values and log-probabilities agree to float32 rounding (mixed ranks too)."""
    th.manual_seed(0)
    space = subgame_space(4, action_space, action_mask=isinstance(action_space, spaces.Discrete))
    policy = NLevelPolicy(space, action_space, lambda _: 1e-3, **config)
    with th.no_grad():  # make the value normaliser non-trivial
        policy.value_normalizer.update(th.tensor([3.0, 7.0, 11.0]))
    snap = snapshot_or_none(policy)
    assert snap is not None
    for rank in (None, 2):
        obs = batch(space, 6, rank=rank, seed=1)
        obs_np = {k: v.numpy() for k, v in obs.items()}
        actions, values, log_probs = snap.act(obs_np, np.random.default_rng(0), deterministic=True)
        with th.no_grad():
            out = policy.act(obs, deterministic=True)
        if isinstance(action_space, spaces.Discrete):
            np.testing.assert_array_equal(actions, out.actions.numpy())
        else:
            np.testing.assert_allclose(actions, out.actions.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(values, out.values.numpy(), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(log_probs, out.log_probs.numpy(), rtol=1e-5, atol=1e-5)
        # sampled actions get the torch policy's log-probabilities
        sampled, _, sampled_lp = snap.act(obs_np, np.random.default_rng(1))
        with th.no_grad():
            ev = policy.evaluate(obs, th.as_tensor(sampled))
        np.testing.assert_allclose(sampled_lp, ev.log_probs.numpy(), rtol=1e-5, atol=1e-5)


def test_snapshot_sampling_follows_the_policy():
    """Sampled action frequencies match the policy's probabilities."""
    th.manual_seed(0)
    space = subgame_space(2, spaces.Discrete(3))
    policy = NLevelPolicy(space, spaces.Discrete(3), lambda _: 1e-3)
    with th.no_grad():
        policy.action_net.hypernet.out.bias[-3:] = th.tensor([2.0, 0.0, -1.0])  # skew the output biases
    obs = batch(space, 4000, rank=0)
    actions, _, _ = snapshot_or_none(policy).act({k: v.numpy() for k, v in obs.items()}, np.random.default_rng(0))
    with th.no_grad():
        probs = policy.action_probabilities({k: v[:1] for k, v in obs.items()})[0].numpy()
    np.testing.assert_allclose(np.bincount(actions, minlength=3) / 4000, probs, atol=0.03)


def test_unsupported_configurations_fall_back():
    """Non-Box own observations or other activations give no snapshot (STEP then uses torch)."""
    space = subgame_space(2, spaces.Discrete(3))
    assert snapshot_or_none(NLevelPolicy(space, spaces.Discrete(3), lambda _: 1e-3, activation_fn=nn.GELU)) is None
    discrete_obs = spaces.Dict({**space.spaces, "observation": spaces.Discrete(5)})
    assert snapshot_or_none(NLevelPolicy(discrete_obs, spaces.Discrete(3), lambda _: 1e-3)) is None
