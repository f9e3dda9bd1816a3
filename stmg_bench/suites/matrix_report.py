"""The matrix study's Markdown report: the outcome table, replies rank by rank, random orders order by order,
the comparison with an earlier run, targets and time (:func:`write_markdown`).
"""

from __future__ import annotations

import json
import os
import platform
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stmg_bench.contract import form_label
from stmg_bench.published import METRICS, PublishedResult, published_for, settings_notes
from stmg_bench.registry import ResolvedAlgorithm
from stmg_bench.suites.matrix_stats import (
    LISTED_RANDOM_ORDERS,
    RANDOM_POOLED,
    TARGETS,
    RowStats,
    Stats,
    _target_shares,
    seed_power_lines,
    targets,
    wilson_interval,
)
from stmg_bench.sweep.reporting import default_workers, provenance_lines, sweep_span_s

if TYPE_CHECKING:
    from stmg_bench.suites.matrix_args import Args

__all__ = ["compare_lines", "listed_orders", "published_lines", "reply_lines", "write_markdown"]


def compare_lines(stats: Stats, reference_csv: Path, label: str) -> list[str]:
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
        inside = low <= s.se <= high
        inside_count += inside
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {se / n:.0%} ({n}) [{low:.0%}-{high:.0%}] | "
            f"{s.se:.0%} ({s.n}) | {'yes' if inside else '**no**'} |"
        )
    lines += ["", f"{inside_count} of {len(shared)} rates inside the earlier interval."]
    return lines


def listed_orders(stats: Stats, game: str, name: str, orders: Sequence[str]) -> list[str]:
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


def _probability_columns(rows: Sequence[RowStats]) -> list[str]:
    """The headers of the report's action-probability columns: one per agent of the game with the most agents among
    ``rows`` (the stats of the rows shown), named by its agents and actions, e.g. ``P(a1,a2,a3) agent_2``.

    Examples:
        >>> from types import SimpleNamespace as Row
        >>> _probability_columns([Row(agents=["agent_0", "agent_1"], marginals=[[0.5, 0.5]] * 2),
        ...                       Row(agents=["agent_0", "agent_1", "agent_2"], marginals=None)])
        ['P(a1,a2) agent_0', 'P(a1,a2) agent_1', 'P(a1,a2) agent_2']
    """
    agents = max((list(r.agents) for r in rows), key=len, default=["agent_0", "agent_1"])
    n_actions = max((len(p) for r in rows if r.marginals is not None for p in r.marginals), default=3)
    actions = ",".join(f"a{j + 1}" for j in range(n_actions))
    return [f"P({actions}) {agent}" for agent in agents]


def reply_lines(stats: Stats, shown: Sequence[tuple[str, str, str]]) -> list[str]:
    """The report's section on replies: per row, the seeds whose replies on the SE path are right, those with every
    reply right, and the mean over seeds of each rank's contexts with a wrong reply; opened by a plain summary.

    A reply is wrong when it pays less than the backward-induction reply of its context
    (:func:`~stmg_bench.suites.replies.joint_reply_errors`, the count of ``benchmarks/reply_errors.py``).
    Empty without fixed-order rows that have probabilities.
    """
    rows = [k for k in shown if stats[k].replies]
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
        replies = stats[key].replies or []
        wrong = np.mean([r.wrong for r in replies], axis=0)
        contexts = [c + u for c, u in zip(replies[0].contexts, replies[0].unread)]
        unread = sum(sum(r.unread) for r in replies)
        perfect = sum(not any(r.wrong) for r in replies)
        on_path = sum(r.right_on_path for r in replies)
        per_rank = ", ".join(f"{w:.1f}/{c}" for w, c in zip(wrong, contexts))
        note = f" ({unread} contexts unread: zero probability)" if unread else ""
        margin = stats[key].margin
        if margin is None or margin.rank is None:
            margin_text = "-"
        else:
            margin_text = f"{margin.margin:.2f} ({margin.rank}: {' '.join(f'a{a + 1}' for a in margin.context) or '-'})"
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {len(replies)} | {on_path} of {len(replies)} | {perfect} of "
            f"{len(replies)} | {per_rank}{note} | {margin_text} |"
        )
    return lines


