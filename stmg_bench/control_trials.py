"""One training trial on a Multi-Agent MuJoCo or highway on-ramp task, with a learning curve, as a JSON-able record.

:func:`control_trial` trains one algorithm with one seed on one task and
evaluates the greedy policy periodically on fixed evaluation episodes
(the same episodes for every algorithm, seed and read-out):

* ``"step"``: :class:`~stmg_agents.STEP` on the task's STMG (``stmg_v0`` of the
  simultaneous game, in the task's priority order), diagonal Gaussian head for
  ``Box`` actions, evaluated with received execution;
* ``"mappo"``, ``"ippo"``: the baselines on the simultaneous game.

Observation normalisation (``normalize_observations=True``) and reward scaling
(``normalize_rewards=True``; both what the MuJoCo benchmark uses) wrap the
simultaneous game in
:class:`~stmg_agents.observation_normalization.NormalizedObservations` with
statistics shared by the training copies and frozen for evaluation, so the
three algorithms see the same inputs and rewards; evaluations report the
task's own rewards. Rewards are the task's: shared in
MuJoCo, per agent on the on-ramp (each agent learns from its own reward; the
reported team return is the mean over agents of their episode returns).

It lives in the installed package so that sweep workers and Ray tasks can
import it by name (``"stmg_bench.control_trials:control_trial"``).

Example:
    >>> record = control_trial("mappo", "stmg/HalfCheetah-v0", {"agent_conf": "2x3", "episode_length": 20},
    ...                        seed=0, steps=80, eval_points=1, eval_episodes=1,
    ...                        hyperparams={"n_envs": 2, "n_steps": 20, "n_minibatches": 2})
    >>> [point["step"] for point in record["curve"]]
    [0, 80]
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ALGORITHMS",
    "ORDERS",
    "ControlHyperparameters",
    "MUJOCO_HYPERPARAMETERS",
    "ONRAMP_HYPERPARAMETERS",
    "default_hyperparameters",
    "EVAL_SEED_OFFSET",
    "make_parallel_factory",
    "control_trial",
]

#: Algorithm names accepted by :func:`control_trial`.
ALGORITHMS = ("step", "mappo", "ippo")

#: Priority orders of the STMG that STEP trains on, by name (JSON-able trial arguments).
ORDERS = ("possible_agents", "merge_priority")

#: Evaluation episode ``i`` is reset with seed ``EVAL_SEED_OFFSET + i`` (training copies use the trial's seed).
EVAL_SEED_OFFSET = 1_000_000


@dataclass(frozen=True)
class ControlHyperparameters:
    """PPO hyper-parameters shared by STEP, MAPPO and IPPO in the control benchmarks.

    Every algorithm gets the same values; each one's own defaults fill the rest
    (activation, value normalisation, MAPPO's LayerNorm and Huber loss: see
    :class:`~stmg_agents.STEP` and :class:`~stmg_agents.MAPPOConfig`).

    Attributes:
        n_envs: Env copies stepped together.
        n_steps: Joint steps per copy per rollout (a rollout is ``n_envs * n_steps`` joint steps).
        learning_rate: Adam step size (actor and critic).
        n_epochs: Passes over each rollout (STEP: over each rank's decisions).
        n_minibatches: Minibatches per pass (STEP: per rank).
        gamma: Discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO ratio clip.
        ent_coef: Entropy bonus.
        max_grad_norm: Gradient-norm clip.
        hidden_sizes: Hidden widths of actor and critic (STEP: of the state embedding and of the critic).
        beta: STEP's hypernetwork regulariser coefficient (Eq. 11); ignored by the baselines.
        hyper_scale_by_width: STEP's ``hyper_scale_by_width`` policy option (one Adam step moves
            the generated target-policy weights about as far as an ordinary layer's); ignored by
            the baselines.

    Example:
        >>> ControlHyperparameters(n_envs=2, n_steps=10).step_kwargs()["batch_size"]
        5
    """

    n_envs: int = 4
    n_steps: int = 250
    learning_rate: float = 3e-4
    n_epochs: int = 5
    n_minibatches: int = 4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    hidden_sizes: tuple[int, ...] = (64, 64)
    beta: float = 1.0
    hyper_scale_by_width: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.hyper_scale_by_width, bool):
            raise ValueError(f"expected hyper_scale_by_width to be a bool, got {self.hyper_scale_by_width!r}.")
        for name in ("n_envs", "n_steps", "n_epochs", "n_minibatches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be an int >= 1, got {value!r}.")
        if self.rollout_joint_steps % self.n_minibatches:
            raise ValueError(
                f"expected n_minibatches to divide the rollout's n_envs * n_steps = {self.rollout_joint_steps} "
                f"joint steps, got n_minibatches={self.n_minibatches}."
            )
        for name in ("learning_rate", "gamma", "gae_lambda", "clip_range", "ent_coef", "max_grad_norm", "beta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"expected {name} to be a finite number >= 0, got {value!r}.")
        sizes = tuple(self.hidden_sizes)
        if not sizes or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in sizes):
            raise ValueError(f"expected hidden_sizes to be a non-empty tuple of positive ints, got {self.hidden_sizes!r}.")
        object.__setattr__(self, "hidden_sizes", sizes)

    @property
    def rollout_joint_steps(self) -> int:
        """Joint steps per rollout (``n_envs * n_steps``)."""
        return self.n_envs * self.n_steps

    def replace(self, **changes: Any) -> "ControlHyperparameters":
        """A copy with some fields changed (unknown names raise a ``TypeError`` listing the fields)."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown hyper-parameters {unknown}; expected some of {names}.")
        if isinstance(changes.get("hidden_sizes"), list):
            changes["hidden_sizes"] = tuple(changes["hidden_sizes"])
        return dataclasses.replace(self, **changes)

    def step_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~stmg_agents.STEP`."""
        return {
            "n_envs": self.n_envs,
            "n_steps": self.n_steps,
            "learning_rate": self.learning_rate,
            "n_epochs": self.n_epochs,
            "batch_size": max(2, self.rollout_joint_steps // self.n_minibatches),
            "gamma": self.gamma,
            "gae_lambda": self.gae_lambda,
            "clip_range": self.clip_range,
            "ent_coef": self.ent_coef,
            "max_grad_norm": self.max_grad_norm,
            "beta": self.beta,
            "policy_kwargs": {
                "net_arch": {"pi": list(self.hidden_sizes), "vf": list(self.hidden_sizes)},
                "hyper_scale_by_width": self.hyper_scale_by_width,
            },
        }

    def baseline_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~stmg_agents.MAPPO` and :class:`~stmg_agents.IPPO`."""
        return {
            "n_envs": self.n_envs,
            "n_steps": self.n_steps,
            "learning_rate": self.learning_rate,
            "n_epochs": self.n_epochs,
            "n_minibatches": self.n_minibatches,
            "gamma": self.gamma,
            "gae_lambda": self.gae_lambda,
            "clip_range": self.clip_range,
            "ent_coef": self.ent_coef,
            "max_grad_norm": self.max_grad_norm,
            "hidden_sizes": self.hidden_sizes,
        }


#: Multi-Agent MuJoCo: 1,000-step rollouts per update, 4 minibatches, no entropy bonus, gradient clip 0.5
#: (common PPO settings for MuJoCo locomotion). STEP's hypernetwork output is scaled by its width
#: (``hyper_scale_by_width``): with the plain hypernetwork at this learning rate, the KL of each of STEP's
#: updates was 8 to 20 times the baselines' (``benchmarks/results/update_size.md``),
#: and on the Ant robots STEP learned to fall within the first 20,000 steps (best greedy return 1 to 397
#: on the six Ant-family sub-scenarios in ``mujoco_all.md`` at commit b899169; 861 to 983 with the scaling).
MUJOCO_HYPERPARAMETERS = ControlHyperparameters(hyper_scale_by_width=True)

#: Highway on-ramp: 400-step rollouts (4 copies x one 100-decision episode), lr 5e-4, entropy 0.01
#: and gradient clip 10 (the MAPPO-style settings of the authors' follow-up code, with a small entropy bonus).
#: STEP's hypernetwork output is scaled by its width, as for MuJoCo: with the plain one, about a third
#: of STEP's samples end an update beyond the PPO clip, against 5-10% for the baselines
#: (``benchmarks/results/update_size.md``).
ONRAMP_HYPERPARAMETERS = ControlHyperparameters(
    n_envs=4, n_steps=100, learning_rate=5e-4, ent_coef=0.01, max_grad_norm=10.0, hyper_scale_by_width=True
)


def default_hyperparameters(task_id: str) -> ControlHyperparameters:
    """The preset for a task: :data:`ONRAMP_HYPERPARAMETERS` for the highway tasks, else :data:`MUJOCO_HYPERPARAMETERS`."""
    return ONRAMP_HYPERPARAMETERS if "Merge" in task_id else MUJOCO_HYPERPARAMETERS


def _order_callable(order: str) -> Any:
    if order == "possible_agents":
        return None
    if order == "merge_priority":
        from stmg_envs.highway import merge_priority_order

        return merge_priority_order
    raise ValueError(f"expected order in {ORDERS}, got {order!r}.")


def make_parallel_factory(
    task_id: str,
    task_kwargs: Mapping[str, Any],
    statistics: Any = None,
    update: bool = True,
    normalize_observations: bool = True,
    reward_gamma: float | None = None,
) -> Callable[[], Any]:
    """A zero-argument factory of the task's simultaneous game, normalised when ``statistics`` is given.

    Args:
        task_id: A registered task, e.g. ``"stmg/HalfCheetah-v0"``.
        task_kwargs: Its arguments, e.g. ``{"agent_conf": "6x1"}``.
        statistics: An :class:`~stmg_agents.observation_normalization.ObservationStatistics` shared by the copies,
            or ``None`` for the raw task.
        update: Whether the copies update the statistics (training) or only read them (evaluation).
        normalize_observations: Standardise observations and state (with ``statistics``).
        reward_gamma: Scale rewards by the running std of the discounted return (training copies only).
    """
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)

    kwargs = dict(task_kwargs)
    if statistics is None:
        return lambda: pettingzoo.make("parallel", task_id, **kwargs)
    from stmg_agents.observation_normalization import NormalizedObservations

    return lambda: NormalizedObservations(
        pettingzoo.make("parallel", task_id, **kwargs),
        statistics,
        update=update,
        normalize_observations=normalize_observations,
        reward_gamma=reward_gamma,
    )


def control_trial(
    algo: str,
    task_id: str,
    task_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    steps: int = 100_000,
    eval_points: int = 10,
    eval_episodes: int = 3,
    normalize_observations: bool = False,
    normalize_rewards: bool = False,
    order: str = "possible_agents",
    hyperparams: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``algo`` on a task, evaluating the greedy policy along the way, and describe the run.

    Args:
        algo: ``"step"`` (on the STMG), ``"mappo"`` or ``"ippo"`` (on the simultaneous game).
        task_id: A registered task with identical agents, e.g. ``"stmg/HalfCheetah-v0"``, ``"stmg/OnRampMerge-v0"``.
        task_kwargs: Its arguments, e.g. ``{"agent_conf": "2x3"}`` or ``{"difficulty": "hard"}``.
        seed: Seed of the run (networks, sampling, training env resets).
        steps: Joint (temporal) environment steps of training; training runs whole rollouts,
            so it stops at the first multiple of the rollout size at or above ``steps``.
        eval_points: Evaluations during training, evenly spaced (plus one before training and
            one at the end); 0 evaluates only before and after training.
        eval_episodes: Greedy episodes per evaluation (reset seeds ``EVAL_SEED_OFFSET + i``).
        normalize_observations: Standardise observations (and the state) with running statistics
            shared by the training copies, frozen during evaluation.
        normalize_rewards: Train on rewards scaled by the running standard deviation of the
            discounted return (``gamma`` of the hyper-parameters), as SB3's ``VecNormalize``;
            evaluations always report the task's own rewards.
        order: STEP's priority order: ``"possible_agents"`` (fixed) or ``"merge_priority"``
            (:func:`stmg_envs.highway.merge_priority_order`, recomputed every step).
        hyperparams: Changes to the task's :func:`default_hyperparameters` (fields of
            :class:`ControlHyperparameters`, e.g. ``{"beta": 0.1}``).

    Returns:
        A JSON-serialisable dict: the arguments, ``hyperparameters`` (all values used),
        ``n_agents``, ``curve`` (one dict per evaluation: ``step``, ``team_return``,
        ``team_returns``, ``length``, ``mean_speed``, ``crash_rate``), ``final`` (the last
        evaluation), ``steps`` (joint steps trained), ``train_s`` (training time without the
        evaluations), ``eval_s`` and ``steps_per_s`` (training throughput).

    Raises:
        ValueError: An unknown ``algo`` or ``order``, or a bad number.
    """
    import torch

    from stmg_bench.deterministic_evaluation import evaluate_shared_policy, evaluate_step, summarize_episodes

    if algo not in ALGORITHMS:
        raise ValueError(f"expected algo in {ALGORITHMS}, got {algo!r}.")
    order_fn = _order_callable(order)
    for name, value, minimum in (("steps", steps, 1), ("eval_points", eval_points, 0), ("eval_episodes", eval_episodes, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"expected {name} to be an int >= {minimum}, got {value!r}.")
    torch.set_num_threads(1)
    task_kwargs = dict(task_kwargs or {})
    hp = default_hyperparameters(task_id).replace(**dict(hyperparams or {}))

    statistics = None
    if normalize_observations or normalize_rewards:
        from stmg_agents.observation_normalization import ObservationStatistics

        statistics = ObservationStatistics()
    train_factory = make_parallel_factory(
        task_id, task_kwargs, statistics, update=True, normalize_observations=bool(normalize_observations),
        reward_gamma=hp.gamma if normalize_rewards else None,
    )
    eval_factory = make_parallel_factory(
        task_id, task_kwargs, statistics, update=False, normalize_observations=bool(normalize_observations)
    )
    eval_seeds = [EVAL_SEED_OFFSET + i for i in range(eval_episodes)]
    every = max(1, steps // eval_points) if eval_points else steps

    curve: list[dict[str, Any]] = []
    eval_time = [0.0]
    model: Any = None

    def evaluate(step: int) -> None:
        if curve and curve[-1]["step"] == step:
            return
        start = time.perf_counter()
        if algo == "step":
            summaries = evaluate_step(model, eval_factory, eval_seeds, order=order_fn)
        else:
            summaries = evaluate_shared_policy(model, eval_factory, eval_seeds)
        curve.append({"step": int(step), **summarize_episodes(summaries)})
        eval_time[0] += time.perf_counter() - start

    def due(step: int) -> bool:
        return not curve or step >= curve[-1]["step"] + every

    from stable_baselines3.common.callbacks import BaseCallback

    class Curve(BaseCallback):
        """Evaluates when due, right after each update (the start of the next rollout): SB3's callback, every algorithm."""

        def _on_step(self) -> bool:
            return True

        def _on_rollout_start(self) -> None:
            if due(self.model.num_timesteps):
                evaluate(self.model.num_timesteps)

    start = time.perf_counter()
    if algo == "step":
        from stmg_agents.step.algorithm import STEP
        from stmg_envs import stmg_v0

        model = STEP(lambda: stmg_v0(train_factory(), order=order_fn), seed=seed, **hp.step_kwargs())
    else:
        from stmg_agents.baselines import IPPO, MAPPO

        cls = {"mappo": MAPPO, "ippo": IPPO}[algo]
        model = cls(train_factory, seed=seed, **hp.baseline_kwargs())
    evaluate(0)
    model.learn(steps, callback=Curve())
    done = int(model.num_timesteps)
    evaluate(done)
    train_s = time.perf_counter() - start - eval_time[0]
    return {
        "algo": algo,
        "task_id": task_id,
        "task_kwargs": task_kwargs,
        "seed": seed,
        "order": order,
        "normalize_observations": bool(normalize_observations),
        "normalize_rewards": bool(normalize_rewards),
        "hyperparameters": {**dataclasses.asdict(hp), "hidden_sizes": list(hp.hidden_sizes)},
        "n_agents": int(model.n_agents),
        "eval_episodes": eval_episodes,
        "steps": done,
        "curve": curve,
        "final": curve[-1],
        "train_s": train_s,
        "eval_s": eval_time[0],
        "steps_per_s": done / train_s if train_s > 0 else float("nan"),
    }
