"""MAPPO's networks: a shared actor, a centralised critic and MAPPO's value normaliser.

Layouts follow the MAPPO reference implementation (Yu et al., 2021):
orthogonal initialisation (gain of the activation for hidden layers, 0.01
for the action head, 1 for the value head), and with ``feature_norm`` a
LayerNorm on the input and after every hidden layer. Action heads and
distributions are SB3's, so every SB3 action space works.

Examples:
    >>> import torch
    >>> from gymnasium import spaces
    >>> from stmg_agents.baselines.mappo_networks import SharedActor
    >>> actor = SharedActor(4, spaces.Discrete(3), hidden_sizes=(8,), activation="relu", feature_norm=True)
    >>> actor(torch.zeros(2, 4)).distribution.probs.shape
    torch.Size([2, 3])
"""

from __future__ import annotations

import itertools

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import (
    DiagGaussianDistribution,
    Distribution,
    make_proba_distribution,
)
from torch import nn
from torch.nn import functional as F

from stmg_agents.distributions import categorical_evaluate, categorical_sample, unchecked

__all__ = ["SharedActor", "CentralCritic", "ValueNorm", "MLPBody"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


def _orthogonal(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


class MLPBody(nn.Module):
    """Hidden layers ``Linear -> activation (-> LayerNorm)``, optionally with a LayerNorm on the input.

    The forward pass calls the functional ops directly on parameters
    gathered once at construction, rather than calling each sub-module,
    which matters for these tiny networks, where per-call overhead
    dominates. (The gathered parameters are the module's own ``Parameter``
    objects, which ``load_state_dict``, ``.to`` and optimisers update in
    place; ``load_state_dict(..., assign=True)`` would replace them and is
    not supported.)

    Args:
        in_dim: Input width.
        hidden_sizes: Widths of the hidden layers.
        activation: ``"relu"`` or ``"tanh"``.
        feature_norm: Add the LayerNorms.

    Attributes:
        out_dim: ``hidden_sizes[-1]``.
    """

    def __init__(self, in_dim: int, hidden_sizes: tuple[int, ...], activation: str, feature_norm: bool) -> None:
        super().__init__()
        gain = nn.init.calculate_gain(activation)
        widths = (in_dim, *hidden_sizes)
        self.linears = nn.ModuleList(_orthogonal(nn.Linear(a, b), gain) for a, b in itertools.pairwise(widths))
        self.input_norm = nn.LayerNorm(in_dim) if feature_norm else None
        self.hidden_norms = nn.ModuleList(nn.LayerNorm(h) for h in hidden_sizes) if feature_norm else None
        self._activation = torch.relu if activation == "relu" else torch.tanh
        self.out_dim = widths[-1]
        norms = list(self.hidden_norms) if self.hidden_norms is not None else [None] * len(hidden_sizes)
        self._layers = [
            (linear.weight, linear.bias, None if norm is None else (norm.normalized_shape, norm.weight, norm.bias))
            for linear, norm in zip(self.linears, norms)
        ]
        self._input_norm = (
            None
            if self.input_norm is None
            else (self.input_norm.normalized_shape, self.input_norm.weight, self.input_norm.bias)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._input_norm is not None:
            x = F.layer_norm(x, *self._input_norm)
        activation = self._activation
        for weight, bias, norm in self._layers:
            x = activation(F.linear(x, weight, bias))
            if norm is not None:
                x = F.layer_norm(x, *norm)
        return x


class SharedActor(nn.Module):
    """The actor every agent shares: encoded observation -> SB3 action distribution.

    Args:
        in_dim: Width of the encoded observation (with the agent indicator).
        action_space: The agents' common action space.
        hidden_sizes: Hidden widths.
        activation: ``"relu"`` or ``"tanh"``.
        feature_norm: LayerNorms as in MAPPO.
    """

    def __init__(
        self,
        in_dim: int,
        action_space: spaces.Space,
        *,
        hidden_sizes: tuple[int, ...],
        activation: str,
        feature_norm: bool,
    ) -> None:
        super().__init__()
        self.body = MLPBody(in_dim, hidden_sizes, activation, feature_norm)
        self.distribution: Distribution = unchecked(make_proba_distribution(action_space))
        if isinstance(self.distribution, DiagGaussianDistribution):
            self.action_net, self.log_std = self.distribution.proba_distribution_net(hidden_sizes[-1], log_std_init=0.0)
        else:
            self.action_net = self.distribution.proba_distribution_net(hidden_sizes[-1])
            self.log_std = None
        _orthogonal(self.action_net, 0.01)
        self.is_categorical = isinstance(action_space, spaces.Discrete)
        self._head = (self.action_net.weight, self.action_net.bias)

    def _params(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.body(x), *self._head)

    def forward(self, x: torch.Tensor) -> Distribution:
        """The SB3 action distribution for a batch of encoded observations."""
        params = self._params(x)
        if self.log_std is not None:
            return self.distribution.proba_distribution(params, self.log_std)
        return self.distribution.proba_distribution(params)

    def sample(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample actions; returns ``(actions, log_probs)``.

        Categorical actions take a direct path (``log_softmax`` and
        ``multinomial``, the draw ``Categorical.sample`` makes) that skips
        building distribution objects.
        """
        if self.is_categorical:
            return categorical_sample(self._params(x))
        distribution = self(x)
        actions = distribution.sample()
        return actions, distribution.log_prob(actions)

    def evaluate(self, x: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of ``actions`` and entropies, both ``(batch,)``."""
        if self.is_categorical:
            return categorical_evaluate(self._params(x), actions)
        distribution = self(x)
        return distribution.log_prob(actions), distribution.entropy()


class CentralCritic(nn.Module):
    """The centralised critic: (global state, agent one-hot) -> value of that agent.

    Args:
        in_dim: Width of the critic input.
        hidden_sizes: Hidden widths.
        activation: ``"relu"`` or ``"tanh"``.
        feature_norm: LayerNorms as in MAPPO.
    """

    def __init__(self, in_dim: int, *, hidden_sizes: tuple[int, ...], activation: str, feature_norm: bool) -> None:
        super().__init__()
        self.body = MLPBody(in_dim, hidden_sizes, activation, feature_norm)
        self.value_head = _orthogonal(nn.Linear(hidden_sizes[-1], 1), 1.0)
        self._head = (self.value_head.weight, self.value_head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.body(x), *self._head).squeeze(-1)


class ValueNorm(nn.Module):
    """MAPPO's value normaliser: debiased exponential running mean and variance.

    Args:
        beta: Weight of the old statistics per update (MAPPO: 0.99999).
        epsilon: Floor of the debiasing term and of the variance.

    Examples:
        >>> import torch
        >>> norm = ValueNorm()
        >>> norm.update(torch.tensor([10.0, 30.0]))
        >>> norm.normalize(torch.tensor([20.0])).abs().item() < 1e-3
        True
    """

    def __init__(self, beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.beta = beta
        self.epsilon = epsilon
        self.register_buffer("running_mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros((), dtype=torch.float64))
        self.register_buffer("debiasing_term", torch.zeros((), dtype=torch.float64))

    def _mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        mean_sq = self.running_mean_sq / debias
        return mean, (mean_sq - mean**2).clamp(min=1e-2)

    @torch.no_grad()
    def update(self, values: torch.Tensor) -> None:
        """Fold a batch of value targets into the statistics."""
        x = values.detach().double().reshape(-1)
        self.running_mean.mul_(self.beta).add_(x.mean() * (1.0 - self.beta))
        self.running_mean_sq.mul_(self.beta).add_((x**2).mean() * (1.0 - self.beta))
        self.debiasing_term.mul_(self.beta).add_(1.0 - self.beta)

    def normalize(self, values: torch.Tensor) -> torch.Tensor:
        mean, var = self._mean_var()
        return ((values.double() - mean) / torch.sqrt(var)).to(values.dtype)

    def denormalize(self, values: torch.Tensor) -> torch.Tensor:
        mean, var = self._mean_var()
        return (values.double() * torch.sqrt(var) + mean).to(values.dtype)
