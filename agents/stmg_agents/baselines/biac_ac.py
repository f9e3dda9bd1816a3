"""Bi-AC's bi-level actor-critic (the deep method) for two-agent games, on the STMG (the benchmark contract's shape).

The Bi-AC paper (Zhang et al., "Bi-level Actor-Critic for Multi-agent Coordination",
AAAI 2020, section "Bi-level Actor-Critic", Eq. 12-16) keeps the leader a Q-learner and
gives the follower an actor that reads the leader's action. Three networks:

* the leader's critic ``Q_L(s, a_L, a_F)`` and the follower's critic ``Q_F(s, a_L, a_F)``,
  learned like DQN (replay buffer, soft-updated target networks, Huber TD loss);
* the follower's actor ``pi_F(a_F | s, a_L)``, a Gumbel-softmax policy trained to
  maximise ``Q_F`` given the leader's action: loss ``-sum_a g(a | s, a_L) Q_F(s, a_L, a)``
  with ``g`` a Gumbel-softmax sample of ``pi_F`` (temperature 1, as the authors' code).

The leader acts by ``argmax_{a_L} Q_L(s, a_L, pi_F(s, a_L))`` with the follower's greedy
reply (Eq. 12); the follower plays its actor's greedy action given the leader's action
(Eq. 13). For a transition ``<s, a_L, a_F, s', r_L, r_F>`` each critic's target is
``r_i + gamma Q_i'(s', a_L', a_F')`` (Eq. 14) with ``a_L'`` the leader's greedy choice at
``s'`` and ``a_F'`` the follower's greedy reply to it, both computed with the target
networks (``Q_L'``, ``pi_F'``), as the authors' code does.

On the STMG the agent of rank 0 is the leader and the agent of rank 1 the follower, who
reads the leader's action from ``prior_actions``. Training is centralised (one learner sees
both agents' transitions); execution is decentralised: each agent acts on its own STMG
observation. Each network reads the observation of the agent it belongs to: ``Q_L`` the
leader's, ``Q_F`` and ``pi_F`` the follower's. To choose, the leader runs the follower's
actor on its *own* observation (the paper's setting: both agents observe the state ``s``;
in the matrix games the observations are equal). Ties in ``argmax`` go to the lowest index.

Where the agents' observations differ (Bi-AC's two-car merge: each car sees the other relative to
itself), that prediction reads the follower's actor on an input it was not trained on. With
``leader_actor=True`` the leader acts instead with an actor of its own, ``pi_L(a_L | o_L)``, as the
authors' highway code does: a Gumbel-softmax policy trained to maximise
``Q_L(o_L, a_L, argmax pi_F(o_F, a_L))``, the follower's reply read from the follower's observation
``o_F`` of the same transition (centralised training); the critics' targets then use the leader
target actor's greedy action at ``s'``. Execution stays decentralised: each agent reads only its own
observation.

Exploration follows the paper and its code: ``learning_starts`` joint steps of uniform
actions for both agents (the paper: 1,000; the code: 500), then epsilon-greedy per joint
step (with probability epsilon both agents act uniformly), epsilon starting at
``exploration_initial_eps`` and multiplied by ``exploration_decay`` every
``exploration_decay_interval`` joint steps. One gradient step of the three networks per
joint step once ``learning_starts`` steps are done and the buffer holds a batch.

A time limit (truncation) bootstraps from the final state; a termination does not.
Only two agents, a fixed priority order and ``Discrete`` actions are supported; anything
else raises a ``ValueError`` saying so (a ``"random"`` order is found when the rank-0
agent changes, at the latest at the first episode that starts with another leader).

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines.biac_ac import BiLevelActorCritic
    >>> make_env = lambda: pettingzoo.make("aec", "stmg/Escape-v0")
    >>> model = BiLevelActorCritic(make_env, seed=0, gamma=0.0, learning_starts=100).learn(300)
    >>> env = make_env(); env.reset(seed=0)
    >>> a_leader = model.act("agent_0", env.observe("agent_0")); env.step(a_leader)
    >>> a_follower = model.act("agent_1", env.observe("agent_1"))
    >>> (a_leader, a_follower)  # the SE of Escape: (a3, a3) with payoff 30
    (2, 2)

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

import copy
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.utils import polyak_update
from torch import nn

from stmg_agents.baselines.config import (
    KeywordConfig,
    _expect_float,
    _expect_int,
    check_bools,
    check_hidden_sizes,
)
from stmg_agents.baselines.mappo_networks import MLPBody
from stmg_agents.baselines.observation_encoding import flatten_observation_fn
from stmg_agents.baselines.persistence import read_archive, write_archive
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.distributions import gumbel_softmax
from stmg_envs.wrappers import skip_dead_steps

__all__ = ["BiACConfig", "BiLevelActorCritic"]

_ALGORITHM = "BiLevelActorCritic"


@dataclass(frozen=True)
class BiACConfig(KeywordConfig):
    """Hyper-parameters of :class:`BiLevelActorCritic`; defaults from the Bi-AC paper and its code.

    "code": ``bilevel_pg_highway_1x1`` of laonahongchen/Bilevel-Optimization-in-Coordination-Game;
    "paper": Zhang et al. (2020), section "Experiments".

    Attributes:
        n_envs: Env copies played in turn, one joint step each (the benchmarks' shared setting; code: 1).
        hidden_sizes: Hidden widths of the three MLPs, ReLU (code: (30, 30); paper: "three layer" networks).
        learning_rate: Adam step size of the follower's actor (code: 1e-3).
        critic_learning_rate: Adam step size of both critics (code: 1e-2).
        gamma: Discount, in [0, 1] (code: 1; the benchmark suites pass their own).
        batch_size: Transitions per gradient step (code: 64).
        buffer_size: Replay buffer capacity in joint steps (code: 500).
        learning_starts: Joint steps of uniform actions before epsilon-greedy and learning (paper: 1,000;
            code: 500).
        tau: Soft target update rate (code: 0.01).
        target_update_interval: Gradient steps between soft target updates (code: 10).
        exploration_initial_eps: Epsilon right after ``learning_starts`` (code: 0.3).
        exploration_decay: Factor applied to epsilon every ``exploration_decay_interval`` joint steps (code: 0.9).
        exploration_decay_interval: Joint steps between epsilon decays (code: 500).
        max_grad_norm: Gradient-norm clip of each network (code: 10).
        leader_actor: The leader acts with an actor of its own, trained against the follower's replies to its
            actions read from the follower's observation (the authors' highway code), instead of
            ``argmax_{a_L} Q_L(s, a_L, pi_F(s, a_L))`` on its own observation (Eq. 12, the default: exact when
            both agents observe the same state). Its actor learns at ``learning_rate``.
    """

    tuple_fields = ("hidden_sizes",)

    n_envs: int = 1
    hidden_sizes: tuple[int, ...] = (30, 30)
    learning_rate: float = 1e-3
    critic_learning_rate: float = 1e-2
    gamma: float = 0.99
    batch_size: int = 64
    buffer_size: int = 500
    learning_starts: int = 1_000
    tau: float = 0.01
    target_update_interval: int = 10
    exploration_initial_eps: float = 0.3
    exploration_decay: float = 0.9
    exploration_decay_interval: int = 500
    max_grad_norm: float = 10.0
    leader_actor: bool = False

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` naming the field, what it expects and what it got."""
        for name, minimum in (
            ("n_envs", 1),
            ("batch_size", 1),
            ("buffer_size", 1),
            ("learning_starts", 0),
            ("target_update_interval", 1),
            ("exploration_decay_interval", 1),
        ):
            _expect_int(name, getattr(self, name), minimum)
        bounds: tuple[tuple[str, float, float, bool], ...] = (
            ("learning_rate", 0.0, math.inf, True),
            ("critic_learning_rate", 0.0, math.inf, True),
            ("gamma", 0.0, 1.0, False),
            ("tau", 0.0, 1.0, True),
            ("exploration_initial_eps", 0.0, 1.0, False),
            ("exploration_decay", 0.0, 1.0, False),
            ("max_grad_norm", 0.0, math.inf, True),
        )
        for name, low, high, low_open in bounds:
            _expect_float(name, getattr(self, name), low, high, low_open=low_open)
        check_hidden_sizes(self.hidden_sizes)
        check_bools(self, "leader_actor")
        if self.batch_size > self.buffer_size:
            raise ValueError(
                f"expected `batch_size` <= `buffer_size`, got batch_size={self.batch_size}, "
                f"buffer_size={self.buffer_size}; lower the batch or enlarge the buffer."
            )