def _measured(s: RowStats, metric: str) -> str:
    """This run's value of a :data:`stmg_bench.published.METRICS` key on a row, as the report prints it."""
    if metric == "optimal":
        return f"{s.se:.0%} [{s.se_low:.0%}-{s.se_high:.0%}]"
    if metric.startswith("reward_") and s.rewards is not None:
        index = {"reward_leader": 0, "reward_follower": 1}.get(metric)
        return f"{float(np.mean(s.rewards) if index is None else s.rewards[index]):.2f}"
    if metric.startswith("probabilities_agent_") and s.marginals is not None:
        return _fmt_probs(s.marginals[int(metric.rsplit("_", 1)[1])])
    return "not measured"


def _published_value(value: Any, metric: str) -> str:
    if isinstance(value, tuple):
        return _fmt_probs(np.asarray(value))
    return f"{value:.1%}" if metric == "optimal" else f"{value:g}"


def published_lines(
    stats: Stats, shown: Sequence[tuple[str, str, str]], targets_by_name: Mapping[str, str]
) -> list[str]:
    """The papers' figures (:mod:`stmg_bench.published`) beside this run's, for the rows in the default order whose
    algorithm implements a published method; no lines when none does."""
    rows: list[str] = []
    results: list[PublishedResult] = []
    metrics: set[str] = set()
    for game, name, order in shown:
        if order != "possible_agents":  # the papers' leader is agent_0
            continue
        for result in published_for(game, targets_by_name.get(name, "")):
            results.append(result)
            for metric, value in result.figures.items():
                metrics.add(metric)
                rows.append(
                    f"| {game} | {name} | {result.method}, {result.source} ({result.runs} runs) | {metric} | "
                    f"{_published_value(value, metric)} | {_measured(stats[(game, name, order)], metric)} |"
                )
    if not rows:
        return []
    return [
        "## Beside the published figures",
        "",
        "The seed papers' figures for the method each algorithm here implements (`stmg_bench.published`), beside this "
        "run's under the default order (agent_0 leads, as in the papers): "
        + "; ".join(f"{key} = {METRICS[key]}" for key in sorted(metrics))
        + ". This run: the SE share with its 95% Wilson interval; rewards and probabilities are means over runs of "
        "the final policy's expected payoff and action probabilities.",
        *settings_notes(results),
        "",
        "| game | algo | paper | metric | published | this run |",
        "|---|---|---|---|---:|---:|",
        *rows,
    ]


def write_markdown(
    path: Path,
    stats: Stats,
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
                ne = ", ".join(f"{t} {c / s.n:.0%}" for t, c in sorted(s.tags.items()) if t.startswith("NE")) or "-"
                p = s.p_se
                p_text = f"{p[0]:.2f} / {float(np.median(p)):.2f} / {p[-1]:.2f}" if p else "-"
                m = s.marginals
                lines.append(
                    f"| {game} | {name} | {order} | {s.n} | {s.se:.0%} [{s.se_low:.0%}-{s.se_high:.0%}] | {ne} | "
                    f"{s.none:.0%} | {p_text} | "
                    + "".join(
                        f"{_fmt_probs(m[i]) if m is not None and i < len(m) else '-'} | "
                        for i in range(len(probability_columns))
                    )
                    + f"{float(np.mean(s.rewards)) if s.rewards is not None else float('nan'):.2f} | {s.dps:,.0f} |"
                )
    failing = [(k, stats[k].failing_seeds) for k in sorted(shown) if stats[k].failing_seeds and k[1] in TARGETS]
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
            shares = stats[key].per_order_se or {}
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
    published = published_lines(stats, shown, {a.name: a.target for a in algorithms})
    if published:
        lines += ["", *published]
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
