"""The matrix study: arguments, summary and report around the matrix suite's trials, for any algorithms and orders.

:func:`run` resolves the algorithms of :class:`Args`, plans the trials
(:func:`stmg_bench.suites.matrix.plan_trials`), runs the sweep, and writes the CSV,
the Markdown report (outcome shares with 95% Wilson intervals, the distribution of
P(SE) over seeds, the failing seeds, targets, time) and the plots.
``benchmarks/matrix_games.py`` and ``stmg-bench matrix`` are this, with the command
line derived from :class:`Args`.

Examples:
    >>> wilson_interval(95, 100)
    (0.888..., 0.978...)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import platform
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from stmg_bench import selection
from stmg_bench.contract import form_label
from stmg_bench.registry import ResolvedAlgorithm
from stmg_bench.suites.matrix import (
    GAMES,
    ORDERS,
    SUITES,
    expand_games,
    game_spec,
    game_table,
    make_env_factory,
    order_indices,
    plan_trials,
)
from stmg_bench.sweep import SweepOptions, TrialsFailedError, run_sweep, sweep_kwargs
from stmg_bench.sweep.reporting import default_workers, provenance_lines, refuse_overwrite, sweep_span_s, write_csv

__all__ = [
    "Args",
    "MATRIX_PRESETS",
    "MatrixPreset",
    "run",
    "resolve_algorithms",
    "game_of",
    "game_margin",
    "game_payoffs",
    "summarise",
    "RANDOM_POOLED",
    "wilson_interval",
    "seed_power_lines",
    "targets",
    "write_markdown",
    "listed_orders",
    "plot",
    "plot_orders",
    "compare_lines",
    "reply_lines",
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


def summarise(
    records: Sequence[Mapping[str, Any]], games: Sequence[str] = tuple(GAMES), orders: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], dict[str, Any]]]:
    """Per-trial rows and aggregates per (game, algorithm name, order; see :func:`order_label`).

    ``orders``: the run's orders (as :meth:`Args.order_names` gives them).

    Aggregates: ``n``, shares ``se``/``ne``/``none``, ``tags``, the 95% Wilson interval of the SE share
    (``se_low``, ``se_high``), mean ``marginals``/``rewards`` (``None`` without probabilities), the
    distribution of P(SE) over seeds (``p_se``: sorted list), ``replies`` (each trial's
    :class:`~stmg_bench.suites.replies.JointReplies` on a fixed-order row, else ``None``), ``dps`` and ``train_s``. A policy trained on
    ``random`` orders is also pooled over the orders it is labelled under, as ``(game, algo, RANDOM_POOLED)``
    (``n`` and ``train_s`` count each trial once per order; ``failing_seeds``: the seeds not at the SE under some
    order), with ``per_order_se``.
    """
    rows = []
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        game = game_of(record, games)
        for label_order, labelled in record["result"]["by_order"].items():
            listed = order_label(record["result"], label_order, orders)
            res = {**record["result"], **labelled, "order": listed}
            joint = record["result"].get("joint_probabilities")
            # a fixed-order row: the record's joint distribution is the one played under this order
            res["replies"] = (
                _joint_replies(game, joint, label_order, res["agents"])
                if joint is not None and not listed.startswith("random:")
                else None
            )
            res["margin"] = (
                game_margin(game, order_indices(label_order, res["agents"])) if res["replies"] is not None else None
            )
            groups[(game, res["algo"], listed)].append(res)
            row = {
                "game": game,
                "algo": res["algo"],
                "order": listed,
                "seed": res["seed"],
                "steps": res["steps"],
                "label": res["label"],
                "tag": res["tag"],
                "greedy_joint_action": " ".join(f"a{a + 1}" for a in res["greedy_joint_action"]),
                "p_se": None if res["p_se"] is None else round(res["p_se"], 4),
                "wrong_replies": "" if res["replies"] is None else " ".join(map(str, res["replies"].wrong)),
            }
            if res["marginals"] is not None:
                row.update(
                    {
                        f"p_{agent}_a{j + 1}": round(p, 4)
                        for agent, m in zip(res["agents"], res["marginals"])
                        for j, p in enumerate(m)
                    }
                )
                row.update({f"reward_{agent}": round(r, 4) for agent, r in zip(res["agents"], res["expected_payoffs"])})
            row.update({"train_s": round(res["train_s"], 3), "decisions_per_s": round(res["decisions_per_s"])})
            rows.append(row)
    per_order: dict[tuple[str, str], list[str]] = defaultdict(list)
    for game, algo, listed in list(groups):
        if listed.startswith("random:"):
            per_order[(game, algo)].append(listed)
    for (game, algo), labelled_orders in per_order.items():
        groups[(game, algo, RANDOM_POOLED)] = [r for listed in labelled_orders for r in groups[(game, algo, listed)]]
    stats = {}
    for key, results in groups.items():
        labels = Counter(r["label"] for r in results)
        n = len(results)
        with_p = [r for r in results if r["marginals"] is not None]
        low, high = wilson_interval(labels["SE"], n)
        stats[key] = {
            "n": n,
            "se": labels["SE"] / n,
            "se_low": low,
            "se_high": high,
            "ne": labels["NE"] / n,
            "none": labels["none"] / n,
            "tags": dict(Counter(r["tag"] for r in results)),
            "agents": results[0]["agents"],
            "marginals": np.mean([r["marginals"] for r in with_p], axis=0) if len(with_p) == n else None,
            "rewards": np.mean([r["expected_payoffs"] for r in with_p], axis=0) if len(with_p) == n else None,
            "p_se": sorted(r["p_se"] for r in with_p) if len(with_p) == n else None,
            "failing_seeds": sorted({r["seed"] for r in results if r["label"] != "SE"}),
            "replies": [r["replies"] for r in results] if all(r["replies"] is not None for r in results) else None,
            "margin": results[0].get("margin"),
            "dps": float(np.mean([r["decisions_per_s"] for r in results])),
            "train_s": float(np.sum([r["train_s"] for r in results])),
        }
    for (game, algo), labelled_orders in per_order.items():  # each order's SE share, next to the pooled one
        stats[(game, algo, RANDOM_POOLED)]["per_order_se"] = {
            listed.removeprefix("random:"): stats[(game, algo, listed)]["se"] for listed in sorted(labelled_orders)
        }
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
#: Targets by algorithm name in results: STEP and each of its named variants (its levers are part of STEP).
TARGETS: dict[str, tuple[tuple[str, float], ...]] = dict.fromkeys(
    ("step", "step-scaled", "step-beta0", "step-timescales", "step-backward", "step-explore"), STEP_TARGETS
)
#: Throughput targets by algorithm name in results: (algorithm, baseline, minimum ratio of their training throughput,
#: agent-decisions/s during learn, averaged over the games both ran on).
THROUGHPUT_TARGETS: tuple[tuple[str, str, float], ...] = (("step", "ippo", 0.7),)
#: Settings every algorithm gets (where its constructor takes them): they are not part of any method.
#: ``ent_coef`` and ``n_epochs`` only when given (``None``: each algorithm's own default).
SHARED_SETTINGS = ("n_envs", "gamma", "ent_coef", "n_epochs")


#: Named matrix presets of the shared settings ``--ent-coef`` and ``--n-epochs`` (``--preset NAME``), given to
#: every algorithm that takes them like the flags themselves. ``entropy``: an entropy bonus that fades linearly
#: from 0.6 to 0.05 over training and 20 passes over each rollout; with ``step-explore`` it is the one setting
#: the N-agent results use for every matrix game, at 10,000 steps x 2^(N-2) for N agents
#: (docs/benchmarks.md, "One setting for every matrix game").
@dataclass(frozen=True)
class MatrixPreset:
    """A named set of the shared settings ``--ent-coef`` (a number, or a linear schedule START,END) and
    ``--n-epochs``."""

    ent_coef: tuple[float, ...]
    n_epochs: int

    def flags(self) -> str:
        """The command-line flags it stands for.

        Examples:
            >>> MATRIX_PRESETS["entropy"].flags()
            '--ent-coef 0.6,0.05 --n-epochs 20'
        """
        return f"--ent-coef {_ent_coef_text(self.ent_coef)} --n-epochs {self.n_epochs}"


def _ent_coef_text(values: Sequence[float]) -> str:
    """``--ent-coef``'s value as the command line writes it: ``0.6,0.05``."""
    return ",".join(f"{v:g}" for v in values)


