"""PPO's loss terms, written once for every algorithm of the package (STEP, seq-ppo, MAPPO).

IPPO trains with Stable-Baselines3's own PPO, whose terms are the same. STEP's
hypernetwork regulariser (Eq. 11) is STEP's alone: :mod:`stmg_agents.step.losses`.

Examples:
    >>> import torch as th
    >>> loss, ratio = clipped_surrogate_loss(th.zeros(2), th.tensor([0.0, 1.0]), th.tensor([1.0, 2.0]), 0.2)
    >>> round(float(loss), 4), [round(r, 4) for r in ratio.tolist()]  # min(r A, clip(r) A): 0.37 * 2, not 0.8 * 2
    (-0.8679, [1.0, 0.3679])
    >>> float(clipped_value_loss(th.tensor([2.0]), th.tensor([0.0]), th.tensor([0.0]), clip_range=0.5))
    4.0
"""

from __future__ import annotations

from collections.abc import Callable

import torch as th

__all__ = ["clipped_surrogate_loss", "clipped_value_loss", "huber"]


def clipped_surrogate_loss(
    log_prob: th.Tensor, old_log_prob: th.Tensor, advantages: th.Tensor, clip_range: float
) -> tuple[th.Tensor, th.Tensor]:
    """PPO's clipped objective, negated: ``-mean(min(r A, clip(r, 1 +- eps) A))``, and the ratio ``r``."""
    ratio = th.exp(log_prob - old_log_prob)
    unclipped = advantages * ratio
    clipped = advantages * th.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    return -th.min(unclipped, clipped).mean(), ratio


def clipped_value_loss(
    values: th.Tensor,
    old_values: th.Tensor,
    returns: th.Tensor,
    clip_range: float | None,
    error: Callable[[th.Tensor], th.Tensor] = th.square,
) -> th.Tensor:
    """The clipped value loss (STEP's Eq. 12, MAPPO's clipped value loss).

    ``mean(max(error(V - R), error(clip(V, V_old +- eps) - R)))``; ``mean(error(V - R))`` when
    ``clip_range`` is None. ``error``: the squared error (STEP), ``e**2 / 2`` or :func:`huber` (MAPPO);
    it must be even (``error(-e) == error(e)``), as all three are.
    """
    loss = error(values - returns)
    if clip_range is None:
        return loss.mean()
    clipped = old_values + th.clamp(values - old_values, -clip_range, clip_range)
    return th.max(loss, error(clipped - returns)).mean()


def huber(error: th.Tensor, delta: float) -> th.Tensor:
    """Element-wise Huber loss as MAPPO writes it (``error**2 / 2`` inside ``delta``)."""
    abs_error = error.abs()
    return th.where(abs_error <= delta, 0.5 * error**2, delta * (abs_error - 0.5 * delta))
