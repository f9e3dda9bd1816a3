"""The action distributions' sampling, log-probabilities and entropies, written once for the package's policies.

STEP's and seq-ppo's :class:`~stmg_agents.step.policy.NLevelPolicy` and MAPPO's
:class:`~stmg_agents.baselines.mappo_networks.SharedActor` call these on their hot
paths instead of building Stable-Baselines3 distribution objects per batch; the
quantities are SB3's (``CategoricalDistribution``, ``DiagGaussianDistribution``, tested
equal in ``tests/agents/test_distributions.py``), and the SB3 methods of the policies
(``get_distribution``, ``evaluate_actions``) still return SB3's objects. The NumPy
snapshot of STEP's policy (:mod:`stmg_agents.step.inference`) computes the same
formulas in NumPy and is tested equal to the torch policy.

Where an SB3 distribution object is built per batch (MAPPO's actor, IPPO's SB3
policy), :func:`unchecked` gives SB3's categorical and diagonal-Gaussian distributions
without torch's argument validation: the parameters come straight from a network, so
checking them (and every sample's support) at each call costs time and changes no value.

Examples:
    >>> import torch as th
    >>> logits = th.log(th.tensor([[0.25, 0.75]]))
    >>> actions, log_probs = categorical_sample(logits, deterministic=True)
    >>> actions.tolist(), round(float(log_probs), 4)
    ([1], -0.2877)
    >>> log_prob, entropy = gaussian_evaluate(th.zeros(1, 2), th.zeros(1, 2), th.zeros(1, 2))
    >>> round(float(log_prob), 4), round(float(entropy), 4)
    (-1.8379, 2.8379)
"""

from __future__ import annotations

import math

import torch as th
from stable_baselines3.common.distributions import (
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
)
from torch.distributions import Categorical, Normal
from torch.nn import functional as F

__all__ = [
    "categorical_sample",
    "categorical_evaluate",
    "gaussian_sample",
    "gaussian_log_prob",
    "gaussian_evaluate",
    "LOG_2PI",
    "UncheckedCategoricalDistribution",
    "UncheckedDiagGaussianDistribution",
    "unchecked",
    "gumbel_noise",
    "gumbel_softmax",
]

#: ``log(2 pi)``, of the Gaussian density (also used by STEP's NumPy snapshot).
LOG_2PI = math.log(2.0 * math.pi)