MATRIX_PRESETS: Mapping[str, MatrixPreset] = MappingProxyType({"entropy": MatrixPreset((0.6, 0.05), 20)})


def _parse_ent_coef(text: str) -> tuple[float, ...]:
    """``--ent-coef``: one number, or ``START,END`` (a linear schedule over training)."""
    try:
        values = tuple(float(item) for item in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 2) or not all(math.isfinite(v) and v >= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a number >= 0 or START,END (e.g. 0.6,0.05: a linear schedule over training), got {text!r}"
        )
    return values


@dataclass(frozen=True)
class Args(SweepOptions):
    """The matrix suite's settings; ``stmg-bench matrix --help`` and ``benchmarks/matrix_games.py --help`` list them."""

    games: tuple[str, ...] = field(
        default=tuple(GAMES),
        metadata={
            "help": f"games, from {list(GAMES)}, suites {list(SUITES)} (nagent: generated 3-5 agent games; nagent-robust: the same with robust-sum for general-sum), or generated "
            "games by name, e.g. team-trap:3:0 (stmg_envs.matrix.generators)"
        },
    )
    algos: tuple[str, ...] = field(
        default=("step", "mappo", "ippo"),
        metadata={
            "help": "algorithms: registered names (stmg-bench list) or package.module:Class / path/to/file.py:Class"
        },
    )
    hyperparams: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata={
            "help": "an algorithm's own hyperparameters, as NAME=JSON, e.g. step='{\"beta\": 0.5}' (NAME: its spec or its name)"
        },
    )
    orders: tuple[str, ...] = field(
        default=("possible_agents",),
        metadata={
            "help": "priority orders of the STMG: possible_agents, reversed, random (drawn each episode; evaluated under "
            "every order), or agents joined by '+' (agent_1+agent_0)"
        },
    )
    agent_indicator: bool = field(
        default=False,
        metadata={
            "help": "observations also say which agent observes them (SuperSuit's agent_indicator_v0 on the game, "
            "for every algorithm); without it a sequential policy tells matrix-game agents apart only by rank"
        },
    )
    seeds: int = field(default=100, metadata={"help": "trials per game, algorithm and order (the paper: 100)"})
    seed_start: int = field(
        default=0,
        metadata={
            "help": "the first seed: trials use seeds SEED_START .. SEED_START + SEEDS - 1 (e.g. 100 to score a setting "
            "on seeds other than those it was chosen on)"
        },
    )
    steps: int = field(
        default=10_000, metadata={"help": "joint environment steps of training per trial (the paper: 10,000)"}
    )
    curve_points: int = field(default=20, metadata={"help": "read-outs of the policy during training, for the curves"})
    n_envs: int = field(
        default=8,
        metadata={"help": "environment copies per rollout, for every algorithm that takes it (the authors: 4)"},
    )
    gamma: float = field(
        default=0.0, metadata={"help": "discount factor, for every algorithm that takes it (the authors: 0.99)"}
    )
    ent_coef: tuple[float, ...] | None = field(
        default=None,
        metadata={
            "help": "entropy bonus for every algorithm that takes it: a number, or START,END for one that moves "
            "linearly from START to END over training (none: each algorithm's own, 0.05 for the built-ins)",
            "type": _parse_ent_coef,
        },
    )
    n_epochs: int | None = field(
        default=None,
        metadata={
            "help": "passes over each rollout, for every algorithm that takes it (none: each algorithm's own, 5)"
        },
    )
    preset: str | None = field(
        default=None,
        metadata={
            "help": "a named set of --ent-coef and --n-epochs (stmg_bench.suites.matrix_study.MATRIX_PRESETS): "
            + "; ".join(f"{name}: {preset.flags()}" for name, preset in MATRIX_PRESETS.items()),
            "choices": sorted(MATRIX_PRESETS),
        },
    )
    compare_with: str | None = field(
        default=None,
        metadata={
            "help": "name of an earlier run in --out whose per-trial CSV to put side by side (SE rates and intervals)"
        },
    )
    name: str = field(default="matrix_games", metadata={"help": "base name of the results files"})
    out: Path = field(
        default=Path("runs"),
        metadata={"help": "results folder (benchmarks/matrix_games.py: benchmarks/results/ next to it)"},
    )

    def check(self) -> str | None:
        """A message for the first bad setting, or None (every order is checked against every game's agents).

        Examples:
            >>> Args(games=("mixing",), orders=("reverse",)).check()
            "--orders: expected an order: one of possible_agents, reversed, random, or the agents ['agent_0', \
'agent_1'] joined by '+' in priority order (e.g. agent_1+agent_0), got 'reverse' for game mixing: neither an \
order's name nor agents."
        """
        try:
            games = expand_games(self.games)
        except ValueError as exc:
            return str(exc)
        for flag, given in (("--games", self.games), ("--algos", self.algos), ("--orders", self.orders)):
            if not given:
                return f"expected {flag} to name at least one, got none"
        if problem := self._orders_problem(games):
            return problem
        if self.seeds < 1 or self.steps < 1 or self.curve_points < 0:
            return f"expected --seeds >= 1, --steps >= 1 and --curve-points >= 0, got {self.seeds}, {self.steps}, {self.curve_points}"
        if not 0 <= self.seed_start <= 2**32 - 1 - self.seeds:
            return f"expected 0 <= --seed-start <= 2**32 - 1 - --seeds, got --seed-start {self.seed_start}"
        if self.n_envs < 1 or not 0.0 <= self.gamma <= 1.0:
            return f"expected --n-envs >= 1 and 0 <= --gamma <= 1, got --n-envs {self.n_envs} and --gamma {self.gamma}"
        if self.n_epochs is not None and self.n_epochs < 1:
            return f"expected --n-epochs >= 1, got {self.n_epochs}"
        return self._preset_problem()

    def _orders_problem(self, games: Sequence[str]) -> str | None:
        """A message for an order of ``--orders`` that some game cannot be played in, or None."""
        from stmg_envs.wrappers.priority_order import InvalidOrderError, parse_order

        if len(set(self.order_names())) < len(self.orders):
            return f"expected distinct --orders, got {','.join(self.orders)}"
        for order in self.orders:
            if order in ORDERS:
                continue
            for game in games:
                agents = _game_table(game).agents
                try:
                    parse_order(order, agents, "--orders:")
                except InvalidOrderError as exc:
                    text = str(exc)
                    if f"got {order!r}" in text:  # name the game whose agents the order does not fit
                        text = text.replace(f"got {order!r}", f"got {order!r} for game {game}", 1)
                    return text
        return None

    def _preset_problem(self) -> str | None:
        """A message for an unknown ``--preset`` or one given next to the flags it sets, or None."""
        if self.preset is None:
            return None
        if self.preset not in MATRIX_PRESETS:
            return f"expected --preset from {sorted(MATRIX_PRESETS)}, got {self.preset!r}"
        if self.ent_coef is not None or self.n_epochs is not None:
            given = " and ".join(f for f, v in (("--ent-coef", self.ent_coef), ("--n-epochs", self.n_epochs)) if v)
            return (
                f"expected either --preset or --ent-coef/--n-epochs, got --preset {self.preset} with {given}: "
                "the preset sets both; drop the preset or the flags"
            )
        return None

    def with_preset(self) -> Args:
        """These settings with ``--preset`` written out as the ``--ent-coef`` and ``--n-epochs`` it stands for.

        Examples:
            >>> Args(preset="entropy").with_preset().shared_flags()
            ' --ent-coef 0.6,0.05 --n-epochs 20'
        """
        if self.preset is None:
            return self
        if (problem := self._preset_problem()) is not None:  # never drop a flag the preset would overwrite
            raise ValueError(problem)
        preset = MATRIX_PRESETS[self.preset]
        return dataclasses.replace(self, ent_coef=preset.ent_coef, n_epochs=preset.n_epochs, preset=None)

    def shared_settings(self) -> dict[str, Any]:
        """The :data:`SHARED_SETTINGS` that are set, ``--preset`` included (a one-number ``--ent-coef`` as a number, two
        as ``[start, end]``)."""
        args = self.with_preset()
        shared: dict[str, Any] = {k: getattr(args, k) for k in SHARED_SETTINGS if getattr(args, k) is not None}
        if "ent_coef" in shared:
            values = list(shared["ent_coef"])
            shared["ent_coef"] = values[0] if len(values) == 1 else values
        return shared

    def shared_flags(self) -> str:
        """``--ent-coef``/``--n-epochs`` as given on the command line or by ``--preset`` (empty when not given), for
        the report."""
        args = self.with_preset()
        flags = ""
        if args.ent_coef is not None:
            flags += f" --ent-coef {_ent_coef_text(args.ent_coef)}"
        if args.n_epochs is not None:
            flags += f" --n-epochs {args.n_epochs}"
        return flags

    def order_names(self) -> tuple[str, ...]:
        """The orders in the form :func:`order_indices` reads (``+`` becomes ``,``)."""
        return tuple(o.replace("+", ",") for o in self.orders)


