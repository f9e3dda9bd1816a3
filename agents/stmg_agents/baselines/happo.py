"""HAPPO: heterogeneous-agent PPO, one actor per agent updated in sequence, on the simultaneous game.

Kuba et al., "Trust Region Policy Optimisation in Multi-Agent Reinforcement Learning"
(ICLR 2022), with HARL's implementation (``harl/runners/on_policy_ha_runner.py``,
``harl/algorithms/actors/happo.py``) as the reference for the details:

* every agent has its own actor, sized to its own observation and action spaces (no
  parameter sharing); one centralised critic reads every agent's observation
  (concatenated in ``possible_agents`` order, or ``parallel_env.state()``);
* after each rollout the agents are updated **one after another**, in a random
  permutation drawn per update from the algorithm's seeded generator, or in the fixed
  order it is given (``order``: highest priority first, updated first);
* agent ``i_m`` maximises PPO's clipped objective with its advantage weighted by
  ``factor = prod_{j < m} pi_new^{i_j}(a^{i_j}|o^{i_j}) / pi_old^{i_j}(a^{i_j}|o^{i_j})``,
  the product of the already-updated agents' probability ratios on the same samples
  (HARL's ``factor``, not differentiated): ``-mean(factor * min(r A, clip(r, 1 +- eps) A))``;
* the critic is then trained as MAPPO's (clipped value loss, Huber error, ValueNorm).

``Discrete`` actions use a categorical policy, ``Box`` actions SB3's diagonal Gaussian with a
state-independent log-std. Execution is decentralised: each agent acts on its own observation.

The critic predicts one value per agent (its input carries the agent's one-hot, as MAPPO's),
so each agent's advantage comes from its own reward: in a common-payoff game every agent
gets the same advantage, as in HAPPO; in a general-sum game each gets its own (HARL's
"FP" state), which the paper does not cover. Advantages are standardised over the whole
rollout, all agents together (HARL's "FP" normalisation).

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines.happo import HAPPO
    >>> make_env = lambda: pettingzoo.make("parallel", "stmg/Penalty-v0", k=0)
    >>> model = HAPPO(make_env, seed=0, n_envs=2, order=("agent_1", "agent_0")).learn(100)
    >>> model.num_timesteps, model.last_update.order
    (100, ('agent_1', 'agent_0'))
    >>> model.act("agent_0", [1.0]) in (0, 1, 2)
    True
    >>> round(float(model.action_probabilities("agent_1", [1.0]).sum()), 6)
    1.0

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Literal, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

# The config helpers and the error hints of MAPPO's configuration (same package), reused as they are.
from stmg_agents.baselines.config import PPOFields, _expect_choice
from stmg_agents.baselines.mappo_networks import CentralCritic, SharedActor, ValueNorm
from stmg_agents.baselines.mappo_rollout import (
    CriticInputBuilder,
    LockstepRollout,
    RolloutBatch,
    batched_copies,
    compute_gae,
    joint_action_converter,
    state_space_of,
)
from stmg_agents.baselines.observation_encoding import SharedObservationEncoder, flatten_observation_fn
from stmg_agents.baselines.persistence import read_archive, write_archive
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.baselines.shared_policy_env import env_action_converter
from stmg_agents.losses import clipped_surrogate_loss, clipped_value_loss, huber
from stmg_agents.schedules import ent_coef_at
from stmg_envs.wrappers.priority_order import parse_order

__all__ = ["HAPPO", "HAPPOConfig", "AgentBatch", "SequentialUpdate"]

_WEIGHTS = "happo_state.pt"
_ALGORITHM = "HAPPO"


@dataclass(frozen=True)
class HAPPOConfig(PPOFields):
    """Hyper-parameters of :class:`HAPPO`; the defaults are HARL's HAPPO defaults at this project's rollout size.

    The PPO settings are documented and checked by :class:`~stmg_agents.baselines.config.PPOFields`; below, what
    differs for HAPPO.

    Attributes:
        learning_rate: Adam step size of every actor and of the critic.
        n_epochs: Passes over the rollout per agent, and for the critic (HARL's ``ppo_epoch``, ``critic_epoch``).
        n_minibatches: Mini-batches per pass (HARL's ``actor_num_mini_batch``); at most ``n_envs * n_steps``.
        clip_range: PPO ratio clip, of the actors and of the value loss.
        max_grad_norm: Gradient-norm clip of each actor and of the critic.
        hidden_sizes: Hidden widths of every actor and of the critic (a list is stored as a tuple).
        feature_norm: LayerNorm on the network inputs and hidden layers (HARL's ``use_feature_normalization``).
        critic_input: ``"concat_obs"``: every agent's flattened observation, concatenated in ``possible_agents``
            order (zero-padded to the longest); ``"state"``: ``parallel_env.state()``.
        normalize_advantage: Standardise the advantages over the rollout (all agents together).

    Examples:
        >>> HAPPOConfig(n_envs=2).n_envs * HAPPOConfig(n_envs=2).n_steps
        50
        >>> HAPPOConfig.from_kwargs({"lr": 1e-3})
        Traceback (most recent call last):
        ...
        TypeError: unknown hyper-parameter 'lr' for HAPPO; did you mean 'learning_rate'? expected one of ['n_envs', 'n_steps', 'learning_rate', 'n_epochs', 'n_minibatches', 'gamma', 'gae_lambda', 'clip_range', 'ent_coef', 'max_grad_norm', 'hidden_sizes', 'activation', 'feature_norm', 'critic_input', 'value_norm', 'huber_delta', 'clip_value_loss', 'normalize_advantage', 'adam_eps'].
    """

    algorithm_label: ClassVar[str | None] = "HAPPO"
    tuple_fields = ("hidden_sizes",)

    max_grad_norm: float = 10.0
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: Literal["relu", "tanh"] = "relu"
    feature_norm: bool = True
    critic_input: Literal["concat_obs", "state"] = "concat_obs"
    value_norm: bool = True
    huber_delta: float | None = 10.0
    clip_value_loss: bool = True
    normalize_advantage: bool = True
    adam_eps: float = 1e-5

    def validate(self) -> None:
        """Check every field once; errors say what was expected and what was given."""
        super().validate()
        self.check_minibatches_fit("the samples of each agent per rollout", "; lower it or raise n_envs or n_steps")
        _expect_choice("critic_input", self.critic_input, ("concat_obs", "state"))


class AgentBatch(NamedTuple):
    """One agent's samples of a rollout, one row per joint sample ``(t, env copy)``, the same rows for every agent.

    Attributes:
        obs: The agent's own flattened observations, ``(B, obs_dim)``.
        actions: Its actions, ``(B, 1)`` (``Discrete``) or ``(B, action_dim)`` (``Box``), as floats.
        old_log_probs: Their log-probabilities under the rollout's policy, ``(B,)``.
        advantages: Its advantages, ``(B,)``.
        active: Whether the agent was in the game at that sample, ``(B,)`` bool.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    advantages: torch.Tensor
    active: torch.Tensor


class SequentialUpdate(NamedTuple):
    """What one sequential actor update did.

    Attributes:
        order: The agents in the order they were updated.
        factors: Per agent, the factor ``(B,)`` its advantages were weighted with: the product of the
            new/old probability ratios of the agents updated before it (ones for the first).
        stats: Losses, entropy and approximate KL of each agent's last mini-batch.
    """

    order: tuple[str, ...]
    factors: dict[str, torch.Tensor]
    stats: dict[str, dict[str, float]]


class _PaddedActions(BaseParallelWrapper):
    """The game, with every agent's action given as one padded float row: for agents whose spaces cannot be stacked.

    The batched game stacks the agents' actions when they are all ``Discrete`` or all ``Box`` of one shape;
    HAPPO's agents may have anything else (``Discrete(3)`` and ``Box(2)``, ``Box`` of different sizes). Each
    agent's action space is then ``Box(-inf, inf, (width,))``, its action in the first columns of the row
    (what :meth:`HAPPO._act` samples), and this layer turns the row back into that agent's action.
    """

    def __init__(self, env: ParallelEnv, converters: Mapping[str, Callable[[np.ndarray], Any]], width: int) -> None:
        super().__init__(env)
        self._convert = dict(converters)
        self._row_space = spaces.Box(-np.inf, np.inf, (width,), np.float32)

    def action_space(self, agent: str) -> spaces.Space:
        return self._row_space

    def step(self, actions: dict[str, Any]) -> Any:
        return self.env.step({agent: self._convert[agent](row) for agent, row in actions.items()})


def _row_converter(space: spaces.Space) -> Callable[[np.ndarray], Any]:
    """From a padded float row to the env's action: the first entry (``Discrete``) or the first ``d`` (``Box``)."""
    convert = env_action_converter(space)
    if isinstance(space, spaces.Discrete):
        return lambda row: convert(np.rint(row[0]))
    width = spaces.flatdim(space)
    return lambda row: convert(row[:width])


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"expected `seed` to be an int in [0, 2**32), got {seed!r}.")
    return int(seed)


def _check_order(order: Any, agents: Sequence[str]) -> tuple[str, ...] | None:
    """``order`` as a tuple of agent names, or None for a random permutation per update.

    Any order of the STMG's vocabulary (:func:`stmg_envs.wrappers.priority_order.parse_order`: agent names,
    ``"agent_1+agent_0"``, ``"possible_agents"``, ``"reversed"``, ``"random"``); None is HAPPO's default, random.
    """
    if order is None:
        return None
    try:
        ranked = parse_order(order, agents, "HAPPO(order=...)")
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"expected `order` to be a permutation of the agents {list(agents)} (highest priority first, updated "
            f"first), 'random' or None (a random permutation per update), got {order!r}: {exc}"
        ) from None
    return None if isinstance(ranked, str) else tuple(str(agent) for agent in ranked)


class HAPPO:
    """Heterogeneous-agent PPO (Kuba et al., ICLR 2022) on a simultaneous game, on the benchmark contract.

    The harness builds it as ``HAPPO(make_env, seed=..., order=..., **hyperparameters)``.

    Args:
        make_env: Returns a fresh ``ParallelEnv`` of the game; every agent's action space must be
            ``Discrete`` or ``Box``.
        seed: Seeds the networks, the sampling, the update orders and the environments (copy ``i`` is reset
            with ``seed + i``); the same seed gives the same run.
        order: The update order: agent names, highest priority first (updated first), or any order the STMG
            takes (``"reversed"``, ``"agent_1+agent_0"``...); ``"random"`` or None (the default, HARL's): a fresh
            random permutation per update, from a generator seeded with ``seed``.
        **hyperparameters: Fields of :class:`HAPPOConfig`.

    Attributes:
        config: The validated :class:`HAPPOConfig`.
        possible_agents: The agents, in the order of the critic's input.
        actors: One :class:`~stmg_agents.baselines.mappo_networks.SharedActor` per agent (here each is one
            agent's own actor), in ``possible_agents`` order.
        critic: The centralised :class:`~stmg_agents.baselines.mappo_networks.CentralCritic`.
        num_timesteps: Joint environment steps trained on so far.
        last_update: The :class:`SequentialUpdate` of the last rollout (None before the first).

    Raises:
        ValueError: an action space that is neither ``Discrete`` nor ``Box``, a bad ``order`` or a bad value.
        TypeError: an unknown hyper-parameter (the message lists the known ones).
    """

    form: ClassVar[str] = "simultaneous"
    name: ClassVar[str] = "happo"
    uses_order: ClassVar[bool] = True
    execution: ClassVar[str] = "decentralized"
    #: The frozen config its ``**hyperparameters`` build (``stmg-bench describe`` lists its fields).
    config_class: ClassVar[type[HAPPOConfig]] = HAPPOConfig

    def __init__(
        self,
        make_env: Callable[[], Any],
        seed: int = 0,
        order: Sequence[str] | str | None = None,
        **hyperparameters: Any,
    ) -> None:
        if not callable(make_env):
            raise TypeError(f"expected `make_env` to be a callable returning a ParallelEnv, got {make_env!r}.")
        self.seed = _check_seed(seed)
        self.config = HAPPOConfig.from_kwargs(hyperparameters)
        self.make_env = make_env
        probe = make_env()
        self.possible_agents: tuple[str, ...] = tuple(probe.possible_agents)
        self.n_agents = len(self.possible_agents)
        self.order = _check_order(order, self.possible_agents)
        self.observation_spaces = {a: probe.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: probe.action_space(a) for a in self.possible_agents}
        for agent, space in self.action_spaces.items():
            if not isinstance(space, (spaces.Discrete, spaces.Box)):
                raise ValueError(f"HAPPO takes Discrete or Box action spaces; agent {agent!r} has {space}.")
        flats = [flatten_observation_fn(self.observation_spaces[a]) for a in self.possible_agents]
        self._obs_sizes = tuple(size for size, _ in flats)
        self._flatten = tuple(fn for _, fn in flats)
        self._action_widths = tuple(
            1 if isinstance(s, spaces.Discrete) else spaces.flatdim(s) for s in self.action_spaces.values()
        )
        self._to_env_action = tuple(env_action_converter(s) for s in self.action_spaces.values())
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        # No agent indicator: each actor reads only its own agent's rows; the critic input adds its own one-hot.
        self.encoder = SharedObservationEncoder(self.possible_agents, self.observation_spaces, agent_indicator=False)
        self.num_timesteps = 0
        self.last_update: SequentialUpdate | None = None
        self._order_rng = np.random.default_rng(self.seed)
        self._rng = GlobalRngScope(self.seed)
        with self._rng:
            self._build(probe)

    def _build(self, probe: Any) -> None:
        c = self.config
        state_dim = 0
        state_space: spaces.Box | None = None
        if c.critic_input == "state":
            probe.reset(seed=self.seed)
            try:
                state_space = state_space_of(probe)
                state_dim = int(np.prod(state_space.shape))
            except (NotImplementedError, AttributeError) as exc:
                raise ValueError(
                    f"critic_input='state' reads parallel_env.state(), which {type(probe).__name__} does not "
                    f"provide ({exc!r}); use critic_input='concat_obs'."
                ) from exc
        probe.close()
        self.critic_inputs = CriticInputBuilder(c.critic_input, self.encoder, state_dim)
        net = {"hidden_sizes": c.hidden_sizes, "activation": c.activation, "feature_norm": c.feature_norm}
        self.actors = [
            SharedActor(self._obs_sizes[i], self.action_spaces[a], **net)  # type: ignore[arg-type]
            for i, a in enumerate(self.possible_agents)
        ]
        self.critic = CentralCritic(self.critic_inputs.dim, **net)  # type: ignore[arg-type]
        self.value_norm = ValueNorm() if c.value_norm else None
        self.actor_optimizers = [
            torch.optim.Adam(actor.parameters(), lr=c.learning_rate, eps=c.adam_eps) for actor in self.actors
        ]
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=c.learning_rate, eps=c.adam_eps)
        make_env, to_env_actions = self._batched_actions()
        venv = batched_copies(make_env, c.n_envs, state_space)
        self.rollout = LockstepRollout(venv, self.encoder, self.critic_inputs, to_env_actions)
        self.rollout.request_reset(seed=self.seed)

    def _batched_actions(self) -> tuple[Callable[[], Any], Callable[[np.ndarray], np.ndarray]]:
        """The copies' factory and the conversion of :meth:`_act`'s padded rows ``(K, N, width)`` into their actions.

        All ``Discrete``: each row's first entry, rounded; all ``Box`` of one shape: its first columns, clipped to
        each agent's bounds; anything else: the rows as they are, to the game behind :class:`_PaddedActions`.
        """
        action_spaces = list(self.action_spaces.values())
        if all(type(space) is spaces.Discrete for space in action_spaces):
            return self.make_env, lambda rows: np.rint(rows[..., 0]).astype(np.int64)
        first = action_spaces[0]
        if all(type(s) is spaces.Box and s.shape == first.shape and s.dtype == first.dtype for s in action_spaces):
            clip = joint_action_converter(action_spaces)
            width, shape = self._action_widths[0], tuple(first.shape or ())
            return self.make_env, lambda rows: clip(rows[..., :width].reshape(*rows.shape[:2], *shape))
        converters = {a: _row_converter(self.action_spaces[a]) for a in self.possible_agents}
        width = max(self._action_widths)
        make_env = self.make_env
        return (lambda: _PaddedActions(make_env(), converters, width)), joint_action_converter(
            [spaces.Box(-np.inf, np.inf, (width,), np.float32)] * self.n_agents
        )

    # ------------------------------------------------------------------ acting
    def _actor_input(self, agent: str, observation: Any) -> tuple[int, torch.Tensor]:
        if agent not in self._index:
            raise KeyError(f"unknown agent {agent!r}; expected one of {list(self.possible_agents)}.")
        i = self._index[agent]
        flat = self._flatten[i](observation)
        if flat.shape[0] != self._obs_sizes[i]:
            raise ValueError(
                f"expected an observation of flat size {self._obs_sizes[i]} for {agent!r}, got shape "
                f"{np.shape(observation)}."
            )
        return i, torch.tensor(flat, dtype=torch.float32).reshape(1, -1)  # a copy: observations may be read-only

    @torch.no_grad()
    def act(self, agent: str, observation: Any) -> Any:
        """The greedy action of ``agent`` for its own observation (the mode of its policy), in the env's format."""
        i, x = self._actor_input(agent, observation)
        return self._to_env_action[i](self.actors[i](x).mode().numpy()[0])

    @torch.no_grad()
    def action_probabilities(self, agent: str, observation: Any) -> np.ndarray:
        """The probability of each action of ``agent`` (``Discrete`` actions), float64, summing to 1.

        Raises:
            TypeError: the agent's actions are not ``Discrete``.
        """
        i, x = self._actor_input(agent, observation)
        if not isinstance(self.action_spaces[agent], spaces.Discrete):
            raise TypeError(f"action_probabilities needs Discrete actions; {agent!r} has {self.action_spaces[agent]}.")
        probs = self.actors[i](x).distribution.probs  # type: ignore[attr-defined]
        return probs.double().numpy()[0]

    @torch.no_grad()
    def _act(self, obs: torch.Tensor, critic_in: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """The rollout's ``act``: each agent's actor samples for its own rows; actions in the padded float layout."""
        rows = obs.reshape(-1, self.n_agents, obs.shape[-1])
        actions = torch.zeros(rows.shape[0], self.n_agents, max(self._action_widths))
        log_probs = torch.empty(rows.shape[0], self.n_agents)
        for i, actor in enumerate(self.actors):
            sampled, log_probs[:, i] = actor.sample(rows[:, i, : self._obs_sizes[i]])
            actions[:, i, : self._action_widths[i]] = sampled.reshape(rows.shape[0], -1)
        return actions.reshape(obs.shape[0], -1), log_probs.reshape(-1).numpy(), self.critic(critic_in).numpy()

    @torch.no_grad()
    def _value(self, critic_in: torch.Tensor) -> np.ndarray:
        return self._to_returns(self.critic(critic_in)).numpy()

    def _to_returns(self, raw_values: torch.Tensor) -> torch.Tensor:
        return raw_values if self.value_norm is None else self.value_norm.denormalize(raw_values)

    # ------------------------------------------------------------------ training
    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> HAPPO:
        """Train for ``total_timesteps`` more joint steps, in whole rollouts of ``n_envs * n_steps``.

        ``callback(num_timesteps)`` runs after every update; returning ``False`` stops. The episodes
        go on across calls; ``ent_coef``'s schedule runs over each call.
        """
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise ValueError(f"expected `total_timesteps` to be an int >= 0, got {total_timesteps!r}.")
        if total_timesteps < 0:
            raise ValueError(f"expected `total_timesteps` to be an int >= 0, got {total_timesteps!r}.")
        c = self.config
        start = self.num_timesteps
        target = start + int(total_timesteps)

        def count_step() -> bool:
            self.num_timesteps += c.n_envs
            return True

        while self.num_timesteps < target:
            with self._rng:
                batch = self.rollout.collect(c.n_steps, self._act, self._value, c.gamma, on_step=count_step)
                assert batch is not None  # count_step never stops a rollout
                self._update(batch, progress_remaining=1.0 - (self.num_timesteps - start) / int(total_timesteps))
            if callback is not None and callback(self.num_timesteps) is False:
                break
        return self

    def _next_order(self) -> tuple[str, ...]:
        if self.order is not None:
            return self.order
        return tuple(self.possible_agents[i] for i in self._order_rng.permutation(self.n_agents))

    def _update(self, batch: RolloutBatch, progress_remaining: float) -> None:
        """One HAPPO update from a rollout: GAE, every actor in turn (:meth:`update_actors`), then the critic."""
        c = self.config
        n = self.n_agents
        with torch.no_grad():
            values = self._to_returns(torch.from_numpy(batch.raw_values)).numpy()
            next_values = self._to_returns(self.critic(torch.from_numpy(batch.next_critic_in))).numpy()
        advantages, returns = compute_gae(
            batch.rewards, values, next_values, batch.dones, gamma=c.gamma, gae_lambda=c.gae_lambda
        )
        active = torch.from_numpy(batch.active.reshape(-1, n))
        advantages_t = torch.from_numpy(advantages.reshape(-1, n))
        if c.normalize_advantage and int(active.sum()) > 1:
            live = advantages_t[active]
            advantages_t = (advantages_t - live.mean()) / (live.std() + 1e-5)
        obs = torch.from_numpy(batch.obs.reshape(-1, n, batch.obs.shape[-1]))
        actions = batch.actions.reshape(obs.shape[0], n, -1)
        old_log_probs = torch.from_numpy(batch.log_probs.reshape(-1, n))
        batches = {
            agent: AgentBatch(
                obs[:, i, : self._obs_sizes[i]],
                actions[:, i, : self._action_widths[i]],
                old_log_probs[:, i],
                advantages_t[:, i],
                active[:, i],
            )
            for i, agent in enumerate(self.possible_agents)
        }
        self.last_update = self.update_actors(batches, self._next_order(), ent_coef_at(c.ent_coef, progress_remaining))
        mask = active.reshape(-1)
        self._update_critic(
            torch.from_numpy(batch.critic_in.reshape(mask.shape[0], -1))[mask],
            torch.from_numpy(batch.raw_values.reshape(-1))[mask],
            torch.from_numpy(returns.reshape(-1))[mask],
        )

    def _minibatches(self, rows: torch.Tensor) -> list[torch.Tensor]:
        if self.config.n_minibatches == 1:
            return [rows]
        shuffled = rows[torch.randperm(rows.shape[0])]
        return [idx for idx in torch.tensor_split(shuffled, self.config.n_minibatches) if idx.numel()]

    def update_actors(
        self, batches: Mapping[str, AgentBatch], order: Sequence[str], ent_coef: float
    ) -> SequentialUpdate:
        """HAPPO's sequential update: each agent of ``order`` in turn, its advantages weighted by ``factor``.

        ``factor`` starts at one per sample; after agent ``i`` has trained (``n_epochs`` passes of
        ``n_minibatches`` PPO steps on its active samples), it is multiplied by that agent's
        ``pi_new(a|o) / pi_old(a|o)`` on every sample (one where the agent was not in the game), with
        ``pi_old`` its policy just before its update, as HARL does; the factor carries no gradient.

        Args:
            batches: Every agent's :class:`AgentBatch` (the same rows for all).
            order: The agents in the order to update them.
            ent_coef: The entropy bonus of this update.

        Returns:
            The :class:`SequentialUpdate`: the order, the factor each agent was trained with, and statistics.
        """
        c = self.config
        factor = torch.ones(next(iter(batches.values())).advantages.shape[0])
        factors: dict[str, torch.Tensor] = {}
        stats: dict[str, dict[str, float]] = {}
        for agent in order:
            i = self._index[agent]
            actor, optimizer, b = self.actors[i], self.actor_optimizers[i], batches[agent]
            factors[agent] = factor
            with torch.no_grad():
                before, _ = actor.evaluate(b.obs, b.actions)
            rows = torch.nonzero(b.active).squeeze(-1)
            weighted = b.advantages * factor  # factor > 0, so factor * min(r A, clip(r) A) = min(r fA, clip(r) fA)
            agent_stats: dict[str, float] = {}
            for _ in range(c.n_epochs):
                for idx in self._minibatches(rows) if rows.numel() else []:
                    log_probs, entropies = actor.evaluate(b.obs[idx], b.actions[idx])
                    policy_loss, ratio = clipped_surrogate_loss(
                        log_probs, b.old_log_probs[idx], weighted[idx], c.clip_range
                    )
                    entropy = entropies.mean()
                    optimizer.zero_grad(set_to_none=True)
                    (policy_loss - ent_coef * entropy).backward()
                    torch.nn.utils.clip_grad_norm_(actor.parameters(), c.max_grad_norm)
                    optimizer.step()
                    with torch.no_grad():
                        log_ratio = log_probs - b.old_log_probs[idx]
                        agent_stats = {
                            "policy_loss": float(policy_loss),
                            "entropy": float(entropy),
                            "approx_kl": float(((ratio - 1) - log_ratio).mean()),
                        }
            stats[agent] = agent_stats
            with torch.no_grad():
                after, _ = actor.evaluate(b.obs, b.actions)
                factor = factor * torch.where(b.active, torch.exp(after - before), torch.ones_like(factor))
        return SequentialUpdate(tuple(order), factors, stats)

    def _update_critic(self, critic_in: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor) -> None:
        """MAPPO's critic update on every active (sample, agent) row: clipped, Huber error, ValueNorm targets."""
        c = self.config
        if critic_in.shape[0] == 0:
            return
        if self.value_norm is not None:
            self.value_norm.update(returns)
            targets = self.value_norm.normalize(returns)
        else:
            targets = returns
        error = (lambda e: 0.5 * e**2) if c.huber_delta is None else (lambda e: huber(e, c.huber_delta))
        value_clip = c.clip_range if c.clip_value_loss else None
        for _ in range(c.n_epochs):
            for idx in self._minibatches(torch.arange(critic_in.shape[0])):
                loss = clipped_value_loss(self.critic(critic_in[idx]), old_values[idx], targets[idx], value_clip, error)
                self.critic_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.critic.parameters(), c.max_grad_norm)
                self.critic_optimizer.step()

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str] | IO[bytes]) -> None:
        """Write settings, seed, order, counters and every network and optimiser to one zip archive."""
        state: dict[str, Any] = {
            "actors": [actor.state_dict() for actor in self.actors],
            "actor_optimizers": [optimizer.state_dict() for optimizer in self.actor_optimizers],
            "critic": self.critic.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
        }
        if self.value_norm is not None:
            state["value_norm"] = self.value_norm.state_dict()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        meta = {
            "algorithm": _ALGORITHM,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "order": None if self.order is None else list(self.order),
            "num_timesteps": self.num_timesteps,
            "possible_agents": list(self.possible_agents),
            "observation_sizes": list(self._obs_sizes),
            "order_rng": self._order_rng.bit_generator.state,
        }
        write_archive(path, meta, {_WEIGHTS: buffer.getvalue()})

    @classmethod
    def load(cls, path: str | os.PathLike[str] | IO[bytes], make_env: Callable[[], Any]) -> HAPPO:
        """A model saved by :meth:`save`, attached to ``make_env``'s environments.

        Raises:
            ValueError: the file is not a HAPPO save (another algorithm's, or not an archive), it is
                damaged, or ``make_env`` gives other agents or observation sizes.
        """
        meta, payload = read_archive(path)
        if meta.get("algorithm") != _ALGORITHM or _WEIGHTS not in payload:
            raise ValueError(
                f"expected a saved {_ALGORITHM} agent, got a save of {meta.get('algorithm')!r}; load it with that "
                "algorithm's class instead."
            )
        self = cls(make_env, seed=meta["seed"], order=meta["order"], **meta["config"])
        if list(self.possible_agents) != meta["possible_agents"] or list(self._obs_sizes) != meta["observation_sizes"]:
            raise ValueError(
                f"the save is for agents {meta['possible_agents']} with observation sizes "
                f"{meta['observation_sizes']}; make_env() gives {list(self.possible_agents)} with "
                f"{list(self._obs_sizes)}."
            )
        try:
            state = torch.load(io.BytesIO(payload[_WEIGHTS]), map_location="cpu", weights_only=True)
            for actor, weights in zip(self.actors, state["actors"], strict=True):
                actor.load_state_dict(weights)
            for optimizer, weights in zip(self.actor_optimizers, state["actor_optimizers"], strict=True):
                optimizer.load_state_dict(weights)
            self.critic.load_state_dict(state["critic"])
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
            if self.value_norm is not None:
                self.value_norm.load_state_dict(state["value_norm"])
        except (RuntimeError, KeyError, ValueError, TypeError, EOFError) as exc:
            raise ValueError(f"expected a loadable {_ALGORITHM} save, got a damaged one: {exc}") from exc
        self.num_timesteps = int(meta["num_timesteps"])
        self._order_rng.bit_generator.state = meta["order_rng"]
        return self

    def __repr__(self) -> str:
        return f"HAPPO(agents={list(self.possible_agents)}, seed={self.seed}, num_timesteps={self.num_timesteps})"


# The harness reads the names HAPPO takes from its signature, so a suite's shared settings it has no field for
# are not passed to it.
HAPPO.__init__.__signature__ = HAPPOConfig.constructor_signature("order")  # type: ignore[attr-defined]
