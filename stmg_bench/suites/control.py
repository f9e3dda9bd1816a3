"""The control suite: any algorithm on Multi-Agent MuJoCo and the highway merges, with learning curves.

:func:`control_trial` (a sweep's trial function) builds the algorithm through
:mod:`stmg_bench.contract`, trains it on the form it declares and evaluates the
greedy policy periodically on fixed evaluation episodes (the same episodes for
every algorithm, seed and read-out), **through that form**
(:func:`stmg_bench.deterministic_evaluation.evaluate_greedy`):

* a ``"sequential"`` algorithm trains and is evaluated on the task's STMG
  (``stmg_v0`` of the simultaneous game, in the trial's priority ``order``);
* a ``"simultaneous"`` one on the simultaneous game itself (it does not see the order).

Every algorithm gets the suite's shared PPO settings (a :class:`ControlHyperparameters`
preset of :data:`PRESETS`, by name) where its constructor takes them (:mod:`stmg_bench.selection`), then its own
hyperparameters. Observation normalisation (``normalize_observations=True``) and
reward scaling (``normalize_rewards=True``; both what the MuJoCo benchmark uses) wrap
the simultaneous game in
:class:`~stmg_bench.normalization.NormalizedObservations` with
statistics shared by the training copies and frozen for evaluation, so every
algorithm sees the same inputs and rewards; evaluations report the task's own
rewards. Rewards are the task's: shared in MuJoCo, per agent on the on-ramp (the
reported team return is the mean over agents of their episode returns).

Examples:
    >>> from stmg_bench.registry import resolve
    >>> record = control_trial(resolve("mappo").to_json(), "stmg/HalfCheetah-v0",
    ...                        {"agent_conf": "2x3", "episode_length": 20}, seed=0, steps=80, eval_points=1,
    ...                        eval_episodes=1, hyperparameters={"n_envs": 2, "n_steps": 20, "n_minibatches": 2})
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

__all__ = [
    "ORDERS",
    "ControlHyperparameters",
    "MUJOCO_HYPERPARAMETERS",
    "ONRAMP_HYPERPARAMETERS",
    "PRESETS",
    "EVAL_SEED_OFFSET",
    "make_parallel_factory",
    "resident_memory_mb",
    "evaluation_orders",
    "control_trial",
]

#: Priority orders of the STMG that sequential-form algorithms train on, by name (JSON-able trial arguments): the
#: STMG's own (:data:`stmg_envs.wrappers.priority_order.ORDER_NAMES`) and ``"merge_priority"`` (the highway tasks'
#: :func:`stmg_envs.highway.merge_priority_order`); any other order is agents joined by ``+`` (``agent_1+agent_0``).
#: ``"random"`` draws one each episode, and the policy is evaluated under :func:`evaluation_orders`.
ORDERS = ("possible_agents", "reversed", "merge_priority", "random")

#: Under ``order="random"`` the greedy policy is evaluated in the STMG of this many fixed orders...
EVAL_ORDER_SAMPLE = 3
#: ...drawn once, for every algorithm, seed and read-out, from this seed (see :func:`evaluation_orders`).
EVAL_ORDER_SEED = 0

#: Evaluation episode ``i`` is reset with seed ``EVAL_SEED_OFFSET + i`` (training copies use the trial's seed).
EVAL_SEED_OFFSET = 1_000_000


@dataclass(frozen=True)
class ControlHyperparameters:
    """PPO settings shared by every algorithm of the control benchmarks (none of them is part of a method).

    Every algorithm whose constructor takes them gets the same values (the built-ins
    do: :class:`~stmg_agents.STEP` takes ``n_minibatches`` and ``hidden_sizes`` as names
    of its own arguments); each one's own defaults fill the rest
    (activation, value normalisation, MAPPO's LayerNorm and Huber loss: see
    :class:`~stmg_agents.STEP` and :class:`~stmg_agents.MAPPOConfig`). A method's own
    levers (STEP's ``beta``, ``hyper_scale_by_width``) are its hyperparameters, not these.

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

    Examples:
        >>> ControlHyperparameters(n_envs=2, n_steps=10).as_kwargs()["n_minibatches"]
        4
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

    def __post_init__(self) -> None:
        for name in ("n_envs", "n_steps", "n_epochs", "n_minibatches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be an int >= 1, got {value!r}.")
        if self.rollout_joint_steps % self.n_minibatches:
            raise ValueError(
                f"expected n_minibatches to divide the rollout's n_envs * n_steps = {self.rollout_joint_steps} "
                f"joint steps, got n_minibatches={self.n_minibatches}."
            )
        for name in ("learning_rate", "gamma", "gae_lambda", "clip_range", "ent_coef", "max_grad_norm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"expected {name} to be a finite number >= 0, got {value!r}.")
        sizes = tuple(self.hidden_sizes)
        if not sizes or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in sizes):
            raise ValueError(
                f"expected hidden_sizes to be a non-empty tuple of positive ints, got {self.hidden_sizes!r}."
            )
        object.__setattr__(self, "hidden_sizes", sizes)

    @property
    def rollout_joint_steps(self) -> int:
        """Joint steps per rollout (``n_envs * n_steps``)."""
        return self.n_envs * self.n_steps

    def replace(self, **changes: Any) -> ControlHyperparameters:
        """A copy with some fields changed (unknown names raise a ``TypeError`` listing the fields)."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown hyper-parameters {unknown}; expected some of {names}.")
        if isinstance(changes.get("hidden_sizes"), list):
            changes["hidden_sizes"] = tuple(changes["hidden_sizes"])
        return dataclasses.replace(self, **changes)

    def as_kwargs(self) -> dict[str, Any]:
        """The settings as keyword arguments (JSON-able: ``hidden_sizes`` as a list)."""
        return {**dataclasses.asdict(self), "hidden_sizes": list(self.hidden_sizes)}


#: Multi-Agent MuJoCo: 1,000-step rollouts per update, 4 minibatches, no entropy bonus, gradient clip 0.5
#: (common PPO settings for MuJoCo locomotion).
MUJOCO_HYPERPARAMETERS = ControlHyperparameters()

#: Highway on-ramp: 400-step rollouts (4 copies x one 100-decision episode), lr 5e-4, entropy 0.01
#: and gradient clip 10 (the MAPPO-style settings of the authors' follow-up code, with a small entropy bonus).
ONRAMP_HYPERPARAMETERS = ControlHyperparameters(
    n_envs=4, n_steps=100, learning_rate=5e-4, ent_coef=0.01, max_grad_norm=10.0
)

#: The presets, by the name the benchmark scripts give (``preset=`` of :func:`control_trial`).
PRESETS: dict[str, ControlHyperparameters] = {"mujoco": MUJOCO_HYPERPARAMETERS, "onramp": ONRAMP_HYPERPARAMETERS}


def resident_memory_mb() -> float | None:
    """The resident memory of this process now, in MiB (Linux ``/proc``); ``None`` elsewhere.

    ``resource.getrusage`` gives only the peak so far, which cannot show whether memory
    stays flat over a trial (or which trial of a worker made the peak).

    Examples:
        >>> rss = resident_memory_mb()
        >>> rss is None or rss > 0
        True
    """
    import os

    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def evaluation_orders(possible_agents: list[Any]) -> list[list[Any]]:
    """The fixed sample of priority orders a ``"random"``-order policy is evaluated under.

    ``possible_agents`` order first, then distinct permutations drawn with :data:`EVAL_ORDER_SEED`
    until there are :data:`EVAL_ORDER_SAMPLE` (or every permutation, if there are fewer): the same
    sample for every algorithm, seed and read-out of a task.

    Examples:
        >>> evaluation_orders(["a", "b", "c"])
        [['a', 'b', 'c'], ['c', 'a', 'b'], ['c', 'b', 'a']]
        >>> evaluation_orders(["a", "b"])
        [['a', 'b'], ['b', 'a']]
    """
    import numpy as np

    agents = list(possible_agents)
    total = math.factorial(len(agents))
    orders = [agents]
    rng = np.random.default_rng(EVAL_ORDER_SEED)
    while len(orders) < min(EVAL_ORDER_SAMPLE, total):
        candidate = [agents[i] for i in rng.permutation(len(agents))]
        if candidate not in orders:
            orders.append(candidate)
    return orders


def _order_callable(order: str) -> Any:
    """``stmg_v0``'s ``order=`` for an order of :data:`ORDERS` or agents joined by ``+`` (the STMG parses those)."""
    if order == "merge_priority":
        from stmg_envs.highway import merge_priority_order

        return merge_priority_order
    if isinstance(order, str) and (order in ORDERS or "+" in order):
        return order
    raise ValueError(f"expected order in {ORDERS} or agents joined by '+' (agent_1+agent_0), got {order!r}.")


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
        statistics: An :class:`~stmg_bench.normalization.ObservationStatistics` shared by the copies,
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
    from stmg_bench.normalization import NormalizedObservations

    return lambda: NormalizedObservations(
        pettingzoo.make("parallel", task_id, **kwargs),
        statistics,
        update=update,
        normalize_observations=normalize_observations,
        reward_gamma=reward_gamma,
    )


def control_trial(
    algorithm: dict[str, Any],
    task_id: str,
    task_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    steps: int = 100_000,
    eval_points: int = 10,
    eval_episodes: int = 3,
    normalize_observations: bool = False,
    normalize_rewards: bool = False,
    order: str = "possible_agents",
    hyperparameters: Mapping[str, Any] | None = None,
    reward_gamma: float = 0.99,
) -> dict[str, Any]:
    """Train an algorithm on a task, evaluating its greedy policy along the way, and describe the run.

    Args:
        algorithm: :meth:`~stmg_bench.registry.ResolvedAlgorithm.to_json` of the algorithm.
        task_id: A registered task, e.g. ``"stmg/HalfCheetah-v0"``, ``"stmg/OnRampMerge-v0"``.
        task_kwargs: Its arguments, e.g. ``{"agent_conf": "2x3"}`` or ``{"difficulty": "hard"}``.
        seed: Seed of the run (networks, sampling, training env resets).
        steps: Joint (temporal) environment steps of training (the built-ins run whole rollouts,
            so they stop at the first multiple of the rollout size at or above ``steps``).
        eval_points: Evaluations during training, after the first update past each ``steps /
            eval_points`` (plus one before training and one at the end); 0: only before and after.
        eval_episodes: Greedy episodes per evaluation (reset seeds ``EVAL_SEED_OFFSET + i``).
        normalize_observations: Standardise observations (and the state) with running statistics
            shared by the training copies, frozen during evaluation.
        normalize_rewards: Train on rewards scaled by the running standard deviation of the
            ``reward_gamma``-discounted return, as SB3's ``VecNormalize``; evaluations report the task's rewards.
        order: The STMG's priority order for a sequential-form algorithm: ``"possible_agents"``, ``"reversed"``,
            agents joined by ``+`` (``"agent_1+agent_0"``), ``"merge_priority"``
            (:func:`stmg_envs.highway.merge_priority_order`, recomputed every step) or ``"random"`` (drawn each
            episode in training; every evaluation plays each order of :func:`evaluation_orders` and reports their
            mean, ``order_returns`` each one's).
        hyperparameters: What the algorithm is built with (see :func:`stmg_bench.selection.resolve_algorithms`).
        reward_gamma: Discount of the reward scaling (the preset's ``gamma``).

    Returns:
        A JSON-serialisable dict: the arguments, ``algo`` (the algorithm's name), ``form``,
        ``n_agents``, ``curve`` (one dict per evaluation: ``step``, ``team_return``,
        ``team_returns``, ``length``, ``mean_speed``, ``crash_rate`` and ``rss_mb``, the process's
        resident memory then, ``None`` where the OS does not say; under ``order="random"`` also
        ``order_returns``, the mean team return under each of ``eval_orders``), ``final`` (the last
        evaluation), ``steps`` (joint steps trained), ``train_s`` (training time without the
        evaluations), ``eval_s``, ``steps_per_s`` (training throughput) and ``peak_rss_mb``
        (the peak resident memory of the process that ran the trial, so far: a pool worker that
        ran several trials reports the largest of them).

    Raises:
        ValueError: An unknown ``order``, or a bad number.
    """
    import resource

    import torch  # noqa: F401  (imported before single_threaded(), which then sets its thread count)

    from stmg_bench.contract import check_instance, uses_order
    from stmg_bench.deterministic_evaluation import evaluate_greedy, summarize_episodes
    from stmg_bench.registry import ResolvedAlgorithm
    from stmg_bench.sweep.execution import single_threaded
    from stmg_envs import stmg_v0
    from stmg_envs.wrappers.priority_order import parse_order

    resolved = ResolvedAlgorithm.from_json(algorithm)
    order_fn = _order_callable(order)
    for name, value, minimum in (
        ("steps", steps, 1),
        ("eval_points", eval_points, 0),
        ("eval_episodes", eval_episodes, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"expected {name} to be an int >= {minimum}, got {value!r}.")
    with single_threaded():  # the harness's one thread per trial, restored after (also when called directly)
        task_kwargs = dict(task_kwargs or {})

        statistics = None
        if normalize_observations or normalize_rewards:
            from stmg_bench.normalization import ObservationStatistics

            statistics = ObservationStatistics()
        train_factory = make_parallel_factory(
            task_id,
            task_kwargs,
            statistics,
            update=True,
            normalize_observations=bool(normalize_observations),
            reward_gamma=reward_gamma if normalize_rewards else None,
        )
        eval_factory = make_parallel_factory(
            task_id, task_kwargs, statistics, update=False, normalize_observations=bool(normalize_observations)
        )
        eval_seeds = [EVAL_SEED_OFFSET + i for i in range(eval_episodes)]
        every = max(1, steps // eval_points) if eval_points else steps
        if resolved.form == "sequential":
            make_env: Callable[[], Any] = lambda: stmg_v0(train_factory(), order=order_fn)  # noqa: E731
        else:
            make_env = train_factory

        curve: list[dict[str, Any]] = []
        eval_time = [0.0]

        agents = list(train_factory().possible_agents)
        eval_orders = evaluation_orders(agents) if order == "random" and resolved.form == "sequential" else None

        def evaluate(step: int) -> None:
            if curve and curve[-1]["step"] == step:
                return
            start = time.perf_counter()
            extra: dict[str, Any] = {}
            if eval_orders is None:
                summaries = evaluate_greedy(model, eval_factory, eval_seeds, order=order_fn)
            else:
                per_order = [evaluate_greedy(model, eval_factory, eval_seeds, order=o) for o in eval_orders]
                summaries = [s for group in per_order for s in group]
                extra["order_returns"] = [summarize_episodes(group)["team_return"] for group in per_order]
            curve.append({"step": int(step), **summarize_episodes(summaries), **extra, "rss_mb": resident_memory_mb()})
            eval_time[0] += time.perf_counter() - start

        def on_update(num_timesteps: int) -> bool:
            if not curve or num_timesteps >= curve[-1]["step"] + every:
                evaluate(num_timesteps)
            return True

        start = time.perf_counter()
        factory = resolved.load()
        hp = dict(hyperparameters or {})
        if uses_order(factory) and order != "merge_priority":
            # the run's order reaches an algorithm that declares it uses one (:mod:`stmg_bench.contract`); the
            # state-dependent merge order has no fixed form, so such an algorithm keeps its own default there
            hp["order"] = parse_order(order, agents)  # "random", or the agents in priority order
        model = resolved.build(make_env, seed=seed, **hp)
        check_instance(model)
        n_agents = len(agents)
        evaluate(0)
        model.learn(steps, callback=on_update)
        done = int(getattr(model, "num_timesteps", steps))
        evaluate(done)
        train_s = time.perf_counter() - start - eval_time[0]
        return {
            "algo": resolved.name,
            "form": resolved.form,
            "task_id": task_id,
            "task_kwargs": task_kwargs,
            "seed": seed,
            "order": order,
            "eval_orders": eval_orders,
            "normalize_observations": bool(normalize_observations),
            "normalize_rewards": bool(normalize_rewards),
            "hyperparameters": dict(hyperparameters or {}),
            "n_agents": n_agents,
            "eval_episodes": eval_episodes,
            "steps": done,
            "curve": curve,
            "final": curve[-1],
            "train_s": train_s,
            "eval_s": eval_time[0],
            "steps_per_s": done / train_s if train_s > 0 else float("nan"),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
