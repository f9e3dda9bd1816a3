"""MAT, the Multi-Agent Transformer: the joint action decoded one agent after another, trained with PPO.

After Wen et al. (2022), "Multi-Agent Reinforcement Learning is a Sequence Modeling Problem" (NeurIPS;
reference code ``PKU-MARL/Multi-Agent-Transformer``, ``ma_transformer.py`` and ``mat_trainer.py``):

* an **encoder** embeds every agent's observation and runs (unmasked) self-attention over the
  agents; a head on each agent's representation gives that agent's value (a centralised critic);
* a **decoder** outputs the agents' actions one after another in a *decoding order*: position
  ``i`` reads the shifted action sequence (a start token, then the actions of positions ``0..i-1``)
  through causal self-attention, then a causal attention whose queries are the encoder's
  representations and whose keys and values are the decoded action embeddings (as the reference
  code does), then an MLP and the action head. Agent ``i``'s action distribution is therefore
  conditioned on every observation and on the actions already chosen, never on later ones;
* PPO on each agent's conditional probability (the reference code's per-agent ratio: agent ``i``'s
  ratio is ``pi(a_i | o, a_<i) / pi_old(a_i | o, a_<i)``, with agent ``i``'s own GAE advantage from
  its own value and reward), a clipped Huber value loss on ValueNorm-normalised targets (MAPPO's
  and the reference's) and an entropy bonus.

``Discrete`` actions are categorical (one-hot action tokens, with a start token); ``Box`` actions
are diagonal Gaussians with a learned, state-independent log-std (the token is the sampled
action). Three things differ from the reference code: each action token also carries a one-hot of
the agent that took it (with a random decoding order the position alone does not say whose action
it is); the observations carry a one-hot agent indicator (the matrix games give every agent the same
constant observation); and the attention layers start at orthogonal gain 1, not 0.01 (at 0.01 the
decoder's dependence on the earlier actions starts near 1e-4 and does not grow within a short run). Observations of different sizes are zero-padded to the largest
(:class:`~stmg_agents.baselines.observation_encoding.SharedObservationEncoder`); all agents must
share one action space.

For the benchmark (:mod:`stmg_bench.contract`) MAT is a ``"simultaneous"`` algorithm with
``execution = "centralized"`` (the joint action needs every agent's observation: use
:meth:`MAT.act_joint` and :meth:`MAT.joint_probabilities`; ``act`` for one agent raises) and
``uses_order = True``: the harness passes the run's priority order as ``order`` (a tuple of agent
names, first decodes first), ``"random"`` (a fresh permutation per episode of each env copy) or
None (``possible_agents`` order).

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines.mat import MAT
    >>> make_env = lambda: pettingzoo.make("parallel", "stmg/Penalty-v0", k=-100.0)
    >>> model = MAT(make_env, seed=0, n_envs=2, n_steps=10, gamma=0.0).learn(40)
    >>> model.num_timesteps
    40
    >>> observations, _ = make_env().reset(seed=0)
    >>> sorted(model.act_joint(observations))
    ['agent_0', 'agent_1']
    >>> joint = model.joint_probabilities(observations)   # axes in possible_agents order
    >>> joint.shape, round(float(joint.sum()), 6)
    ((3, 3), 1.0)
    >>> MAT(make_env, seed=0, order=("agent_1", "agent_0")).decoding_order()
    ('agent_1', 'agent_0')

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from stmg_agents.baselines.config import PPOFields, _expect_float, _expect_int
from stmg_agents.baselines.env_source import resolve_env_source
from stmg_agents.baselines.mappo_networks import ValueNorm
from stmg_agents.baselines.mappo_rollout import (
    CriticInputBuilder,
    LockstepRollout,
    RolloutBatch,
    batched_copies,
    compute_gae,
    joint_action_converter,
)
from stmg_agents.baselines.observation_encoding import SharedObservationEncoder
from stmg_agents.baselines.persistence import PathOrFile, read_archive, write_archive
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.baselines.shared_policy_env import env_action_converter
from stmg_agents.distributions import categorical_evaluate, categorical_sample, gaussian_evaluate, gaussian_sample
from stmg_agents.losses import clipped_surrogate_loss, clipped_value_loss, huber
from stmg_agents.schedules import ent_coef_at

__all__ = ["MAT", "MATConfig", "MATNetwork", "MAX_JOINT_ACTIONS"]

#: :meth:`MAT.joint_probabilities` refuses games with more joint actions than this (it enumerates them).
MAX_JOINT_ACTIONS = 4096

_ALGORITHM = "MAT"
_WEIGHTS = "mat_state.pt"


@dataclass(frozen=True)
class MATConfig(PPOFields):
    """Hyper-parameters of :class:`MAT` (small defaults, so that the matrix games run fast).

    The PPO settings are documented and checked by :class:`~stmg_agents.baselines.config.PPOFields`; below, what
    differs for MAT and its own fields.

    Attributes:
        learning_rate: Adam step size (encoder and decoder share one optimiser, as in the reference).
        n_minibatches: Mini-batches per epoch (of the rollout's joint steps, each with all its agents);
            at most ``n_envs * n_steps``.
        clip_range: PPO ratio clip (also the value clip when ``clip_value_loss``).
        max_grad_norm: Gradient-norm clip of all parameters together.
        n_blocks: Transformer blocks of the encoder and of the decoder (each).
        n_embd: Embedding width.
        n_heads: Attention heads; must divide ``n_embd``.
        normalize_advantage: Standardise the advantages over each rollout.
        huber_delta: Huber threshold of the value loss; None uses the squared error (halved).
        agent_indicator: Append a one-hot agent id to each observation (needed where agents see the same thing).
        log_std_init: Initial log standard deviation of ``Box`` actions (ignored for ``Discrete``).
    """

    algorithm_label: ClassVar[str | None] = "MAT"

    vf_coef: float = 1.0
    max_grad_norm: float = 10.0
    n_blocks: int = 1
    n_embd: int = 64
    n_heads: int = 1
    normalize_advantage: bool = True
    value_norm: bool = True
    clip_value_loss: bool = True
    huber_delta: float | None = 10.0
    adam_eps: float = 1e-5
    agent_indicator: bool = True
    log_std_init: float = 0.0

    def validate(self) -> None:
        """Check every field (run on construction); a list ``ent_coef`` becomes a tuple.

        Raises:
            ValueError: a field out of range, saying what was expected and what was given.
        """
        super().validate()
        for name in ("n_blocks", "n_embd", "n_heads"):
            _expect_int(name, getattr(self, name), 1)
        _expect_float("log_std_init", self.log_std_init, -20.0, 2.0)
        if self.n_embd % self.n_heads:
            raise ValueError(
                f"expected `n_heads` to divide `n_embd`, got n_heads={self.n_heads}, n_embd={self.n_embd}; "
                "pick e.g. n_heads=1."
            )
        self.check_minibatches_fit("the joint steps of a rollout")


# ---------------------------------------------------------------------------------------------------- network
def _linear(n_in: int, n_out: int, gain: float = 0.01, bias: bool = True) -> nn.Linear:
    """A Linear layer with the reference's initialisation: orthogonal weights, zero bias."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    nn.init.orthogonal_(layer.weight, gain=gain)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


_RELU_GAIN = math.sqrt(2.0)


class _Attention(nn.Module):
    """Multi-head scaled dot-product attention; ``causal``: position ``i`` sees keys ``0..i`` only."""

    def __init__(self, n_embd: int, n_heads: int, causal: bool) -> None:
        super().__init__()
        self.n_heads, self.causal = n_heads, causal
        # gain 1, where the reference uses 0.01: with 0.01 on the value and output projections the decoder's
        # dependence on the earlier actions starts at ~1e-4 and grows too slowly for short runs
        self.query, self.key, self.value = (_linear(n_embd, n_embd, 1.0) for _ in range(3))
        self.proj = _linear(n_embd, n_embd, 1.0)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        b, n, d = query.shape

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            heads(self.query(query)), heads(self.key(key)), heads(self.value(value)), is_causal=self.causal
        )
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


