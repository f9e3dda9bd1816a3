"""State embedding and critic trunk of STEP's N-level policy (paper Eq. 8 and 12).

The policy sees one agent's *subgame-state* observation from
:func:`stmg_envs.stmg_v0` (``flatten=False``): its own ``observation``, the
encoded actions of the agents ranked above it this step (``prior_actions``,
one slot per possible agent), which slots are filled (``prior_mask``) and its
``rank``. Here:

* :class:`SubgameStateExtractor` (the SB3 features extractor, no parameters)
  flattens those into one feature row ``[observation | prior_actions | prior_mask | rank]``;
* :class:`PriorActionEncoder` encodes the superiors' actions: by
  concatenation into a layer that reserves room for ``max_agents`` agents
  (default), as a *set* (a shared per-slot encoder summed over the filled
  slots), or by plain concatenation (the only one whose size grows with the
  number of agents);
* :class:`SubgameStateEmbedding` is an MLP trunk;
* :class:`NLevelExtractor` (the SB3 ``mlp_extractor``) holds the shared
  prior-action encoder, the actor's state embedding ``E(s, a^1..a^{i-1}; theta_s)``
  and the critic's rank-conditioned trunk ``V(s, a^1..a^{i-1}, e^i)``;
* :class:`ValueNormalizer` keeps running return statistics so the critic
  learns normalised values (as MAPPO does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, preprocess_obs
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn
from torch.nn import functional as F

from stmg_agents.step.hypernetwork import IndexEncoding, IndexEncodingKind, functional_activation, linear_stack
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS

__all__ = [
    "PriorEncodingKind",
    "PRIOR_ENCODING_KINDS",
    "SubgameLayout",
    "check_subgame_space",
    "SubgameStateExtractor",
    "PriorActionEncoder",
    "SubgameStateEmbedding",
    "NLevelExtractor",
    "ValueNormalizer",
]


PriorEncodingKind = Literal["padded", "set", "concat"]
PRIOR_ENCODING_KINDS: tuple[str, ...] = ("padded", "set", "concat")


@dataclass(frozen=True)
class SubgameLayout:
    """Sizes of the parts of a feature row ``[observation | prior_actions | prior_mask | rank]``.

    Attributes:
        obs_dim: Length of the flattened (preprocessed) own observation.
        prior_dim: Length of ``prior_actions`` (``n_agents * slot_dim``).
        n_agents: Number of possible agents (slots, and ranks).
    """

    obs_dim: int
    prior_dim: int
    n_agents: int

    @property
    def slot_dim(self) -> int:
        """Length of one agent's slot of ``prior_actions``."""
        return self.prior_dim // self.n_agents

    @property
    def features_dim(self) -> int:
        return self.obs_dim + self.prior_dim + self.n_agents + 1

    def split(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        """``(observation, prior_actions, prior_mask, rank)`` views of a feature batch (rank as a long ``(B,)``)."""
        o, d, n = self.obs_dim, self.prior_dim, self.n_agents
        return (
            features[:, :o],
            features[:, o : o + d],
            features[:, o + d : o + d + n],
            features[:, o + d + n].long(),
        )


def check_subgame_space(observation_space: spaces.Space) -> SubgameLayout:
    """Validate an STMG subgame-state observation space and return its layout.

    Raises:
        TypeError: not a ``Dict`` with the STMG keys (e.g. an env built with ``flatten=True``).
        ValueError: ``prior_actions`` cannot be cut into equal slots, one per agent.
    """
    if not isinstance(observation_space, spaces.Dict) or not all(
        k in observation_space.spaces for k in OBSERVATION_KEYS
    ):
        raise TypeError(
            f"expected the Dict observation space of an STMG with keys {OBSERVATION_KEYS} "
            f"(stmg_envs.stmg_v0(parallel_env, flatten=False)), got {observation_space}."
        )
    prior = observation_space["prior_actions"]
    mask = observation_space["prior_mask"]
    rank = observation_space["rank"]
    if not isinstance(prior, spaces.Box) or len(prior.shape) != 1:
        raise TypeError(f"expected 'prior_actions' to be a 1-D Box, got {prior}.")
    if not isinstance(mask, spaces.MultiBinary) or not isinstance(rank, spaces.Discrete):
        raise TypeError(f"expected 'prior_mask' MultiBinary(N) and 'rank' Discrete(N), got {mask} and {rank}.")
    n_agents = int(rank.n)
    if int(np.prod(mask.shape)) != n_agents:
        raise ValueError(f"expected 'prior_mask' with one entry per rank ({n_agents}), got {mask}.")
    prior_dim = int(prior.shape[0])
    if prior_dim % n_agents:
        raise ValueError(
            f"expected 'prior_actions' to hold {n_agents} equal slots (agents with identical action spaces), "
            f"got length {prior_dim}."
        )
    own = observation_space["observation"]
    if isinstance(own, (spaces.Dict, spaces.Tuple)):
        raise TypeError(
            f"expected a non-nested 'observation' space (Box, Discrete, MultiDiscrete, MultiBinary), got {own}."
        )
    return SubgameLayout(obs_dim=int(get_flattened_obs_dim(own)), prior_dim=prior_dim, n_agents=n_agents)


class SubgameStateExtractor(BaseFeaturesExtractor):
    """Features extractor (no parameters): one row ``[observation | prior_actions | prior_mask | rank]``.

    It takes *raw* observation tensors (``NLevelPolicy.extract_features`` does
    not run SB3's whole-``Dict`` preprocessing, which would one-hot the rank);
    the own observation is preprocessed with SB3's rules for its space
    (``Discrete`` one-hot, images scaled, ``Box`` as float).

    Args:
        observation_space: The STMG subgame-state ``Dict`` space.
        normalize_images: Scale image observations to ``[0, 1]``.
    """

    def __init__(self, observation_space: spaces.Dict, normalize_images: bool = True):
        layout = check_subgame_space(observation_space)
        super().__init__(observation_space, features_dim=layout.features_dim)
        self.layout = layout
        self.normalize_images = normalize_images
        self._own_space = observation_space["observation"]

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:  # type: ignore[override]
        own = preprocess_obs(observations["observation"], self._own_space, normalize_images=self.normalize_images)
        batch = own.shape[0]
        return th.cat(
            [
                own.reshape(batch, -1).float(),
                observations["prior_actions"].reshape(batch, -1).float(),
                observations["prior_mask"].reshape(batch, -1).float(),
                observations["rank"].reshape(batch, 1).float(),
            ],
            dim=1,
        )


class PriorActionEncoder(nn.Module):
    """Encodes the actions of the superior agents.

    ``"padded"`` (default) and ``"concat"``: ``[prior_actions | prior_mask]``
    as they are (no parameters). With ``"padded"`` the layer that reads them
    reserves room for ``max_agents`` agents (:attr:`reserved_dim`), so the
    parameter count does not depend on the number of agents; the unused
    columns stay zero. With ``"concat"`` that layer is sized for the actual
    number of agents and grows with it.
    ``"set"``: ``sum_k mask_k * act(W_a slot_k + W_c c_k + b)`` where ``slot_k``
    is agent ``k``'s slot of ``prior_actions`` and ``c_k`` an encoding of the
    slot index (which agent acted); its size does not depend on the number of
    agents, and the sum's magnitude tells how many superiors acted.

    Args:
        kind: ``"padded"``, ``"set"`` or ``"concat"``.
        layout: The observation layout.
        embed_dim: Output size of the ``"set"`` encoder.
        slot_encoding: Encoding of slot indices (``"learned"`` or ``"sinusoidal"``).
        slot_dim: Size of that encoding.
        max_agents: Room reserved by ``"padded"``; table size of a learned slot encoding.
        activation_fn: Activation of the per-slot encoder.

    Attributes:
        output_dim: Size of the encoding of one observation.
        reserved_dim: Input width the next layer reserves (``>= output_dim``).
    """

    def __init__(
        self,
        kind: PriorEncodingKind,
        layout: SubgameLayout,
        *,
        embed_dim: int = 32,
        slot_encoding: IndexEncodingKind = "learned",
        slot_dim: int = 16,
        max_agents: int = 16,
        activation_fn: type[nn.Module] = nn.Tanh,
    ):
        super().__init__()
        if kind not in PRIOR_ENCODING_KINDS:
            raise ValueError(f"expected prior_encoding in {PRIOR_ENCODING_KINDS}, got {kind!r}.")
        self.kind = kind
        self.layout = layout
        if kind in ("concat", "padded"):
            self.output_dim = layout.prior_dim + layout.n_agents
            self.reserved_dim = self.output_dim
            if kind == "padded":
                if layout.n_agents > max_agents:
                    raise ValueError(
                        f"expected at most max_agents={max_agents} agents for prior_encoding='padded', got "
                        f"{layout.n_agents}; pass policy_kwargs=dict(max_agents=...)."
                    )
                self.reserved_dim = max_agents * (layout.slot_dim + 1)
            return
        if slot_encoding == "learned" and layout.n_agents > max_agents:
            raise ValueError(
                f"expected at most max_agents={max_agents} agents for a learned slot encoding, got {layout.n_agents}; "
                "pass policy_kwargs=dict(max_agents=...) or rank_encoding='sinusoidal'."
            )
        self.slot_codes = IndexEncoding(slot_encoding, slot_dim, max_agents)
        self.action_proj = nn.Linear(layout.slot_dim, embed_dim)
        self.code_proj = nn.Linear(slot_dim, embed_dim, bias=False)
        self.activation = functional_activation(activation_fn)
        self.output_dim = int(embed_dim)
        self.reserved_dim = self.output_dim

    def forward(self, prior_actions: th.Tensor, prior_mask: th.Tensor) -> th.Tensor:
        if self.kind != "set":
            return th.cat([prior_actions, prior_mask], dim=1)
        batch = prior_actions.shape[0]
        slots = prior_actions.reshape(batch, self.layout.n_agents, self.layout.slot_dim)
        codes = F.linear(self.slot_codes.first(self.layout.n_agents), self.code_proj.weight)  # (N, E)
        encoded = self.activation(F.linear(slots, self.action_proj.weight, self.action_proj.bias) + codes)  # (B, N, E)
        return th.bmm(prior_mask.unsqueeze(1), encoded).squeeze(1)


class SubgameStateEmbedding(nn.Module):
    """An MLP over ``[own observation | encoded prior actions]``, optionally conditioned on a code.

    The code (the critic's rank encoding) is added to the first layer's
    pre-activation through its own projection, which is the same function
    as appending it to the input but costs nothing per row when every row
    shares one code. The first layer may reserve more input columns than
    are used (``reserved_in_dim``, see ``prior_encoding="padded"``); only the
    first ``in_dim`` columns are read.

    Args:
        in_dim: Size of the input row.
        net_arch: Hidden widths; the last one is the output size.
        activation_fn: Activation after every layer.
        cond_dim: Size of the conditioning code (0: none).
        reserved_in_dim: Input width of the first layer (default ``in_dim``).
    """

    def __init__(
        self,
        in_dim: int,
        net_arch: Sequence[int],
        activation_fn: type[nn.Module],
        cond_dim: int = 0,
        reserved_in_dim: int | None = None,
    ):
        super().__init__()
        if not net_arch:
            raise ValueError("expected at least one hidden layer for the state embedding, got net_arch=[].")
        self.in_dim = int(in_dim)
        self.trunk, self.output_dim = linear_stack(max(self.in_dim, reserved_in_dim or 0), net_arch)
        self.cond_proj = nn.Linear(cond_dim, int(net_arch[0]), bias=False) if cond_dim else None
        self.activation = functional_activation(activation_fn)
        self._padded = self.trunk[0].in_features > self.in_dim

    def first_weight(self) -> th.Tensor:
        """The columns of the first layer that are read (all of them unless room is reserved)."""
        weight = self.trunk[0].weight
        return weight[:, : self.in_dim] if self._padded else weight  # type: ignore[return-value]

    def reset_reserved_columns(self, gain: float | None) -> None:
        """Zero the reserved, unread columns of the first layer (they get no gradient, so they stay zero).

        With a ``gain``, also re-initialise the read columns orthogonally, as
        if the layer were exactly as wide as its input.
        """
        if not self._padded:
            return
        with th.no_grad():
            weight = self.trunk[0].weight
            weight[:, self.in_dim :] = 0.0
            if gain is not None:
                nn.init.orthogonal_(weight[:, : self.in_dim], gain=gain)

    def forward(self, x: th.Tensor, cond: th.Tensor | None = None) -> th.Tensor:
        layers = iter(self.trunk)  # (indexing or slicing a ModuleList builds new objects: slow)
        first = next(layers)
        h = F.linear(x, self.first_weight(), first.bias)
        if cond is not None:
            h = h + F.linear(cond, self.cond_proj.weight)  # type: ignore[union-attr]
        h = self.activation(h)
        for layer in layers:
            h = self.activation(F.linear(h, layer.weight, layer.bias))
        return h


class NLevelExtractor(nn.Module):
    """The ``mlp_extractor`` of :class:`~stmg_agents.step.policy.NLevelPolicy`.

    A prior-action encoder, shared by actor and critic like SB3's shared
    features extractor, feeds two separate trunks: the actor's state
    embedding ``E(s, a^1..a^{i-1}; theta_s)`` (its output ``s^{i-1}`` goes to
    the rank-conditioned head) and the critic's ``V^i(s, a^1..a^{i-1})``
    trunk, conditioned on the rank through its own rank encoding.

    Args:
        layout: The observation layout.
        pi_arch: Hidden widths of ``E``.
        vf_arch: Hidden widths of the critic trunk.
        activation_fn: Activation function.
        prior_encoding: ``"padded"``, ``"set"`` or ``"concat"`` (see :class:`PriorActionEncoder`).
        prior_embedding_dim: Output size of a ``"set"`` prior encoder.
        rank_encoding: Encoding of ranks and slot indices.
        rank_embedding_dim: Size of those encodings.
        max_agents: Table size of learned encodings; room reserved by ``"padded"``.
    """

    def __init__(
        self,
        layout: SubgameLayout,
        pi_arch: Sequence[int],
        vf_arch: Sequence[int],
        activation_fn: type[nn.Module],
        *,
        prior_encoding: PriorEncodingKind,
        prior_embedding_dim: int,
        rank_encoding: IndexEncodingKind,
        rank_embedding_dim: int,
        max_agents: int,
    ):
        super().__init__()
        self.layout = layout
        self.prior_encoder = PriorActionEncoder(
            prior_encoding,
            layout,
            embed_dim=prior_embedding_dim,
            slot_encoding=rank_encoding,
            slot_dim=rank_embedding_dim,
            max_agents=max_agents,
            activation_fn=activation_fn,
        )
        in_dim = layout.obs_dim + self.prior_encoder.output_dim
        reserved = layout.obs_dim + self.prior_encoder.reserved_dim
        self.policy_embedding = SubgameStateEmbedding(in_dim, pi_arch, activation_fn, reserved_in_dim=reserved)
        self.value_rank_encoder = IndexEncoding(rank_encoding, rank_embedding_dim, max_agents)
        self.value_embedding = SubgameStateEmbedding(
            in_dim, vf_arch, activation_fn, cond_dim=rank_embedding_dim, reserved_in_dim=reserved
        )
        self.latent_dim_pi = self.policy_embedding.output_dim
        self.latent_dim_vf = self.value_embedding.output_dim

    def inputs(self, own: th.Tensor, prior: th.Tensor, mask: th.Tensor) -> th.Tensor:
        """The trunks' input row ``[own | encoded prior actions]``."""
        return th.cat([own, self.prior_encoder(prior, mask)], dim=1)

    def _rank_code(self, rank: th.Tensor | int) -> th.Tensor:
        if isinstance(rank, int):
            return self.value_rank_encoder.row(rank)
        return self.value_rank_encoder(rank)

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_parts(*self.layout.split(features))

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        own, prior, mask, _ = self.layout.split(features)
        return self.actor_parts(own, prior, mask)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        return self.critic_parts(*self.layout.split(features))

    def forward_parts(
        self, own: th.Tensor, prior: th.Tensor, mask: th.Tensor, rank: th.Tensor | int
    ) -> tuple[th.Tensor, th.Tensor]:
        """``(latent_pi, latent_vf)`` from the observation parts.

        Args:
            own: Flattened own observations ``(B, O)``.
            prior: ``prior_actions`` ``(B, D)``.
            mask: ``prior_mask`` as floats ``(B, N)``.
            rank: Ranks ``(B,)`` (long), or one ``int`` shared by all rows.
        """
        x = self.inputs(own, prior, mask)
        return self.policy_embedding(x), self.value_embedding(x, self._rank_code(rank))

    def actor_parts(self, own: th.Tensor, prior: th.Tensor, mask: th.Tensor) -> th.Tensor:
        """``latent_pi`` (the state embedding ``s^{i-1}``) from the observation parts."""
        return self.policy_embedding(self.inputs(own, prior, mask))

    def critic_parts(self, own: th.Tensor, prior: th.Tensor, mask: th.Tensor, rank: th.Tensor | int) -> th.Tensor:
        """``latent_vf`` from the observation parts."""
        return self.value_embedding(self.inputs(own, prior, mask), self._rank_code(rank))


class ValueNormalizer(nn.Module):
    """Running mean and variance of value targets; the critic predicts normalised values.

    Statistics live in buffers, so they are saved with the policy. With
    ``enabled=False`` every method is the identity.

    Examples:
        >>> norm = ValueNormalizer()
        >>> norm.update(th.tensor([1.0, 3.0]))
        >>> round(float(norm.denormalize(norm.normalize(th.tensor(5.0)))), 4)
        5.0
    """

    def __init__(self, enabled: bool = True, epsilon: float = 1e-4):
        super().__init__()
        self.enabled = bool(enabled)
        self.register_buffer("mean", th.zeros((), dtype=th.float64))
        self.register_buffer("var", th.ones((), dtype=th.float64))
        self.register_buffer("count", th.tensor(epsilon, dtype=th.float64))
        self._cache: tuple[float, float] | None = None

    @th.no_grad()
    def update(self, values: th.Tensor) -> None:
        """Merge the statistics of ``values`` (SB3's ``RunningMeanStd`` merge, the parallel-variance formula).

        The buffers hold the statistics (so they are saved with the policy); the merge itself is
        Stable-Baselines3's, the one the observation normaliser (:mod:`stmg_bench.normalization`) uses.
        """
        if not self.enabled or values.numel() == 0:
            return
        x = values.detach().reshape(-1).to(th.float64)
        stats = RunningMeanStd(epsilon=float(self.count), shape=())
        stats.mean, stats.var = np.float64(self.mean), np.float64(self.var)
        stats.update_from_moments(np.float64(x.mean()), np.float64(x.var(unbiased=False)), float(x.numel()))
        self.mean.fill_(float(stats.mean))
        self.var.fill_(float(stats.var))
        self.count.fill_(float(stats.count))
        self._cache = None

    def stats(self) -> tuple[float, float]:
        """``(mean, std)`` as Python floats (cached until the statistics change)."""
        if self._cache is None:
            self._cache = (float(self.mean), float(th.sqrt(self.var.clamp_min(1e-8))))
        return self._cache

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._cache = None
        super()._load_from_state_dict(*args, **kwargs)

    def normalize(self, values: th.Tensor) -> th.Tensor:
        if not self.enabled:
            return values
        mean, std = self.stats()
        return (values - mean) / std

    def denormalize(self, values: th.Tensor) -> th.Tensor:
        if not self.enabled:
            return values
        mean, std = self.stats()
        return values * std + mean

    def extra_repr(self) -> str:
        return f"enabled={self.enabled}"
