"""seq-ppo: PPO on the STMG with a plain MLP policy: what the sequential structure does without STEP's extras.

STEP (:class:`~stmg_agents.step.algorithm.STEP`) adds three things to PPO on the
spatio-temporal sequential Markov game: the sequential structure itself (each agent
sees its rank and the actions of the agents above it, and learns from its own reward
with its own GAE over its own decisions), a conditional hypernetwork that generates
each rank's policy, and the regulariser of Eq. 11 with a rank-by-rank update. ``SeqPPO``
keeps the first and drops the other two, so that a comparison with STEP tells which
part does the work:

* **policy**: :class:`SequentialMLPPolicy`, one MLP shared by all agents whose input is
  the agent's own observation, the superiors' actions (``prior_actions``,
  ``prior_mask``) and its rank (an encoding of it added to the first layer), with a
  plain linear head (logits, or Gaussian means with SB3's state-independent
  ``log_std``); the critic is STEP's rank-conditioned ``V^i(s, a^1..a^{i-1})``;
* **returns**: each agent's own reward and its own GAE over its own decisions, as in
  STEP (the same rollout buffer; PPO on the Gymnasium view does not qualify: it sees
  the team's reward);
* **update**: PPO's one pass over all decisions of the rollout (all ranks mixed), no
  hypernetwork regulariser (there is no hypernetwork).

Everything else is STEP's code: rollouts, per-agent GAE, value normalisation, seeding,
``save``/``load``, ``predict``, and the benchmark contract (:mod:`stmg_bench.contract`), which ``SeqPPO``
satisfies as STEP does: ``SeqPPO(make_env, seed=seed, **hyperparameters)``, ``learn`` with the contract's
``callback(num_timesteps)``, ``act`` and ``action_probabilities(agent, observation)``, ``save`` and
``load(path, make_env)``; its ``name`` is ``"seq-ppo"``.

Examples:
    >>> from stmg_agents.baselines.seq_ppo import SeqPPO
    >>> model = SeqPPO("stmg/Penalty-v0", seed=0, env_kwargs={"k": -25}, n_steps=10, n_envs=2)
    >>> _ = model.learn(40)
    >>> model.num_timesteps, type(model.policy).__name__, model.beta
    (40, 'SequentialMLPPolicy', 0.0)

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import torch as th
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import PyTorchObs
from torch import nn

from stmg_agents.step._checks import check_int
from stmg_agents.step.algorithm import STEP
from stmg_agents.step.buffer import STMGRolloutBuffer
from stmg_agents.step.hypernetwork import IndexEncoding
from stmg_agents.step.networks import NLevelExtractor, SubgameStateEmbedding
from stmg_agents.step.policy import NLevelPolicy

__all__ = ["SeqPPO", "SequentialMLPPolicy", "RankedActorExtractor"]


class RankedActorExtractor(NLevelExtractor):
    """:class:`~stmg_agents.step.networks.NLevelExtractor` whose actor trunk also reads the rank.

    The actor's trunk is built like the critic's: the input row ``[own | encoded prior
    actions]`` plus a rank encoding added to its first layer (the same function as
    appending the encoding to the input). Same arguments as the parent.
    """

    def __init__(
        self,
        layout: Any,
        pi_arch: Sequence[int],
        vf_arch: Sequence[int],
        activation_fn: type[nn.Module],
        *,
        prior_encoding: Any,
        prior_embedding_dim: int,
        rank_encoding: Any,
        rank_embedding_dim: int,
        max_agents: int,
    ) -> None:
        super().__init__(
            layout,
            pi_arch,
            vf_arch,
            activation_fn,
            prior_encoding=prior_encoding,
            prior_embedding_dim=prior_embedding_dim,
            rank_encoding=rank_encoding,
            rank_embedding_dim=rank_embedding_dim,
            max_agents=max_agents,
        )
        encoder = self.prior_encoder
        self.policy_rank_encoder = IndexEncoding(rank_encoding, rank_embedding_dim, max_agents)
        self.policy_embedding = SubgameStateEmbedding(
            layout.obs_dim + encoder.output_dim,
            pi_arch,
            activation_fn,
            cond_dim=rank_embedding_dim,
            reserved_in_dim=layout.obs_dim + encoder.reserved_dim,
        )
        self.latent_dim_pi = self.policy_embedding.output_dim

    def _policy_rank_code(self, rank: th.Tensor | int) -> th.Tensor:
        if isinstance(rank, int):
            return self.policy_rank_encoder.row(rank)
        return self.policy_rank_encoder(rank)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        return self.actor_parts(*self.layout.split(features))

    def forward_parts(
        self, own: th.Tensor, prior: th.Tensor, mask: th.Tensor, rank: th.Tensor | int
    ) -> tuple[th.Tensor, th.Tensor]:
        x = self.inputs(own, prior, mask)
        return (
            self.policy_embedding(x, self._policy_rank_code(rank)),
            self.value_embedding(x, self._rank_code(rank)),
        )

    def actor_parts(  # type: ignore[override]
        self, own: th.Tensor, prior: th.Tensor, mask: th.Tensor, rank: th.Tensor | int
    ) -> th.Tensor:
        """``latent_pi`` from the observation parts and the rank."""
        return self.policy_embedding(self.inputs(own, prior, mask), self._policy_rank_code(rank))


class SequentialMLPPolicy(NLevelPolicy):
    """seq-ppo's policy: a plain MLP actor on ``[own, prior actions, prior mask, rank]`` and a linear head.

    :class:`~stmg_agents.step.policy.NLevelPolicy` with the hypernetwork head replaced
    by SB3's ``action_net`` (a linear layer, orthogonal initialisation with gain 0.01) and
    the rank moved into the actor's trunk (:class:`RankedActorExtractor`); the critic,
    value normalisation, observation handling and SB3 methods are the parent's. The
    hypernetwork arguments of the parent (``hyper_net_arch``, ``target_net_arch``,
    ``hyper_scale_by_width``) are ignored.

    Examples:
        >>> from gymnasium import spaces
        >>> obs_space = spaces.Dict({"observation": spaces.Box(0, 1, (1,)), "prior_actions": spaces.Box(0, 1, (6,)),
        ...                          "prior_mask": spaces.MultiBinary(2), "rank": spaces.Discrete(2)})
        >>> policy = SequentialMLPPolicy(obs_space, spaces.Discrete(3), lambda _: 5e-4)
        >>> type(policy.action_net).__name__, policy.has_hypernetwork
        ('Linear', False)
    """

    has_hypernetwork: ClassVar[bool] = False
    extractor_class: ClassVar[type[NLevelExtractor]] = RankedActorExtractor

    def _make_action_net(self) -> nn.Module:
        """SB3's linear ``action_net`` with its initialisation (orthogonal, gain 0.01, zero bias)."""
        head = nn.Linear(self.mlp_extractor.latent_dim_pi, self._action_dim)
        self.init_weights(head, gain=0.01)
        return head

    def _head(self, latent_pi: th.Tensor, obs: PyTorchObs, rank: int | None, params: th.Tensor | None) -> th.Tensor:
        return self._masked(self.action_net(latent_pi), obs.get("action_mask") if isinstance(obs, dict) else None)

    def policy_head_parts(
        self,
        parts: tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor],
        *,
        rank: int | None = None,
        head_params: th.Tensor | None = None,
        action_mask: th.Tensor | None = None,
    ) -> th.Tensor:
        own, prior, mask, ranks = parts
        latent_pi = self.mlp_extractor.actor_parts(own, prior, mask, ranks if rank is None else rank)
        return self._masked(self.action_net(latent_pi), action_mask)

    def target_parameters(self, ranks: th.Tensor | int) -> th.Tensor:
        raise TypeError(
            "SequentialMLPPolicy has no hypernetwork, so no target parameters; "
            "check policy.has_hypernetwork before asking for them."
        )


