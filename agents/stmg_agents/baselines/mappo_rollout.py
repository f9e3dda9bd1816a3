"""Lock-step rollouts of several copies of a ``ParallelEnv``, and GAE, for MAPPO.

Every array has the axes ``(time, env copy, agent)``. An agent that leaves
the game before the others (``agents`` shrinks) is *inactive* until the game
restarts: its rows are kept (zeros) so that shapes stay fixed, and the
update masks them out. A stream that ends by truncation (or by the game
ending without a flag for that agent) is bootstrapped: ``gamma * V(final
state)`` is added to its last reward, as SB3 does for time limits.

Examples:
    >>> import numpy as np
    >>> from stmg_agents.baselines.mappo_rollout import compute_gae
    >>> rewards = np.ones((2, 1, 1), np.float32); values = np.zeros((2, 1, 1), np.float32)
    >>> dones = np.array([[[False]], [[True]]])
    >>> adv, ret = compute_gae(rewards, values, np.zeros((1, 1), np.float32), dones, gamma=0.5, gae_lambda=1.0)
    >>> adv[:, 0, 0].tolist()
    [1.5, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pettingzoo import ParallelEnv

from stmg_agents.baselines.observation_encoding import SharedObservationEncoder

__all__ = ["CriticInputBuilder", "LockstepRollout", "RolloutBatch", "compute_gae"]

#: ``act(obs (B, D), critic_in (B, C)) -> (actions (B, ...), log_probs (B,), raw values (B,))``.
ActFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, np.ndarray, np.ndarray]]
#: ``value(critic_in (B, C)) -> values in return units (B,)``.
ValueFn = Callable[[torch.Tensor], np.ndarray]


class CriticInputBuilder:
    """Builds each agent's critic input: global information plus the agent's one-hot.

    Args:
        mode: ``"state"`` (``env.state()``, flattened) or ``"concat_obs"``
            (every agent's padded observation, concatenated).
        encoder: The actor's observation encoder.
        state_dim: Flat size of ``env.state()`` (``"state"`` mode only).

    The one-hot is always appended: agents may have different rewards, so the
    shared critic must know whose value it predicts.
    """

    def __init__(self, mode: str, encoder: SharedObservationEncoder, state_dim: int = 0) -> None:
        self.mode = mode
        self.encoder = encoder
        n = len(encoder.agents)
        self.global_dim = state_dim if mode == "state" else n * encoder.obs_dim
        self.dim = self.global_dim + n
        template = np.zeros((n, self.dim), dtype=np.float32)
        template[np.arange(n), self.global_dim + np.arange(n)] = 1.0
        template.setflags(write=False)
        self._template = template

    def build(self, env: ParallelEnv, encoded: np.ndarray) -> np.ndarray:
        """Critic inputs ``(n_agents, dim)`` for ``env``'s current state and ``encoded`` observations."""
        out = self._template.copy()
        if self.mode == "state":
            state = np.asarray(env.state(), dtype=np.float32).reshape(-1)
            if state.shape[0] != self.global_dim:
                raise ValueError(f"expected env.state() of flat size {self.global_dim}, got shape {state.shape}.")
            out[:, : self.global_dim] = state
        else:
            out[:, : self.global_dim] = encoded[:, : self.encoder.obs_dim].reshape(-1)
        return out


@dataclass(frozen=True)
class RolloutBatch:
    """One rollout; arrays are indexed ``[t, env, agent]``.

    Attributes:
        obs: Encoded observations, ``(T, E, N, D)``.
        critic_in: Critic inputs, ``(T, E, N, C)``.
        actions: Sampled actions, ``(T, E, N, ...)``.
        log_probs: Their log-probabilities, ``(T, E, N)``.
        raw_values: Critic outputs (normalised units if value normalisation is on).
        rewards: Rewards, truncation bootstraps included.
        dones: The agent's stream ends after this step.
        active: The agent was in the game at this step.
        next_critic_in: Critic inputs after the last step, ``(E, N, C)``.
    """

    obs: np.ndarray
    critic_in: np.ndarray
    actions: torch.Tensor
    log_probs: np.ndarray
    raw_values: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    active: np.ndarray
    next_critic_in: np.ndarray


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    dones: np.ndarray,
    *,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation over ``(T, ...)`` arrays.

    Args:
        rewards: ``(T, ...)`` rewards.
        values: ``(T, ...)`` value estimates (return units).
        next_values: ``(...)`` value estimates after the last step.
        dones: ``(T, ...)``; True cuts the recursion after that step.
        gamma: Discount.
        gae_lambda: GAE lambda.

    Returns:
        ``(advantages, returns)``, both ``(T, ...)`` float32, with
        ``returns = advantages + values``.
    """
    advantages = np.zeros_like(values, dtype=np.float32)
    last = np.zeros_like(next_values, dtype=np.float32)
    following = next_values
    for t in range(rewards.shape[0] - 1, -1, -1):
        not_done = 1.0 - dones[t].astype(np.float32)
        delta = rewards[t] + gamma * following * not_done - values[t]
        last = delta + gamma * gae_lambda * not_done * last
        advantages[t] = last
        following = values[t]
    return advantages, advantages + values


class LockstepRollout:
    """Steps ``len(envs)`` copies of a game in lock-step with a shared actor.

    Args:
        envs: The copies.
        encoder: Encodes observation dicts for the actor.
        critic_inputs: Builds the critic's inputs.
        to_env_action: Turns one agent's sampled action (NumPy) into the env's format.
    """

    def __init__(
        self,
        envs: Sequence[ParallelEnv],
        encoder: SharedObservationEncoder,
        critic_inputs: CriticInputBuilder,
        to_env_action: Callable[[Any], Any],
    ) -> None:
        self.envs = list(envs)
        self.encoder = encoder
        self.critic_inputs = critic_inputs
        self.to_env_action = to_env_action
        self.agents = encoder.agents
        n_envs, n_agents = len(self.envs), len(self.agents)
        self._obs = np.zeros((n_envs, n_agents, encoder.dim), dtype=np.float32)
        self._critic_in = np.zeros((n_envs, n_agents, critic_inputs.dim), dtype=np.float32)
        self._alive = np.zeros((n_envs, n_agents), dtype=bool)
        self._needs_reset = True
        self._pending_seed: int | None = None

    def _reset_env(self, e: int, seed: int | None) -> None:
        env = self.envs[e]
        obs, _ = env.reset(seed=seed)
        encoded = self.encoder.encode(obs)
        self._obs[e] = encoded
        self._critic_in[e] = self.critic_inputs.build(env, encoded)
        live = set(env.agents)
        self._alive[e] = [a in live for a in self.agents]

    def request_reset(self, seed: int | None = None) -> None:
        """Restart every copy before the next collection; copy ``i`` gets ``seed + i`` if a seed is given.

        A seed already requested and not yet used is kept when ``seed`` is None.
        """
        self._needs_reset = True
        if seed is not None:
            self._pending_seed = seed

    def _reset_all(self) -> None:
        seed, self._pending_seed = self._pending_seed, None
        for e in range(len(self.envs)):
            self._reset_env(e, None if seed is None else seed + e)
        self._needs_reset = False

    def collect(
        self, n_steps: int, act: ActFn, value: ValueFn, gamma: float, on_step: Callable[[], bool] | None = None
    ) -> RolloutBatch | None:
        """Run ``n_steps`` joint steps in every copy.

        Args:
            n_steps: Steps per copy.
            act: Samples actions and evaluates the critic for a flat batch.
            value: Critic values in return units, for truncation bootstraps.
            gamma: Discount of the bootstraps.
            on_step: Called after every joint step of all copies (SB3's ``callback.on_step``);
                ``False`` stops the rollout.

        Returns:
            The rollout, or ``None`` when ``on_step`` stopped it (SB3 then trains on nothing).
        """
        if self._needs_reset:
            self._reset_all()
        n_envs, n_agents = self._alive.shape
        obs = np.zeros((n_steps, *self._obs.shape), dtype=np.float32)
        critic_in = np.zeros((n_steps, *self._critic_in.shape), dtype=np.float32)
        log_probs = np.zeros((n_steps, n_envs, n_agents), dtype=np.float32)
        raw_values = np.zeros_like(log_probs)
        rewards = np.zeros_like(log_probs)
        dones = np.zeros((n_steps, n_envs, n_agents), dtype=bool)
        active = np.zeros_like(dones)
        actions: list[torch.Tensor] = []
        flat = n_envs * n_agents
        for t in range(n_steps):
            obs[t], critic_in[t], active[t] = self._obs, self._critic_in, self._alive
            step_actions, step_log_probs, step_values = act(
                torch.from_numpy(obs[t].reshape(flat, -1)), torch.from_numpy(critic_in[t].reshape(flat, -1))
            )
            log_probs[t] = step_log_probs.reshape(n_envs, n_agents)
            raw_values[t] = step_values.reshape(n_envs, n_agents)
            actions.append(step_actions.reshape(n_envs, n_agents, *step_actions.shape[1:]))
            env_actions = step_actions.numpy().reshape(n_envs, n_agents, *step_actions.shape[1:])
            bootstrap_rows: list[np.ndarray] = []
            bootstrap_at: list[tuple[int, int]] = []
            for e, env in enumerate(self.envs):
                alive = self._alive[e]
                live = [a for i, a in enumerate(self.agents) if alive[i]]
                joint = {a: self.to_env_action(env_actions[e, i]) for i, a in enumerate(self.agents) if alive[i]}
                next_obs, rew, terms, truncs, _ = env.step(joint)
                for i, agent in enumerate(self.agents):
                    rewards[t, e, i] = rew.get(agent, 0.0)
                ended = [bool(terms.get(a, False) or truncs.get(a, False)) for a in live]
                game_over = not env.agents or all(ended)
                encoded = self.encoder.encode(next_obs)
                final_critic_in = self.critic_inputs.build(env, encoded)
                for i, agent in enumerate(self.agents):
                    if not alive[i]:
                        dones[t, e, i] = True
                        continue
                    terminated = bool(terms.get(agent, False))
                    truncated = bool(truncs.get(agent, False)) or (game_over and not terminated)
                    if terminated or truncated:
                        dones[t, e, i] = True
                        if not terminated:
                            bootstrap_rows.append(final_critic_in[i])
                            bootstrap_at.append((e, i))
                if game_over:
                    self._reset_env(e, None)
                else:
                    self._obs[e] = encoded
                    self._critic_in[e] = final_critic_in
                    live_now = set(env.agents)
                    self._alive[e] = [a in live_now for a in self.agents]
            if bootstrap_rows:
                bootstrap_values = value(torch.from_numpy(np.stack(bootstrap_rows)))
                for (e, i), v in zip(bootstrap_at, bootstrap_values):
                    rewards[t, e, i] += gamma * v
            if on_step is not None and on_step() is False:
                return None
        return RolloutBatch(
            obs=obs,
            critic_in=critic_in,
            actions=torch.stack(actions),
            log_probs=log_probs,
            raw_values=raw_values,
            rewards=rewards,
            dones=dones,
            active=active,
            next_critic_in=self._critic_in.copy(),
        )