class _Batch(NamedTuple):
    """A minibatch of joint transitions (tensors, one row per transition)."""

    obs_leader: torch.Tensor
    obs_follower: torch.Tensor
    a_leader: torch.Tensor
    a_follower: torch.Tensor
    r_leader: torch.Tensor
    r_follower: torch.Tensor
    next_leader: torch.Tensor
    next_follower: torch.Tensor
    done_leader: torch.Tensor  # 1.0 where the leader's episode terminated (no bootstrap)
    done_follower: torch.Tensor


class _ReplayBuffer:
    """A ring buffer of joint transitions, sampled uniformly with replacement (as the authors' code)."""

    _FIELDS = ("obs_leader", "obs_follower", "a_leader", "a_follower", "r_leader", "r_follower",
               "next_leader", "next_follower", "done_leader", "done_follower")  # fmt: skip

    def __init__(self, capacity: int, dim_leader: int, dim_follower: int) -> None:
        self.capacity = capacity
        self.data: dict[str, np.ndarray] = {
            "obs_leader": np.zeros((capacity, dim_leader), np.float32),
            "obs_follower": np.zeros((capacity, dim_follower), np.float32),
            "a_leader": np.zeros(capacity, np.int64),
            "a_follower": np.zeros(capacity, np.int64),
            "r_leader": np.zeros(capacity, np.float32),
            "r_follower": np.zeros(capacity, np.float32),
            "next_leader": np.zeros((capacity, dim_leader), np.float32),
            "next_follower": np.zeros((capacity, dim_follower), np.float32),
            "done_leader": np.zeros(capacity, np.float32),
            "done_follower": np.zeros(capacity, np.float32),
        }
        self.size = 0
        self.pos = 0

    def add(self, **row: Any) -> None:
        for name in self._FIELDS:
            self.data[name][self.pos] = row[name]
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, n: int) -> _Batch:
        index = rng.integers(self.size, size=n)
        return _Batch(*(torch.as_tensor(self.data[name][index]) for name in self._FIELDS))

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        arrays = {k: v[: self.size] for k, v in self.data.items()}
        arrays["counters"] = np.array([self.size, self.pos], np.int64)
        np.savez(out, **arrays)  # type: ignore[arg-type]  # numpy's stub mistakes the arrays for allow_pickle
        return out.getvalue()

    def load_bytes(self, raw: bytes) -> None:
        with np.load(io.BytesIO(raw)) as stored:
            self.size, self.pos = (int(c) for c in stored["counters"])
            for name in self._FIELDS:
                self.data[name][: self.size] = stored[name]