class SeqPPO(STEP):
    """PPO on the STMG with a plain MLP policy shared by all agents and per-agent GAE (see the module docstring).

    Takes STEP's arguments (:class:`~stmg_agents.step.algorithm.STEP`) except ``beta``, ``hyper_scale_by_width``
    (there is no hypernetwork to regularise or scale) and the per-rank levers, with these differences:

    Args:
        policy: ``"SequentialMLPPolicy"`` (alias ``"MultiInputPolicy"``) or a subclass of it.
        batch_size: Minibatch size over **all** decisions of a rollout (``n_envs * n_steps``
            times the number of agents); ``None``: one minibatch.
        n_minibatches: Instead of ``batch_size``: the number of minibatches per epoch (the
            benchmark's shared PPO setting; ``batch_size`` becomes the rollout's decisions, every
            rank together, divided by it).
        **kwargs: STEP's other arguments (``n_envs``, ``n_steps``, ``learning_rate``,
            ``gamma``, ``ent_coef``, ``policy_kwargs``, ``hidden_sizes``, ``seed``...).

    Raises:
        TypeError: ``beta`` or a per-rank lever was given.
        ValueError: a bad argument (as STEP), ``hyper_scale_by_width`` given, or ``batch_size`` and
            ``n_minibatches`` both given.
    """

    #: Its label in benchmark results (its ``form`` is STEP's: ``"sequential"``).
    name: ClassVar[str] = "seq-ppo"

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "SequentialMLPPolicy": SequentialMLPPolicy,
        "MultiInputPolicy": SequentialMLPPolicy,
    }

    def __init__(
        self,
        env: Any,
        policy: str | type[NLevelPolicy] = "SequentialMLPPolicy",
        *,
        batch_size: int | None = None,
        n_minibatches: int | None = None,
        **kwargs: Any,
    ) -> None:
        if "beta" in kwargs and kwargs.get("_init_setup_model", True):
            raise TypeError(
                f"SeqPPO has no hypernetwork and so no regulariser: expected no beta, got beta={kwargs['beta']!r}; "
                "use STEP (or the built-in 'step-beta0') for the hypernetwork without the regulariser."
            )
        for lever in ("rank_lr_ratio", "rank_ent_ratio", "leader_start", "ent_stagger"):
            if lever in kwargs and kwargs.get("_init_setup_model", True):
                raise TypeError(
                    f"SeqPPO updates every rank together, so it has no per-rank {lever}: expected none, "
                    f"got {lever}={kwargs[lever]!r}."
                )
        if "hyper_scale_by_width" in kwargs:
            raise ValueError(
                "seq-ppo has no hypernetwork: expected no hyper_scale_by_width, got "
                f"hyper_scale_by_width={kwargs['hyper_scale_by_width']!r}."
            )
        if isinstance(policy, type) and not issubclass(policy, SequentialMLPPolicy):
            raise ValueError(f"expected SeqPPO's policy to be SequentialMLPPolicy or a subclass, got {policy!r}.")
        if batch_size is not None and n_minibatches is not None:
            raise ValueError(
                f"expected batch_size or n_minibatches, not both; got batch_size={batch_size}, "
                f"n_minibatches={n_minibatches}."
            )
        kwargs.pop("beta", None)
        super().__init__(env, policy=policy, batch_size=batch_size, beta=0.0, **kwargs)
        if n_minibatches is not None:
            n_minibatches = check_int(n_minibatches, "n_minibatches", 1)
            decisions = self.n_envs * self.n_steps * self.n_agents
            self.batch_size = max(2, decisions // n_minibatches)

    def _update_groups(self, buffer: STMGRolloutBuffer) -> Iterator[tuple[int | None, Any]]:
        """PPO's one group: every decision of the rollout, all ranks together (each row with its own rank)."""
        yield None, buffer.all_samples()