def _mlp(n_embd: int) -> nn.Sequential:
    return nn.Sequential(_linear(n_embd, n_embd, _RELU_GAIN), nn.GELU(), _linear(n_embd, n_embd, 1.0))


class _EncodeBlock(nn.Module):
    def __init__(self, n_embd: int, n_heads: int) -> None:
        super().__init__()
        self.attn = _Attention(n_embd, n_heads, causal=False)
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.mlp = _mlp(n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.attn(x, x, x))
        return self.ln2(x + self.mlp(x))


class _DecodeBlock(nn.Module):
    def __init__(self, n_embd: int, n_heads: int) -> None:
        super().__init__()
        self.self_attn = _Attention(n_embd, n_heads, causal=True)
        self.cross_attn = _Attention(n_embd, n_heads, causal=True)
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.mlp = _mlp(n_embd)

    def forward(self, x: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.self_attn(x, x, x))
        # the reference's order: the encoder's representation asks, the action embeddings (0..i) answer
        x = self.ln2(rep + self.cross_attn(rep, x, x))
        return self.ln3(x + self.mlp(x))


class MATNetwork(nn.Module):
    """MAT's encoder (observations -> representations and values) and decoder (action tokens -> actions).

    Every tensor has the agent axis in *decoding order*: position 0 decodes first.

    Args:
        obs_dim: Size of an encoded observation.
        n_agents: Number of agents.
        action_dim: ``Discrete``: number of actions; ``Box``: flat action size.
        discrete: Categorical (logits) or Gaussian (means) head.
        n_blocks, n_embd, n_heads: Transformer size (see :class:`MATConfig`).
        log_std_init: Initial log-std of the Gaussian.

    Examples:
        >>> net = MATNetwork(obs_dim=3, n_agents=2, action_dim=4, discrete=True)
        >>> values, rep = net.encode(torch.zeros(5, 2, 3))
        >>> tokens = net.tokens(torch.zeros(5, 2, dtype=torch.long), torch.tensor([[1, 0]] * 5))
        >>> values.shape, net.decode(tokens, rep).shape
        (torch.Size([5, 2]), torch.Size([5, 2, 4]))
    """

    def __init__(
        self,
        obs_dim: int,
        n_agents: int,
        action_dim: int,
        discrete: bool,
        n_blocks: int = 1,
        n_embd: int = 64,
        n_heads: int = 1,
        log_std_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.n_agents, self.action_dim, self.discrete = n_agents, action_dim, discrete
        # token: [start flag, the previous position's action (one-hot or vector), who took it (one-hot)]
        self.token_dim = 1 + action_dim + n_agents
        self.obs_embed = nn.Sequential(nn.LayerNorm(obs_dim), _linear(obs_dim, n_embd, _RELU_GAIN), nn.GELU())
        self.enc_ln = nn.LayerNorm(n_embd)
        self.enc_blocks = nn.ModuleList(_EncodeBlock(n_embd, n_heads) for _ in range(n_blocks))
        self.value_head = nn.Sequential(
            _linear(n_embd, n_embd, _RELU_GAIN), nn.GELU(), nn.LayerNorm(n_embd), _linear(n_embd, 1)
        )
        self.action_embed = nn.Sequential(_linear(self.token_dim, n_embd, _RELU_GAIN, bias=False), nn.GELU())
        self.dec_ln = nn.LayerNorm(n_embd)
        self.dec_blocks = nn.ModuleList(_DecodeBlock(n_embd, n_heads) for _ in range(n_blocks))
        self.action_head = nn.Sequential(
            _linear(n_embd, n_embd, _RELU_GAIN), nn.GELU(), nn.LayerNorm(n_embd), _linear(n_embd, action_dim)
        )
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)), requires_grad=not discrete)

    def encode(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Values ``(B, N)`` and representations ``(B, N, n_embd)`` of observations ``(B, N, obs_dim)``."""
        x = self.enc_ln(self.obs_embed(obs))
        for block in self.enc_blocks:
            x = block(x)
        return self.value_head(x).squeeze(-1), x

    def tokens(self, actions: torch.Tensor, agent_ids: torch.Tensor) -> torch.Tensor:
        """The shifted action tokens ``(B, N, token_dim)``: a start token, then position ``i-1``'s action and agent.

        Args:
            actions: ``(B, N)`` action indices (``Discrete``) or ``(B, N, action_dim)``, in decoding order;
                only positions ``< i`` reach position ``i``'s output, so later entries may hold anything.
            agent_ids: ``(B, N)`` the ``possible_agents`` index of the agent at each position.
        """
        b, n = agent_ids.shape
        out = torch.zeros(b, n, self.token_dim)
        out[:, 0, 0] = 1.0
        if self.discrete:
            out[:, 1:, 1 : 1 + self.action_dim] = F.one_hot(actions[:, :-1].long(), self.action_dim).float()
        else:
            out[:, 1:, 1 : 1 + self.action_dim] = actions[:, :-1].reshape(b, n - 1, self.action_dim)
        out[:, 1:, 1 + self.action_dim :] = F.one_hot(agent_ids[:, :-1].long(), self.n_agents).float()
        return out

    def decode(self, tokens: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
        """Logits (``Discrete``) or means (``Box``) ``(B, N, action_dim)``; position ``i`` reads tokens ``0..i``."""
        x = self.dec_ln(self.action_embed(tokens))
        for block in self.dec_blocks:
            x = block(x, rep)
        return self.action_head(x)  # type: ignore[no-any-return]


class DecodedJointAction(NamedTuple):
    """A batch of joint actions decoded one position after another (decoding order)."""

    actions: torch.Tensor  #: ``(B, N)`` indices or ``(B, N, action_dim)``
    log_probs: torch.Tensor  #: ``(B, N)``: each position's log-probability given the earlier positions
    raw_values: torch.Tensor  #: ``(B, N)``: the encoder's values (normalised units with ``value_norm``)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"expected `seed` to be an int in [0, 2**32), got {seed!r}.")
    return int(seed)


class _OrderedRollout(LockstepRollout):
    """:class:`LockstepRollout` that also keeps each copy's decoding order, drawn again at each of its resets."""

    def __init__(self, *args: Any, draw_order: Callable[[], np.ndarray], **kwargs: Any) -> None:
        self._draw_order = draw_order
        super().__init__(*args, **kwargs)
        #: ``(n_envs, n_agents)``: the ``possible_agents`` index at each decoding position, per copy.
        self.orders = np.zeros((self.num_copies, len(self.agents)), dtype=np.int64)

    def _new_episodes(self, copies: np.ndarray) -> None:
        for e in copies.tolist():  # in copy order: the draws of a random order are those of one reset after another
            self.orders[e] = self._draw_order()


# ---------------------------------------------------------------------------------------------------- MAT
class MAT:
    """The Multi-Agent Transformer (Wen et al., 2022), written against :mod:`stmg_bench.contract`.

    Args:
        make_env: Returns a fresh PettingZoo ``ParallelEnv`` (a registered id or an instance also work).
        seed: Seeds the networks, the sampling, the random orders and the env resets (copy ``i``: ``seed + i``).
        order: The decoding order: a tuple of agent names (first decodes first: the run's priority order),
            ``"random"`` (a fresh permutation per episode of each env copy), or None (``possible_agents``).
        **hyperparameters: Fields of :class:`MATConfig`.

    Attributes:
        config: The validated :class:`MATConfig`.
        possible_agents: The agents, in the env's order (the axes of :meth:`joint_probabilities`).
        network: The :class:`MATNetwork`.
        num_timesteps: Joint (temporal) environment steps trained on so far.
        last_update_stats: Losses, entropy, approximate KL and clip fraction of the last update.

    Raises:
        TypeError: an unknown hyper-parameter, or ``make_env`` not giving a ``ParallelEnv``.
        ValueError: a bad value, an ``order`` that is not a permutation of the agents, agents with different
            action spaces, or an action space other than ``Discrete`` and ``Box``.
    """

    form: ClassVar[str] = "simultaneous"
    name: ClassVar[str] = "mat"
    execution: ClassVar[str] = "centralized"
    uses_order: ClassVar[bool] = True
    #: The frozen config its ``**hyperparameters`` build (``stmg-bench describe`` lists its fields).
    config_class: ClassVar[type[MATConfig]] = MATConfig

    def __init__(
        self,
        make_env: Callable[[], Any],
        seed: int = 0,
        order: Sequence[str] | str | None = None,
        **hyperparameters: Any,
    ) -> None:
        self.seed = _check_seed(seed)
        self.config = MATConfig.from_kwargs(hyperparameters)
        self._source = resolve_env_source(make_env)
        probe = self._source.make()
        self.possible_agents: tuple[str, ...] = tuple(probe.possible_agents)
        self.n_agents = len(self.possible_agents)
        self.order = self._check_order(order)
        self.action_space = space = self._check_action_space(probe)
        self.discrete = isinstance(space, spaces.Discrete)
        self.action_dim = int(space.n) if isinstance(space, spaces.Discrete) else int(np.prod(space.shape or ()))
        self.encoder = SharedObservationEncoder(
            self.possible_agents,
            {a: probe.observation_space(a) for a in self.possible_agents},
            agent_indicator=self.config.agent_indicator,
        )
        self._to_env_action = env_action_converter(self.action_space)
        self._order_rng = np.random.default_rng(self.seed)
        self._rng = GlobalRngScope(self.seed)
        self.num_timesteps = 0
        self.last_update_stats: dict[str, float] = {}
        c = self.config
        with self._rng:
            self.network = MATNetwork(
                self.encoder.dim, self.n_agents, self.action_dim, self.discrete,
                c.n_blocks, c.n_embd, c.n_heads, c.log_std_init,
            )  # fmt: skip
            self.value_norm = ValueNorm() if c.value_norm else None
            self._params = [p for p in self.network.parameters() if p.requires_grad]
            self.optimizer = torch.optim.Adam(self._params, lr=c.learning_rate, eps=c.adam_eps)
        # The rollout's critic inputs are the concatenated observations: MAT's encoder reads them all
        # (``_values_of`` turns a row back into every agent's encoded observation).
        self._critic_inputs = CriticInputBuilder("concat_obs", self.encoder)
        self._indicators = np.stack([self.encoder.zero_row(a) for a in self.possible_agents])
        self._rollout: _OrderedRollout | None = None
        probe.close()

    # ------------------------------------------------------------------ checks
    def _check_order(self, order: Any) -> tuple[str, ...] | str:
        if order is None:
            return tuple(self.possible_agents)
        if isinstance(order, str):
            if order != "random":
                raise ValueError(
                    f"expected `order` to be a tuple of agent names (first decodes first), 'random' or None, got "
                    f"{order!r}."
                )
            return order
        names = tuple(order)
        if sorted(names) != sorted(self.possible_agents):
            raise ValueError(f"expected `order` to hold each of {list(self.possible_agents)} once, got {list(names)}.")
        return names

    def _check_action_space(self, env: Any) -> spaces.Space:
        first = env.action_space(self.possible_agents[0])
        others = {a: env.action_space(a) for a in self.possible_agents if env.action_space(a) != first}
        if others:
            raise ValueError(
                "MAT decodes every agent's action with one head, so all agents need the same action space; got "
                f"{self.possible_agents[0]!r}: {first} but {others}. Pad them to one space first (e.g. "
                "supersuit.pad_action_space_v0)."
            )
        if isinstance(first, spaces.Discrete):
            if first.start != 0:
                raise ValueError(f"expected a Discrete action space starting at 0, got {first}.")
            return first
        if isinstance(first, spaces.Box):
            return first
        raise ValueError(f"MAT supports Discrete and Box action spaces, got {first}.")

    def decoding_order(self, order: Sequence[str] | None = None) -> tuple[str, ...]:
        """The order the read-outs decode in: ``order`` if given, else the model's (``possible_agents`` for random)."""
        if order is not None:
            checked = self._check_order(tuple(order))
            assert isinstance(checked, tuple)
            return checked
        return self.order if isinstance(self.order, tuple) else self.possible_agents

    def _order_indices(self, order: Sequence[str] | None = None) -> np.ndarray:
        return np.array([self.possible_agents.index(a) for a in self.decoding_order(order)], dtype=np.int64)

    def _draw_order(self) -> np.ndarray:
        if self.order == "random":
            return self._order_rng.permutation(self.n_agents)
        return self._order_indices()

    # ------------------------------------------------------------------ decoding
    def _decode(self, obs: torch.Tensor, perm: torch.Tensor, deterministic: bool) -> DecodedJointAction:
        """Encode ``obs`` ``(B, N, D)`` (decoding order) and decode a joint action one position after another."""
        net = self.network
        raw_values, rep = net.encode(obs)
        b, n = perm.shape
        actions = torch.zeros((b, n) if self.discrete else (b, n, self.action_dim))
        log_probs = torch.zeros(b, n)
        for i in range(n):
            out = net.decode(net.tokens(actions, perm), rep)[:, i]
            if self.discrete:
                action, log_prob = categorical_sample(out, deterministic=deterministic)
            else:
                action, log_prob = gaussian_sample(out, net.log_std, deterministic=deterministic)
            actions[:, i] = action
            log_probs[:, i] = log_prob
        return DecodedJointAction(actions.long() if self.discrete else actions, log_probs, raw_values)

    def _evaluate(
        self, obs: torch.Tensor, perm: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probabilities, entropies and raw values ``(B, N)`` of given joint actions, in one decoder pass."""
        net = self.network
        raw_values, rep = net.encode(obs)
        out = net.decode(net.tokens(actions, perm), rep)
        b, n = perm.shape
        if self.discrete:
            log_prob, entropy = categorical_evaluate(out.reshape(b * n, -1), actions.reshape(-1))
        else:
            log_prob, entropy = gaussian_evaluate(
                out.reshape(b * n, -1), net.log_std, actions.reshape(b * n, self.action_dim)
            )
        return log_prob.reshape(b, n), entropy.reshape(b, n), raw_values

    def _encode(self, observations: Mapping[str, Any], perm: np.ndarray) -> torch.Tensor:
        """``(1, N, D)``: every agent's encoded observation, in the decoding order ``perm``."""
        if not isinstance(observations, Mapping):
            raise TypeError(f"expected a dict of observations keyed by agent name, got {type(observations).__name__}.")
        missing = [a for a in self.possible_agents if a not in observations]
        if missing:
            raise KeyError(
                f"MAT executes centrally: it needs every agent's observation, missing {missing} "
                f"(expected {list(self.possible_agents)})."
            )
        return torch.from_numpy(self.encoder.encode(observations)[perm]).unsqueeze(0)

    # ------------------------------------------------------------------ the contract's read-outs
    def act(self, agent: Any, observation: Any) -> Any:
        """Not offered: MAT's joint action needs every agent's observation (``execution = "centralized"``).

        Raises:
            NotImplementedError: always; use :meth:`act_joint`.
        """
        raise NotImplementedError(
            f"MAT is centrally executed: agent {agent!r}'s action depends on every agent's observation and on the "
            "actions decoded before it, so it cannot act from one observation. Use act_joint(observations) for "
            "the greedy joint action (and joint_probabilities(observations) for its distribution)."
        )

    @torch.no_grad()
    def act_joint(self, observations: Mapping[str, Any], order: Sequence[str] | None = None) -> dict[str, Any]:
        """The greedy joint action: each agent's argmax (``Discrete``) or mean (``Box``), decoded in order.

        Args:
            observations: Every agent's observation, as the ``ParallelEnv`` gives them.
            order: Decode in this order instead of the model's (a ``"random"``-order model decodes in
                ``possible_agents`` order unless given one).

        Returns:
            ``{agent: action}`` ready for ``parallel_env.step``, conditioned on the greedy earlier actions.
        """
        perm = self._order_indices(order)
        decoded = self._decode(self._encode(observations, perm), torch.from_numpy(perm).unsqueeze(0), True)
        actions = decoded.actions[0].numpy()
        chosen = {self.possible_agents[j]: self._to_env_action(actions[i]) for i, j in enumerate(perm)}
        return {agent: chosen[agent] for agent in self.possible_agents}

    @torch.no_grad()
    def conditional_probabilities(
        self, observations: Mapping[str, Any], actions: Mapping[str, int], order: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Each agent's action probabilities given the actions of the agents decoded before it (``Discrete``).

        Args:
            observations: Every agent's observation.
            actions: An action for every agent (an agent's own and later actions do not change its probabilities).
            order: The decoding order (default as :meth:`act_joint`).

        Returns:
            ``{agent: float64 probabilities}``.
        """
        self._require_discrete("conditional_probabilities")
        perm = self._order_indices(order)
        chosen = torch.tensor([[int(actions[self.possible_agents[j]]) for j in perm]])
        perm_t = torch.from_numpy(perm).unsqueeze(0)
        _, rep = self.network.encode(self._encode(observations, perm))
        logits = self.network.decode(self.network.tokens(chosen, perm_t), rep)[0]
        probs = torch.softmax(logits.double(), dim=-1).numpy()
        return {self.possible_agents[j]: probs[i] for i, j in enumerate(perm)}

    @torch.no_grad()
    def joint_probabilities(self, observations: Mapping[str, Any], order: Sequence[str] | None = None) -> np.ndarray:
        """The exact distribution of the decoded joint action (``Discrete``), axes in ``possible_agents`` order.

        ``P(a) = prod_i pi(a_i | o, a_<i)`` along the decoding order, every prefix enumerated (one decoder
        pass per position, batched over the prefixes).

        Args:
            observations: Every agent's observation.
            order: The decoding order (default as :meth:`act_joint`).

        Returns:
            A float64 array of shape ``(A_1, ..., A_N)`` summing to 1.

        Raises:
            TypeError: the actions are not ``Discrete``.
            ValueError: more than :data:`MAX_JOINT_ACTIONS` joint actions.
        """
        self._require_discrete("joint_probabilities")
        n_actions = self.action_dim
        if n_actions**self.n_agents > MAX_JOINT_ACTIONS:
            raise ValueError(
                f"joint_probabilities enumerates the joint actions: expected at most {MAX_JOINT_ACTIONS}, got "
                f"{n_actions}**{self.n_agents} = {n_actions**self.n_agents}. Sample act_joint/learn instead."
            )
        perm = self._order_indices(order)
        _, rep = self.network.encode(self._encode(observations, perm))
        prefixes = torch.zeros(1, self.n_agents, dtype=torch.long)
        probs = torch.ones(1, dtype=torch.float64)
        for i in range(self.n_agents):
            b = prefixes.shape[0]
            perm_t = torch.from_numpy(perm).expand(b, -1)
            logits = self.network.decode(self.network.tokens(prefixes, perm_t), rep.expand(b, -1, -1))[:, i]
            probs = (probs[:, None] * torch.softmax(logits.double(), dim=-1)).reshape(-1)
            prefixes = prefixes.repeat_interleave(n_actions, dim=0)
            prefixes[:, i] = torch.arange(n_actions).repeat(b)
        joint = probs.reshape((n_actions,) * self.n_agents).numpy()  # axis i: position i's agent
        return np.ascontiguousarray(np.transpose(joint, np.argsort(perm)))

    def _require_discrete(self, what: str) -> None:
        if not self.discrete:
            raise TypeError(f"{what} needs Discrete actions; this MAT has {self.action_space}.")

    # ------------------------------------------------------------------ training
    def _rollout_source(self) -> _OrderedRollout:
        if self._rollout is None:
            venv = batched_copies(self._source.make, self.config.n_envs)
            to_env_actions = joint_action_converter([self.action_space] * self.n_agents)
            self._rollout = _OrderedRollout(
                venv, self.encoder, self._critic_inputs, to_env_actions, draw_order=self._draw_order
            )
            self._rollout.request_reset(seed=self.seed)
        return self._rollout

    def _to_returns(self, raw_values: torch.Tensor) -> torch.Tensor:
        return raw_values if self.value_norm is None else self.value_norm.denormalize(raw_values)

    @torch.no_grad()
    def _values_of(self, critic_in: torch.Tensor) -> np.ndarray:
        """Values in return units for critic-input rows ``(K, C)`` (each: all observations, then whose value)."""
        n, obs_dim = self.n_agents, self.encoder.obs_dim
        rows = critic_in.numpy()
        obs = np.repeat(self._indicators[None], rows.shape[0], axis=0)
        obs[:, :, :obs_dim] = rows[:, : n * obs_dim].reshape(-1, n, obs_dim)
        whose = rows[:, n * obs_dim :].argmax(axis=1)
        raw_values, _ = self.network.encode(torch.from_numpy(obs))  # the encoder does not depend on the order
        return self._to_returns(raw_values[np.arange(rows.shape[0]), whose]).numpy()

    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> MAT:
        """Train for ``total_timesteps`` more joint steps (whole rollouts: up to the next multiple of a rollout).

        ``callback(num_timesteps)`` runs after every update; returning ``False`` stops. Episodes go on
        across calls.

        Raises:
            ValueError: ``total_timesteps`` not an int >= 0.
        """
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        if total_timesteps < 0:
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        c = self.config
        start, target = self.num_timesteps, self.num_timesteps + int(total_timesteps)
        with self._rng:
            rollout = self._rollout_source()
            orders: list[np.ndarray] = []  # each step's decoding orders, (n_envs, n_agents)

            def act(obs: torch.Tensor, _critic_in: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
                orders.append(rollout.orders.copy())
                return self._act(obs, rollout.orders)

            while self.num_timesteps < target:
                orders.clear()
                batch = rollout.collect(c.n_steps, act, self._values_of, c.gamma)
                assert batch is not None
                self.num_timesteps += c.n_envs * c.n_steps
                progress_remaining = 1.0 - (self.num_timesteps - start) / max(1, target - start)
                self._update(batch, np.stack(orders), max(0.0, progress_remaining))
                if callback is not None and callback(self.num_timesteps) is False:
                    break
        return self

    @torch.no_grad()
    def _act(self, obs: torch.Tensor, orders: np.ndarray) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """Sample joint actions for the flat batch ``(E * N, D)``; everything back in ``possible_agents`` layout."""
        e, n = orders.shape
        perm = torch.from_numpy(orders)
        rows = torch.arange(e)[:, None]
        decoded = self._decode(obs.reshape(e, n, -1)[rows, perm], perm, deterministic=False)
        inverse = torch.from_numpy(np.argsort(orders, axis=1))
        actions = decoded.actions[rows, inverse]
        log_probs = decoded.log_probs[rows, inverse].reshape(-1).numpy()
        values = decoded.raw_values[rows, inverse].reshape(-1).numpy()
        return actions.reshape(e * n, *actions.shape[2:]), log_probs, values

    def _update(self, batch: RolloutBatch, orders: np.ndarray, progress_remaining: float) -> None:
        """PPO epochs on one rollout; ``orders`` ``(T, E, N)`` is each step's decoding order."""
        c = self.config
        ent_coef = ent_coef_at(c.ent_coef, progress_remaining)
        with torch.no_grad():
            values = self._to_returns(torch.from_numpy(batch.raw_values)).numpy()
            next_values = self._values_of(torch.from_numpy(batch.next_critic_in.reshape(-1, self._critic_inputs.dim)))
        advantages, returns = compute_gae(
            batch.rewards, values, next_values.reshape(values.shape[1:]), batch.dones,
            gamma=c.gamma, gae_lambda=c.gae_lambda,
        )  # fmt: skip
        n = self.n_agents
        perm = torch.from_numpy(orders.reshape(-1, n))
        rows = torch.arange(perm.shape[0])[:, None]

        def decoding(x: np.ndarray | torch.Tensor) -> torch.Tensor:  # (T, E, N, ...) -> (T * E, N, ...) in order
            t = torch.as_tensor(x)
            return t.reshape(perm.shape[0], n, *t.shape[3:])[rows, perm]

        active = decoding(batch.active)
        if not bool(active.any()):  # every agent was out of the game for the whole rollout
            return
        advantages_t = decoding(advantages)
        if c.normalize_advantage and int(active.sum()) > 1:
            live = advantages_t[active]
            advantages_t = (advantages_t - live.mean()) / (live.std() + 1e-5)
        returns_t = decoding(returns)
        if self.value_norm is not None:
            self.value_norm.update(returns_t[active])
            returns_t = self.value_norm.normalize(returns_t)
        tensors = (
            decoding(batch.obs), perm, decoding(batch.actions), decoding(batch.log_probs),
            decoding(batch.raw_values), advantages_t, returns_t, active,
        )  # fmt: skip
        stats: dict[str, float] = {}
        for epoch in range(c.n_epochs):
            minibatches: list[tuple[torch.Tensor, ...]]
            if c.n_minibatches == 1:
                minibatches = [tensors]
            else:
                shuffled = torch.randperm(perm.shape[0])
                minibatches = [tuple(x[idx] for x in tensors) for idx in torch.tensor_split(shuffled, c.n_minibatches)]
            for j, minibatch in enumerate(minibatches):
                last = epoch == c.n_epochs - 1 and j == len(minibatches) - 1
                stats = self._minibatch_step(*minibatch, ent_coef=ent_coef, want_stats=last)
        self.last_update_stats = {**stats, "ent_coef": ent_coef}

    def _minibatch_step(
        self,
        obs: torch.Tensor,
        perm: torch.Tensor,
        actions: torch.Tensor,
        old_log_probs: torch.Tensor,
        old_values: torch.Tensor,
        advantages: torch.Tensor,
        targets: torch.Tensor,
        active: torch.Tensor,
        *,
        ent_coef: float,
        want_stats: bool,
    ) -> dict[str, float]:
        c = self.config
        log_probs, entropies, values = self._evaluate(obs, perm, actions)
        log_probs, old_log_probs = log_probs[active], old_log_probs[active]
        # per agent, as the reference: each agent's conditional ratio times its own advantage
        policy_loss, ratio = clipped_surrogate_loss(log_probs, old_log_probs, advantages[active], c.clip_range)
        entropy = entropies[active].mean()
        delta = c.huber_delta
        error = (lambda e: 0.5 * e**2) if delta is None else (lambda e: huber(e, delta))
        value_loss = clipped_value_loss(
            values[active], old_values[active], targets[active], c.clip_range if c.clip_value_loss else None, error
        )
        loss = policy_loss - ent_coef * entropy + c.vf_coef * value_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self._params, c.max_grad_norm)
        self.optimizer.step()
        if not want_stats:
            return {}
        with torch.no_grad():
            log_ratio = log_probs - old_log_probs
            return {
                "policy_loss": float(policy_loss),
                "value_loss": float(value_loss),
                "entropy": float(entropy),
                "approx_kl": float(((ratio - 1) - log_ratio).mean()),
                "clip_fraction": float(((ratio - 1).abs() > c.clip_range).float().mean()),
            }

    # ------------------------------------------------------------------ save / load
    def save(self, path: PathOrFile) -> None:
        """Save the settings, counters, weights and optimiser to one zip (:meth:`load` reads it back)."""
        state: dict[str, Any] = {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.value_norm is not None:
            state["value_norm"] = self.value_norm.state_dict()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        meta = {
            "algorithm": _ALGORITHM,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "order": self.order if isinstance(self.order, str) else list(self.order),
            "num_timesteps": self.num_timesteps,
            "possible_agents": list(self.possible_agents),
            "encoded_dim": self.encoder.dim,
            "order_rng": self._order_rng.bit_generator.state,
        }
        write_archive(path, meta, {_WEIGHTS: buffer.getvalue()})

    @classmethod
    def load(cls, path: str | os.PathLike[str] | Any, make_env: Callable[[], Any]) -> MAT:
        """A model saved by :meth:`save`, attached to ``make_env``'s environments (it continues to ``learn``).

        Raises:
            ValueError: a file that is not a MAT save (another algorithm's, or no archive), a damaged one,
                or one for other agents or observation sizes than ``make_env`` gives.
        """
        meta, payload = read_archive(path)
        if meta.get("algorithm") != _ALGORITHM or _WEIGHTS not in payload:
            raise ValueError(
                f"expected a saved MAT agent, got a save of {meta.get('algorithm')!r}; load it with that class."
            )
        probe = resolve_env_source(make_env).make()
        agents = list(probe.possible_agents)
        probe.close()
        if agents != meta["possible_agents"]:
            raise ValueError(f"the save is for agents {meta['possible_agents']}; make_env() gives {agents}.")
        order = meta["order"]
        model = cls(make_env, seed=meta["seed"], order=order if isinstance(order, str) else tuple(order),
                    **meta["config"])  # fmt: skip
        if model.encoder.dim != meta["encoded_dim"]:
            raise ValueError(
                f"the save is for encoded observations of size {meta['encoded_dim']}; make_env()'s give "
                f"{model.encoder.dim}."
            )
        try:
            state = torch.load(io.BytesIO(payload[_WEIGHTS]), map_location="cpu", weights_only=True)
            model.network.load_state_dict(state["network"])
            model.optimizer.load_state_dict(state["optimizer"])
            if model.value_norm is not None:
                model.value_norm.load_state_dict(state["value_norm"])
        except (RuntimeError, KeyError, EOFError, ValueError) as exc:
            raise ValueError(f"the MAT save {path!r} is damaged: {exc}") from None
        model.num_timesteps = int(meta["num_timesteps"])
        model._order_rng.bit_generator.state = meta["order_rng"]
        return model

    def __repr__(self) -> str:
        order = self.order if isinstance(self.order, str) else list(self.order)
        return f"MAT(agents={list(self.possible_agents)}, order={order!r}, num_timesteps={self.num_timesteps})"


# The harness reads the names MAT takes from its signature, so a suite's shared settings it has no field for
# (the control presets' ``hidden_sizes``: MAT's width is ``n_embd``) are not passed to it.
MAT.__init__.__signature__ = MATConfig.constructor_signature("order")  # type: ignore[attr-defined]
