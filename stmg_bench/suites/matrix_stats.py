"""The matrix study's statistics: the games' solved tables, the summary of trial records, intervals and targets.

:func:`summarise` turns the matrix suite's trial records into per-trial rows (the CSV) and aggregates per
(game, algorithm, order); :func:`wilson_interval` is the interval every share of the report carries;
:data:`TARGETS` and :func:`targets` are the suite's targets. Nothing here imports the trials' module's callers:
:mod:`stmg_bench.suites.matrix` (whose source is part of the trial fingerprint) does not import this module.

Examples:
    >>> wilson_interval(95, 100)
    (0.888..., 0.978...)
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from stmg_bench.registry import registered
from stmg_bench.suites.matrix import GAMES, game_spec, game_table, order_indices

__all__ = [
    "game_of",
    "game_margin",
    "game_payoffs",
    "order_label",
    "summarise",
    "TrialRow",
    "RowStats",
    "Stats",
    "RANDOM_POOLED",
    "LISTED_RANDOM_ORDERS",
    "wilson_interval",
    "seed_power_lines",
    "STEP_TARGETS",
    "TARGET_SETS",
    "TARGETS",
    "THROUGHPUT_TARGETS",
    "THROUGHPUT_TARGET_SETS",
    "targets",
]


@functools.cache
def _spec_key(game: str) -> str:
    """``game_spec(game)`` as canonical JSON, built once per label (a generated game is solved when built)."""
    return json.dumps(list(game_spec(game)), sort_keys=True)


@functools.cache
def _game_table(game: str) -> Any:
    """:func:`game_table` of a game label, built once per label."""
    return game_table(*game_spec(game))


def game_payoffs(game: str) -> np.ndarray:
    """The payoff tensor of a game label (built once per label), players on the first axis."""
    return _game_table(game).payoffs


@functools.cache
def _replies(game: str, order: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    """Backward-induction replies of a game under an order (solved once per pair)."""
    from stmg_bench.suites.replies import backward_induction_replies

    return backward_induction_replies(game_payoffs(game), order)


@functools.cache
def game_margin(game: str, order: tuple[int, ...]) -> Any:
    """The decisive margin of a game label under an order of agent indices (:func:`stmg_envs.equilibria.decisive_margin`;
    solved once per pair).

    Examples:
        >>> round(game_margin("general-sum:5:1", (0, 1, 2, 3, 4)).margin, 2)
        0.01
    """
    from stmg_envs.equilibria import decisive_margin

    return decisive_margin(game_payoffs(game), order)


def _joint_replies(game: str, joint: Any, label_order: str, agents: Sequence[str]) -> Any:
    from stmg_bench.suites.replies import joint_reply_errors

    order = order_indices(label_order, agents)
    return joint_reply_errors(game_payoffs(game), joint, order, replies=_replies(game, order))


def game_of(record: Mapping[str, Any], games: Sequence[str] = tuple(GAMES)) -> str:
    """The game label of a trial record, one of ``games``."""
    kw = record["kwargs"]
    key = json.dumps([kw["task_id"], kw["task_kwargs"]], sort_keys=True)
    for game in games:
        if _spec_key(game) == key:
            return game
    raise KeyError(f"no game of {list(games)} has task {kw['task_id']!r} with arguments {kw['task_kwargs']!r}")


def order_label(result: Mapping[str, Any], label_order: str, orders: Sequence[str] = ()) -> str:
    """The order a row of the report is listed under: ``label_order`` itself, or ``"random:<order>"`` for a
    policy trained on random orders and labelled under ``<order>`` (kept apart from a policy trained on that
    fixed order). A simultaneous-form policy, labelled under each order of a ``random`` run that the run does
    not also name, is listed under ``"random:<order>"`` too.

    Examples:
        >>> order_label({"order": "random", "form": "sequential"}, "agent_1,agent_0")
        'random:agent_1,agent_0'
        >>> order_label({"order": "possible_agents", "form": "sequential"}, "possible_agents")
        'possible_agents'
    """
    if result.get("order") == "random" or (
        result.get("form") == "simultaneous" and "," in label_order and label_order not in orders
    ):
        return f"random:{label_order}"
    return label_order


@dataclass(frozen=True, eq=False)
class TrialRow:
    """One trial labelled under one order: a row of the per-trial CSV (:meth:`csv_row`) and what the aggregates of
    :class:`RowStats` are computed from."""

    #: The game label (e.g. ``penalty:-50``, ``team-trap:3:0``).
    game: str
    #: The algorithm's name in results (a registered name or the class's ``name``).
    algo: str
    #: The order the row is listed under (:func:`order_label`).
    order: str
    seed: int
    #: Joint environment steps of training.
    steps: int
    #: The outcome's class: ``SE``, ``NE`` or ``none``.
    label: str
    #: The outcome with the equilibrium it is: ``SE``, ``NE[i]`` or ``none``.
    tag: str
    #: The greedy joint action after training, one action index per agent.
    greedy_joint_action: tuple[int, ...]
    #: The probability that the final policy plays the SE (``None`` without probabilities).
    p_se: float | None
    #: The agents of the game, in ``possible_agents`` order.
    agents: tuple[str, ...]
    #: Each agent's probability of each of its actions (``None`` without probabilities).
    marginals: Sequence[Sequence[float]] | None
    #: Each agent's expected payoff under the final policy (read only with ``marginals``).
    expected_payoffs: Sequence[float] | None
    #: The trial's :class:`~stmg_bench.suites.replies.JointReplies` on a fixed-order row, else ``None``.
    replies: Any
    #: The game's :func:`game_margin` under the row's order where ``replies`` is read, else ``None``.
    margin: Any
    #: Seconds of training.
    train_s: float
    #: Agent-decisions per second during training.
    decisions_per_s: float

    def csv_row(self) -> dict[str, Any]:
        """The row of the per-trial CSV: its columns in order (per-agent action probabilities and rewards only with
        probabilities)."""
        row: dict[str, Any] = {
            "game": self.game,
            "algo": self.algo,
            "order": self.order,
            "seed": self.seed,
            "steps": self.steps,
            "label": self.label,
            "tag": self.tag,
            "greedy_joint_action": " ".join(f"a{a + 1}" for a in self.greedy_joint_action),
            "p_se": None if self.p_se is None else round(self.p_se, 4),
            "wrong_replies": "" if self.replies is None else " ".join(map(str, self.replies.wrong)),
        }
        if self.marginals is not None:
            row.update(
                {
                    f"p_{agent}_a{j + 1}": round(p, 4)
                    for agent, m in zip(self.agents, self.marginals)
                    for j, p in enumerate(m)
                }
            )
            row.update({f"reward_{agent}": round(r, 4) for agent, r in zip(self.agents, self.expected_payoffs or ())})
        row.update({"train_s": round(self.train_s, 3), "decisions_per_s": round(self.decisions_per_s)})
        return row


@dataclass(frozen=True, eq=False)
class RowStats:
    """The aggregate of one row of the report: the trials of one (game, algorithm, order) (:func:`summarise`)."""

    #: Trials (a random-order policy's pooled row counts each trial once per order).
    n: int
    #: Share of trials at the SE, with its 95% Wilson interval (:func:`wilson_interval`).
    se: float
    se_low: float
    se_high: float
    #: Shares of trials at another pure Nash equilibrium and at neither.
    ne: float
    none: float
    #: Trials per outcome tag (``SE``, ``NE[i]``, ``none``).
    tags: Mapping[str, int]
    #: The game's agents.
    agents: Sequence[str]
    #: Mean over trials of each agent's action probabilities (``None`` unless every trial has probabilities).
    marginals: np.ndarray | None
    #: Mean over trials of each agent's expected payoff (``None`` unless every trial has probabilities).
    rewards: np.ndarray | None
    #: P(SE) of each trial, sorted (``None`` unless every trial has probabilities).
    p_se: list[float] | None
    #: The seeds not at the SE (under some order, for a pooled row).
    failing_seeds: list[int]
    #: Each trial's :class:`~stmg_bench.suites.replies.JointReplies` (``None`` unless every trial has them).
    replies: list[Any] | None
    #: The game's :func:`game_margin` under the row's order (``None`` where replies are not read).
    margin: Any
    #: Mean agent-decisions per second during training.
    dps: float
    #: Seconds of training, summed over the trials.
    train_s: float
    #: A pooled random-order row (:data:`RANDOM_POOLED`): the SE share under each order; else ``None``.
    per_order_se: Mapping[str, float] | None = None

    @classmethod
    def of(cls, results: Sequence[TrialRow]) -> RowStats:
        """The aggregate of ``results`` (at least one)."""
        labels = Counter(r.label for r in results)
        n = len(results)
        with_p = [r for r in results if r.marginals is not None]
        every = len(with_p) == n  # the probabilities' aggregates only when every trial has them
        marginals = [r.marginals for r in with_p if r.marginals is not None]
        payoffs = [r.expected_payoffs for r in with_p if r.expected_payoffs is not None]
        low, high = wilson_interval(labels["SE"], n)
        replies = [r.replies for r in results]
        return cls(
            n=n,
            se=labels["SE"] / n,
            se_low=low,
            se_high=high,
            ne=labels["NE"] / n,
            none=labels["none"] / n,
            tags=dict(Counter(r.tag for r in results)),
            agents=results[0].agents,
            marginals=np.mean(marginals, axis=0) if every else None,
            rewards=np.mean(payoffs, axis=0) if every else None,
            p_se=sorted(r.p_se for r in with_p if r.p_se is not None) if every else None,
            failing_seeds=sorted({r.seed for r in results if r.label != "SE"}),
            replies=replies if all(r is not None for r in replies) else None,
            margin=results[0].margin,
            dps=float(np.mean([r.decisions_per_s for r in results])),
            train_s=float(np.sum([r.train_s for r in results])),
        )


#: The statistics of a run: one :class:`RowStats` per (game, algorithm name, order).
Stats = Mapping[tuple[str, str, str], RowStats]


def summarise(
    records: Sequence[Mapping[str, Any]], games: Sequence[str] = tuple(GAMES), orders: Sequence[str] = ()
) -> tuple[list[TrialRow], dict[tuple[str, str, str], RowStats]]:
    """Per-trial rows (:class:`TrialRow`, each trial once per order it is labelled under) and their aggregates
    (:class:`RowStats`) per (game, algorithm name, order; see :func:`order_label`).

    ``orders``: the run's orders (as :meth:`Args.order_names` gives them).

    A policy trained on ``random`` orders is also pooled over the orders it is labelled under, as
    ``(game, algo, RANDOM_POOLED)`` (``n`` and ``train_s`` count each trial once per order; ``failing_seeds``: the
    seeds not at the SE under some order), with ``per_order_se``.
    """
    rows = []
    groups: dict[tuple[str, str, str], list[TrialRow]] = defaultdict(list)
    for record in records:
        game = game_of(record, games)
        for label_order, labelled in record["result"]["by_order"].items():
            listed = order_label(record["result"], label_order, orders)
            res = {**record["result"], **labelled}
            joint = record["result"].get("joint_probabilities")
            # a fixed-order row: the record's joint distribution is the one played under this order
            replies = (
                _joint_replies(game, joint, label_order, res["agents"])
                if joint is not None and not listed.startswith("random:")
                else None
            )
            row = TrialRow(
                game=game,
                algo=res["algo"],
                order=listed,
                seed=res["seed"],
                steps=res["steps"],
                label=res["label"],
                tag=res["tag"],
                greedy_joint_action=tuple(res["greedy_joint_action"]),
                p_se=res["p_se"],
                agents=tuple(res["agents"]),
                marginals=res["marginals"],
                expected_payoffs=res["expected_payoffs"] if res["marginals"] is not None else None,
                replies=replies,
                margin=game_margin(game, order_indices(label_order, res["agents"])) if replies is not None else None,
                train_s=res["train_s"],
                decisions_per_s=res["decisions_per_s"],
            )
            groups[(game, row.algo, listed)].append(row)
            rows.append(row)
    per_order: dict[tuple[str, str], list[str]] = defaultdict(list)
    for game, algo, listed in list(groups):
        if listed.startswith("random:"):
            per_order[(game, algo)].append(listed)
    for (game, algo), labelled_orders in per_order.items():
        groups[(game, algo, RANDOM_POOLED)] = [r for listed in labelled_orders for r in groups[(game, algo, listed)]]
    stats = {key: RowStats.of(results) for key, results in groups.items()}
    for (game, algo), labelled_orders in per_order.items():  # each order's SE share, next to the pooled one
        pooled = (game, algo, RANDOM_POOLED)
        stats[pooled] = dataclasses.replace(
            stats[pooled],
            per_order_se={
                listed.removeprefix("random:"): stats[(game, algo, listed)].se for listed in sorted(labelled_orders)
            },
        )
    return rows, stats


#: The key under which :func:`summarise` pools a random-order policy's outcomes over every order it is labelled
#: under (one trial counts once per order); its stats add ``per_order_se``, the SE share under each order.
RANDOM_POOLED = "random:every order"
#: Up to this many orders a random-order policy's report lists one row per order; beyond it (3 or more agents:
#: 6, 24, 120 orders), one pooled row and a per-order summary (every order is in the CSV).
LISTED_RANDOM_ORDERS = 2


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of a binomial proportion ``successes / n``."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def seed_power_lines(seeds: int, shares: Sequence[float] = ()) -> list[str]:
    """What the 95% Wilson interval of a row of ``seeds`` trials can and cannot show, in words, for the report.

    ``shares``: the targets (minimum SE shares) that apply to the run's rows. Every number comes from
    :func:`wilson_interval`.

    Examples:
        >>> print(seed_power_lines(10, [0.99])[0])  # doctest: +NORMALIZE_WHITESPACE
        **What 10 seeds can show.** With 10 trials per row a 100% SE rate has a 95% interval of [72%-100%]: it cannot
        show a rate above 72%, and 0% has [0%-28%]. Two rows are shown to differ only where their intervals do not
        overlap, e.g. 10 of 10 against 4 of 10 or fewer; closer rates are not told apart. A target is shown only when
        the interval's lower end reaches it, which takes all seeds at the SE and at least 381 of them for >= 99%;
        "met" under Targets compares the rate itself with the target.
    """
    all_low = wilson_interval(seeds, seeds)[0]
    none_high = wilson_interval(0, seeds)[1]
    apart = [k for k in range(seeds + 1) if wilson_interval(k, seeds)[1] < all_low]
    seeds_text, trials_text = (f"{seeds} seeds", f"{seeds} trials") if seeds != 1 else ("1 seed", "1 trial")
    text = (
        f"**What {seeds_text} can show.** With {trials_text} per row a 100% SE rate has a 95% interval of "
        f"[{all_low:.0%}-100%]: it cannot show a rate above {all_low:.0%}, and 0% has [0%-{none_high:.0%}]. "
    )
    if apart:
        text += (
            f"Two rows are shown to differ only where their intervals do not overlap, e.g. {seeds} of {seeds} against "
            f"{max(apart)} of {seeds} or fewer; closer rates are not told apart."
        )
    else:
        text += (
            f"No two rows can be told apart: even {seeds} of {seeds} against 0 of {seeds} have overlapping intervals."
        )
    if shares:
        needed = []
        for share in sorted(set(shares), reverse=True):
            n = 1
            while wilson_interval(n, n)[0] < share:
                n += 1
            needed.append(f"{n} of them for >= {share:.0%}")
        text += (
            " A target is shown only when the interval's lower end reaches it, which takes all seeds at the SE and at "
            f'least {", ".join(needed)}; "met" under Targets compares the rate itself with the target.'
        )
    return [text]


def _target_shares(keys: Sequence[tuple[str, str, str]]) -> list[float]:
    """The minimum SE shares of :data:`TARGETS` that apply to the rows ``keys`` (as :func:`targets` applies them)."""
    return [
        share
        for game, algo, order in keys
        if order == "possible_agents"
        for prefix, share in TARGETS.get(algo, ())
        if game.startswith(prefix)
    ]


#: The reference agent's targets: (game prefix, minimum SE share). The paper's 2-agent games: >= 99%; the
#: generated games of the nagent suite (and of nagent-robust): >= 95% with 3 agents, >= 90% with 4 and 5.
STEP_TARGETS: tuple[tuple[str, float], ...] = (
    ("penalty", 0.99),
    ("mixing", 0.99),
    *(
        (f"{kind}:{n}:", 0.95 if n == 3 else 0.90)
        for kind in ("team-trap", "general-sum", "robust-sum")
        for n in (3, 4, 5)
    ),
)
#: The suite's targets as data: a set of targets per algorithm class, keyed by its registry target
#: (``module:Class``, :attr:`stmg_bench.registry.RegistryEntry.target`). Every registered name built on that class,
#: the class itself and each of its variants (a variant's levers are part of the algorithm), is held to its set.
TARGET_SETS: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {"stmg_agents.step.algorithm:STEP": STEP_TARGETS}
)
#: Targets by algorithm name in results, read from :data:`TARGET_SETS` and the registry's entries (STEP and each of
#: its registered variants).
TARGETS: dict[str, tuple[tuple[str, float], ...]] = {
    name: TARGET_SETS[entry.target] for name, entry in registered().items() if entry.target in TARGET_SETS
}
#: The suite's throughput targets as data, keyed like :data:`TARGET_SETS` by the algorithm's class: (the baseline's
#: class, minimum ratio of their training throughput, agent-decisions/s during learn, averaged over the games both
#: ran on). STEP (each of its variants) runs at >= 0.7x IPPO's speed.
THROUGHPUT_TARGET_SETS: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {"stmg_agents.step.algorithm:STEP": (("stmg_agents.baselines.ippo:IPPO", 0.7),)}
)
#: Throughput targets by algorithm name in results, read from :data:`THROUGHPUT_TARGET_SETS` and the registry:
#: (algorithm, baseline, minimum ratio) for every registered name built on the class, against the baseline class's
#: plain entry (the one without overrides).
THROUGHPUT_TARGETS: tuple[tuple[str, str, float], ...] = tuple(
    (name, baseline, minimum)
    for name, entry in registered().items()
    if entry.target in THROUGHPUT_TARGET_SETS
    for baseline_target, minimum in THROUGHPUT_TARGET_SETS[entry.target]
    for baseline, baseline_entry in registered().items()
    if baseline_entry.target == baseline_target and not baseline_entry.overrides
)


def targets(stats: Stats, games: Sequence[str]) -> list[tuple[str, bool, str]]:
    """(what, met, measured) for each target of :data:`TARGETS` that the run covers, and STEP's throughput."""
    out = []
    for (game, algo, order), s in sorted(stats.items(), key=lambda kv: (list(games).index(kv[0][0]), kv[0][1:])):
        for prefix, share in TARGETS.get(algo, ()):
            if game.startswith(prefix) and order == "possible_agents":
                out.append(
                    (
                        f"{algo} reaches the SE in >= {share:.0%} of trials on {game}",
                        s.se >= share,
                        f"{s.se:.0%} [95% CI {s.se_low:.0%}-{s.se_high:.0%}]",
                    )
                )
    for algo, baseline, minimum in THROUGHPUT_TARGETS:
        keys = [((g, algo, "possible_agents"), (g, baseline, "possible_agents")) for g in games]
        pairs = [(stats[a].dps, stats[b].dps) for a, b in keys if a in stats and b in stats]
        if pairs:
            ratio = float(np.mean([s for s, _ in pairs]) / np.mean([i for _, i in pairs]))
            out.append(
                (
                    f"{algo} training throughput >= {minimum:g}x {baseline}'s (agent-decisions/s during learn)",
                    ratio >= minimum,
                    f"{ratio:.2f}x",
                )
            )
    return out
