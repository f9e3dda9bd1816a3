"""Executing a trained STEP policy in an STMG.

Two modes (paper Section 3.3, "asymmetric training with symmetric execution"):

* **received** (as in training): the acting agent's observation carries the
  actions its superiors chose this step, and :meth:`STEP.predict` answers;
* **symmetric** (decentralised): nobody sends actions. Each agent knows the
  priority order and uses the shared N-level policy to recompute, rank by
  rank, the greedy actions of the agents above it from its own view of the
  state, then answers to those (:func:`symmetric_action`). Where all agents
  observe the same state (matrix games, global-state tasks) this reproduces
  the received mode exactly with greedy actions; otherwise each agent stands
  in its own observation for its superiors', an approximation.

Examples:
    >>> from stmg_agents import STEP
    >>> from stmg_envs import stmg_v0
    >>> from stmg_envs.matrix import penalty
    >>> model = STEP(stmg_v0(penalty()), seed=0)
    >>> env = stmg_v0(penalty())
    >>> env.reset(seed=1)
    >>> sorted(play_time_step(model, env, mode="symmetric"))
    ['agent_0', 'agent_1']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pettingzoo import AECEnv

from stmg_agents.step.vec_env import stmg_action
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS

if TYPE_CHECKING:
    from stmg_agents.step.algorithm import STEP

__all__ = ["symmetric_action", "play_time_step", "ExecutionMode", "EXECUTION_MODES", "env_action"]

ExecutionMode = Literal["received", "symmetric"]
EXECUTION_MODES: tuple[str, ...] = ("received", "symmetric")


def env_action(model: STEP, action: Any) -> Any:
    """``model``'s action for one observation in the form an STMG accepts (:func:`~stmg_agents.step.vec_env.stmg_action`)."""
    return stmg_action(model.action_space, action)


def symmetric_action(
    model: STEP, observation: dict[str, Any], order: Sequence[Any], deterministic: bool = True
) -> tuple[Any, dict[Any, Any]]:
    """One agent's action in symmetric execution.

    Args:
        model: A trained :class:`~stmg_agents.STEP`.
        observation: The agent's own subgame-state observation; its
            ``prior_actions``/``prior_mask`` are ignored (nothing is received),
            its ``rank`` says where it stands in ``order``.
        order: This step's priority order (agent names, first acts first), e.g.
            ``env.order``.
        deterministic: Greedy own action (the superiors' recomputed actions are always greedy).

    Returns:
        ``(action, superiors)``: the agent's action and ``{agent: recomputed action}`` of those above it.

    Raises:
        ValueError: a malformed observation, or an order that does not fit the rank or the agents.
    """
    if not isinstance(observation, dict) or not all(k in observation for k in OBSERVATION_KEYS):
        raise ValueError(
            f"expected one agent's STMG observation, a dict with keys {OBSERVATION_KEYS}, got {observation!r}."
        )
    rank = int(np.asarray(observation["rank"]).reshape(()))
    order = tuple(order)
    agents = tuple(model.possible_agents)
    unknown = [a for a in order if a not in agents]
    if unknown or len(set(order)) != len(order):
        raise ValueError(f"expected an order of distinct agents among {agents}, got {order}.")
    if not 0 <= rank < len(order):
        raise ValueError(f"expected the observation's rank ({rank}) to be a position in the order {order}.")
    index = {a: i for i, a in enumerate(agents)}
    prior = np.zeros_like(np.asarray(observation["prior_actions"], dtype=np.float32))
    mask = np.zeros_like(np.asarray(observation["prior_mask"]))
    superiors: dict[Any, Any] = {}
    for level in range(rank):
        view = dict(observation, prior_actions=prior.copy(), prior_mask=mask.copy(), rank=np.int64(level))
        action, _ = model.predict(view, deterministic=True)
        agent = order[level]
        superiors[agent] = env_action(model, action)
        k = index[agent]
        start, stop = model.action_layout[k]
        prior[start:stop] = model.slot_encoding(k, action)
        mask[k] = 1
    own = dict(observation, prior_actions=prior, prior_mask=mask, rank=np.int64(rank))
    action, _ = model.predict(own, deterministic=deterministic)
    return action, superiors


def play_time_step(
    model: STEP, env: AECEnv, mode: ExecutionMode = "received", deterministic: bool = True
) -> dict[Any, Any]:
    """Play one time step of an STMG with the trained policy and return the joint action.

    Args:
        model: A trained :class:`~stmg_agents.STEP`.
        env: An STMG at the start of a time step (e.g. just reset); pending dead steps are taken first.
        mode: ``"received"`` (agents see their superiors' actions) or ``"symmetric"``
            (agents see none and recompute them, :func:`symmetric_action`).
        deterministic: Greedy actions.

    Returns:
        ``{agent: action}`` for the agents that acted, in priority order.
    """
    if mode not in EXECUTION_MODES:
        raise ValueError(f"expected mode in {EXECUTION_MODES}, got {mode!r}.")
    while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
        env.step(None)
    if not env.agents:
        raise ValueError("play_time_step expected an env with live agents; call env.reset() first.")
    order = tuple(env.order)
    joint: dict[Any, Any] = {}
    for agent in order:
        if env.agent_selection != agent:
            raise ValueError(
                f"play_time_step expected the env at the start of a time step ({order[0]!r} to act), "
                f"but {env.agent_selection!r} acts now."
            )
        obs = env.observe(agent)
        if mode == "received":
            action, _ = model.predict(obs, deterministic=deterministic)
        else:
            blind = dict(
                obs, prior_actions=np.zeros_like(obs["prior_actions"]), prior_mask=np.zeros_like(obs["prior_mask"])
            )
            action, _ = symmetric_action(model, blind, order, deterministic=deterministic)
        action = env_action(model, action)
        joint[agent] = action
        env.step(action)
    return joint