class _MLP(nn.Module):
    """The project's MLP body (ReLU, orthogonal init) with a linear output head."""

    def __init__(self, in_dim: int, hidden_sizes: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        self.body = MLPBody(in_dim, hidden_sizes, "relu", feature_norm=False)
        self.head = nn.Linear(self.body.out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class BiLevelActorCritic:
    """Bi-AC's bi-level actor-critic (Eq. 12-16) for two-agent games with ``Discrete`` actions.

    Written against :mod:`stmg_bench.contract` (``form = "sequential"``): the harness builds
    it as ``BiLevelActorCritic(make_env, seed=..., **hyperparameters)``.

    Args:
        make_env: Returns a fresh STMG (``stmg_v0`` of a two-agent game, ``flatten=False``) with a
            fixed priority order; its rank-0 agent is the leader.
        seed: Seed of the network initialisation, exploration, minibatches, Gumbel noise and env resets.
        **hyperparameters: The fields of :class:`BiACConfig`.

    Raises:
        TypeError: an unknown hyper-parameter (the message lists the known ones).
        ValueError: a bad value, a game without exactly two agents, non-``Discrete`` actions,
            observations that are not the STMG's ``Dict``, or (in ``learn``) a priority order
            that changes its leader.

    Attributes:
        config: The :class:`BiACConfig`.
        leader, follower: The agents of rank 0 and 1.
        q_leader, q_follower, actor: The critics and the follower's actor (``torch.nn.Module``).
        leader_policy: The leader's actor with ``leader_actor=True``, else ``None``.
        num_timesteps: Joint steps played.
    """

    form: ClassVar[str] = "sequential"
    name: ClassVar[str] = "biac-ac"
    #: The frozen config its ``**hyperparameters`` build (``stmg-bench describe`` lists its fields).
    config_class: ClassVar[type[BiACConfig]] = BiACConfig

    def __init__(self, make_env: Callable[[], Any], seed: int = 0, **hyperparameters: Any) -> None:
        self.config = BiACConfig.from_kwargs(hyperparameters)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"expected seed to be an int, got {seed!r}.")
        self.seed = int(seed)
        self.make_env = make_env
        probe = make_env()
        agents = list(probe.possible_agents)
        if len(agents) != 2:
            raise ValueError(
                f"BiLevelActorCritic (biac-ac) is for two-agent games: expected 2 agents, got {len(agents)} "
                f"({agents}). For more agents use STEP or seq-ppo."
            )
        layout = getattr(probe.unwrapped, "action_layout", None)
        if layout is None:
            raise ValueError(
                f"BiLevelActorCritic trains on the STMG (stmg_v0, flatten=False); make_env() gave "
                f"{type(probe.unwrapped).__name__}, which has no action_layout."
            )
        self._layout = dict(layout)
        self.n_actions: dict[Any, int] = {}
        self._flatten: dict[Any, Callable[[Any], np.ndarray]] = {}
        dims: dict[Any, int] = {}
        for agent in agents:
            space = probe.action_space(agent)
            if not isinstance(space, spaces.Discrete):
                raise ValueError(
                    f"BiLevelActorCritic supports Discrete actions only; agent {agent!r} has {space} "
                    "(the paper's continuous variant, a deterministic follower actor, is not implemented)."
                )
            self.n_actions[agent] = int(space.n)
            obs_space = probe.observation_space(agent)
            if not isinstance(obs_space, spaces.Dict) or "observation" not in obs_space.spaces:
                raise ValueError(
                    f"BiLevelActorCritic needs the STMG's Dict observations (stmg_v0 with flatten=False); "
                    f"agent {agent!r} has {obs_space}."
                )
            if "action_mask" in obs_space.spaces:
                raise ValueError(
                    f"BiLevelActorCritic does not support action masks yet; agent {agent!r}'s observation has one."
                )
            dims[agent], self._flatten[agent] = flatten_observation_fn(obs_space["observation"])
        probe.reset(seed=self.seed)
        self.leader = probe.agent_selection
        self.follower = agents[1] if self.leader == agents[0] else agents[0]
        probe.close()
        self.agents = agents
        n_leader, n_follower = self.n_actions[self.leader], self.n_actions[self.follower]
        hidden = self.config.hidden_sizes
        with GlobalRngScope(self.seed):  # the initialisation draws from torch's global stream: keep it private
            self.q_leader = _MLP(dims[self.leader] + n_leader + n_follower, hidden, 1)
            self.q_follower = _MLP(dims[self.follower] + n_leader + n_follower, hidden, 1)
            self.actor = _MLP(dims[self.follower] + n_leader, hidden, n_follower)
            # the leader's actor (leader_actor) is made last: the other networks' initialisation stays the same
            self.leader_policy = _MLP(dims[self.leader], hidden, n_leader) if self.config.leader_actor else None
        self.leader_policy_target = (
            None if self.leader_policy is None else copy.deepcopy(self.leader_policy).requires_grad_(False)
        )
        self.leader_optimizer = (
            None
            if self.leader_policy is None
            else torch.optim.Adam(self.leader_policy.parameters(), lr=self.config.learning_rate, foreach=True)
        )
        self.q_leader_target = copy.deepcopy(self.q_leader).requires_grad_(False)
        self.q_follower_target = copy.deepcopy(self.q_follower).requires_grad_(False)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_optimizer = torch.optim.Adam(
            [*self.q_leader.parameters(), *self.q_follower.parameters()],
            lr=self.config.critic_learning_rate,
            foreach=True,
        )
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=self.config.learning_rate, foreach=True)
        self.buffer = _ReplayBuffer(self.config.buffer_size, dims[self.leader], dims[self.follower])
        self.num_timesteps = 0
        self.n_updates = 0
        self._rng = np.random.default_rng(self.seed)
        self._torch_rng = torch.Generator().manual_seed(self.seed)
        self._envs: list[Any] | None = None
        self._eye_leader = torch.eye(n_leader)
        self._eye_follower = torch.eye(n_follower)

    # ------------------------------------------------------------------ the networks
    def _critic_input(self, obs: torch.Tensor, a_leader: torch.Tensor, a_follower: torch.Tensor) -> torch.Tensor:
        return torch.cat([obs, self._eye_leader[a_leader], self._eye_follower[a_follower]], dim=-1)

    def _actor_logits(self, actor: nn.Module, obs: torch.Tensor, a_leader: torch.Tensor) -> torch.Tensor:
        return actor(torch.cat([obs, self._eye_leader[a_leader]], dim=-1))

    def _every_leader_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``obs`` repeated once per leader action, and those actions: rows ``b * n_leader + a_L``."""
        n_leader = self._eye_leader.shape[0]
        return obs.repeat_interleave(n_leader, dim=0), torch.arange(n_leader).repeat(obs.shape[0])

    def _leader_choice(self, critic: nn.Module, actor: nn.Module, obs: torch.Tensor) -> torch.Tensor:
        """Eq. 12: ``argmax_{a_L} Q_L(s, a_L, argmax_{a_F} pi_F(a_F | s, a_L))`` for each row of ``obs``."""
        rows, a_leader = self._every_leader_action(obs)
        replies = self._actor_logits(actor, rows, a_leader).argmax(dim=-1)
        q = critic(self._critic_input(rows, a_leader, replies)).view(obs.shape[0], -1)
        return q.argmax(dim=-1)

    def _follower_reply(self, actor: nn.Module, obs: torch.Tensor, a_leader: torch.Tensor) -> torch.Tensor:
        """Eq. 13: the follower's greedy reply ``argmax_{a_F} pi_F(a_F | s, a_L)``."""
        return self._actor_logits(actor, obs, a_leader).argmax(dim=-1)

    def critic_targets(self, batch: _Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 14's targets ``r_i + gamma (1 - done_i) Q_i'(s', a_L', a_F')`` of both critics (target networks)."""
        with torch.no_grad():
            if self.leader_policy_target is not None:
                next_leader = self.leader_policy_target(batch.next_leader).argmax(dim=-1)
            else:
                next_leader = self._leader_choice(self.q_leader_target, self.actor_target, batch.next_leader)
            next_follower = self._follower_reply(self.actor_target, batch.next_follower, next_leader)
            q_l = self.q_leader_target(self._critic_input(batch.next_leader, next_leader, next_follower)).squeeze(-1)
            q_f = self.q_follower_target(self._critic_input(batch.next_follower, next_leader, next_follower)).squeeze(
                -1
            )
            gamma = self.config.gamma
            return (
                batch.r_leader + gamma * (1.0 - batch.done_leader) * q_l,
                batch.r_follower + gamma * (1.0 - batch.done_follower) * q_f,
            )

    def _gumbel_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """A Gumbel-softmax sample at temperature 1 (the authors' code), drawn from this learner's generator."""
        return gumbel_softmax(logits, generator=self._torch_rng)

    def train_step(self, batch: _Batch) -> dict[str, float]:
        """One gradient step of both critics (Huber TD loss) and then of the follower's actor; returns the losses."""
        cfg = self.config
        target_l, target_f = self.critic_targets(batch)
        q_l = self.q_leader(self._critic_input(batch.obs_leader, batch.a_leader, batch.a_follower)).squeeze(-1)
        q_f = self.q_follower(self._critic_input(batch.obs_follower, batch.a_leader, batch.a_follower)).squeeze(-1)
        critic_loss = F.huber_loss(q_l, target_l) + F.huber_loss(q_f, target_f)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        nn.utils.clip_grad_norm_(self.q_leader.parameters(), cfg.max_grad_norm)
        nn.utils.clip_grad_norm_(self.q_follower.parameters(), cfg.max_grad_norm)
        self.critic_optimizer.step()

        n_follower = self._eye_follower.shape[0]
        with torch.no_grad():  # Q_F(s, a_L, a) for every follower action a
            rows = batch.obs_follower.repeat_interleave(n_follower, dim=0)
            a_leader = batch.a_leader.repeat_interleave(n_follower)
            every = torch.arange(n_follower).repeat(batch.obs_follower.shape[0])
            q_every = self.q_follower(self._critic_input(rows, a_leader, every)).view(-1, n_follower)
        logits = self._actor_logits(self.actor, batch.obs_follower, batch.a_leader)
        actor_loss = self._actor_step(logits, q_every, self.actor, self.actor_optimizer)

        losses = {"critic_loss": float(critic_loss.detach()), "actor_loss": actor_loss}
        if self.leader_policy is not None:
            losses["leader_actor_loss"] = self._train_leader_actor(batch)

        self.n_updates += 1
        if self.n_updates % cfg.target_update_interval == 0:
            for net, target in self._target_pairs():
                polyak_update(net.parameters(), target.parameters(), cfg.tau)
        return losses

    def _target_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        pairs: list[tuple[nn.Module, nn.Module]] = [
            (self.q_leader, self.q_leader_target),
            (self.q_follower, self.q_follower_target),
            (self.actor, self.actor_target),
        ]
        if self.leader_policy is not None and self.leader_policy_target is not None:
            pairs.append((self.leader_policy, self.leader_policy_target))
        return pairs

    def _train_leader_actor(self, batch: _Batch) -> float:
        """One gradient step of the leader's actor (``leader_actor``): ``-sum_a g(a | o_L) Q_L(o_L, a, r_F(a))``
        with ``g`` a Gumbel-softmax sample of ``pi_L`` and ``r_F(a)`` the follower actor's greedy reply to ``a``
        on the follower's own observation of the transition."""
        assert self.leader_policy is not None and self.leader_optimizer is not None
        n_leader = self._eye_leader.shape[0]
        with torch.no_grad():  # Q_L(o_L, a, r_F(a)) for every leader action a
            rows_f, a_leader = self._every_leader_action(batch.obs_follower)
            replies = self._follower_reply(self.actor, rows_f, a_leader)
            rows_l = batch.obs_leader.repeat_interleave(n_leader, dim=0)
            q_every = self.q_leader(self._critic_input(rows_l, a_leader, replies)).view(-1, n_leader)
        return self._actor_step(
            self.leader_policy(batch.obs_leader), q_every, self.leader_policy, self.leader_optimizer
        )

    def _actor_step(
        self, logits: torch.Tensor, q_every: torch.Tensor, actor: nn.Module, optimizer: torch.optim.Optimizer
    ) -> float:
        """One gradient step of an actor on ``-sum_a g(a) Q(a)`` (``g`` a Gumbel-softmax sample of ``logits``,
        ``q_every`` the critic's value of every action, held fixed); returns the loss."""
        policy = self._gumbel_softmax(logits)
        loss = -(policy * q_every).sum(dim=-1).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(actor.parameters(), self.config.max_grad_norm)
        optimizer.step()
        return float(loss.detach())

    # ------------------------------------------------------------------ the contract
    def _encode(self, agent: Any, observation: Any) -> torch.Tensor:
        return torch.as_tensor(self._flatten[agent](observation["observation"])).unsqueeze(0)

    def _other(self, agent: Any) -> Any:
        return self.agents[1] if agent == self.agents[0] else self.agents[0]

    def _greedy_leader(self, observation: Any, agent: Any) -> int:
        with torch.no_grad():
            if self.leader_policy is not None:
                return int(self.leader_policy(self._encode(agent, observation))[0].argmax())
            return int(self._leader_choice(self.q_leader, self.actor, self._encode(agent, observation))[0])

    def _follower_logits(self, agent: Any, observation: Any) -> torch.Tensor:
        prior = np.asarray(observation["prior_actions"])[self._layout[self._other(agent)]]
        a_leader = torch.tensor([int(np.argmax(prior))])
        with torch.no_grad():
            return self._actor_logits(self.actor, self._encode(agent, observation), a_leader)[0]

    def act(self, agent: Any, observation: Any) -> int:
        """The greedy action: Eq. 12 for the agent of rank 0 (or its actor's greedy action, with ``leader_actor``),
        the actor's greedy reply (Eq. 13) for rank 1."""
        if int(observation["rank"]) == 0:
            return self._greedy_leader(observation, agent)
        return int(self._follower_logits(agent, observation).argmax())

    def action_probabilities(self, agent: Any, observation: Any) -> np.ndarray:
        """The leader's greedy choice as a one-hot (its actor ``pi_L(. | o_L)``, a softmax, with ``leader_actor``);
        the follower's actor ``pi_F(. | s, a_L)`` (a softmax)."""
        if int(observation["rank"]) == 0 and self.leader_policy is not None:
            with torch.no_grad():
                logits = self.leader_policy(self._encode(agent, observation))[0]
            probs = torch.softmax(logits.double(), dim=-1).numpy()
            return np.asarray(probs / probs.sum())
        if int(observation["rank"]) == 0:
            out = np.zeros(self.n_actions[agent])
            out[self._greedy_leader(observation, agent)] = 1.0
            return out
        probs = torch.softmax(self._follower_logits(agent, observation).double(), dim=-1).numpy()
        return np.asarray(probs / probs.sum())

    def epsilon(self, num_timesteps: int | None = None) -> float:
        """The exploration rate at ``num_timesteps`` (default: now): 1 before ``learning_starts``, then decaying."""
        cfg = self.config
        t = self.num_timesteps if num_timesteps is None else num_timesteps
        if t < cfg.learning_starts:
            return 1.0
        decays = (t - cfg.learning_starts) // cfg.exploration_decay_interval
        return float(cfg.exploration_initial_eps * cfg.exploration_decay**decays)

    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> BiLevelActorCritic:
        """Play ``total_timesteps`` more joint steps (over the env copies in turn), with a gradient step after each.

        ``callback(num_timesteps)`` runs after every joint step (its transition stored and, after
        ``learning_starts``, one gradient step taken); returning ``False`` stops.

        Raises:
            ValueError: a bad ``total_timesteps``, or an env whose leader (rank-0 agent) changes.
        """
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        if total_timesteps < 0:
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        cfg = self.config
        if self._envs is None:
            self._envs = [self.make_env() for _ in range(cfg.n_envs)]
            for i, env in enumerate(self._envs):
                env.reset(seed=self.seed + i)
        end = self.num_timesteps + int(total_timesteps)
        copy_index = 0
        while self.num_timesteps < end:
            self._play_time_step(copy_index, self.epsilon())
            copy_index = (copy_index + 1) % cfg.n_envs
            if self.num_timesteps > cfg.learning_starts and self.buffer.size >= cfg.batch_size:
                self.train_step(self.buffer.sample(self._rng, cfg.batch_size))
            if callback is not None and callback(self.num_timesteps) is False:
                break
        return self

    def _check_leader(self, env: Any) -> None:
        live = list(env.agents)
        if env.agent_selection != self.leader or len(live) != 2:
            raise ValueError(
                f"BiLevelActorCritic (biac-ac) needs a fixed priority order with both agents alive: its leader is "
                f"{self.leader!r} (rank 0 at the first reset), but a time step starts with {env.agent_selection!r} "
                f"(live agents {live}). A 'random' or changing order is not supported: train with a fixed order, "
                "or use the tabular 'biac', which keeps tables per leader."
            )

    def _play_time_step(self, copy_index: int, eps: float) -> None:
        """Play one joint step of env copy ``copy_index`` and store its transition (resetting at an episode's end)."""
        assert self._envs is not None
        env = self._envs[copy_index]
        if not env.agents:
            env.reset()
        self._check_leader(env)
        leader, follower = self.leader, self.follower
        explore = self._rng.random() < eps
        obs_l = env.observe(leader)
        if explore:
            a_leader = int(self._rng.integers(self.n_actions[leader]))
        else:
            a_leader = self._greedy_leader(obs_l, leader)
        env.step(a_leader)
        obs_f = env.observe(follower)
        if explore:
            a_follower = int(self._rng.integers(self.n_actions[follower]))
        else:
            a_follower = int(self._follower_logits(follower, obs_f).argmax())
        env.step(a_follower)
        self.num_timesteps += 1
        self.buffer.add(
            obs_leader=self._flatten[leader](obs_l["observation"]),
            obs_follower=self._flatten[follower](obs_f["observation"]),
            a_leader=a_leader,
            a_follower=a_follower,
            r_leader=float(env.rewards[leader]),
            r_follower=float(env.rewards[follower]),
            next_leader=self._flatten[leader](env.observe(leader)["observation"]),
            next_follower=self._flatten[follower](env.observe(follower)["observation"]),
            done_leader=float(env.terminations[leader]),
            done_follower=float(env.terminations[follower]),
        )
        skip_dead_steps(env)  # an episode's end: its dead steps empty env.agents, so the next call resets

    # ------------------------------------------------------------------ save / load
    def _networks(self) -> dict[str, nn.Module]:
        nets: dict[str, nn.Module] = {
            "q_leader": self.q_leader,
            "q_follower": self.q_follower,
            "actor": self.actor,
            "q_leader_target": self.q_leader_target,
            "q_follower_target": self.q_follower_target,
            "actor_target": self.actor_target,
        }
        if self.leader_policy is not None and self.leader_policy_target is not None:
            nets |= {"leader_actor": self.leader_policy, "leader_actor_target": self.leader_policy_target}
        return nets

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the networks, optimisers, replay buffer, settings and random states (``load`` reads them back)."""
        state: dict[str, Any] = {name: net.state_dict() for name, net in self._networks().items()}
        state["critic_optimizer"] = self.critic_optimizer.state_dict()
        state["actor_optimizer"] = self.actor_optimizer.state_dict()
        if self.leader_optimizer is not None:
            state["leader_optimizer"] = self.leader_optimizer.state_dict()
        state["torch_rng"] = self._torch_rng.get_state()
        weights = io.BytesIO()
        torch.save(state, weights)
        meta = {
            "algorithm": _ALGORITHM,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "agents": [str(a) for a in self.agents],
            "leader": self.agents.index(self.leader),
            "num_timesteps": self.num_timesteps,
            "n_updates": self.n_updates,
            "rng": self._rng.bit_generator.state,
        }
        write_archive(path, meta, {"weights.pt": weights.getvalue(), "replay.npz": self.buffer.to_bytes()})

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: Callable[[], Any]) -> BiLevelActorCritic:
        """A model saved by :meth:`save`, attached to ``make_env``'s environments (training continues exactly).

        Raises:
            ValueError: the file is not a ``BiLevelActorCritic`` save, is damaged, or is for other agents.
        """
        try:
            meta, payload = read_archive(path)
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"expected a saved {_ALGORITHM}, got an unreadable or damaged file {path}: {exc}"
            ) from None
        if meta.get("algorithm") != _ALGORITHM or not {"weights.pt", "replay.npz"} <= set(payload):
            raise ValueError(f"expected a saved {_ALGORITHM}, got a save of {meta.get('algorithm')!r}: {path}.")
        self = cls(make_env, seed=meta["seed"], **meta["config"])
        if [str(a) for a in self.agents] != meta["agents"] or self.agents.index(self.leader) != meta["leader"]:
            raise ValueError(
                f"the save is for agents {meta['agents']} led by {meta['agents'][meta['leader']]!r}; make_env() "
                f"gives {self.agents} led by {self.leader!r}."
            )
        try:
            state = torch.load(io.BytesIO(payload["weights.pt"]), weights_only=True)
            for name, net in self._networks().items():
                net.load_state_dict(state[name])
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
            self.actor_optimizer.load_state_dict(state["actor_optimizer"])
            if self.leader_optimizer is not None:
                self.leader_optimizer.load_state_dict(state["leader_optimizer"])
            self._torch_rng.set_state(state["torch_rng"])
            self.buffer.load_bytes(payload["replay.npz"])
        except (RuntimeError, KeyError, ValueError, OSError, EOFError) as exc:
            raise ValueError(f"expected a saved {_ALGORITHM}, got a damaged file {path}: {exc}") from None
        self.num_timesteps = int(meta["num_timesteps"])
        self.n_updates = int(meta["n_updates"])
        self._rng.bit_generator.state = meta["rng"]
        return self

    def __repr__(self) -> str:
        return (
            f"BiLevelActorCritic(leader={self.leader!r}, follower={self.follower!r}, "
            f"num_timesteps={self.num_timesteps}, n_updates={self.n_updates})"
        )


BiLevelActorCritic.__init__.__signature__ = BiACConfig.constructor_signature()  # type: ignore[attr-defined]
