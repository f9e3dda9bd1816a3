"""One training trial on a repeated matrix game, for STEP and the baselines, as a JSON-able record.

:func:`matrix_trial` trains one algorithm with one seed on one game and returns
what the matrix-game benchmark reports: the final joint policy (exact joint
action probabilities), its greedy joint action labelled by the exact solver of
:mod:`stmg_envs.games` (Stackelberg equilibrium, which Nash equilibrium, or
none), per-agent rewards, action-probability curves over training, and the
training throughput. It lives in the installed package so that worker
processes and Ray tasks can import it by name
(``"stmg_agents.matrix_trials:matrix_trial"``).

Example:
    >>> record = matrix_trial("step", "stmg/Penalty-v0", {"k": 0.0}, seed=0, steps=200, curve_points=2)
    >>> sorted(record)[:4]
    ['agents', 'algo', 'curve', 'decisions_per_s']
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ALGORITHMS", "matrix_trial"]

#: Algorithm names accepted by :func:`matrix_trial`.
ALGORITHMS = ("step", "mappo", "ippo")


def _joint_from_marginals(marginals: list[np.ndarray]) -> np.ndarray:
    joint = np.ones(())
    for p in marginals:
        joint = np.multiply.outer(joint, p)
    return joint


def _step_trial(task_id: str, task_kwargs: Mapping[str, Any], seed: int, steps: int, every: int, hp: Mapping[str, Any]):
    from stable_baselines3.common.callbacks import BaseCallback

    from stmg_agents.step.algorithm import STEP
    from stmg_agents.step.evaluation import joint_policy_readout

    model = STEP(task_id, seed=seed, env_kwargs=dict(task_kwargs), **hp)
    curve: list[tuple[int, np.ndarray]] = []
    readout_time = [0.0]

    class Curve(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            if model.num_timesteps >= (len(curve)) * every:
                t0 = time.perf_counter()
                curve.append((int(model.num_timesteps), joint_policy_readout(model, seed=seed).joint_probabilities))
                readout_time[0] += time.perf_counter() - t0

    start = time.perf_counter()
    model.learn(steps, callback=Curve() if every else None)
    train_s = time.perf_counter() - start - readout_time[0]
    final = joint_policy_readout(model, seed=seed)
    agents = list(final.agents)
    greedy = tuple(final.greedy_joint_action[a] for a in agents)
    return agents, final.joint_probabilities, greedy, curve, train_s, int(model.num_timesteps)


def _baseline_trial(algo: str, task_id: str, task_kwargs: Mapping[str, Any], seed: int, steps: int, every: int, hp: Mapping[str, Any]):
    from stmg_agents.baselines import IPPO, MAPPO

    cls = {"mappo": MAPPO, "ippo": IPPO}[algo]
    model = cls(task_id, seed=seed, env_kwargs=dict(task_kwargs), **hp)
    agents = list(model.possible_agents)
    curve: list[tuple[int, np.ndarray]] = []
    readout_time = [0.0]

    def joint() -> tuple[np.ndarray, tuple[int, ...]]:
        readout = model.action_readout()
        marginals = [np.asarray(readout[a].probabilities, dtype=np.float64) for a in agents]
        return _joint_from_marginals(marginals), tuple(readout[a].greedy_action for a in agents)

    def on_update(agent: Any) -> bool:
        if every and agent.num_timesteps >= len(curve) * every:
            t0 = time.perf_counter()
            curve.append((int(agent.num_timesteps), joint()[0]))
            readout_time[0] += time.perf_counter() - t0
        return True

    start = time.perf_counter()
    model.learn(steps, callback=on_update)
    train_s = time.perf_counter() - start - readout_time[0]
    probs, greedy = joint()
    return agents, probs, greedy, curve, train_s, int(model.num_timesteps)


def matrix_trial(
    algo: str,
    task_id: str,
    task_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    steps: int = 10_000,
    curve_points: int = 20,
    hyperparams: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``algo`` on a matrix game and describe the result.

    Args:
        algo: ``"step"`` (on the sequential form), ``"mappo"`` or ``"ippo"`` (on the simultaneous form).
        task_id: A registered matrix-game ID, e.g. ``"stmg/Penalty-v0"``.
        task_kwargs: Its arguments, e.g. ``{"k": -50}``.
        seed: Seed of the run.
        steps: Joint (temporal) environment steps of training.
        curve_points: About how many read-outs of the joint policy to record during training (0: none).
        hyperparams: Extra keyword arguments for the algorithm.

    Returns:
        A JSON-serialisable dict: ``agents``, ``joint_probabilities`` (nested lists, one axis
        per agent), ``marginals``, ``greedy_joint_action``, ``label`` (``"SE"``, ``"NE"`` or
        ``"none"``), ``tag`` (e.g. ``"NE[1]"``), ``p_se`` (probability of playing the SE),
        ``greedy_payoffs``, ``expected_payoffs``, ``curve`` (``[[step, marginals], ...]``),
        ``train_s``, ``decisions_per_s`` and the arguments.
    """
    import pettingzoo
    import torch

    import stmg_envs  # noqa: F401  (registers the tasks)
    from stmg_envs.games import classify_outcome, stackelberg_equilibrium

    if algo not in ALGORITHMS:
        raise ValueError(f"expected algo in {ALGORITHMS}, got {algo!r}.")
    torch.set_num_threads(1)
    task_kwargs = dict(task_kwargs or {})
    hp = dict(hyperparams or {})
    every = max(1, steps // curve_points) if curve_points else 0
    if algo == "step":
        agents, probs, greedy, curve, train_s, done = _step_trial(task_id, task_kwargs, seed, steps, every, hp)
    else:
        agents, probs, greedy, curve, train_s, done = _baseline_trial(algo, task_id, task_kwargs, seed, steps, every, hp)

    payoffs = pettingzoo.make("parallel", task_id, **task_kwargs).payoffs
    outcome = classify_outcome(payoffs, greedy)
    se = stackelberg_equilibrium(payoffs).joint_action
    n = len(agents)
    axes = tuple(range(n))
    marginals = [probs.sum(axis=tuple(a for a in axes if a != i)).tolist() for i in axes]
    expected = (payoffs * probs).reshape(n, -1).sum(axis=1)
    return {
        "algo": algo,
        "task_id": task_id,
        "task_kwargs": task_kwargs,
        "seed": seed,
        "steps": done,
        "agents": agents,
        "joint_probabilities": probs.tolist(),
        "marginals": marginals,
        "greedy_joint_action": list(greedy),
        "label": outcome.label,
        "tag": outcome.tag,
        "p_se": float(probs[se]),
        "greedy_payoffs": payoffs[(slice(None), *greedy)].tolist(),
        "expected_payoffs": expected.tolist(),
        "curve": [[step, [p.sum(axis=tuple(a for a in axes if a != i)).tolist() for i in axes]] for step, p in curve],
        "train_s": train_s,
        "decisions_per_s": done * n / train_s if train_s > 0 else float("nan"),
    }