def resolve_algorithms(args: Args) -> tuple[list[ResolvedAlgorithm], dict[str, dict[str, Any]]]:
    """Resolve ``--algos``: each gets the shared settings (:data:`SHARED_SETTINGS`) it takes, then its ``--hyperparams``.

    See :func:`stmg_bench.selection.resolve_algorithms` (and what it raises).
    """
    return selection.resolve_algorithms(args.algos, args.hyperparams, args.shared_settings())


def compare_lines(
    stats: Mapping[tuple[str, str, str], Mapping[str, Any]], reference_csv: Path, label: str
) -> list[str]:
    """SE rates of this run next to an earlier run's (its per-trial CSV), with the earlier 95% Wilson interval.

    The earlier CSV needs the columns ``game``, ``algo`` and ``label`` (``order`` where it has one; else
    ``possible_agents``). A rate outside the earlier interval is flagged.
    """
    import csv

    if not reference_csv.exists():
        return [f"## Against `{label}`", "", f"No file {reference_csv.name} in the results folder: nothing to compare."]
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    with open(reference_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row["game"], row["algo"], row.get("order") or "possible_agents")
            counts[key][0] += row["label"] == "SE"
            counts[key][1] += 1
    lines = [
        f"## Against `{label}`",
        "",
        f"SE rate of this run next to `{label}.md`'s, with that run's 95% Wilson interval; 'inside' = this run's "
        "rate lies in it.",
        "",
        f"| game | algo | order | {label}: SE (trials) [95% CI] | this run: SE (trials) | inside |",
        "|---|---|---|---|---|---|",
    ]
    inside_count = 0
    shared = [k for k in stats if k in counts]
    for key in shared:
        se, n = counts[key]
        low, high = wilson_interval(se, n)
        s = stats[key]
        inside = low <= s["se"] <= high
        inside_count += inside
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {se / n:.0%} ({n}) [{low:.0%}-{high:.0%}] | "
            f"{s['se']:.0%} ({s['n']}) | {'yes' if inside else '**no**'} |"
        )
    lines += ["", f"{inside_count} of {len(shared)} rates inside the earlier interval."]
    return lines


