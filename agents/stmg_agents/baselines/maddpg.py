"""MADDPG (Lowe et al., 2017) on the simultaneous game, written against the benchmark contract.

Multi-Agent Deep Deterministic Policy Gradient ("Multi-Agent Actor-Critic for Mixed
Cooperative-Competitive Environments", Lowe, Wu, Tamar, Harb, Abbeel and Mordatch, NeurIPS 2017):
every agent ``i`` has

* a deterministic actor ``mu_i(o_i)`` sized to its own observation and action spaces, executed
  decentrally (each agent acts on its own observation);
* a centralised critic ``Q_i(o_1..o_N, a_1..a_N)`` that reads every agent's observation and action,
  trained on its own reward toward the TD target
  ``y_i = r_i + gamma * (1 - terminated_i) * Q'_i(o'_1..o'_N, mu'_1(o'_1)..mu'_N(o'_N))``;
* target copies ``mu'_i``, ``Q'_i`` of both, moved by soft updates ``theta' <- tau theta + (1 - tau) theta'``.

The actor of agent ``i`` follows ``grad Q_i(o, a_1..mu_i(o_i)..a_N)``, the other agents' actions
taken from the replay buffer (the paper's Eq. 6), plus the reference code's small penalty
``action_reg * mean(pre-activation^2)`` that keeps the actor's outputs from growing without bound.

Action spaces:

* ``Discrete``: the actor outputs logits. Exploration plays a Gumbel-max sample of them, that is an
  action drawn from ``softmax(logits)``; the policy update uses the straight-through Gumbel-softmax
  (the hard one-hot sample forward, the gradient of ``softmax((logits + g) / gumbel_temperature)``
  backward). The critic sees one-hot actions. The greedy action is ``argmax(logits)``, and the target
  actors' next actions are those greedy one-hots. :meth:`MADDPG.action_probabilities` is
  ``softmax(logits)``: the distribution of the action the agent plays while exploring, whose mode
  is the greedy action (not a learned stochastic policy: MADDPG's policy is deterministic).
* ``Box`` (finite bounds): the actor outputs ``tanh`` in ``[-1, 1]`` per entry, scaled to the
  bounds; exploration adds Gaussian noise of standard deviation ``exploration_noise`` times the
  half-range of each entry, clipped to the bounds. The critic sees the actions in ``[-1, 1]``.

Training is off-policy: ``learn(total_timesteps)`` steps the ``n_envs`` copies of the game in
lock-step (each joint step of each copy counts once in ``num_timesteps``), stores every transition
in the replay buffer and, every ``train_freq`` lock-step rounds once ``learning_starts`` joint steps
are stored, runs a block of ``gradient_steps`` updates; the progress callback runs after each block.
A truncated episode (a time limit) bootstraps from its final observation; a terminated one does not.
An agent that leaves the game early is seen by the critics as zero observation and zero action,
and its own losses leave out the steps after it left.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines.maddpg import MADDPG
    >>> make_env = lambda: pettingzoo.make("parallel", "stmg/Penalty-v0", k=0)
    >>> model = MADDPG(make_env, seed=0, n_envs=2, learning_starts=50, batch_size=32, hidden_sizes=(16,))
    >>> seen = []
    >>> model = model.learn(100, callback=seen.append)
    >>> model.num_timesteps, seen[:2], seen[-1]
    (100, [50, 52], 100)
    >>> model.act("agent_0", [1.0]) in (0, 1, 2)
    True
    >>> round(float(model.action_probabilities("agent_0", [1.0]).sum()), 9)
    1.0

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv
from torch import nn
from torch.nn import functional as F

from stmg_agents.baselines.config import KeywordConfig, _expect_float, _expect_int, check_hidden_sizes
from stmg_agents.baselines.env_source import resolve_env_source
from stmg_agents.baselines.mappo_networks import MLPBody
from stmg_agents.baselines.observation_encoding import flatten_observation_fn
from stmg_agents.baselines.persistence import read_archive, write_archive
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.baselines.shared_policy_env import env_action_converter
from stmg_agents.distributions import gumbel_noise, gumbel_softmax

__all__ = ["MADDPG", "MADDPGConfig"]

_FORMAT_ALGORITHM = "MADDPG"


@dataclass(frozen=True)
class MADDPGConfig(KeywordConfig):
    """The hyperparameters of :class:`MADDPG`, checked once when built.

    Defaults follow the paper's reference code where it applies (two hidden layers of 64,
    ``tau`` 0.01, gradient clip 0.5, logits penalty 1e-3, ``gamma`` 0.95) with the smaller
    buffer, batch and learning rate of common re-implementations.

    Examples:
        >>> MADDPGConfig(tau=0.05).tau
        0.05
        >>> MADDPGConfig.from_kwargs({"lr": 1e-3})
        Traceback (most recent call last):
        ...
        TypeError: unknown hyper-parameter 'lr' for MADDPG; did you mean 'learning_rate'? ...
    """

    algorithm_label: ClassVar[str | None] = "MADDPG"
    tuple_fields = ("hidden_sizes",)

    n_envs: int = 4
    """Copies of the game stepped in lock-step; each joint step of each copy is one of ``num_timesteps``."""
    learning_rate: float = 1e-3
    """Adam step size of the actors."""
    critic_learning_rate: float | None = None
    """Adam step size of the critics; None: ``learning_rate``."""
    gamma: float = 0.95
    """Discount factor of the TD target."""
    tau: float = 0.01
    """Soft-update rate of the target networks: ``theta' <- tau * theta + (1 - tau) * theta'``."""
    buffer_size: int = 100_000
    """Transitions (joint steps of one copy) the replay buffer holds; the oldest are overwritten."""
    batch_size: int = 256
    """Transitions sampled (uniformly, with replacement) for each gradient step."""
    learning_starts: int = 1_000
    """Joint steps stored in the buffer before the first update (counted again after ``load``: the buffer is not saved)."""
    train_freq: int = 1
    """Lock-step rounds (each ``n_envs`` joint steps) between two blocks of updates."""
    gradient_steps: int = 1
    """Gradient steps (every agent's critic, then its actor, then the soft updates) per block."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layer widths of every actor and critic (ReLU)."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip of each actor and critic step."""
    exploration_noise: float = 0.1
    """``Box`` actions: standard deviation of the Gaussian exploration noise, as a share of each entry's half-range."""
    gumbel_temperature: float = 1.0
    """``Discrete`` actions: temperature of the Gumbel-softmax whose gradient the policy update follows."""
    action_reg: float = 1e-3
    """Weight of the penalty on the actor's squared pre-activations (logits, or the pre-``tanh`` outputs)."""

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` saying what was expected, what was given and how to fix it."""
        for name, minimum in (
            ("n_envs", 1),
            ("buffer_size", 1),
            ("batch_size", 1),
            ("learning_starts", 0),
            ("train_freq", 1),
            ("gradient_steps", 1),
        ):
            _expect_int(name, getattr(self, name), minimum)
        _expect_float("learning_rate", self.learning_rate, 0.0, math.inf, low_open=True)
        if self.critic_learning_rate is not None:
            _expect_float("critic_learning_rate", self.critic_learning_rate, 0.0, math.inf, low_open=True)
        _expect_float("gamma", self.gamma, 0.0, 1.0)
        _expect_float("tau", self.tau, 0.0, 1.0, low_open=True)
        _expect_float("max_grad_norm", self.max_grad_norm, 0.0, math.inf, low_open=True)
        _expect_float("exploration_noise", self.exploration_noise, 0.0, math.inf)
        _expect_float("gumbel_temperature", self.gumbel_temperature, 0.0, math.inf, low_open=True)
        _expect_float("action_reg", self.action_reg, 0.0, math.inf)
        check_hidden_sizes(self.hidden_sizes)


class _AgentLayout(NamedTuple):
    """How one agent's observation and action enter the networks."""

    obs_dim: int
    flatten: Callable[[Any], np.ndarray]
    discrete: bool
    act_dim: int  # Discrete: the number of actions (one-hot); Box: the number of entries
    low: np.ndarray | None  # Box bounds, flat
    high: np.ndarray | None
    to_env: Callable[[Any], Any]


class _Batch(NamedTuple):
    """Transitions sampled from the replay buffer; ``B`` rows, agents in ``possible_agents`` order."""

    obs: torch.Tensor  # (B, sum of obs_dim): every agent's flat observation (zeros for an absent agent)
    actions: torch.Tensor  # (B, sum of act_dim): one-hot / [-1, 1] actions (zeros for an absent agent)
    rewards: torch.Tensor  # (B, N)
    next_obs: torch.Tensor  # (B, sum of obs_dim)
    next_present: torch.Tensor  # (B, N): 1 where the agent is in the next observation (its target action counts)
    terminated: torch.Tensor  # (B, N): 1 where the agent's episode terminated (no bootstrap)
    active: torch.Tensor  # (B, N): 1 where the agent acted at this step (its losses count)


class _ReplayBuffer:
    """A circular buffer of joint transitions, as NumPy arrays."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, n_agents: int) -> None:
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros((capacity, n_agents), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_present = np.zeros((capacity, n_agents), np.float32)
        self.terminated = np.zeros((capacity, n_agents), np.float32)
        self.active = np.zeros((capacity, n_agents), np.float32)
        self.size = 0
        self._next = 0

    def add(self, row: Sequence[np.ndarray]) -> None:
        """Store one transition: the fields of :class:`_Batch`, in order."""
        i = self._next
        for array, value in zip(
            (self.obs, self.actions, self.rewards, self.next_obs, self.next_present, self.terminated, self.active),
            row,
        ):
            array[i] = value
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> _Batch:
        """``batch_size`` transitions drawn uniformly with replacement (torch's global generator)."""
        index = torch.randint(self.size, (batch_size,)).numpy()
        return _Batch(
            *(
                torch.from_numpy(a[index])
                for a in (
                    self.obs,
                    self.actions,
                    self.rewards,
                    self.next_obs,
                    self.next_present,
                    self.terminated,
                    self.active,
                )
            )
        )


class _MLP(nn.Module):
    """``MLPBody`` (ReLU hidden layers, MAPPO's orthogonal init) plus a linear head."""

    def __init__(self, in_dim: int, out_dim: int, hidden_sizes: tuple[int, ...], head_gain: float) -> None:
        super().__init__()
        self.body = MLPBody(in_dim, hidden_sizes, "relu", feature_norm=False)
        self.head = nn.Linear(self.body.out_dim, out_dim)
        nn.init.orthogonal_(self.head.weight, gain=head_gain)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # type: ignore[no-any-return]


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging in place: every parameter ``theta' <- tau * theta + (1 - tau) * theta'``.

    Examples:
        >>> a, b = nn.Linear(1, 1), nn.Linear(1, 1)
        >>> with torch.no_grad():
        ...     _ = a.weight.fill_(0.0), b.weight.fill_(1.0)
        >>> soft_update(a, b, 0.25)
        >>> a.weight.detach().item()
        0.25
    """
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)


class MADDPG:
    """MADDPG: per-agent deterministic actors and centralised critics, trained off-policy.

    Written against :mod:`stmg_bench.contract` (``form = "simultaneous"``): the harness builds it as
    ``MADDPG(make_env, seed=..., **hyperparameters)``. See the module docstring for the method.

    Args:
        make_env: Returns a fresh PettingZoo ``ParallelEnv`` (a factory, a registered id such as
            ``"stmg/Penalty-v0"``, or an instance, as the other baselines take).
        seed: Seeds the networks, the exploration, the replay sampling and the env resets
            (copy ``i`` is reset with ``seed + i`` at the first ``learn``).
        **hyperparameters: Fields of :class:`MADDPGConfig`; an unknown name raises ``TypeError``.

    Attributes:
        config: The checked :class:`MADDPGConfig`.
        possible_agents: The agents, in the order of the critics' inputs.
        num_timesteps: Joint steps trained on (each step of each copy counts once).

    Raises:
        ValueError: an action space that is neither ``Discrete`` (from 0) nor a ``Box`` with finite
            bounds, or a bad hyperparameter value.
    """

    form: ClassVar[str] = "simultaneous"
    name: ClassVar[str] = "maddpg"
    execution: ClassVar[str] = "decentralized"
    uses_order: ClassVar[bool] = False
    #: The frozen config its ``**hyperparameters`` build (``stmg-bench describe`` lists its fields).
    config_class: ClassVar[type[MADDPGConfig]] = MADDPGConfig

    def __init__(self, make_env: Any, seed: int = 0, **hyperparameters: Any) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
            raise ValueError(f"expected `seed` to be an int in [0, 2**32), got {seed!r}.")
        self.seed = int(seed)
        self.config = MADDPGConfig.from_kwargs(hyperparameters)
        self.make_env = make_env
        self._source = resolve_env_source(make_env)
        probe = self._source.make()
        self.possible_agents: tuple[str, ...] = tuple(probe.possible_agents)
        self._layouts = {a: _layout(a, probe.observation_space(a), probe.action_space(a)) for a in self.possible_agents}
        probe.close()
        layouts = [self._layouts[a] for a in self.possible_agents]
        self._obs_slices = _slices([lay.obs_dim for lay in layouts])
        self._act_slices = _slices([lay.act_dim for lay in layouts])
        obs_total, act_total = sum(lay.obs_dim for lay in layouts), sum(lay.act_dim for lay in layouts)
        self.num_timesteps = 0
        self._rounds = 0
        self._rng = GlobalRngScope(self.seed)
        config = self.config
        with self._rng:
            self.actors = nn.ModuleList(_MLP(lay.obs_dim, lay.act_dim, config.hidden_sizes, 0.01) for lay in layouts)
            self.critics = nn.ModuleList(
                _MLP(obs_total + act_total, 1, config.hidden_sizes, 1.0) for _ in self.possible_agents
            )
            self.target_actors = nn.ModuleList(
                _MLP(lay.obs_dim, lay.act_dim, config.hidden_sizes, 0.01) for lay in layouts
            )
            self.target_critics = nn.ModuleList(
                _MLP(obs_total + act_total, 1, config.hidden_sizes, 1.0) for _ in self.possible_agents
            )
        self.target_actors.load_state_dict(self.actors.state_dict())
        self.target_critics.load_state_dict(self.critics.state_dict())
        self.target_actors.requires_grad_(False)
        self.target_critics.requires_grad_(False)
        critic_lr = config.critic_learning_rate or config.learning_rate
        # One Adam over every actor (and one over every critic) is N per-agent Adams: its steps are per parameter.
        self._actor_params = list(self.actors.parameters())
        self._clip_groups = [list(m.parameters()) for m in (*self.critics, *self.actors)]
        self.actor_optimizer = torch.optim.Adam(self._actor_params, lr=config.learning_rate, foreach=True)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=critic_lr, foreach=True)
        self._buffer = _ReplayBuffer(config.buffer_size, obs_total, act_total, len(self.possible_agents))
        self._envs: list[ParallelEnv] | None = None
        self._obs: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ acting
    def _actor_output(self, agent: Any, observation: Any) -> torch.Tensor:
        try:
            i = self.possible_agents.index(agent)
        except ValueError:
            raise KeyError(f"unknown agent {agent!r}; expected one of {list(self.possible_agents)}.") from None
        layout = self._layouts[agent]
        flat = layout.flatten(observation)
        if flat.shape[0] != layout.obs_dim:
            raise ValueError(
                f"expected an observation of flat size {layout.obs_dim} for {agent!r}, got shape {np.shape(observation)}."
            )
        with torch.no_grad():
            return self.actors[i](torch.tensor(flat)[None])[0]  # type: ignore[no-any-return]

    def act(self, agent: Any, observation: Any) -> Any:
        """The greedy action of ``agent`` for its own observation: ``argmax(logits)``, or the scaled ``tanh`` output."""
        out = self._actor_output(agent, observation)
        layout = self._layouts[agent]
        if layout.discrete:
            return layout.to_env(int(out.argmax()))
        return layout.to_env(_scale(layout, torch.tanh(out).numpy()))

    def action_probabilities(self, agent: Any, observation: Any) -> np.ndarray:
        """``softmax(logits)`` of ``agent``'s actor (``Discrete`` actions), as float64 summing to 1.

        This is the distribution of the action the agent plays while exploring (a Gumbel-max sample
        of its logits); its mode is the greedy action. MADDPG's learned policy itself is deterministic.

        Raises:
            TypeError: the agent's actions are not ``Discrete``.
        """
        layout = self._layouts.get(agent)
        if layout is not None and not layout.discrete:
            raise TypeError(f"action_probabilities needs Discrete actions; agent {agent!r} has Box actions.")
        probabilities = F.softmax(self._actor_output(agent, observation).double(), dim=-1).numpy()
        return probabilities / probabilities.sum()

    # ------------------------------------------------------------------ training
    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> MADDPG:
        """Play ``total_timesteps`` more joint steps (all copies in lock-step), updating off-policy.

        Cadence: every round steps each of the ``n_envs`` copies once (``num_timesteps`` grows by
        ``n_envs``, so it may end above the budget by less than ``n_envs``) and stores the
        transitions; every ``train_freq`` rounds, once ``learning_starts`` joint steps are stored,
        a block of ``gradient_steps`` updates runs and then ``callback(num_timesteps)``; ``False``
        stops. If the last round ran no block (still warming up, or between blocks), the callback
        runs once more at the end, so the caller always sees the final count.

        Raises:
            ValueError: ``total_timesteps`` is not an int >= 0.
        """
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise ValueError(f"expected `total_timesteps` to be an int >= 0, got {total_timesteps!r}.")
        if total_timesteps < 0:
            raise ValueError(f"expected `total_timesteps` to be an int >= 0, got {total_timesteps!r}.")
        config = self.config
        end = self.num_timesteps + int(total_timesteps)
        reported_at: int | None = None
        with self._rng:
            if self._envs is None:
                self._envs = [self._source.make() for _ in range(config.n_envs)]
                self._obs = [env.reset(seed=self.seed + i)[0] for i, env in enumerate(self._envs)]
            while self.num_timesteps < end:
                self._play_round()
                self._rounds += 1
                if self._rounds % config.train_freq or self._buffer.size < max(1, config.learning_starts):
                    continue
                for _ in range(config.gradient_steps):
                    self._update(self._buffer.sample(config.batch_size))
                if callback is not None:
                    reported_at = self.num_timesteps
                    if callback(self.num_timesteps) is False:
                        return self
        if callback is not None and reported_at != self.num_timesteps:
            callback(self.num_timesteps)
        return self

    def _explore(self, obs: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Every agent's exploration action in every copy, as the critics see them: ``(n_envs, sum of act_dim)``.

        A Gumbel-max sample (an exact one-hot) for ``Discrete`` actions, ``tanh`` plus clipped Gaussian
        noise for ``Box`` actions; zeros for an agent absent from a copy (``present`` is ``(n_envs, N)``).
        """
        parts = []
        with torch.no_grad():
            obs_t = torch.from_numpy(obs)
            for i, agent in enumerate(self.possible_agents):
                out = self.actors[i](obs_t[:, self._obs_slices[i]])
                if self._layouts[agent].discrete:
                    action = F.one_hot((out + gumbel_noise(out)).argmax(dim=-1), out.shape[-1]).to(out.dtype)
                else:
                    noise = torch.randn_like(out) * self.config.exploration_noise
                    action = (torch.tanh(out) + noise).clamp_(-1.0, 1.0)
                parts.append(action * torch.from_numpy(present[:, i : i + 1]))
        return torch.cat(parts, dim=-1).numpy()

    def _play_round(self) -> None:
        """One joint step of every copy: act, step, store, reset a copy whose game is over."""
        assert self._envs is not None
        agents = self.possible_agents
        obs = np.stack([self._flat_joint(o) for o in self._obs])
        active = np.array([[a in o for a in agents] for o in self._obs], np.float32)
        actions = self._explore(obs, active)
        for e, env in enumerate(self._envs):
            observations = self._obs[e]
            joint: dict[str, Any] = {}
            for i, agent in enumerate(agents):
                if agent in observations:
                    layout, action = self._layouts[agent], actions[e, self._act_slices[i]]
                    joint[agent] = layout.to_env(int(action.argmax()) if layout.discrete else _scale(layout, action))
            next_obs, rewards, terms, _, _ = env.step(joint)
            self.num_timesteps += 1
            # An agent that stops without a termination flag (a time limit, or the game's end) bootstraps.
            terminated = np.array([bool(terms.get(a, False)) or a not in observations for a in agents], np.float32)
            reward_row = np.array([float(rewards.get(a, 0.0)) for a in agents], np.float32)
            present = np.array([a in next_obs for a in agents], np.float32)
            self._buffer.add(
                (obs[e], actions[e], reward_row, self._flat_joint(next_obs), present, terminated, active[e])
            )
            if not env.agents:
                self._obs[e] = env.reset()[0]
            else:
                live = set(env.agents)
                self._obs[e] = {a: o for a, o in next_obs.items() if a in live}

    def _flat_joint(self, observations: Mapping[str, Any]) -> np.ndarray:
        """Every agent's flat observation, concatenated in ``possible_agents`` order (zeros for absent agents)."""
        row = np.zeros(self._buffer.obs.shape[1], np.float32)
        for i, agent in enumerate(self.possible_agents):
            if agent in observations:
                row[self._obs_slices[i]] = self._layouts[agent].flatten(observations[agent])
        return row

    def _target_actions(self, next_obs: torch.Tensor, next_present: torch.Tensor) -> torch.Tensor:
        """The target actors' greedy actions at the next observations (one-hot / ``tanh``), zero for absent agents."""
        parts = []
        for i, agent in enumerate(self.possible_agents):
            out = self.target_actors[i](next_obs[:, self._obs_slices[i]])
            if self._layouts[agent].discrete:
                action = F.one_hot(out.argmax(dim=-1), out.shape[-1]).to(out.dtype)
            else:
                action = torch.tanh(out)
            parts.append(action * next_present[:, i : i + 1])
        return torch.cat(parts, dim=-1)

    def td_targets(self, batch: _Batch) -> torch.Tensor:
        """``(B, N)``: ``r_i + gamma * (1 - terminated_i) * Q'_i(o', mu'(o'))`` for every agent ``i``."""
        with torch.no_grad():
            next_in = torch.cat([batch.next_obs, self._target_actions(batch.next_obs, batch.next_present)], dim=-1)
            next_q = torch.cat([critic(next_in) for critic in self.target_critics], dim=-1)
            return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_q

    def _update(self, batch: _Batch) -> None:
        """One gradient step of every agent's critic, then of every actor, then the soft updates of every target.

        The agents' losses are summed into one backward pass per kind: their parameters are disjoint,
        so each network gets the gradient of its own loss (clipped per network), as in N separate steps.
        Actor ``i`` follows critic ``i`` after that critic's step, as in the paper's per-agent loop.
        """
        config = self.config
        targets = self.td_targets(batch)
        weights = batch.active
        counts = weights.sum(dim=0).clamp(min=1.0)
        critic_in = torch.cat([batch.obs, batch.actions], dim=-1)
        q = torch.cat([critic(critic_in) for critic in self.critics], dim=-1)
        critic_loss = ((weights * (q - targets).square()).sum(dim=0) / counts).sum()
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        n = len(self.possible_agents)
        for params in self._clip_groups[:n]:
            nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        self.critic_optimizer.step()

        actor_loss = torch.zeros(())
        for i, agent in enumerate(self.possible_agents):
            out = self.actors[i](batch.obs[:, self._obs_slices[i]])
            if self._layouts[agent].discrete:
                own = gumbel_softmax(out, config.gumbel_temperature, hard=True)
            else:
                own = torch.tanh(out)
            span = self._act_slices[i]
            actions = torch.cat([batch.actions[:, : span.start], own, batch.actions[:, span.stop :]], dim=-1)
            q_pi = self.critics[i](torch.cat([batch.obs, actions], dim=-1)).squeeze(-1)
            actor_loss = actor_loss - (weights[:, i] * q_pi).sum() / counts[i] + config.action_reg * out.square().mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward(inputs=self._actor_params)  # the critics' gradients are not needed
        for params in self._clip_groups[n:]:
            nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        self.actor_optimizer.step()
        soft_update(self.target_critics, self.critics, config.tau)
        soft_update(self.target_actors, self.actors, config.tau)

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the settings, the counters and every network and optimiser into one zip.

        The replay buffer is not saved: a loaded model that trains on starts with an empty buffer
        (and waits ``learning_starts`` joint steps again).
        """
        state = {
            "actors": self.actors.state_dict(),
            "critics": self.critics.state_dict(),
            "target_actors": self.target_actors.state_dict(),
            "target_critics": self.target_critics.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
        }
        weights = io.BytesIO()
        torch.save(state, weights)
        meta = {
            "algorithm": _FORMAT_ALGORITHM,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "num_timesteps": self.num_timesteps,
            "rounds": self._rounds,
            "possible_agents": [str(a) for a in self.possible_agents],
            "layout": [[lay.obs_dim, lay.act_dim, lay.discrete] for lay in self._layouts.values()],
        }
        write_archive(path, meta, {"weights.pt": weights.getvalue()})

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: Any) -> MADDPG:
        """A model saved by :meth:`save`, attached to ``make_env``'s environments.

        Raises:
            ValueError: the file is not a MADDPG save (another algorithm's, or not an archive at
                all), it is damaged, or ``make_env`` gives other agents or spaces.
        """
        try:
            meta, payload = read_archive(path)
        except (ValueError, EOFError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(
                f"expected a saved MADDPG model, got an unreadable or damaged file {path}: {exc}"
            ) from None
        if meta.get("algorithm") != _FORMAT_ALGORITHM:
            raise ValueError(
                f"expected a saved MADDPG model, got a save of {meta.get('algorithm')!r} in {path}; "
                "load it with that algorithm's class instead."
            )
        self = cls(make_env, seed=meta["seed"], **meta["config"])
        layout = [[lay.obs_dim, lay.act_dim, lay.discrete] for lay in self._layouts.values()]
        if [str(a) for a in self.possible_agents] != meta["possible_agents"] or layout != meta["layout"]:
            raise ValueError(
                f"the save is for agents {meta['possible_agents']} with (obs size, action size, discrete) "
                f"{meta['layout']}; make_env() gives {list(self.possible_agents)} with {layout}."
            )
        try:
            state = torch.load(io.BytesIO(payload["weights.pt"]), weights_only=True)
            self.actors.load_state_dict(state["actors"])
            self.critics.load_state_dict(state["critics"])
            self.target_actors.load_state_dict(state["target_actors"])
            self.target_critics.load_state_dict(state["target_critics"])
            self.actor_optimizer.load_state_dict(state["actor_optimizer"])
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        except Exception as exc:  # torch raises many kinds for a damaged payload
            raise ValueError(f"expected a saved MADDPG model, got a damaged weights file in {path}: {exc}") from None
        self.num_timesteps = int(meta["num_timesteps"])
        self._rounds = int(meta["rounds"])
        return self

    def __repr__(self) -> str:
        return f"MADDPG(agents={list(self.possible_agents)}, seed={self.seed}, num_timesteps={self.num_timesteps})"


def _slices(sizes: Sequence[int]) -> list[slice]:
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(np.cumsum([0, *sizes]))]


def _scale(layout: _AgentLayout, action: np.ndarray) -> np.ndarray:
    """A point of ``[-1, 1]^d`` mapped onto the ``Box``'s bounds (the env converter reshapes and clips it)."""
    assert layout.low is not None and layout.high is not None
    return layout.low + (np.asarray(action, np.float64) + 1.0) * 0.5 * (layout.high - layout.low)


def _layout(agent: Any, observation_space: spaces.Space, action_space: spaces.Space) -> _AgentLayout:
    obs_dim, flatten = flatten_observation_fn(observation_space)
    to_env = env_action_converter(action_space)
    if isinstance(action_space, spaces.Discrete):
        if action_space.start != 0:
            raise ValueError(f"expected a Discrete action space starting at 0 for {agent!r}, got {action_space}.")
        return _AgentLayout(obs_dim, flatten, True, int(action_space.n), None, None, to_env)
    if isinstance(action_space, spaces.Box):
        low = np.asarray(action_space.low, np.float64).reshape(-1)
        high = np.asarray(action_space.high, np.float64).reshape(-1)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError(
                f"MADDPG scales its tanh actions to the bounds, so it needs a Box with finite bounds; agent "
                f"{agent!r} has {action_space}. Wrap the env to rescale its actions."
            )
        return _AgentLayout(obs_dim, flatten, False, int(low.size), low, high, to_env)
    raise ValueError(f"MADDPG needs Discrete or Box actions; agent {agent!r} has {action_space}.")


MADDPG.__init__.__signature__ = MADDPGConfig.constructor_signature()  # type: ignore[attr-defined]
