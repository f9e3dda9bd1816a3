"""Reading out what a STEP policy plays, for scripts and benchmarks.

For games with ``Discrete`` actions, :func:`joint_policy_readout` computes the
exact distribution of the joint action the policy plays at the first state of
an episode (``P(a) = prod_i pi^i(a^i | s, a^1..a^{i-1})`` in priority order)
and the greedy joint action; :func:`train_step` trains on a task in one call.

Examples:
    >>> model, readout = train_step("stmg/Penalty-v0", total_timesteps=200, seed=0, env_kwargs={"k": 0})
    >>> readout.joint_probabilities.shape, round(float(readout.joint_probabilities.sum()), 6)
    ((3, 3), 1.0)
    >>> sorted(readout.greedy_joint_action)
    ['agent_0', 'agent_1']
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch as th
from gymnasium import spaces
from pettingzoo import AECEnv

from stmg_agents.step.execution import play_time_step

if TYPE_CHECKING:
    from stmg_agents.step.algorithm import STEP
    from stmg_agents.step.vec_env import EnvSource

__all__ = ["JointPolicyReadout", "joint_policy_readout", "train_step", "MAX_JOINT_ACTIONS"]

#: Largest joint action space :func:`joint_policy_readout` enumerates.
MAX_JOINT_ACTIONS = 1_000_000


@dataclass(frozen=True)
class JointPolicyReadout:
    """The joint action a policy plays at one state.

    Attributes:
        agents: The agents, in ``possible_agents`` order (the axes of ``joint_probabilities``).
        order: The priority order used (first acts first).
        joint_probabilities: ``P(a_0, ..., a_{N-1})``, one axis per agent of ``agents``.
        greedy_joint_action: ``{agent: action}`` when every agent plays its most likely
            action given its superiors' greedy actions (what deterministic execution plays).
    """

    agents: tuple[Any, ...]
    order: tuple[Any, ...]
    joint_probabilities: np.ndarray = field(repr=False)
    greedy_joint_action: dict[Any, int]

    def marginal(self, agent: Any) -> np.ndarray:
        """Probability of each action of ``agent``."""
        axis = self.agents.index(agent)
        other = tuple(i for i in range(len(self.agents)) if i != axis)
        return self.joint_probabilities.sum(axis=other)

    def expected_payoffs(self, payoffs: np.ndarray) -> np.ndarray:
        """Expected payoff of each agent under the joint distribution (``payoffs`` of shape ``(N, A_1..A_N)``)."""
        payoffs = np.asarray(payoffs, dtype=np.float64)
        if payoffs.shape[1:] != self.joint_probabilities.shape:
            raise ValueError(
                f"expected payoffs of shape (N, {', '.join(map(str, self.joint_probabilities.shape))}), got {payoffs.shape}."
            )
        return (payoffs * self.joint_probabilities).reshape(payoffs.shape[0], -1).sum(axis=1)


def _fresh_env(model: STEP, env: AECEnv | None) -> AECEnv:
    if env is not None:
        return env
    vec_env = model.get_env()
    if vec_env is None:
        raise ValueError("expected an env: the model has none (loaded without one); pass env=...")
    return vec_env.make_stmg()  # type: ignore[attr-defined]


def joint_policy_readout(model: STEP, env: AECEnv | None = None, seed: int | None = 0) -> JointPolicyReadout:
    """Exact joint-action distribution and greedy joint action at the first state after ``env.reset(seed)``.

    Args:
        model: A :class:`~stmg_agents.STEP` with a ``Discrete`` action space.
        env: The STMG to read out on (it is reset); default: a new STMG of the model's training task
            (:meth:`~stmg_agents.step.vec_env.STMGVecEnv.make_stmg`).
        seed: Seed of the reset.

    Raises:
        ValueError: a non-``Discrete`` action space or a joint action space above :data:`MAX_JOINT_ACTIONS`.
    """
    if not isinstance(model.action_space, spaces.Discrete):
        raise ValueError(f"joint_policy_readout needs a Discrete action space, got {model.action_space}.")
    env = _fresh_env(model, env)
    env.reset(seed=seed)
    order = tuple(env.order)
    n_actions = int(model.action_space.n)
    if n_actions ** len(order) > MAX_JOINT_ACTIONS:
        raise ValueError(
            f"the joint action space has {n_actions}^{len(order)} entries, above MAX_JOINT_ACTIONS={MAX_JOINT_ACTIONS}."
        )
    agents = tuple(model.possible_agents)
    index = {a: i for i, a in enumerate(agents)}
    base = {a: model.canonical_observation(env.observe(a)) for a in order}
    probs = np.ones(1)  # over histories of the ranks processed so far (row-major in rank order)
    histories = np.zeros((1, 0), dtype=np.int64)
    encodings = np.stack([model.slot_encoding(0, a) for a in range(n_actions)])
    for level, agent in enumerate(order):
        obs = base[agent]
        count = histories.shape[0]
        prior = np.repeat(np.asarray(obs["prior_actions"], dtype=np.float32)[None], count, axis=0)
        mask = np.repeat(np.asarray(obs["prior_mask"])[None], count, axis=0)
        for upper in range(level):
            k = index[order[upper]]
            start, stop = model.action_layout[k]
            prior[:, start:stop] = encodings[histories[:, upper]]
            mask[:, k] = 1
        batch = {key: np.repeat(np.asarray(value)[None], count, axis=0) for key, value in obs.items()}
        batch["prior_actions"], batch["prior_mask"] = prior, mask
        tensors = {k: th.as_tensor(v, device=model.device) for k, v in batch.items()}
        with th.no_grad():
            step_probs = model.policy.action_probabilities(tensors).cpu().numpy().astype(np.float64)
        probs = (probs[:, None] * step_probs).reshape(-1)
        histories = np.concatenate(
            [np.repeat(histories, n_actions, axis=0), np.tile(np.arange(n_actions), count)[:, None]], axis=1
        )
    joint = probs.reshape((n_actions,) * len(order))
    axes = [order.index(a) for a in agents if a in order]
    joint = np.transpose(joint, axes)
    greedy_env = copy.deepcopy(env)
    greedy = {a: int(v) for a, v in play_time_step(model, greedy_env, mode="received").items()}
    return JointPolicyReadout(
        agents=tuple(a for a in agents if a in order),
        order=order,
        joint_probabilities=joint,
        greedy_joint_action=greedy,
    )


def train_step(
    env: EnvSource,
    total_timesteps: int = 10_000,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    **hyperparams: Any,
) -> tuple[STEP, JointPolicyReadout | None]:
    """Train STEP on a task and read out its joint policy (``None`` for non-``Discrete`` actions).

    Args:
        env: An STMG, a registered id such as ``"stmg/Mixing-v0"``, a factory, or an ``STMGVecEnv``.
        total_timesteps: Temporal (joint) time steps.
        seed: Seed of the run (and of the read-out's reset).
        env_kwargs: Keyword arguments for a registered id.
        **hyperparams: Any :class:`~stmg_agents.STEP` argument (``beta``, ``n_envs``, ``policy_kwargs``...).

    Returns:
        ``(model, readout)``.
    """
    from stmg_agents.step.algorithm import STEP

    model = STEP(env, seed=seed, env_kwargs=env_kwargs, **hyperparams)
    model.learn(total_timesteps)
    readout = joint_policy_readout(model, seed=seed) if isinstance(model.action_space, spaces.Discrete) else None
    return model, readout