def targets(
    stats: Mapping[tuple[str, str, str], Mapping[str, Any]], games: Sequence[str]
) -> list[tuple[str, bool, str]]:
    """(what, met, measured) for each target of :data:`TARGETS` that the run covers, and STEP's throughput."""
    out = []
    for (game, algo, order), s in sorted(stats.items(), key=lambda kv: (list(games).index(kv[0][0]), kv[0][1:])):
        for prefix, share in TARGETS.get(algo, ()):
            if game.startswith(prefix) and order == "possible_agents":
                out.append(
                    (
                        f"{algo} reaches the SE in >= {share:.0%} of trials on {game}",
                        s["se"] >= share,
                        f"{s['se']:.0%} [95% CI {s['se_low']:.0%}-{s['se_high']:.0%}]",
                    )
                )
    for algo, baseline, minimum in THROUGHPUT_TARGETS:
        keys = [((g, algo, "possible_agents"), (g, baseline, "possible_agents")) for g in games]
        pairs = [(stats[a]["dps"], stats[b]["dps"]) for a, b in keys if a in stats and b in stats]
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


def listed_orders(
    stats: Mapping[tuple[str, str, str], Mapping[str, Any]], game: str, name: str, orders: Sequence[str]
) -> list[str]:
    """The orders the report lists for ``(game, name)``, in the run's order (``orders``: :meth:`Args.order_names`).

    A fixed order is listed as itself. ``random`` is listed order by order for up to :data:`LISTED_RANDOM_ORDERS`
    orders (two agents), else as the pooled row :data:`RANDOM_POOLED` alone.

    Examples:
        >>> stats = dict.fromkeys([("g", "a", "reversed"), ("g", "a", "random:x"), ("g", "a", "random:y"),
        ...                        ("g", "a", RANDOM_POOLED)], {})
        >>> listed_orders(stats, "g", "a", ("reversed", "random"))
        ['reversed', 'random:x', 'random:y']
    """
    listed: list[str] = []
    for order in orders:
        if order != "random":
            listed += [order] if (game, name, order) in stats else []
            continue
        each = sorted(
            key[2]
            for key in stats
            if key[:2] == (game, name) and key[2].startswith("random:") and key[2] != RANDOM_POOLED
        )
        if len(each) > LISTED_RANDOM_ORDERS:
            listed.append(RANDOM_POOLED)
        else:
            listed += each
    return list(dict.fromkeys(listed))


