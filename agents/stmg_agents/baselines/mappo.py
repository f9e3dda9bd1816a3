"""MAPPO: a shared actor on local observations and a centralised critic on the global state.

A compact PPO built on SB3's action distributions, after Yu et al. (2021),
"The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games":

* the actor sees the agent's own observation plus a one-hot agent id and is
  shared by every agent;
* the critic sees ``parallel_env.state()`` plus the agent's one-hot and
  predicts that agent's value (agents may have different rewards);
* clipped value loss with Huber error on ValueNorm-normalised targets,
  advantages standardised over the rollout, Adam (epsilon 1e-5) with a
  learning rate and a gradient-norm clip per network, LayerNorm feature
  normalisation; ValueNorm statistics are updated once per rollout (the
  reference code updates them per mini-batch).

Defaults are those of :class:`~stmg_agents.baselines.MAPPOConfig`.

Examples:
    >>> from stmg_agents.baselines import MAPPO
    >>> agent = MAPPO("stmg/Mixing-v0", seed=3).learn(100)
    >>> {a: r.greedy_action for a, r in agent.action_readout().items()}  # doctest: +SKIP
    {'agent_0': 1, 'agent_1': 1}
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import Distribution

from stmg_agents.baselines.base import SharedPolicyAgent
from stmg_agents.baselines.config import MAPPOConfig
from stmg_agents.baselines.mappo_networks import CentralCritic, SharedActor, ValueNorm
from stmg_agents.baselines.mappo_rollout import (
    CriticInputBuilder,
    LockstepRollout,
    RolloutBatch,
    batched_copies,
    compute_gae,
    joint_action_converter,
    stackable_action_space,
    state_space_of,
)
from stmg_agents.losses import clipped_surrogate_loss, clipped_value_loss, huber
from stmg_agents.schedules import ent_coef_at

__all__ = ["MAPPO"]

_WEIGHTS = "mappo_state.pt"


def _state_space(env: Any, seed: int) -> spaces.Box:
    env.reset(seed=seed)
    try:
        return state_space_of(env)
    except (NotImplementedError, AttributeError) as exc:
        raise ValueError(
            f"MAPPO's critic reads parallel_env.state(), which {type(env).__name__} does not provide ({exc!r}); "
            "pass critic_input='concat_obs' to use the concatenated observations instead."
        ) from exc


class MAPPO(SharedPolicyAgent):
    """Multi-agent PPO with a shared actor and a centralised critic ``V_i(state)``.

    On the benchmark contract itself (registered as ``mappo``): the harness builds it as
    ``MAPPO(make_env, seed=..., **hyperparameters)`` (see :class:`~stmg_agents.baselines.base.SharedPolicyAgent`).

    Args:
        env_or_id: A registered ``parallel`` id (``"stmg/Penalty-v0"``), a
            factory returning a ``ParallelEnv``, or a ``ParallelEnv`` instance.
        seed: Seeds the networks, the sampling and the environments.
        env_kwargs: Keyword arguments for the registry entry or the factory.
        **hyper_parameters: Fields of :class:`~stmg_agents.baselines.MAPPOConfig`.

    Attributes:
        actor: The shared :class:`~stmg_agents.baselines.mappo_networks.SharedActor`.
        critic: The :class:`~stmg_agents.baselines.mappo_networks.CentralCritic`.
        value_norm: The :class:`~stmg_agents.baselines.mappo_networks.ValueNorm`
            (None when ``value_norm=False``).
        optimizer: Adam with one parameter group for the actor and one for the critic.
        rollout: The :class:`~stmg_agents.baselines.mappo_rollout.LockstepRollout` over the ``n_envs``
            environment copies (one :class:`~stmg_envs.vector.BatchedParallel`, ``rollout.venv``).
        last_update_stats: Losses, entropy, approximate KL and clip fraction of
            the last mini-batch of the last update, and that update's entropy bonus
            (``ent_coef``, at its progress when ``ent_coef`` is a schedule).

    Examples:
        >>> from stmg_envs.matrix import penalty
        >>> agent = MAPPO(lambda: penalty(k=0), seed=1, n_envs=2)
        >>> agent.learn(50).num_timesteps
        50
    """

    config_class = MAPPOConfig
    algorithm_name = "MAPPO"
    #: Its label in the benchmark's results (the contract's ``name``; ``form`` is the base's, ``"simultaneous"``).
    name: ClassVar[str] = "mappo"
    config: MAPPOConfig

    def _build(self) -> None:
        c = self.config
        state_space = _state_space(self._probe_env, self.seed) if c.critic_input == "state" else None
        state_dim = 0 if state_space is None else int(np.prod(state_space.shape))
        self.critic_inputs = CriticInputBuilder(c.critic_input, self.encoder, state_dim)
        net = {"hidden_sizes": c.hidden_sizes, "activation": c.activation, "feature_norm": c.feature_norm}
        self.actor = SharedActor(self.encoder.dim, self.action_space, **net)  # type: ignore[arg-type]
        self.critic = CentralCritic(self.critic_inputs.dim, **net)  # type: ignore[arg-type]
        self.value_norm = ValueNorm() if c.value_norm else None
        self._actor_params = list(self.actor.parameters())
        self._critic_params = list(self.critic.parameters())
        # One Adam with a parameter group per network: the same updates as MAPPO's two optimisers
        # (Adam is element-wise), at half the per-step overhead.
        self.optimizer = torch.optim.Adam(
            [
                {"params": self._actor_params, "lr": c.learning_rate},
                {
                    "params": self._critic_params,
                    "lr": c.learning_rate if c.critic_learning_rate is None else c.critic_learning_rate,
                },
            ],
            eps=c.adam_eps,
            fused=True,
        )
        venv = batched_copies(self._source.make, c.n_envs, state_space)
        to_env_actions = joint_action_converter([stackable_action_space(self.action_space)] * self.n_agents)
        self.rollout = LockstepRollout(venv, self.encoder, self.critic_inputs, to_env_actions)
        self.rollout.request_reset(seed=self.seed)
        self.last_update_stats: dict[str, float] = {}

    # ------------------------------------------------------------ networks
    def _actor_distribution(self, encoded: torch.Tensor) -> Distribution:
        return self.actor(encoded)

    def _to_returns(self, raw_values: torch.Tensor) -> torch.Tensor:
        return raw_values if self.value_norm is None else self.value_norm.denormalize(raw_values)

    @torch.no_grad()
    def _act(self, obs: torch.Tensor, critic_in: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        actions, log_probs = self.actor.sample(obs)
        return actions, log_probs.numpy(), self.critic(critic_in).numpy()

    @torch.no_grad()
    def _value(self, critic_in: torch.Tensor) -> np.ndarray:
        return self._to_returns(self.critic(critic_in)).numpy()

    # ------------------------------------------------------------ training
    def _learn(self, total_timesteps: int, callback: BaseCallback, reset_num_timesteps: bool) -> None:
        # SB3's loop (OnPolicyAlgorithm.learn / collect_rollouts): the same callback events in the same order.
        if reset_num_timesteps:
            self.num_timesteps = 0
            self.rollout.request_reset()
        target = self.num_timesteps + total_timesteps
        c = self.config

        def on_step() -> bool:
            self.num_timesteps += c.n_envs
            return callback.on_step()

        callback.on_training_start(locals(), globals())
        while self.num_timesteps < target:
            callback.on_rollout_start()
            batch = self.rollout.collect(c.n_steps, self._act, self._value, c.gamma, on_step=on_step)
            if batch is None:  # the callback stopped training mid-rollout: SB3 trains on nothing then
                break
            callback.update_locals(locals())
            callback.on_rollout_end()
            # SB3's progress remaining (OnPolicyAlgorithm._update_current_progress_remaining), for ent_coef's schedule
            self._update(batch, progress_remaining=1.0 - self.num_timesteps / target)
        callback.on_training_end()

    def _update(self, batch: RolloutBatch, progress_remaining: float = 1.0) -> None:
        c = self.config
        ent_coef = ent_coef_at(c.ent_coef, progress_remaining)
        with torch.no_grad():
            values = self._to_returns(torch.from_numpy(batch.raw_values)).numpy()
            next_values = self._to_returns(self.critic(torch.from_numpy(batch.next_critic_in))).numpy()
        advantages, returns = compute_gae(
            batch.rewards, values, next_values, batch.dones, gamma=c.gamma, gae_lambda=c.gae_lambda
        )
        mask = torch.from_numpy(batch.active.reshape(-1))
        obs = torch.from_numpy(batch.obs.reshape(mask.shape[0], -1))[mask]
        critic_in = torch.from_numpy(batch.critic_in.reshape(mask.shape[0], -1))[mask]
        actions = batch.actions.reshape(mask.shape[0], *batch.actions.shape[3:])[mask]
        old_log_probs = torch.from_numpy(batch.log_probs.reshape(-1))[mask]
        old_values = torch.from_numpy(batch.raw_values.reshape(-1))[mask]
        advantages_t = torch.from_numpy(advantages.reshape(-1))[mask]
        returns_t = torch.from_numpy(returns.reshape(-1))[mask]
        if c.normalize_advantage and advantages_t.numel() > 1:
            advantages_t = (advantages_t - advantages_t.mean()) / (advantages_t.std() + 1e-5)
        if self.value_norm is not None:
            self.value_norm.update(returns_t)
            targets = self.value_norm.normalize(returns_t)
        else:
            targets = returns_t

        if obs.shape[0] == 0:  # every agent was out of the game for the whole rollout
            return
        tensors = (obs, critic_in, actions, old_log_probs, old_values, advantages_t, targets)
        stats: dict[str, float] = {}
        for epoch in range(c.n_epochs):
            minibatches: list[tuple[torch.Tensor, ...]]
            if c.n_minibatches == 1:  # a full batch needs no shuffling
                minibatches = [tensors]
            else:
                order = torch.randperm(obs.shape[0])
                minibatches = [
                    tuple(x[idx] for x in tensors) for idx in torch.tensor_split(order, c.n_minibatches) if idx.numel()
                ]
            for j, minibatch in enumerate(minibatches):
                stats = self._minibatch_step(
                    *minibatch, ent_coef=ent_coef, want_stats=epoch == c.n_epochs - 1 and j == len(minibatches) - 1
                )
        self.last_update_stats = {**stats, "ent_coef": ent_coef}

    def _minibatch_step(
        self,
        obs: torch.Tensor,
        critic_in: torch.Tensor,
        actions: torch.Tensor,
        old_log_probs: torch.Tensor,
        old_values: torch.Tensor,
        advantages: torch.Tensor,
        targets: torch.Tensor,
        *,
        ent_coef: float,
        want_stats: bool,
    ) -> dict[str, float]:
        c = self.config
        log_probs, entropies = self.actor.evaluate(obs, actions)
        policy_loss, ratio = clipped_surrogate_loss(log_probs, old_log_probs, advantages, c.clip_range)
        log_ratio = log_probs - old_log_probs
        entropy = entropies.mean()
        actor_loss = policy_loss - ent_coef * entropy

        values = self.critic(critic_in)
        loss_fn = (lambda e: 0.5 * e**2) if c.huber_delta is None else (lambda e: huber(e, c.huber_delta))
        value_clip = c.clip_range if c.clip_value_loss else None
        value_loss = c.vf_coef * clipped_value_loss(values, old_values, targets, value_clip, error=loss_fn)

        # Actor and critic share no parameters: one backward pass serves both; each is clipped on its own.
        self.optimizer.zero_grad(set_to_none=True)
        (actor_loss + value_loss).backward()
        torch.nn.utils.clip_grad_norm_(self._actor_params, c.max_grad_norm, foreach=True)
        torch.nn.utils.clip_grad_norm_(self._critic_params, c.max_grad_norm, foreach=True)
        self.optimizer.step()

        if not want_stats:
            return {}
        with torch.no_grad():
            return {
                "policy_loss": float(policy_loss),
                "value_loss": float(value_loss),
                "entropy": float(entropy),
                "approx_kl": float(((ratio - 1) - log_ratio).mean()),
                "clip_fraction": float(((ratio - 1).abs() > c.clip_range).float().mean()),
            }

    # ------------------------------------------------------------ persistence
    def _payload(self) -> dict[str, bytes]:
        state = {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }
        if self.value_norm is not None:
            state["value_norm"] = self.value_norm.state_dict()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return {_WEIGHTS: buffer.getvalue()}

    def _restore(self, payload: Mapping[str, bytes]) -> None:
        if _WEIGHTS not in payload:
            raise ValueError(f"expected {_WEIGHTS!r} in the saved MAPPO archive, got {sorted(payload)}.")
        state = torch.load(io.BytesIO(payload[_WEIGHTS]), map_location="cpu", weights_only=True)
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.value_norm is not None:
            self.value_norm.load_state_dict(state["value_norm"])
