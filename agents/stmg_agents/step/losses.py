"""STEP's own loss term, the hypernetwork regulariser of Eq. 11 (PPO's terms: :mod:`stmg_agents.losses`).

Examples:
    >>> import torch as th
    >>> float(hypernetwork_regularizer(th.ones(2, 3), th.ones(2, 3), beta=1.0))
    0.0
"""

from __future__ import annotations

import torch as th

__all__ = ["hypernetwork_regularizer"]


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
