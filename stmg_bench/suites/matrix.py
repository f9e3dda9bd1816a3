"""The matrix suite's trials: any algorithm on the repeated matrix games, labelled by the exact solvers.

(What a trial runs lives here; the study around it, its arguments, summary and report, in
:mod:`stmg_bench.suites.matrix_study`, so that editing a report does not change the trials' fingerprint.)

Games: Penalty (k = 0, -25, -50, -75, -100) and Mixing of the STEP paper, Escape and
Maintain of Bi-AC (the ``paper`` suite, :data:`GAMES`), and any game of
:mod:`stmg_envs.matrix.generators` by its name, e.g. ``"team-trap:3:0"`` (the
``nagent`` suite: 4 games for each of 3, 4 and 5 agents), played as ``stmg/Matrix-v0``. :func:`matrix_trial` (a sweep's trial function) builds the
algorithm through :mod:`stmg_bench.contract`, trains it on the form it declares,
records the policy after every update (the ``curve``), and evaluates the greedy
policy **through that form**: in the sequential form each agent acts on the
STMG's observation, which holds the greedy actions of the agents ranked above
it. The greedy joint action is labelled by :func:`stmg_envs.equilibria.classify_outcome`
under the order used (who leads changes the SE of a general-sum game).

If the algorithm offers ``action_probabilities``, the exact distribution of the
joint action it plays at the first state is computed too (in the sequential form,
``P(a) = prod_i pi^i(a^i | s, a^1..a^{i-1})``, enumerating the superiors' actions),
and with it P(SE) and the expected payoffs; otherwise those fields are ``None``.

Examples:
    >>> from stmg_bench.registry import resolve
    >>> record = matrix_trial(resolve("mappo").to_json(), "stmg/Penalty-v0", {"k": 0.0}, seed=0, steps=200,
    ...                       curve_points=2)
    >>> record["algo"], record["label"] in ("SE", "NE", "none"), len(record["marginals"])
    ('mappo', True, 2)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from stmg_bench.contract import (
    ContractError,
    algorithm_execution,
    check_instance,
    checked_action,
    checked_joint_probabilities,
    checked_probabilities,
    has_joint_probabilities,
    has_probabilities,
    uses_order,
)
from stmg_bench.registry import ResolvedAlgorithm
from stmg_envs.wrappers.priority_order import ORDER_NAMES, parse_order

__all__ = [
    "GAMES",
    "SUITES",
    "game_spec",
    "GameTable",
    "game_table",
    "expand_games",
    "ORDERS",
    "matrix_trial",
    "make_env_factory",
    "order_indices",
    "joint_policy",
    "Context",
    "walk_contexts",
    "plan_trials",
]

#: Game label -> (registered ID, arguments).
GAMES: dict[str, tuple[str, dict[str, Any]]] = {
    **{f"penalty:{k}": ("stmg/Penalty-v0", {"k": float(k)}) for k in (0, -25, -50, -75, -100)},
    "mixing": ("stmg/Mixing-v0", {}),
    "escape": ("stmg/Escape-v0", {}),
    "maintain": ("stmg/Maintain-v0", {}),
}

#: Named lists of games: ``paper`` (the papers' 2-agent games), ``nagent`` (generated 3-, 4- and 5-agent games)
#: and ``nagent-robust`` (``nagent`` with ``robust-sum`` for ``general-sum``: the same 3- and 4-agent games, 5-agent
#: general-sum games whose SE does not hinge on a payoff gap under 0.5; ``nagent``'s hinge on 0.13 and 0.01).
SUITES: dict[str, tuple[str, ...]] = {
    "paper": tuple(GAMES),
    "nagent": tuple(
        f"{kind}:{n}:{seed}" for n in (3, 4, 5) for seed in (0, 1) for kind in ("team-trap", "general-sum")
    ),
    "nagent-robust": tuple(
        f"{kind}:{n}:{seed}" for n in (3, 4, 5) for seed in (0, 1) for kind in ("team-trap", "robust-sum")
    ),
}


class GameTable(NamedTuple):
    """A matrix task's payoff tensor and its agents, read from the task itself (:func:`game_table`).

    Attributes:
        payoffs: ``(N, A_1, ..., A_N)`` float64 payoffs, ``payoffs[i]`` agent ``i``'s.
        agents: The task's ``possible_agents``, in the order of the payoff axes.
    """

    payoffs: np.ndarray
    agents: list[str]


def game_table(task_id: str, task_kwargs: Mapping[str, Any] | None = None) -> GameTable:
    """The payoffs and agents of a registered matrix task, from one parallel env of it.

    Example:
        >>> table = game_table("stmg/Penalty-v0", {"k": -100.0})
        >>> table.agents, table.payoffs.shape
        (['agent_0', 'agent_1'], (2, 3, 3))
    """
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)

    env = pettingzoo.make("parallel", task_id, **dict(task_kwargs or {}))
    return GameTable(np.asarray(env.payoffs, dtype=np.float64), list(env.possible_agents))


def game_spec(game: str) -> tuple[str, dict[str, Any]]:
    """``(task ID, arguments)`` of a game label: a key of :data:`GAMES` or a generated game's name.

    Raises:
        ValueError: a label that is neither (the message lists what is accepted).
    """
    if game in GAMES:
        task_id, kwargs = GAMES[game]
        return task_id, dict(kwargs)
    from stmg_envs.matrix.generators import generate

    try:
        generated = generate(game)
    except ValueError as exc:
        raise ValueError(
            f"unknown game {game!r}: expected one of {list(GAMES)}, a suite of {list(SUITES)}, or a generated game "
            f"'<generator>:<players>:<seed>' ({exc})"
        ) from None
    return "stmg/Matrix-v0", {"payoffs": generated.payoffs.tolist()}


def expand_games(games: Sequence[str]) -> tuple[str, ...]:
    """``games`` with each suite name replaced by its games, duplicates dropped, every label checked.

    Raises:
        ValueError: an unknown label (see :func:`game_spec`).
    """
    expanded = tuple(dict.fromkeys(g for name in games for g in SUITES.get(name, (name,))))
    for game in expanded:
        game_spec(game)
    return expanded


#: Named priority orders (:data:`stmg_envs.wrappers.priority_order.ORDER_NAMES`: the STMG's own vocabulary); any
#: other order is agent names joined by ``+`` on the command line and by ``,`` in a trial's order label
#: (``agent_1,agent_0``, as records and reports list it). ``"random"`` draws a new order each episode (training
#: only: such a policy is evaluated under every order).
ORDERS = ORDER_NAMES


def every_order(possible_agents: Sequence[str]) -> list[str]:
    """Every priority order of the agents, as comma-separated names (what a ``"random"`` policy is evaluated under)."""
    return [",".join(p) for p in itertools.permutations(possible_agents)]


def order_indices(order: str, possible_agents: Sequence[str]) -> tuple[int, ...]:
    """The order label ``"possible_agents"``, ``"reversed"`` or ``"agent_1,agent_0"`` as player indices, read by the
    STMG's parser (:func:`stmg_envs.wrappers.priority_order.parse_order`; a label's ``,`` is the command line's ``+``).

    Raises:
        ValueError: an unknown name, ``"random"`` (no fixed order), or agents that are not a permutation of the agents.
    """
    agents = list(possible_agents)
    if order == "random":
        raise ValueError(
            "the order 'random' has no fixed order to label under; label under every_order(agents) instead."
        )
    ranked = parse_order(order.replace(",", "+"), agents, "--orders")
    return tuple(agents.index(agent) for agent in ranked)


def make_env_factory(
    form: str,
    task_id: str,
    task_kwargs: Mapping[str, Any],
    order: str = "possible_agents",
    agent_indicator: bool = False,
) -> Callable[[], Any]:
    """``make_env`` for an algorithm of ``form``: the STMG in ``order``, or the simultaneous game.

    With ``agent_indicator``, the game's observations carry which agent observes them
    (SuperSuit's ``agent_indicator_v0`` on the simultaneous game, under the STMG for the
    sequential form): in a matrix game every agent otherwise sees the same constant, so a
    sequential policy tells the agents apart only by their rank, which a random order reshuffles.
    """
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)

    kwargs = dict(task_kwargs)

    def game() -> Any:
        parallel = pettingzoo.make("parallel", task_id, **kwargs)
        if not agent_indicator:
            return parallel
        import supersuit

        return supersuit.agent_indicator_v0(parallel)

    if form == "simultaneous":
        return game
    stmg_order: str | list[str] | None = None  # None: the STMG's default, possible_agents
    if order == "random":
        stmg_order = "random"
    elif order != "possible_agents":
        agents = pettingzoo.make("parallel", task_id, **kwargs).possible_agents
        stmg_order = [agents[i] for i in order_indices(order, agents)]
    if agent_indicator:
        from stmg_envs.wrappers import stmg_v0

        return lambda: stmg_v0(game(), order=stmg_order)
    aec_kwargs = kwargs if stmg_order is None else {**kwargs, "order": stmg_order}
    return lambda: pettingzoo.make("aec", task_id, **aec_kwargs)


class Context(NamedTuple):
    """One context of the first time step of an STMG: who moves, after which actions, and what it sees."""

    #: The actions of the agents ranked above the mover this step, in priority order (``()`` for the leader).
    history: tuple[int, ...]
    #: The mover: the agent of rank ``len(history)``.
    agent: str
    #: Its observation in that context (it holds the actions in ``history``), as the STMG shows it.
    observation: Any


def walk_contexts(make_env: Callable[[], Any], seed: int = 0) -> Iterator[Context]:
    """Every context of the first time step of the STMG ``make_env()`` after ``reset(seed=seed)``, depth first.

    The leader's context comes first, then each of its actions' subtrees in action order, down to the last
    follower's contexts (``A**(N-1)`` of them): one :class:`Context` per node of the tree of the agents'
    actions within the step, ``sum_k A**k`` in all. Each context is reached by stepping one env: a context
    that extends the previous one by an action is one ``step``; any other is replayed from ``reset(seed=seed)``
    (a matrix game's reset is deterministic), so nothing is copied. Use each observation before asking for the
    next context: the env moves on.

    Examples:
        >>> import pettingzoo, stmg_envs
        >>> walk = walk_contexts(lambda: pettingzoo.make("aec", "stmg/Penalty-v0", k=0.0))
        >>> [(c.history, c.agent) for c in walk][:3]
        [((), 'agent_0'), ((0,), 'agent_1'), ((1,), 'agent_1')]
    """
    env = make_env()
    env.reset(seed=seed)
    order = list(env.order)
    n_actions = [int(env.action_space(agent).n) for agent in order]
    at: tuple[int, ...] = ()
    stack: list[tuple[int, ...]] = [()]
    while stack:
        history = stack.pop()
        if history != at:
            if history[:-1] == at:
                env.step(history[-1])
            else:
                env.reset(seed=seed)
                for action in history:
                    env.step(action)
            at = history
        agent = env.agent_selection
        yield Context(history, agent, env.observe(agent))
        if len(history) + 1 < len(order):
            stack.extend((*history, action) for action in reversed(range(n_actions[len(history)])))


def joint_policy(algorithm: Any, make_env: Callable[[], Any], seed: int) -> tuple[tuple[int, ...], np.ndarray | None]:
    """The greedy joint action (in ``possible_agents`` order) and, if available, the joint-action distribution.

    Both are read through the algorithm's form at the first state after ``reset(seed=seed)``; in the sequential
    form the distribution multiplies each agent's probabilities along every context of :func:`walk_contexts`. A
    centrally executed algorithm (:mod:`stmg_bench.contract`) gives both from every agent's observation at once
    (``act_joint``, ``joint_probabilities``): its distribution need not be a product of marginals. What the algorithm
    returns is checked (:func:`~stmg_bench.contract.checked_action` and friends): a bad value names the method.
    """
    env = make_env()
    agents = list(env.possible_agents)
    if algorithm.form == "simultaneous":
        observations, _ = env.reset(seed=seed)
        n_actions = tuple(int(env.action_space(a).n) for a in agents)
        if algorithm_execution(algorithm) == "centralized":
            chosen = algorithm.act_joint({a: observations[a] for a in agents})
            greedy = tuple(_checked_joint_action(algorithm, chosen, env, agents))
            if not has_joint_probabilities(algorithm):
                return greedy, None
            joint_probs = algorithm.joint_probabilities({a: observations[a] for a in agents})
            return greedy, checked_joint_probabilities(algorithm, joint_probs, n_actions)
        greedy = tuple(
            checked_action(algorithm, "act", a, algorithm.act(a, observations[a]), env.action_space(a)) for a in agents
        )
        if not has_probabilities(algorithm):
            return greedy, None
        joint = np.ones(())
        for a, n in zip(agents, n_actions):
            pi = checked_probabilities(algorithm, a, algorithm.action_probabilities(a, observations[a]), n)
            joint = np.multiply.outer(joint, pi)
        return greedy, joint
    env.reset(seed=seed)
    order = list(env.order)
    actions: dict[str, int] = {}
    for agent in order:  # one time step, every agent greedy on what the STMG shows it
        actions[agent] = checked_action(
            algorithm, "act", agent, algorithm.act(agent, env.observe(agent)), env.action_space(agent)
        )
        env.step(actions[agent])
    greedy = tuple(actions[a] for a in agents)
    if not has_probabilities(algorithm):
        return greedy, None
    n_actions_of = {a: int(env.action_space(a).n) for a in agents}
    reach: dict[tuple[int, ...], float] = {(): 1.0}  # P(history), history in rank order
    for context in walk_contexts(make_env, seed):
        n = n_actions_of[context.agent]
        pi = checked_probabilities(
            algorithm, context.agent, algorithm.action_probabilities(context.agent, context.observation), n
        )
        p = reach.pop(context.history)
        for action in range(n):
            child = (*context.history, action)
            reach[child] = p * float(pi[action])
    joint = np.zeros([n_actions_of[a] for a in agents])
    for history, p in reach.items():
        joint[tuple(history[order.index(a)] for a in agents)] = p
    return greedy, joint


def _checked_joint_action(algorithm: Any, chosen: Any, env: Any, agents: Sequence[str]) -> list[Any]:
    """``act_joint``'s answer as one checked action per agent, in ``agents`` order."""
    if not isinstance(chosen, Mapping) or sorted(map(str, chosen)) != sorted(map(str, agents)):
        got = sorted(chosen) if isinstance(chosen, Mapping) else type(chosen).__name__
        raise ContractError(
            f"{type(algorithm).__qualname__}.act_joint returned {got}; expected a dict with an action for each of {agents}."
        )
    return [checked_action(algorithm, "act_joint", a, chosen[a], env.action_space(a)) for a in agents]


def _marginals(joint: np.ndarray) -> list[list[float]]:
    axes = tuple(range(joint.ndim))
    return [joint.sum(axis=tuple(a for a in axes if a != i)).tolist() for i in axes]


def matrix_trial(
    algorithm: dict[str, Any],
    task_id: str,
    task_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    steps: int = 10_000,
    curve_points: int = 20,
    hyperparameters: Mapping[str, Any] | None = None,
    order: str = "possible_agents",
    label_orders: Sequence[str] | None = None,
    agent_indicator: bool = False,
) -> dict[str, Any]:
    """Train one algorithm with one seed on a matrix game and describe the result (a sweep trial function).

    Args:
        algorithm: :meth:`ResolvedAlgorithm.to_json` of the algorithm.
        task_id: A registered matrix-game ID, e.g. ``"stmg/Penalty-v0"``.
        task_kwargs: Its arguments, e.g. ``{"k": -50}``.
        seed: Seed of the run.
        steps: Joint (temporal) environment steps of training.
        curve_points: About how many read-outs of the policy to record during training (0: none).
        hyperparameters: Keyword arguments of the algorithm.
        order: The priority order of the STMG (sequential form): ``"possible_agents"``, ``"reversed"``,
            ``"agent_1,agent_0"`` or ``"random"`` (drawn each episode). A simultaneous-form algorithm does not see it.
        label_orders: The orders to label the outcome under (default: ``[order]``, or every order for
            ``"random"``). A simultaneous-form algorithm is trained once and labelled under each, since its
            training does not depend on it; a ``"random"``-order policy is evaluated in the STMG of each.
        agent_indicator: Observations carry which agent observes them (:func:`make_env_factory`).

    Returns:
        A JSON-serialisable dict: ``algo`` (the algorithm's name), ``form``, ``order``, ``agents``,
        ``greedy_joint_action``, ``label`` (``"SE"``, ``"NE"`` or ``"none"``), ``tag`` (e.g. ``"NE[1]"``),
        ``greedy_payoffs``, ``joint_probabilities``, ``marginals``, ``p_se`` and ``expected_payoffs``
        (``None`` without ``action_probabilities``), ``curve`` (``[[step, marginals or greedy], ...]``),
        ``train_s``, ``decisions_per_s`` and the arguments. ``label``, ``tag``, ``se_joint_action`` and ``p_se``
        are under the first of ``label_orders``; ``by_order`` holds them for each (with the greedy joint action,
        marginals and expected payoffs of each, where the evaluation differs by order).
    """
    import torch  # noqa: F401  (imported before single_threaded(), which then sets its thread count)

    from stmg_bench.sweep.execution import single_threaded
    from stmg_envs.equilibria import classify_outcome, stackelberg_equilibrium

    with single_threaded():  # the harness's one thread per trial, restored after (also when called directly)
        resolved = ResolvedAlgorithm.from_json(algorithm)
        task_kwargs = dict(task_kwargs or {})
        payoffs, agents = game_table(task_id, task_kwargs)
        label_orders = list(label_orders or (every_order(agents) if order == "random" else [order]))
        make_env = make_env_factory(resolved.form, task_id, task_kwargs, order, agent_indicator)
        # the policy is evaluated in the STMG it trained on, or, trained on random orders, in the STMG of each order
        eval_order = {o: (o if order == "random" else order) for o in label_orders}
        eval_env = make_env_factory(resolved.form, task_id, task_kwargs, eval_order[label_orders[0]], agent_indicator)
        factory = resolved.load()
        hp = dict(hyperparameters or {})
        if uses_order(factory):  # the run's priority order reaches an algorithm that declares it uses one
            hp["order"] = parse_order(order.replace(",", "+"), agents, "--orders")
        model = resolved.build(make_env, seed=seed, **hp)
        check_instance(model)
        every = max(1, steps // curve_points) if curve_points else 0
        curve: list[list[Any]] = []
        readout_s = [0.0]

        def on_update(num_timesteps: int) -> bool:
            if every and num_timesteps >= len(curve) * every:
                t0 = time.perf_counter()
                greedy, joint = joint_policy(model, eval_env, seed)
                curve.append([int(num_timesteps), _marginals(joint) if joint is not None else list(greedy)])
                readout_s[0] += time.perf_counter() - t0
            return True

        start = time.perf_counter()
        model.learn(steps, callback=on_update if every else None)
        train_s = time.perf_counter() - start - readout_s[0]
        done = int(getattr(model, "num_timesteps", steps))
        n = len(agents)
        evaluated = {}
        by_order = {}
        for label_order in label_orders:
            env_order = eval_order[label_order]
            if env_order not in evaluated:
                evaluated[env_order] = joint_policy(
                    model, make_env_factory(resolved.form, task_id, task_kwargs, env_order, agent_indicator), seed
                )
            greedy, joint = evaluated[env_order]
            idx = order_indices(label_order, agents)
            outcome = classify_outcome(payoffs, greedy, order=idx)
            se_action = stackelberg_equilibrium(payoffs, order=idx).joint_action
            by_order[label_order] = {
                "label": outcome.label,
                "tag": outcome.tag,
                "se_joint_action": list(se_action),
                "p_se": float(joint[se_action]) if joint is not None else None,
                "greedy_joint_action": list(greedy),
                "marginals": _marginals(joint) if joint is not None else None,
                "expected_payoffs": (payoffs * joint).reshape(n, -1).sum(axis=1).tolist()
                if joint is not None
                else None,
            }
        greedy, joint = evaluated[eval_order[label_orders[0]]]
        first = {k: by_order[label_orders[0]][k] for k in ("label", "tag", "se_joint_action", "p_se")}
        greedy_index: tuple[Any, ...] = (slice(None), *greedy)
        return {
            "algo": resolved.name,
            "form": resolved.form,
            "task_id": task_id,
            "task_kwargs": task_kwargs,
            "seed": seed,
            "order": order,
            "steps": done,
            "agents": agents,
            "greedy_joint_action": list(greedy),
            **first,
            "by_order": by_order,
            "greedy_payoffs": payoffs[greedy_index].tolist(),
            "joint_probabilities": joint.tolist() if joint is not None else None,
            "marginals": _marginals(joint) if joint is not None else None,
            "expected_payoffs": (payoffs * joint).reshape(n, -1).sum(axis=1).tolist() if joint is not None else None,
            "curve": curve,
            "train_s": train_s,
            "decisions_per_s": done * n / train_s if train_s > 0 else float("nan"),
        }


def plan_trials(
    games: Sequence[str],
    algorithms: Sequence[ResolvedAlgorithm],
    hyperparameters: Mapping[str, Mapping[str, Any]],
    seeds: int,
    steps: int,
    curve_points: int,
    orders: Sequence[str] = ("possible_agents",),
    agent_indicator: bool = False,
    seed_start: int = 0,
) -> list[Any]:
    """The sweep's trials: every game x algorithm x order x seed, the seeds ``seed_start .. seed_start + seeds - 1``.

    A simultaneous-form algorithm does not see the order: it is trained once per
    (game, seed) and its outcome is labelled under every order (``by_order`` in its record);
    ``"random"`` stands for every order there. A sequential-form one trains once per order;
    trained on ``"random"`` orders it is evaluated and labelled under every order. So does a
    simultaneous-form one that declares ``uses_order`` (:mod:`stmg_bench.contract`): the order
    reaches its constructor (HAPPO's update order, MAT's decoding order). Trials come
    seed-major (every game and algorithm of seed 0, then of seed 1...), so a sweep stopped
    early has about as many seeds of each. With ``agent_indicator`` every trial's observations
    carry the agent's identity (:func:`make_env_factory`; ``_id`` in their keys, before the seed).
    """
    from stmg_bench.provenance import fingerprint
    from stmg_bench.sweep import Trial

    trials = []
    specs = {game: game_spec(game) for game in games}
    agents_of = {game: _agents(specs[game]) for game in games}
    seed_range = range(seed_start, seed_start + seeds)
    ordered = {algo.name: algo.form == "sequential" or uses_order(algo.load()) for algo in algorithms}
    for seed, game, algo in itertools.product(seed_range, games, algorithms):  # seed-major: any prefix is balanced
        task_id, kwargs = specs[game]
        hp = dict(hyperparameters.get(algo.name, {}))
        labels = [o for order in orders for o in (every_order(agents_of[game]) if order == "random" else [order])]
        labels = list(dict.fromkeys(labels))
        # (training order, orders it is labelled under): the order reaches sequential-form algorithms and those
        # that declare they use one
        if ordered[algo.name]:
            plan = [(o, every_order(agents_of[game]) if o == "random" else [o]) for o in orders]
        else:
            plan = [("possible_agents", labels)]
        for order, label_orders in plan:
            suffix = ("" if order == "possible_agents" else f"_o{safe_key(order)}") + ("_id" if agent_indicator else "")
            trials.append(
                Trial(
                    key=f"{safe_key(algo.name)}_{game.replace(':', '')}{suffix}_s{seed}",
                    fn="stmg_bench.suites.matrix:matrix_trial",
                    kwargs={
                        "algorithm": algo.to_json(),
                        "task_id": task_id,
                        "task_kwargs": kwargs,
                        "seed": seed,
                        "steps": steps,
                        "curve_points": curve_points,
                        "hyperparameters": hp,
                        "order": order,
                        "label_orders": list(label_orders),
                        **({"agent_indicator": True} if agent_indicator else {}),
                    },
                    fingerprint=fingerprint(algo, hp, __name__),
                )
            )
    return trials


def _agents(game: tuple[str, dict[str, Any]]) -> list[str]:
    return game_table(*game).agents


def safe_key(text: str) -> str:
    """``text`` with every character a record key cannot hold replaced by ``-``."""
    return "".join(c if c.isalnum() or c in "._=+-" else "-" for c in text)