def _fmt_probs(m: Any) -> str:
    return " / ".join(f"{p:.2f}" for p in m)


def _probability_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The headers of the report's action-probability columns: one per agent of the game with the most agents among
    ``rows`` (the stats of the rows shown), named by its agents and actions, e.g. ``P(a1,a2,a3) agent_2``.

    Examples:
        >>> _probability_columns([{"agents": ["agent_0", "agent_1"], "marginals": [[0.5, 0.5]] * 2},
        ...                       {"agents": ["agent_0", "agent_1", "agent_2"], "marginals": None}])
        ['P(a1,a2) agent_0', 'P(a1,a2) agent_1', 'P(a1,a2) agent_2']
    """
    agents = max((list(r["agents"]) for r in rows), key=len, default=["agent_0", "agent_1"])
    n_actions = max((len(p) for r in rows if r["marginals"] is not None for p in r["marginals"]), default=3)
    actions = ",".join(f"a{j + 1}" for j in range(n_actions))
    return [f"P({actions}) {agent}" for agent in agents]


def reply_lines(
    stats: Mapping[tuple[str, str, str], Mapping[str, Any]], shown: Sequence[tuple[str, str, str]]
) -> list[str]:
    """The report's section on replies: per row, the seeds whose replies on the SE path are right, those with every
    reply right, and the mean over seeds of each rank's contexts with a wrong reply; opened by a plain summary.

    A reply is wrong when it pays less than the backward-induction reply of its context
    (:func:`~stmg_bench.suites.replies.joint_reply_errors`, the count of ``benchmarks/reply_errors.py``).
    Empty without fixed-order rows that have probabilities.
    """
    rows = [k for k in shown if stats[k]["replies"]]
    if not rows:
        return []
    lines = [
        "",
        "## Replies, rank by rank",
        "",
        "**How to read this.** A policy plays the SE when each rank answers the ranks above it as backward induction "
        "does on the SE path: the leader's SE action, the next rank's reply to it, and so on. *SE path right* counts "
        "the seeds where every one of those replies is right: read it first. The other columns also look at the "
        "situations off that path, which the SE never reaches: a wrong reply there does not change the outcome, so a "
        "policy can reach the SE in every seed and still have 0 seeds with *every reply right*. Off-path replies "
        "matter as what the ranks above learn against: a leader weighs each of its actions by the replies below it.",
        "",
        "Read from each trial's final joint-action probabilities: in how many contexts (the actions of the ranks above) "
        "a rank's greedy reply pays its agent less than the backward-induction reply, the ranks below playing theirs "
        "(`stmg_bench.suites.replies.joint_reply_errors`; a reply as good as the solver's is not wrong); mean over "
        "seeds, of the contexts there are. SE margin: the smallest payoff gap the SE depends on, the rank and "
        "context where it lies (`stmg_envs.equilibria.decisive_margin`: swapping that reply for the mover's "
        "next-best action changes the SE); a learner that estimates values from samples must resolve it.",
        "",
        "| game | algo | order | trials | SE path right (seeds) | every reply right (seeds) "
        "| wrong replies per rank (mean over seeds / contexts) | SE margin (rank: context) |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for key in rows:
        replies = stats[key]["replies"]
        wrong = np.mean([r.wrong for r in replies], axis=0)
        contexts = [c + u for c, u in zip(replies[0].contexts, replies[0].unread)]
        unread = sum(sum(r.unread) for r in replies)
        perfect = sum(not any(r.wrong) for r in replies)
        on_path = sum(r.right_on_path for r in replies)
        per_rank = ", ".join(f"{w:.1f}/{c}" for w, c in zip(wrong, contexts))
        note = f" ({unread} contexts unread: zero probability)" if unread else ""
        margin = stats[key].get("margin")
        if margin is None or margin.rank is None:
            margin_text = "-"
        else:
            margin_text = f"{margin.margin:.2f} ({margin.rank}: {' '.join(f'a{a + 1}' for a in margin.context) or '-'})"
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {len(replies)} | {on_path} of {len(replies)} | {perfect} of "
            f"{len(replies)} | {per_rank}{note} | {margin_text} |"
        )
    return lines


def write_markdown(
    path: Path,
    stats: Mapping[tuple[str, str, str], Mapping[str, Any]],
    args: Args,
    algorithms: Sequence[ResolvedAlgorithm],
    settings: Mapping[str, Mapping[str, Any]],
    records: Any,
    failures: Mapping[str, str] | None = None,
) -> str:
    """The results page: outcome shares with their 95% intervals, the P(SE) distribution, settings, targets, time."""
    names = [a.name for a in algorithms]
    probability_columns = _probability_columns(
        [
            stats[(game, name, order)]
            for game in args.games
            for name in names
            for order in listed_orders(stats, game, name, args.order_names())
        ]
    )
    lines = [
        f"# Matrix games: {' vs '.join(names)} ({args.name})",
        "",
        f"Written by the matrix suite of `stmg_bench` (`benchmarks/matrix_games.py` / `stmg-bench matrix`) with "
        f"--seeds {args.seeds}"
        + (f" --seed-start {args.seed_start}" if args.seed_start else "")
        + f" --steps {args.steps} --games {','.join(args.games)} --algos {','.join(args.algos)}"
        + (f" --orders {','.join(args.orders)}" if args.orders != ("possible_agents",) else "")
        + (" --agent-indicator" if args.agent_indicator else "")
        + args.shared_flags()
        + f"; {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. Trajectories are "
        "reproducible on one machine; training may differ across CPUs through floating-point rounding.",
        "",
        *(
            [
                "Observations carry the agent's identity (`--agent-indicator`: SuperSuit's `agent_indicator_v0` on the "
                "game, for every algorithm).",
                "",
            ]
            if args.agent_indicator
            else []
        ),
        "Settings per algorithm (shared settings, given to every algorithm that takes them, then its own):",
        "",
        *[
            f"- `{a.name}` ({form_label(a.load())}, `{a.spec}`): `{json.dumps(dict(settings[a.name]), sort_keys=True)}`"
            for a in algorithms
        ],
        "",
        "Outcome = the greedy joint action after training, played through the algorithm's form and labelled by the "
        "exact solver (`stmg_envs.equilibria.classify_outcome`) under the order shown: SE = the Stackelberg equilibrium "
        "of that order; NE[i] = the i-th pure Nash equilibrium (row-major); none = neither. SE interval: 95% Wilson. "
        "P(SE) = the probability that the final policy plays the SE (min / median / max over seeds); P(a1,...) "
        "agent_i = agent i's mean probability of each of its actions.",
        "",
        "| game | algo | order | trials | SE [95% CI] | NE (which) | none | P(SE) min / med / max | "
        + " | ".join(probability_columns)
        + " | avg reward | decisions/s |",
        "|---|---|---|---:|---|---|---:|---|" + "---|" * len(probability_columns) + "---:|---:|",
    ]
    shown: list[tuple[str, str, str]] = []
    for game in args.games:
        for name in names:
            for order in listed_orders(stats, game, name, args.order_names()):
                s = stats[(game, name, order)]
                shown.append((game, name, order))
                ne = (
                    ", ".join(f"{t} {c / s['n']:.0%}" for t, c in sorted(s["tags"].items()) if t.startswith("NE"))
                    or "-"
                )
                p = s["p_se"]
                p_text = f"{p[0]:.2f} / {float(np.median(p)):.2f} / {p[-1]:.2f}" if p else "-"
                m = s["marginals"]
                lines.append(
                    f"| {game} | {name} | {order} | {s['n']} | {s['se']:.0%} [{s['se_low']:.0%}-{s['se_high']:.0%}] | {ne} | "
                    f"{s['none']:.0%} | {p_text} | "
                    + "".join(
                        f"{_fmt_probs(m[i]) if m is not None and i < len(m) else '-'} | "
                        for i in range(len(probability_columns))
                    )
                    + f"{float(np.mean(s['rewards'])) if s['rewards'] is not None else float('nan'):.2f} | {s['dps']:,.0f} |"
                )
    failing = [(k, stats[k]["failing_seeds"]) for k in sorted(shown) if stats[k]["failing_seeds"] and k[1] in TARGETS]
    if failing:
        lines += [
            "",
            "Seeds not at the SE (algorithms with targets): "
            + "; ".join(
                f"{g} {a} {o}: {', '.join(map(str, seeds[:20]))}{' ...' if len(seeds) > 20 else ''}"
                for (g, a, o), seeds in failing
            ),
        ]
    lines += ["", *seed_power_lines(args.seeds, _target_shares(shown))]
    lines += reply_lines(stats, shown)
    pooled = [k for k in shown if k[2] == RANDOM_POOLED]
    if pooled:
        lines += [
            "",
            "## Random orders, order by order",
            "",
            "A policy trained on orders drawn each episode is labelled under every order of its agents (each by that "
            f"order's SE); above, its row `{RANDOM_POOLED}` pools them (trials x orders); here, the SE share under "
            "each order (every order's row is in the CSV).",
            "",
            "| game | algo | orders | SE share per order: min / median / max | orders with SE share >= 90% | lowest | highest |",
            "|---|---|---:|---|---:|---|---|",
        ]
        for key in pooled:
            shares = stats[key]["per_order_se"]
            values = np.array(list(shares.values()))
            low, high = min(shares, key=shares.__getitem__), max(shares, key=shares.__getitem__)
            lines.append(
                f"| {key[0]} | {key[1]} | {len(shares)} | {values.min():.0%} / {float(np.median(values)):.0%} / "
                f"{values.max():.0%} | {int((values >= 0.9).sum())} | {low} ({shares[low]:.0%}) | "
                f"{high} ({shares[high]:.0%}) |"
            )
    if failures:
        lines += ["", f"## Failed trials ({len(failures)}; no record, so a rerun with --overwrite retries them)", ""]
        lines += [f"- `{key}`: {(tb.strip().splitlines() or ['?'])[-1]}" for key, tb in sorted(failures.items())]
    if args.compare_with:
        lines += ["", *compare_lines(stats, args.out / f"{args.compare_with}.csv", args.compare_with)]
    met = targets(stats, args.games)
    if met:  # no heading when no target applies to the run
        lines += ["", "## Targets", ""]
        lines += [f"- {text}: **{value}** ({'met' if ok else 'NOT met'})" for text, ok, value in met]
    elapsed = sweep_span_s(list(records)) if len(records) else 0.0
    busy = sum(r["wall_s"] for r in records)
    workers = default_workers(args.workers)
    lines += [
        "",
        "## Time",
        "",
        f"- Sweep elapsed, first trial start to last trial end (from the trial records): **{elapsed / 60:.1f} min** for "
        f"{len(records)} trials on {workers} workers; time inside trials {busy / 60:.1f} min.",
        f"- This invocation: {records.wall_s / 60:.1f} min for {len(records.executed)} new trials "
        f"({len(records.rerun)} of them replacing outdated records), backend {args.backend}; saved trials were reused.",
        *provenance_lines(records),
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text)
    return text


def plot(
    stats: Mapping[tuple[str, str, str], Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    args: Args,
    names: Sequence[str],
) -> list[Path]:
    """Penalty outcome shares per algorithm (Fig. 5), action-probability curves (Fig. B.2) and, for a run with
    other orders than the default, the SE rate per order (:func:`plot_orders`), as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    penalty = [g for g in args.games if g.startswith("penalty")]
    if penalty:
        fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), sharey=True, squeeze=False)
        for ax, name in zip(axes[0], names):
            present = [g for g in penalty if (g, name, "possible_agents") in stats]
            ks = [g.split(":")[1] for g in present]
            shares = {
                k: np.array([stats[(g, name, "possible_agents")][k] for g in present]) for k in ("se", "ne", "none")
            }
            ax.bar(ks, shares["se"], label="SE (a1,a3)", color="tab:green")
            ax.bar(ks, shares["ne"], bottom=shares["se"], label="other NE", color="tab:orange")
            ax.bar(ks, shares["none"], bottom=shares["se"] + shares["ne"], label="none", color="tab:gray")
            ax.set_title(name)
            ax.set_xlabel("k")
        axes[0][0].set_ylabel("proportion of trials")
        axes[0][-1].legend(loc="lower right", fontsize=8)
        fig.suptitle(f"Penalty: outcome of {args.seeds} trials x {args.steps} steps")
        fig.tight_layout()
        path = args.out / f"{args.name}_penalty_outcomes.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    if args.orders != ("possible_agents",):
        paths.append(plot_orders(stats, args, names))
    for game in [g for g in ("mixing", "penalty:-100") if g in args.games]:
        fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 5), sharex=True, sharey=True, squeeze=False)
        for col, name in enumerate(names):
            curves = [
                r["result"]["curve"]
                for r in records
                if game_of(r, args.games) == game
                and r["result"]["algo"] == name
                and r["result"]["order"] == "possible_agents"
                and r["result"]["marginals"] is not None
            ]
            curves = [c for c in curves if c]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            steps = [c[0] for c in curves[0][:length]]
            probs = np.array([[point[1] for point in c[:length]] for c in curves])  # trial, point, agent, action
            mean = probs.mean(axis=0)
            for row in range(min(2, mean.shape[1])):
                ax = axes[row][col]
                for action in range(mean.shape[2]):
                    ax.plot(steps, mean[:, row, action], label=f"a{action + 1}")
                ax.set_title(f"{name} agent_{row}")
                ax.set_ylim(0, 1)
        axes[-1][0].set_xlabel("joint steps")
        axes[0][0].set_ylabel("P(action)")
        if axes[0][-1].lines:
            axes[0][-1].legend(fontsize=8)
        fig.suptitle(f"{game}: action probabilities during training (mean over trials)")
        fig.tight_layout()
        path = args.out / f"{args.name}_{game.replace(':', '')}_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_orders(stats: Mapping[tuple[str, str, str], Mapping[str, Any]], args: Args, names: Sequence[str]) -> Path:
    """The SE rate per order: one panel per algorithm, one group of bars per game, one bar per order of the run.

    Bars carry the 95% Wilson interval. Under ``random`` the bar pools every order the policy is labelled under
    and the dots are the SE share under each order (two agents: who leads; more agents: every permutation).
    Written to ``<out>/<name>_orders.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    orders = args.order_names()
    games = list(args.games)
    width = 0.8 / len(orders)
    fig, axes = plt.subplots(
        len(names), 1, figsize=(max(6.0, 0.9 * len(games) + 2), 2.4 * len(names)), sharex=True, squeeze=False
    )
    for ax, name in zip(axes[:, 0], names):
        for j, order in enumerate(orders):
            key_order = RANDOM_POOLED if order == "random" else order
            xs: list[float] = []
            shares: list[float] = []
            errors: list[list[float]] = [[], []]
            for i, game in enumerate(games):
                s = stats.get((game, name, key_order))
                if s is None:
                    continue
                x = i + (j - (len(orders) - 1) / 2) * width
                xs.append(x)
                shares.append(s["se"])
                errors[0].append(max(0.0, s["se"] - s["se_low"]))
                errors[1].append(max(0.0, s["se_high"] - s["se"]))
                if order == "random":
                    each = list(s["per_order_se"].values())
                    ax.scatter([x] * len(each), each, s=8, color="black", zorder=3)
            if xs:
                ax.bar(xs, shares, width, yerr=errors, capsize=2, label=order, color=f"C{j}")
        ax.set_title(name, fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("SE share")
    axes[-1][0].set_xticks(range(len(games)), games, rotation=30, ha="right", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(
        f"SE rate per order ({args.seeds} seeds; bars: 95% Wilson; dots: each order of a random-order policy)",
        fontsize=9,
    )
    fig.tight_layout()
    path = args.out / f"{args.name}_orders.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(args: Args, *, progress: bool = True) -> str:
    """The whole study: resolve the algorithms, plan and run the sweep, summarise, write CSV, Markdown and plots.

    Returns:
        The Markdown text (also written to ``<out>/<name>.md``).

    Raises:
        ReportExistsError: ``<out>/<name>.md`` or ``.csv`` exists and ``args.overwrite`` is not set (nothing has run).
    """
    if (problem := args.check()) is not None:
        raise ValueError(problem)
    refuse_overwrite(args.out, args.name, args.overwrite)  # before any trial runs
    args = dataclasses.replace(args.with_preset(), games=expand_games(args.games))
    algorithms, settings = resolve_algorithms(args)
    if not args.saved_only:  # a --hyperparams value the class refuses ends here, not in every trial
        task_id, task_kwargs = game_spec(args.games[0])
        order = args.order_names()[0]
        selection.check_construction(
            algorithms,
            settings,
            lambda algo: make_env_factory(algo.form, task_id, task_kwargs, order, args.agent_indicator),
        )
    trials = plan_trials(
        args.games,
        algorithms,
        settings,
        args.seeds,
        args.steps,
        args.curve_points,
        args.order_names(),
        agent_indicator=args.agent_indicator,
        seed_start=args.seed_start,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        records = run_sweep(
            trials,
            args.out / "trials" / args.name,
            desc=f"{args.name}: trials",
            progress=progress,
            **sweep_kwargs(args),
        )
        failure = None
    except TrialsFailedError as exc:  # report what finished, name what failed, then raise
        records, failure = exc.result, exc  # type: ignore[assignment]
    rows, stats = summarise(records, args.games, args.order_names())
    if rows:
        write_csv(args.out / f"{args.name}.csv", rows)
    text = write_markdown(
        args.out / f"{args.name}.md",
        stats,
        args,
        algorithms,
        settings,
        records,
        failures=failure.failures if failure else {},
    )
    if stats:
        plot(stats, records, args, [a.name for a in algorithms])
    if failure is not None:
        raise failure
    return text
