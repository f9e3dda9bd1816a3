"""STEP's N-level policy: an SB3 ``ActorCriticPolicy`` with a conditional hypernetwork head.

``NLevelPolicy`` keeps Stable-Baselines3's structure and extends it only
through its hooks:

* ``features_extractor`` = :class:`~stmg_agents.step.networks.SubgameStateExtractor`
  (no parameters) reads the subgame-state ``Dict`` observation;
* ``_build_mlp_extractor`` builds :class:`~stmg_agents.step.networks.NLevelExtractor`:
  the encoding of the superiors' actions (shared by actor and critic, like
  SB3's shared features extractor; parameter-free by default), the state
  embedding ``E(s, a^1..a^{i-1}; theta_s)`` (Eq. 8) for the actor and a
  separate rank-conditioned critic trunk ``V^i(s, a^1..a^{i-1})`` (Eq. 12);
* ``_build`` puts a :class:`~stmg_agents.step.hypernetwork.HyperPolicyHead`
  where SB3 puts ``action_net``: the priority embedding ``e^i`` of the
  observation's ``rank`` goes through ``H(e^i; theta_h)`` (Eq. 9), which
  generates the weights and biases of the target policy ``pi(s^{i-1}; theta_tar^i)``
  (Eq. 10): Categorical logits for ``Discrete`` actions, the means of a diagonal
  Gaussian (SB3's state-independent ``log_std``) for ``Box`` actions;
* ``_get_constructor_parameters`` lists every new argument, so
  ``policy.save``/``load`` and ``STEP.save``/``load`` rebuild it.

The critic predicts values normalised by running return statistics
(:class:`~stmg_agents.step.networks.ValueNormalizer`, as MAPPO's ValueNorm);
every public method returns values in return units. SB3's methods
(``forward``, ``evaluate_actions``, ``get_distribution``, ``predict``) work as
usual; STEP itself calls the leaner :meth:`NLevelPolicy.act` and
:meth:`NLevelPolicy.evaluate_parts`, which compute the same quantities without
SB3's distribution objects (tested to agree with them).

Its parameter count does not depend on the number of agents: learned
tables and the layer reading the superiors' actions are sized by
``max_agents`` (or use ``rank_encoding="sinusoidal"``, ``prior_encoding="set"``).

Examples:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> obs_space = spaces.Dict({"observation": spaces.Box(0, 1, (1,)), "prior_actions": spaces.Box(0, 1, (6,)),
    ...                          "prior_mask": spaces.MultiBinary(2), "rank": spaces.Discrete(2)})
    >>> policy = NLevelPolicy(obs_space, spaces.Discrete(3), lambda _: 5e-4)
    >>> obs = {"observation": np.ones(1, np.float32), "prior_actions": np.array([1, 0, 0, 0, 0, 0], np.float32),
    ...        "prior_mask": np.array([1, 0], np.int8), "rank": 1}
    >>> action, _ = policy.predict(obs, deterministic=True)
    >>> action.shape
    ()
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space, preprocess_obs
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn
from torch.nn import functional as F

from stmg_agents.distributions import categorical_evaluate, categorical_sample, gaussian_evaluate, gaussian_sample
from stmg_agents.step.hypernetwork import INDEX_ENCODING_KINDS, HyperPolicyHead, IndexEncodingKind
from stmg_agents.step.networks import (
    PRIOR_ENCODING_KINDS,
    NLevelExtractor,
    PriorEncodingKind,
    SubgameStateExtractor,
    ValueNormalizer,
    check_subgame_space,
)

__all__ = ["NLevelPolicy", "ActOutput", "EvaluateOutput"]

_MASKED_LOGIT = -1e9


class ActOutput(NamedTuple):
    """What :meth:`NLevelPolicy.act` returns (one row per observation)."""

    actions: th.Tensor  #: sampled (or greedy) actions, ``(B,)`` long or ``(B, d)`` float
    values: th.Tensor  #: ``V^i`` in return units, ``(B,)``
    log_probs: th.Tensor  #: log-probabilities of ``actions``, ``(B,)``


class EvaluateOutput(NamedTuple):
    """What :meth:`NLevelPolicy.evaluate` returns (one row per observation)."""

    normalized_values: th.Tensor  #: critic outputs in normalised units, ``(B,)``
    log_probs: th.Tensor  #: ``(B,)``
    entropy: th.Tensor  #: ``(B,)``


def _as_arch(net_arch: Any) -> tuple[list[int], list[int]]:
    if net_arch is None:
        return [64, 64], [64, 64]
    if isinstance(net_arch, dict):
        unknown = set(net_arch) - {"pi", "vf"}
        if unknown:
            raise ValueError(f"expected net_arch keys 'pi' and 'vf', got {sorted(unknown)}.")
        return list(net_arch.get("pi", [64, 64])), list(net_arch.get("vf", [64, 64]))
    if isinstance(net_arch, (list, tuple)):
        return list(net_arch), list(net_arch)
    raise ValueError(f"expected net_arch as a list of widths or dict(pi=[...], vf=[...]), got {net_arch!r}.")


class NLevelPolicy(ActorCriticPolicy):
    """N-level policy with a conditional hypernetwork (STEP, Section 3.2).

    Args (beyond :class:`~stable_baselines3.common.policies.ActorCriticPolicy`'s):
        net_arch: Hidden widths of the state embedding ``E`` (``pi``) and of the
            critic (``vf``); default ``dict(pi=[64, 64], vf=[64, 64])``.
        rank_encoding: ``"learned"`` (default; a table of ``max_agents`` vectors)
            or ``"sinusoidal"`` (fixed, any number of agents). Encodes the
            priority rank for the hypernetwork and the critic, and the agent
            slots for a ``"set"`` prior encoder.
        rank_embedding_dim: Size of ``e^i``.
        max_agents: Largest number of agents a learned encoding or the
            ``"padded"`` prior encoding supports.
        hyper_net_arch: Hidden widths of the hypernetwork ``H``.
        target_net_arch: Hidden widths of the generated target policy (``()``:
            one linear layer from the state embedding to the logits/means).
        hyper_scale_by_width: Divide the hypernetwork's last hidden layer by its
            width before its output layer, so that one Adam step moves the generated
            target-policy weights about as far as an ordinary layer's weights rather
            than tens of times further (see
            :class:`~stmg_agents.step.hypernetwork.ConditionalHyperNetwork`); the
            initial policy is the same either way. Off by default (the paper's plain
            hypernetwork, which the matrix-game settings were tuned with); the
            MuJoCo and on-ramp presets of :mod:`stmg_bench.suites.control` turn it on.
        prior_encoding: How the superiors' actions enter ``E`` and the critic:
            ``"padded"`` (default): ``prior_actions`` and ``prior_mask`` as they are,
            into a first layer with room for ``max_agents`` agents (unused
            columns stay zero), so the parameter count does not depend on the
            number of agents; ``"set"``: a per-slot encoder summed over the
            filled slots (also independent of the number of agents);
            ``"concat"``: as ``"padded"`` but sized for the actual agents.
        prior_embedding_dim: Output size of the ``"set"`` prior encoder.
        normalize_values: Keep running return statistics and let the critic
            predict normalised values (MAPPO's ValueNorm). ``predict_values``,
            ``forward`` and ``evaluate_actions`` always return values in return units.

    Raises:
        TypeError: the observation space is not an STMG subgame-state ``Dict``.
        ValueError: an unsupported action space, ``use_sde=True``, or a bad argument.
    """

    #: Whether the actor's head is the hypernetwork (``target_parameters`` and STEP's regulariser apply).
    has_hypernetwork: ClassVar[bool] = True
    #: The ``mlp_extractor``'s class (built with the arguments of :class:`NLevelExtractor`).
    extractor_class: ClassVar[type[NLevelExtractor]] = NLevelExtractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = SubgameStateExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        rank_encoding: IndexEncodingKind = "learned",
        rank_embedding_dim: int = 16,
        max_agents: int = 16,
        hyper_net_arch: Sequence[int] = (64,),
        target_net_arch: Sequence[int] = (),
        hyper_scale_by_width: bool = False,
        prior_encoding: PriorEncodingKind = "padded",
        prior_embedding_dim: int = 32,
        normalize_values: bool = True,
    ):
        layout = check_subgame_space(observation_space)
        if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
            raise ValueError(
                f"NLevelPolicy supports Discrete (Categorical head) and Box (diagonal Gaussian head) action spaces, "
                f"got {action_space}."
            )
        if use_sde:
            raise ValueError("NLevelPolicy does not support gSDE; expected use_sde=False, got True.")
        if not isinstance(hyper_scale_by_width, bool):
            raise TypeError(f"expected hyper_scale_by_width to be a bool, got {hyper_scale_by_width!r}.")
        if rank_encoding not in INDEX_ENCODING_KINDS:
            raise ValueError(f"expected rank_encoding in {INDEX_ENCODING_KINDS}, got {rank_encoding!r}.")
        if prior_encoding not in PRIOR_ENCODING_KINDS:
            raise ValueError(f"expected prior_encoding in {PRIOR_ENCODING_KINDS}, got {prior_encoding!r}.")
        if rank_encoding == "learned" and layout.n_agents > max_agents:
            raise ValueError(
                f"expected at most max_agents={max_agents} agents for rank_encoding='learned', got {layout.n_agents}; "
                "pass policy_kwargs=dict(max_agents=...) or rank_encoding='sinusoidal'."
            )
        if not issubclass(features_extractor_class, SubgameStateExtractor):
            raise ValueError(
                f"expected features_extractor_class to be SubgameStateExtractor or a subclass, got {features_extractor_class}."
            )
        # Plain attributes used by the build hooks that ActorCriticPolicy.__init__ calls.
        self.layout = layout
        self.rank_encoding = rank_encoding
        self.rank_embedding_dim = int(rank_embedding_dim)
        self.max_agents = int(max_agents)
        self.hyper_net_arch = tuple(int(w) for w in hyper_net_arch)
        self.target_net_arch = tuple(int(w) for w in target_net_arch)
        self.hyper_scale_by_width = hyper_scale_by_width
        self.prior_encoding = prior_encoding
        self.prior_embedding_dim = int(prior_embedding_dim)
        self.normalize_values = bool(normalize_values)
        self._pi_arch, self._vf_arch = _as_arch(net_arch)
        if optimizer_kwargs is None and optimizer_class is th.optim.Adam:
            # SB3's eps, and the fused kernel: several times faster for these small networks.
            optimizer_kwargs = {"eps": 1e-5, "fused": True}
        features_extractor_kwargs = dict(features_extractor_kwargs or {})
        features_extractor_kwargs.setdefault("normalize_images", normalize_images)
        self._own_space = observation_space["observation"]
        self._plain_box_obs = isinstance(self._own_space, spaces.Box) and not is_image_space(self._own_space)
        self._discrete = isinstance(action_space, spaces.Discrete)
        self._action_dim = int(action_space.n) if self._discrete else int(np.prod(action_space.shape))
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=activation_fn,
            ortho_init=ortho_init,
            use_sde=False,
            log_std_init=log_std_init,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=squash_output,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=features_extractor_kwargs,
            share_features_extractor=share_features_extractor,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    # ------------------------------------------------------------------ building
    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            rank_encoding=self.rank_encoding,
            rank_embedding_dim=self.rank_embedding_dim,
            max_agents=self.max_agents,
            hyper_net_arch=self.hyper_net_arch,
            target_net_arch=self.target_net_arch,
            hyper_scale_by_width=self.hyper_scale_by_width,
            prior_encoding=self.prior_encoding,
            prior_embedding_dim=self.prior_embedding_dim,
            normalize_values=self.normalize_values,
            share_features_extractor=self.share_features_extractor,
            normalize_images=self.normalize_images,
        )
        return data

    def _build_mlp_extractor(self) -> None:
        """Build the actor's state embedding ``E`` and the rank-conditioned critic trunk."""
        self.mlp_extractor = self.extractor_class(
            self.layout,
            self._pi_arch,
            self._vf_arch,
            self.activation_fn,
            prior_encoding=self.prior_encoding,
            prior_embedding_dim=self.prior_embedding_dim,
            rank_encoding=self.rank_encoding,
            rank_embedding_dim=self.rank_embedding_dim,
            max_agents=self.max_agents,
        ).to(self.device)

    def _build(self, lr_schedule: Schedule) -> None:
        """Like SB3's ``_build``, with the hypernetwork head in place of the linear ``action_net``.

        Differences from the parent: ``action_net`` is a :class:`HyperPolicyHead`
        (initialised by its own rule: every rank starts near SB3's
        orthogonal head with gain 0.01), a ``Box`` action space gets SB3's
        state-independent ``log_std`` parameter, and a :class:`ValueNormalizer`
        is added. Orthogonal initialisation of ``mlp_extractor`` (gain sqrt 2)
        and ``value_net`` (gain 1) is as in SB3; for the first layers, only
        the columns that are read are initialised, reserved ones are zero.
        """
        self._build_mlp_extractor()
        self.action_net = self._make_action_net()
        if not self._discrete:
            self.log_std = nn.Parameter(th.ones(self._action_dim) * self.log_std_init, requires_grad=True)
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        self.value_normalizer = ValueNormalizer(self.normalize_values)
        if self.ortho_init:
            self.mlp_extractor.apply(partial(self.init_weights, gain=np.sqrt(2)))
            self.value_net.apply(partial(self.init_weights, gain=1))
        for embedding in (self.mlp_extractor.policy_embedding, self.mlp_extractor.value_embedding):
            embedding.reset_reserved_columns(gain=np.sqrt(2) if self.ortho_init else None)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    def _make_action_net(self) -> nn.Module:
        """The actor's head (a hook of ``_build``): here the hypernetwork head, initialised by its own rule."""
        return HyperPolicyHead(
            self.mlp_extractor.latent_dim_pi,
            self._action_dim,
            target_net_arch=self.target_net_arch,
            hyper_net_arch=self.hyper_net_arch,
            rank_encoding=self.rank_encoding,
            rank_dim=self.rank_embedding_dim,
            max_agents=self.max_agents,
            activation_fn=self.activation_fn,
            scale_by_width=self.hyper_scale_by_width,
        )

    # ------------------------------------------------------------------ pieces
    def extract_features(  # type: ignore[override]
        self, obs: PyTorchObs, features_extractor: BaseFeaturesExtractor | None = None
    ) -> th.Tensor:
        """Feature rows from raw observation tensors (no whole-``Dict`` preprocessing; see the extractor)."""
        return (features_extractor or self.features_extractor)(obs)

    def observation_parts(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        """``(own, prior_actions, prior_mask, rank)`` as ``(B, O)``, ``(B, D)``, ``(B, N)`` float and ``(B,)`` long.

        The same values as the feature row of :class:`SubgameStateExtractor`,
        without building and re-splitting it (the fast path of every method here).
        """
        own = obs["observation"]  # type: ignore[index]
        if not self._plain_box_obs:
            own = preprocess_obs(own, self._own_space, normalize_images=self.normalize_images)
        batch = own.shape[0]
        return (
            own.reshape(batch, -1).float(),
            obs["prior_actions"].reshape(batch, -1).float(),  # type: ignore[index]
            obs["prior_mask"].reshape(batch, -1).float(),  # type: ignore[index]
            obs["rank"].reshape(-1).long(),  # type: ignore[index]
        )

    @staticmethod
    def _uniform_rank(obs: PyTorchObs) -> int | None:
        ranks = obs["rank"].reshape(-1)  # type: ignore[index]
        if ranks.numel() == 0:
            return None
        first = int(ranks[0])
        return first if bool((ranks == first).all()) else None

    def _head(self, latent_pi: th.Tensor, obs: PyTorchObs, rank: int | None, params: th.Tensor | None) -> th.Tensor:
        ranks: th.Tensor | int = rank if rank is not None else obs["rank"]  # type: ignore[index]
        out = self.action_net(latent_pi, ranks, params)
        return self._masked(out, obs.get("action_mask") if isinstance(obs, dict) else None)

    def _masked(self, head_out: th.Tensor, action_mask: th.Tensor | None) -> th.Tensor:
        """``Discrete`` logits with the actions that ``action_mask`` forbids pushed to -1e9 (else unchanged)."""
        if action_mask is not None and self._discrete:
            return head_out.masked_fill(action_mask.reshape(head_out.shape) == 0, _MASKED_LOGIT)
        return head_out

    def target_parameters(self, ranks: th.Tensor | int) -> th.Tensor:
        """``H(e^i; theta_h)``, the generated target-policy parameters: for each rank of a tensor
        (``(*ranks.shape, P)``), or for the ranks ``0..n-1`` when given an ``int`` ``n`` (``(n, P)``)."""
        if isinstance(ranks, int):
            return self.action_net.leading_target_parameters(ranks)
        return self.action_net.target_parameters(ranks)

    def _dist_from_head(self, head_out: th.Tensor) -> Distribution:
        if self._discrete:
            return self.action_dist.proba_distribution(action_logits=head_out)  # type: ignore[call-arg]
        return self.action_dist.proba_distribution(head_out, self.log_std)  # type: ignore[call-arg]

    # ------------------------------------------------------------------ fast paths used by STEP
    def act(
        self,
        obs: PyTorchObs,
        *,
        rank: int | None = None,
        deterministic: bool = False,
        generator: th.Generator | None = None,
        head_params: th.Tensor | None = None,
    ) -> ActOutput:
        """Actions, values and log-probabilities for a batch (no autograd bookkeeping needed by the caller).

        Same mathematics as ``forward`` without SB3's distribution objects;
        sampling draws from ``generator`` (torch's global RNG when ``None``).

        Args:
            obs: Raw observation tensors (``Dict`` of ``(B, ...)``).
            rank: The rank of every row when they all share one (skips a check).
            deterministic: Greedy actions (argmax / Gaussian mean).
            generator: RNG for sampling.
            head_params: ``target_parameters(arange(R))`` computed beforehand.
        """
        own, prior, mask, ranks = self.observation_parts(obs)
        if rank is None:
            rank = self._uniform_rank(obs)
        latent_pi, latent_vf = self.mlp_extractor.forward_parts(own, prior, mask, ranks if rank is None else rank)
        head_out = self._head(latent_pi, obs, rank, head_params)
        values = self.value_normalizer.denormalize(
            F.linear(latent_vf, self.value_net.weight, self.value_net.bias).squeeze(-1)
        )
        if self._discrete:
            actions, log_prob = categorical_sample(head_out, deterministic=deterministic, generator=generator)
        else:
            actions, log_prob = gaussian_sample(
                head_out, self.log_std, deterministic=deterministic, generator=generator
            )
        return ActOutput(actions, values, log_prob)

    def evaluate(
        self, obs: PyTorchObs, actions: th.Tensor, *, rank: int | None = None, head_params: th.Tensor | None = None
    ) -> EvaluateOutput:
        """Normalised values, log-probabilities and entropies of ``actions`` (the training path).

        ``head_params``: ``target_parameters`` of ranks ``0..R-1`` computed by the caller (with autograd),
        e.g. to share them with the hypernetwork regulariser.
        """
        if rank is None:
            rank = self._uniform_rank(obs)
        action_mask = obs.get("action_mask") if isinstance(obs, dict) else None
        return self.evaluate_parts(
            self.observation_parts(obs), actions, rank=rank, head_params=head_params, action_mask=action_mask
        )

    def evaluate_parts(
        self,
        parts: tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor],
        actions: th.Tensor,
        *,
        rank: int | None = None,
        head_params: th.Tensor | None = None,
        action_mask: th.Tensor | None = None,
    ) -> EvaluateOutput:
        """:meth:`evaluate` on precomputed :meth:`observation_parts` (they do not change across epochs)."""
        log_prob, entropy = self.evaluate_policy_parts(
            parts, actions, rank=rank, head_params=head_params, action_mask=action_mask
        )
        return EvaluateOutput(self.normalized_values_parts(parts, rank=rank), log_prob, entropy)

    def evaluate_policy_parts(
        self,
        parts: tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor],
        actions: th.Tensor,
        *,
        rank: int | None = None,
        head_params: th.Tensor | None = None,
        action_mask: th.Tensor | None = None,
    ) -> tuple[th.Tensor, th.Tensor]:
        """Log-probabilities and entropies of ``actions`` (actor only), from :meth:`observation_parts`."""
        head_out = self.policy_head_parts(parts, rank=rank, head_params=head_params, action_mask=action_mask)
        if self._discrete:
            return categorical_evaluate(head_out, actions)
        return gaussian_evaluate(head_out, self.log_std, actions)

    def policy_head_parts(
        self,
        parts: tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor],
        *,
        rank: int | None = None,
        head_params: th.Tensor | None = None,
        action_mask: th.Tensor | None = None,
    ) -> th.Tensor:
        """The actor's output (``Discrete``: logits, masked by ``action_mask``; ``Box``: the Gaussian means)."""
        own, prior, mask, ranks = parts
        latent_pi = self.mlp_extractor.actor_parts(own, prior, mask)
        head_out = self.action_net(latent_pi, ranks if rank is None else rank, head_params)
        return self._masked(head_out, action_mask)

    def _obs_head(self, obs: PyTorchObs) -> th.Tensor:
        """:meth:`policy_head_parts` of raw observation tensors (the SB3 methods' path)."""
        action_mask = obs.get("action_mask") if isinstance(obs, dict) else None
        return self.policy_head_parts(
            self.observation_parts(obs), rank=self._uniform_rank(obs), action_mask=action_mask
        )

    def normalized_values_parts(
        self, parts: tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor], *, rank: int | None = None
    ) -> th.Tensor:
        """Critic outputs in normalised units (critic only), from :meth:`observation_parts`."""
        own, prior, mask, ranks = parts
        latent_vf = self.mlp_extractor.critic_parts(own, prior, mask, ranks if rank is None else rank)
        return F.linear(latent_vf, self.value_net.weight, self.value_net.bias).squeeze(-1)

    # ------------------------------------------------------------------ SB3 API
    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Actions, values ``(B, 1)`` in return units, log-probabilities (SB3's signature)."""
        out = self.act(obs, deterministic=deterministic)
        actions = out.actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions, out.values.reshape(-1, 1), out.log_probs

    def evaluate_actions(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """Values ``(B, 1)`` in return units, log-probabilities, entropies (SB3's signature)."""
        out = self.evaluate(obs, actions)
        return self.value_normalizer.denormalize(out.normalized_values).reshape(-1, 1), out.log_probs, out.entropy

    def get_distribution(self, obs: PyTorchObs) -> Distribution:
        """SB3 distribution (Categorical or diagonal Gaussian) of each row's rank-conditioned policy."""
        return self._dist_from_head(self._obs_head(obs))

    def predict_values(self, obs: PyTorchObs) -> th.Tensor:
        """``V^i(s, a^1..a^{i-1})`` in return units, shape ``(B, 1)``."""
        latent_vf = self.mlp_extractor.critic_parts(*self.observation_parts(obs))
        return self.value_normalizer.denormalize(self.value_net(latent_vf))

    def action_probabilities(self, obs: PyTorchObs) -> th.Tensor:
        """Action probabilities ``(B, n)`` of a ``Discrete`` policy (for analysis, e.g. matrix games)."""
        if not self._discrete:
            raise ValueError(f"action_probabilities needs a Discrete action space, got {self.action_space}.")
        return F.softmax(self._obs_head(obs), dim=-1)