def categorical_sample(
    logits: th.Tensor, *, deterministic: bool = False, generator: th.Generator | None = None
) -> tuple[th.Tensor, th.Tensor]:
    """Actions ``(B,)`` (greedy, or drawn as ``Categorical.sample`` draws: ``multinomial`` of the
    probabilities) and their log-probabilities ``(B,)``, from logits ``(B, n)``."""
    log_p = F.log_softmax(logits, dim=-1)
    if deterministic:
        actions = log_p.argmax(dim=-1)
    else:
        actions = th.multinomial(log_p.exp(), 1, generator=generator).squeeze(-1)
    return actions, log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def categorical_evaluate(logits: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """Log-probabilities of ``actions`` (any shape with ``B`` elements) and entropies, both ``(B,)``."""
    log_p = F.log_softmax(logits, dim=-1)
    log_prob = log_p.gather(-1, actions.long().reshape(-1, 1)).squeeze(-1)
    return log_prob, -(log_p.exp() * log_p).sum(dim=-1)


def gaussian_log_prob(actions: th.Tensor, mean: th.Tensor, log_std: th.Tensor) -> th.Tensor:
    """Log-density ``(B,)`` of ``actions`` ``(B, d)`` under a diagonal Gaussian (``log_std`` broadcast to ``mean``)."""
    z = (actions - mean) * th.exp(-log_std)
    return (-0.5 * z.square() - log_std - 0.5 * LOG_2PI).sum(dim=-1)


def gaussian_sample(
    mean: th.Tensor, log_std: th.Tensor, *, deterministic: bool = False, generator: th.Generator | None = None
) -> tuple[th.Tensor, th.Tensor]:
    """Actions ``(B, d)`` (the mean, or ``mean + noise * std``) and their log-densities ``(B,)``."""
    log_std = log_std.expand_as(mean)
    if deterministic:
        actions = mean
    else:
        noise = th.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        actions = mean + noise * log_std.exp()
    return actions, gaussian_log_prob(actions, mean, log_std)


def gaussian_evaluate(mean: th.Tensor, log_std: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """Log-densities of ``actions`` (reshaped to ``mean``'s shape) and entropies, both ``(B,)``."""
    log_std = log_std.expand_as(mean)
    log_prob = gaussian_log_prob(actions.reshape(mean.shape), mean, log_std)
    return log_prob, (0.5 + 0.5 * LOG_2PI + log_std).sum(dim=-1)


class UncheckedCategoricalDistribution(CategoricalDistribution):
    """SB3's categorical distribution without torch's argument validation (same values, less time)."""

    def proba_distribution(self, action_logits: th.Tensor) -> UncheckedCategoricalDistribution:
        self.distribution = Categorical(logits=action_logits, validate_args=False)
        return self


class UncheckedDiagGaussianDistribution(DiagGaussianDistribution):
    """SB3's diagonal Gaussian without torch's argument validation (same values, less time)."""

    def proba_distribution(self, mean_actions: th.Tensor, log_std: th.Tensor) -> UncheckedDiagGaussianDistribution:
        action_std = th.ones_like(mean_actions) * log_std.exp()
        self.distribution = Normal(mean_actions, action_std, validate_args=False)
        return self


def unchecked(distribution: Distribution) -> Distribution:
    """The unchecked twin of an SB3 ``CategoricalDistribution`` or ``DiagGaussianDistribution``; others as they are.

    Examples:
        >>> from stable_baselines3.common.distributions import DiagGaussianDistribution
        >>> type(unchecked(DiagGaussianDistribution(3))).__name__, unchecked(DiagGaussianDistribution(3)).action_dim
        ('UncheckedDiagGaussianDistribution', 3)
    """
    if type(distribution) is CategoricalDistribution:
        return UncheckedCategoricalDistribution(distribution.action_dim)
    if type(distribution) is DiagGaussianDistribution:
        return UncheckedDiagGaussianDistribution(distribution.action_dim)
    return distribution


def gumbel_noise(like: th.Tensor, generator: th.Generator | None = None) -> th.Tensor:
    """Standard Gumbel noise ``-log(-log(U))`` shaped like ``like``, from ``generator`` (torch's global one if None)."""
    uniform = th.rand(like.shape, generator=generator, dtype=like.dtype, device=like.device).clamp_(1e-10, 1.0 - 1e-7)
    return -th.log(-th.log(uniform))


def gumbel_softmax(
    logits: th.Tensor, temperature: float = 1.0, *, hard: bool = False, generator: th.Generator | None = None
) -> th.Tensor:
    """A Gumbel-softmax sample of ``softmax(logits)`` (the relaxed categorical of MADDPG's and Bi-AC's actors).

    ``softmax((logits + g) / temperature)`` with ``g`` standard Gumbel noise from ``generator``; with ``hard`` the
    straight-through form: the one-hot of its argmax forward (an exact sample of ``softmax(logits)`` whatever the
    temperature), the relaxed sample's gradient backward. Torch's ``F.gumbel_softmax`` computes the same but draws
    only from torch's global generator; a learner with a generator of its own needs this one.

    Examples:
        >>> g = th.Generator().manual_seed(0)
        >>> sample = gumbel_softmax(th.tensor([[0.0, 50.0]]), hard=True, generator=g)
        >>> sample.tolist()
        [[0.0, 1.0]]
    """
    soft = F.softmax((logits + gumbel_noise(logits, generator)) / temperature, dim=-1)
    if not hard:
        return soft
    one_hot = F.one_hot(soft.argmax(dim=-1), logits.shape[-1]).to(soft.dtype)
    return one_hot - soft.detach() + soft
