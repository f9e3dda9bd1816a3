"""Lock-step rollouts of the copies of a batched simultaneous game, and GAE, for MAPPO, HAPPO and MAT.

The copies are one :class:`stmg_envs.vector.BatchedParallel` (:func:`batched_copies`: a native backend where
the task has one, else the generic one over the env factory), so each joint step of all copies is one policy
call and one batched step. Every array has the axes ``(time, env copy, agent)``. An agent that leaves
the game before the others (it is no longer ``live``) is *inactive* until its copy restarts: its rows are
kept (zero observation plus its agent indicator) so that shapes stay fixed, and the update masks them out.
A stream that ends by truncation (and not termination) is bootstrapped: ``gamma * V(final state)`` is added
to its last reward, as SB3 does for time limits; the final state is the ended episode's (the batched game's
``final_observation``/``final_state``), not the next one's. An agent that leaves without a flag counts as
terminated (the batched game's convention).

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
from typing import NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from stmg_agents.baselines.observation_encoding import SharedObservationEncoder
from stmg_envs.vector import BatchedParallel, JointStep, batched_parallel

__all__ = [
    "CriticInputBuilder",
    "LockstepRollout",
    "RolloutBatch",
    "RolloutStep",
    "batched_copies",
    "compute_gae",
    "joint_action_converter",
    "stackable_action_space",
    "state_space_of",
]

#: ``act(obs (B, D), critic_in (B, C)) -> (actions (B, ...), log_probs (B,), raw values (B,))``.
ActFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, np.ndarray, np.ndarray]]
#: ``value(critic_in (B, C)) -> values in return units (B,)``.
ValueFn = Callable[[torch.Tensor], np.ndarray]


class CriticInputBuilder:
    """Builds each agent's critic input: global information plus the agent's one-hot.

    Args:
        mode: ``"state"`` (the game's ``state()``, flattened) or ``"concat_obs"``
            (every agent's padded observation, concatenated).
        encoder: The actor's observation encoder.
        state_dim: Flat size of ``state()`` (``"state"`` mode only).

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

    def build(self, states: np.ndarray | None, encoded: np.ndarray) -> np.ndarray:
        """Critic inputs ``(K, n_agents, dim)`` of ``K`` copies.

        Args:
            states: ``(K, ...)``, every copy's ``state()`` (``"state"`` mode; ``None`` in ``"concat_obs"`` mode).
            encoded: ``(K, n_agents, encoder.dim)``, the copies' encoded observations.
        """
        k = encoded.shape[0]
        out = np.broadcast_to(self._template, (k, *self._template.shape)).copy()
        if self.mode == "state":
            if states is None:
                raise ValueError("expected every copy's state() in critic_input='state' mode, got None.")
            flat = states.reshape(k, -1)
            if flat.shape[1] != self.global_dim:
                raise ValueError(f"expected states of flat size {self.global_dim}, got shape {states.shape}.")
            out[:, :, : self.global_dim] = flat[:, None, :]
        else:
            out[:, :, : self.global_dim] = encoded[:, :, : self.encoder.obs_dim].reshape(k, 1, -1)
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


def joint_action_converter(action_spaces: Sequence[spaces.Space]) -> Callable[[np.ndarray], np.ndarray]:
    """From the policy's actions of every copy and agent, ``(K, N, *shape)``, to what ``BatchedParallel.step`` takes.

    ``Discrete`` actions pass as int64; ``Box`` actions are cast to the space's dtype and clipped to each agent's
    bounds (what :func:`~stmg_agents.baselines.shared_policy_env.env_action_converter` does to one action).

    Args:
        action_spaces: Each agent's action space: all ``Discrete``, or all ``Box`` of one shape and dtype.

    Raises:
        ValueError: other spaces (the batched game cannot stack them).
    """
    if all(type(space) is spaces.Discrete for space in action_spaces):
        return lambda actions: actions if actions.dtype == np.int64 else actions.astype(np.int64)
    boxes = [space for space in action_spaces if type(space) is spaces.Box]
    if len(boxes) == len(action_spaces) and all(b.shape == boxes[0].shape and b.dtype == boxes[0].dtype for b in boxes):
        dtype = boxes[0].dtype
        low = np.stack([np.asarray(b.low, dtype=dtype) for b in boxes])
        high = np.stack([np.asarray(b.high, dtype=dtype) for b in boxes])
        return lambda actions: np.clip(actions.astype(dtype, copy=False), low, high)
    raise ValueError(
        "expected every agent to have a Discrete action space, or every agent a Box of one shape and dtype, got "
        f"{list(action_spaces)}."
    )


def stackable_action_space(space: spaces.Space) -> spaces.Space:
    """``space`` as the batched game stacks it: ``Discrete`` and ``Box`` as they are, ``MultiDiscrete`` and
    ``MultiBinary`` as an int64 ``Box`` of their bounds (the integer arrays the policy samples)."""
    if isinstance(space, spaces.MultiDiscrete):
        start = np.asarray(getattr(space, "start", np.zeros_like(space.nvec)), dtype=np.int64)
        return spaces.Box(start, start + np.asarray(space.nvec, dtype=np.int64) - 1, dtype=np.int64)
    if isinstance(space, spaces.MultiBinary):
        shape = tuple(np.atleast_1d(space.n).tolist())
        return spaces.Box(np.zeros(shape, np.int64), np.ones(shape, np.int64), dtype=np.int64)
    return space


class _StackableActions(BaseParallelWrapper):
    """A game with ``MultiDiscrete``/``MultiBinary`` actions, seen as int64 ``Box`` actions (the same arrays)."""

    def action_space(self, agent: str) -> spaces.Space:
        return stackable_action_space(self.env.action_space(agent))


def state_space_of(env: ParallelEnv) -> spaces.Box:
    """The ``Box`` of ``env.state()``: its ``state_space``, else one shaped like ``state()`` (``env`` must be reset)."""
    space = getattr(env, "state_space", None)
    if isinstance(space, spaces.Box):
        return space
    state = np.asarray(env.state())
    return spaces.Box(-np.inf, np.inf, state.shape, np.float32)


class _DeclaredState(BaseParallelWrapper):
    """A game whose ``state()`` has no ``state_space``, with one: the batched game reads states only when declared."""

    def __init__(self, env: ParallelEnv, state_space: spaces.Box) -> None:
        super().__init__(env)
        self.state_space = state_space


def batched_copies(
    make_env: Callable[[], ParallelEnv], n_envs: int, state_space: spaces.Box | None = None
) -> BatchedParallel:
    """``n_envs`` copies of the game to roll out, as one :class:`~stmg_envs.vector.BatchedParallel`.

    The backend is ``"auto"``: the native one where the task has one (the matrix games in NumPy, the MuJoCo robots
    on ``mujoco.batch``), else the generic one over ``make_env``'s copies.

    Args:
        make_env: Returns a new ``ParallelEnv`` on each call.
        n_envs: The number of copies.
        state_space: The ``Box`` of ``state()`` (:func:`state_space_of`), for a centralised critic on the state: a
            game that does not declare it gets it, so that the batched game reads its states.

    ``MultiDiscrete`` and ``MultiBinary`` actions are passed as int64 ``Box`` actions
    (:func:`stackable_action_space`). A game that needs neither layer is passed to ``batched_parallel`` as
    ``make_env`` makes it, so that a native backend can fit it.
    """

    def factory() -> ParallelEnv:
        env = make_env()
        if any(
            isinstance(env.action_space(a), (spaces.MultiDiscrete, spaces.MultiBinary)) for a in env.possible_agents
        ):
            env = _StackableActions(env)
        if state_space is not None and not isinstance(getattr(env, "state_space", None), spaces.Box):
            env = _DeclaredState(env, state_space)
        return env

    return batched_parallel(factory, n_envs)


class RolloutStep(NamedTuple):
    """What a rollout keeps of the copies between joint steps (arrays indexed ``[copy, agent]``).

    Attributes:
        obs: Encoded observations, ``(K, N, D)``.
        critic_in: Critic inputs, ``(K, N, C)``.
        alive: The agents that act next, ``(K, N)``.
    """

    obs: np.ndarray
    critic_in: np.ndarray
    alive: np.ndarray


class LockstepRollout:
    """Steps the copies of a :class:`~stmg_envs.vector.BatchedParallel` with a shared actor: one call per joint step.

    Each joint step is one ``act`` call for every agent of every copy, one ``BatchedParallel.step``, and at most
    one ``value`` call for the truncation bootstraps of all copies. Copies whose episode ends are reset within the
    step (the batched game's autoreset); the ended episode's last observations and states are what is bootstrapped.

    Args:
        venv: The copies (:func:`batched_copies`).
        encoder: Encodes the observations for the actor.
        critic_inputs: Builds the critic's inputs.
        to_env_actions: Turns the sampled actions (NumPy, ``(K, N, ...)``) into ``venv.step``'s
            (:func:`joint_action_converter`).

    Raises:
        ValueError: ``venv``'s agents are not the encoder's, or a critic on the state with a game that has none.
    """

    def __init__(
        self,
        venv: BatchedParallel,
        encoder: SharedObservationEncoder,
        critic_inputs: CriticInputBuilder,
        to_env_actions: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        if not isinstance(venv, BatchedParallel):
            raise TypeError(f"expected a stmg_envs.vector.BatchedParallel, got {type(venv).__name__}.")
        if tuple(venv.possible_agents) != tuple(encoder.agents):
            raise ValueError(
                f"expected the copies' agents to be the encoder's {list(encoder.agents)}, got {list(venv.possible_agents)}."
            )
        if critic_inputs.mode == "state" and venv.single_state_space is None:
            raise ValueError(
                "expected a game with a global state (state_space) for critic_input='state', got none; "
                "use critic_input='concat_obs' or pass state_space to batched_copies."
            )
        self.venv = venv
        self.encoder = encoder
        self.critic_inputs = critic_inputs
        self.to_env_actions = to_env_actions
        self.agents = encoder.agents
        self.num_copies = venv.num_copies
        self._reads_state = critic_inputs.mode == "state"
        self._current: RolloutStep | None = None
        self._needs_reset = True
        self._pending_seed: int | None = None

    def request_reset(self, seed: int | None = None) -> None:
        """Restart every copy before the next collection; copy ``i`` gets ``seed + i`` if a seed is given.

        A seed already requested and not yet used is kept when ``seed`` is None.
        """
        self._needs_reset = True
        if seed is not None:
            self._pending_seed = seed

    def _new_episodes(self, copies: np.ndarray) -> None:
        """Called after ``copies`` (indices, ascending) started a new episode; a hook for subclasses."""

    def _states(self) -> np.ndarray | None:
        return self.venv.state() if self._reads_state else None

    def _reset_all(self) -> None:
        seed, self._pending_seed = self._pending_seed, None
        first, _ = self.venv.reset(seed=seed)
        obs = self.encoder.encode_batch(first.observation, first.live)
        self._current = RolloutStep(obs, self.critic_inputs.build(self._states(), obs), first.live)
        self._new_episodes(np.arange(self.num_copies))
        self._needs_reset = False

    def _advance(self, out: JointStep) -> tuple[RolloutStep, np.ndarray]:
        """The copies after a joint step, and the critic inputs after it, before any reset (for the bootstraps)."""
        over = out.episode_over
        # The rows the game returned observations for (black death for the others): the agents that acted,
        # and those live in a copy that goes on (where a copy reset: the new episode's).
        present = out.acted | (out.live & ~over[:, None])
        if not over.any():
            obs = self.encoder.encode_batch(out.observation, present)
            critic_in = self.critic_inputs.build(self._states(), obs)
            return RolloutStep(obs, critic_in, out.live), critic_in
        final_obs = self.encoder.encode_batch(out.final_observation, present)
        final_critic_in = self.critic_inputs.build(out.final_state if self._reads_state else None, final_obs)
        obs = self.encoder.encode_batch(out.observation, np.where(over[:, None], out.live, present))
        critic_in = self.critic_inputs.build(self._states(), obs)
        self._new_episodes(np.flatnonzero(over))
        return RolloutStep(obs, critic_in, out.live), final_critic_in

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
        assert self._current is not None
        n_envs, n_agents = self._current.alive.shape
        obs = np.zeros((n_steps, *self._current.obs.shape), dtype=np.float32)
        critic_in = np.zeros((n_steps, *self._current.critic_in.shape), dtype=np.float32)
        log_probs = np.zeros((n_steps, n_envs, n_agents), dtype=np.float32)
        raw_values = np.zeros_like(log_probs)
        rewards = np.zeros_like(log_probs)
        dones = np.zeros((n_steps, n_envs, n_agents), dtype=bool)
        active = np.zeros_like(dones)
        actions: list[torch.Tensor] = []
        flat = n_envs * n_agents
        for t in range(n_steps):
            current = self._current
            obs[t], critic_in[t], active[t] = current.obs, current.critic_in, current.alive
            step_actions, step_log_probs, step_values = act(
                torch.from_numpy(obs[t].reshape(flat, -1)), torch.from_numpy(critic_in[t].reshape(flat, -1))
            )
            log_probs[t] = step_log_probs.reshape(n_envs, n_agents)
            raw_values[t] = step_values.reshape(n_envs, n_agents)
            joint = step_actions.reshape(n_envs, n_agents, *step_actions.shape[1:])
            actions.append(joint)
            out = self.venv.step(self.to_env_actions(joint.numpy()))
            rewards[t] = out.rewards
            # A stream ends where its agent was out of the game, or leaves it now; one cut off by truncation
            # (not terminated) is bootstrapped with the value of its last critic input, as SB3 does for time limits.
            dones[t] = ~out.acted | out.terminations | out.truncations
            truncated = out.acted & out.truncations & ~out.terminations
            self._current, final_critic_in = self._advance(out)
            if truncated.any():
                rows, agents = np.nonzero(truncated)
                rewards[t, rows, agents] += gamma * value(torch.from_numpy(final_critic_in[rows, agents]))
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
            next_critic_in=self._current.critic_in.copy(),
        )
