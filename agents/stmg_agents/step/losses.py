"""The loss terms of STEP's update (paper Eq. 11-12), as plain tensor functions.

Examples:
    >>> import torch as th
    >>> float(hypernetwork_regularizer(th.ones(2, 3), th.ones(2, 3), beta=1.0))
    0.0
"""

from __future__ import annotations

import torch as th

__all__ = ["clipped_surrogate_loss", "clipped_value_loss", "hypernetwork_regularizer"]


def clipped_surrogate_loss(
    log_prob: th.Tensor, old_log_prob: th.Tensor, advantages: th.Tensor, clip_range: float
) -> tuple[th.Tensor, th.Tensor]:
    """PPO's clipped objective, negated: ``-mean(min(r A, clip(r, 1 +- eps) A))``, and the ratio ``r``."""
    ratio = th.exp(log_prob - old_log_prob)
    unclipped = advantages * ratio
    clipped = advantages * th.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    return -th.min(unclipped, clipped).mean(), ratio


def clipped_value_loss(
    values: th.Tensor, old_values: th.Tensor, returns: th.Tensor, clip_range: float | None
) -> th.Tensor:
    """Eq. 12: ``mean(max((V - R)^2, (clip(V, V_old +- eps) - R)^2))``; plain squared error when ``clip_range`` is None."""
    loss = (values - returns).square()
    if clip_range is None:
        return loss.mean()
    clipped = old_values + th.clamp(values - old_values, -clip_range, clip_range)
    return th.max(loss, (clipped - returns).square()).mean()


def hypernetwork_regularizer(params: th.Tensor, old_params: th.Tensor, beta: float) -> th.Tensor:
    """Eq. 11's ``L_h = beta / (i-1) * sum_{j<i} ||H(e^j; theta_h) - H(e^j; theta_h_old)||^2``.

    Args:
        params: ``H(e^j; theta_h)`` for the ranks ``j`` above the rank being trained, ``(i-1, P)``.
        old_params: The same, generated before this rank's update (constants), ``(i-1, P)``.
        beta: Regularisation coefficient (``>= 0``).

    Returns:
        A scalar; 0 for the first rank (no rows).
    """
    if params.shape != old_params.shape:
        raise ValueError(
            f"expected params and old_params of the same shape, got {tuple(params.shape)} and {tuple(old_params.shape)}."
        )
    rows = params.shape[0]
    if rows == 0 or beta == 0:
        return params.sum() * 0.0
    return beta * (params - old_params).square().sum() / rows
