"""The loss terms of Eq. 11-12: hypernetwork regulariser, clipped value loss, clipped surrogate."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from stmg_agents.losses import clipped_surrogate_loss, clipped_value_loss
from stmg_agents.step.losses import hypernetwork_regularizer
from stmg_agents.step.policy import NLevelPolicy

pytestmark = pytest.mark.agents


def make_policy(n_agents: int = 4) -> NLevelPolicy:
    th.manual_seed(0)
    space = spaces.Dict(
        {
            "observation": spaces.Box(-1, 1, (2,), np.float32),
            "prior_actions": spaces.Box(0, 1, (3 * n_agents,), np.float32),
            "prior_mask": spaces.MultiBinary(n_agents),
            "rank": spaces.Discrete(n_agents),
        }
    )
    return NLevelPolicy(space, spaces.Discrete(3), lambda _: 1e-3)


def test_regulariser_is_zero_with_zero_gradient_at_old_parameters():
    """L_h = 0 and dL_h/dtheta_h = 0 when theta_h equals theta_h_old."""
    policy = make_policy()
    rank = 3
    old = policy.target_parameters(rank).detach()
    loss = hypernetwork_regularizer(policy.target_parameters(rank), old, beta=2.0)
    loss.backward()
    assert loss.item() == 0.0
    for p in policy.action_net.parameters():
        assert p.grad is None or th.count_nonzero(p.grad) == 0


def test_regulariser_value_and_gradient_after_a_shift():
    """Shifting H's output bias by delta gives L_h = beta * ||delta||^2 and gradient 2 * beta * delta.

    Every rank's generated vector moves by delta, so the mean over the i-1 ranks above equals one term.
    """
    policy = make_policy()
    rank, beta = 3, 0.7
    old = policy.target_parameters(rank).detach()
    delta = th.randn(policy.action_net.num_target_params) * 0.1
    bias = policy.action_net.hypernet.out.bias
    with th.no_grad():
        bias.add_(delta)
    loss = hypernetwork_regularizer(policy.target_parameters(rank), old, beta=beta)
    loss.backward()
    th.testing.assert_close(loss, beta * delta.square().sum(), rtol=1e-4, atol=1e-6)
    th.testing.assert_close(bias.grad, 2 * beta * delta, rtol=1e-4, atol=1e-6)


def test_regulariser_matches_equation_11_for_arbitrary_changes():
    """L_h = beta / (i-1) * sum_j ||H_j - H_j_old||^2, and its gradient equals autograd of that formula."""
    th.manual_seed(1)
    params = th.randn(3, 5, requires_grad=True)
    old = th.randn(3, 5)
    loss = hypernetwork_regularizer(params, old, beta=1.5)
    expected = 1.5 / 3 * sum(((params[j] - old[j]) ** 2).sum() for j in range(3))
    th.testing.assert_close(loss, expected)
    loss.backward()
    th.testing.assert_close(params.grad, 2 * 1.5 / 3 * (params - old).detach())


def test_regulariser_is_zero_for_the_first_rank_and_for_beta_zero():
    """Rank 0 has nobody above it; beta = 0 switches the term off (still differentiable)."""
    empty = th.zeros(0, 4, requires_grad=True)
    assert hypernetwork_regularizer(empty, th.zeros(0, 4), beta=1.0).item() == 0.0
    p = th.ones(2, 4, requires_grad=True)
    out = hypernetwork_regularizer(p, th.zeros(2, 4), beta=0.0)
    out.backward()
    assert out.item() == 0.0
    with pytest.raises(ValueError, match="same shape"):
        hypernetwork_regularizer(th.zeros(2, 4), th.zeros(3, 4), beta=1.0)


def test_clipped_value_loss_equation_12():
    """max((V - R)^2, (clip(V, V_old +- eps) - R)^2), averaged; plain MSE without a clip range."""
    values = th.tensor([1.0, 0.0, 2.0])
    old = th.tensor([0.0, 0.0, 2.0])
    returns = th.tensor([2.0, 1.0, 2.0])
    # row 0: unclipped (1-2)^2 = 1, clipped V = 0.5 -> 2.25 ; max 2.25
    # row 1: 1, clipped 0 -> 1 ; row 2: 0, 0
    th.testing.assert_close(clipped_value_loss(values, old, returns, 0.5), th.tensor((2.25 + 1 + 0) / 3))
    th.testing.assert_close(clipped_value_loss(values, old, returns, None), th.tensor((1 + 1 + 0) / 3))


def test_clipped_surrogate_loss():
    """-mean(min(r A, clip(r) A)) with r = exp(log_prob - old_log_prob)."""
    log_prob = th.log(th.tensor([1.5, 0.5]))
    old = th.zeros(2)
    adv = th.tensor([1.0, -1.0])
    loss, ratio = clipped_surrogate_loss(log_prob, old, adv, 0.2)
    th.testing.assert_close(ratio, th.tensor([1.5, 0.5]))
    # row 0: min(1.5, 1.2) = 1.2 ; row 1: min(-0.5, -0.8) = -0.8
    th.testing.assert_close(loss, th.tensor(-(1.2 - 0.8) / 2))
