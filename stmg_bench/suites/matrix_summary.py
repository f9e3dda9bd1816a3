"""One table over several matrix runs: each algorithm's SE share on each game at each run's budget, with the settings
each run gave it, and whether one setting served every game.

A setting can only be judged on every game at once, but the games do not share a budget (10,000 steps for two agents
are far too few for five), so one study cannot run them all. This reads what the matrix study wrote for each run
named, ``<out>/<run>.csv`` (one row per trial: game, algorithm, order, seed, steps, outcome label, P(SE)), and the
trial records of ``<out>/trials/<run>/`` (the settings each algorithm was given, from the records' fingerprints, and
the commits that made them), and writes ``<out>/<name>.md`` and ``<out>/<name>.csv``: per game, algorithm and order,
the number of agents, the game's SE margin (:func:`~stmg_bench.suites.matrix_study.game_margin`), the steps, the
trials, the SE share with its 95% Wilson interval, P(SE) min / median over seeds, the seeds not at the SE and the
target of :data:`~stmg_bench.suites.matrix_study.TARGETS`, if any. Nothing is trained; a run without its CSV or
records is a clear error.

``benchmarks/matrix_summary.py`` is this, with the command line derived from :class:`Args`.

Examples:
    >>> rows = [{"game": "mixing", "algo": "step", "order": "possible_agents", "seed": s, "steps": 10000,
    ...          "label": "SE" if s else "NE", "p_se": 0.9 if s else 0.1} for s in range(4)]
    >>> (row,) = summary_rows({"quick": rows})
    >>> row["agents"], row["trials"], row["se"], row["failing_seeds"], row["target"], row["met"]
    (2, 4, 0.75, '0', 0.99, False)
"""

from __future__ import annotations

import csv
import json
import os
import platform
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stmg_bench.provenance import git_commit
from stmg_bench.suites.matrix_stats import TARGETS, game_margin, game_payoffs, wilson_interval
from stmg_bench.sweep.reporting import write_csv

__all__ = ["Args", "read_run", "run_settings", "summary_rows", "write_markdown", "run"]


@dataclass(frozen=True)
class Args:
    """The summary's settings; ``benchmarks/matrix_summary.py --help`` lists them."""

    runs: tuple[str, ...] = field(
        default=(),
        metadata={"help": "matrix runs to put in one table: names of reports in --out (each with its CSV and trials/)"},
    )
    name: str = field(default="matrix_summary", metadata={"help": "base name of the results files"})
    out: Path = field(default=Path("benchmarks/results"), metadata={"help": "results folder"})

    def check(self) -> str | None:
        """A message for the first bad setting, or None."""
        if not self.runs:
            return "expected at least one run in --runs (names of matrix reports in --out, e.g. matrix_games), got none"
        if self.name in self.runs:
            return f"expected a --name other than the runs it reads, got {self.name!r}: it would overwrite that report"
        return None


def read_run(out: Path, run: str) -> list[dict[str, Any]]:
    """The per-trial rows of ``<out>/<run>.csv`` (as the matrix study wrote them).

    Raises:
        FileNotFoundError: no such CSV, with the command that writes it.
    """
    path = out / f"{run}.csv"
    if not path.exists():
        raise FileNotFoundError(
            f"expected the matrix study's per-trial CSV {path}, found none: run `benchmarks/matrix_games.py --name "
            f"{run} ...` (or render its saved records with --saved-only) first"
        )
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def run_settings(out: Path, run: str) -> tuple[dict[str, list[str]], list[str]]:
    """Each algorithm's settings in ``<out>/trials/<run>/`` (canonical JSON of its records' hyperparameters; more
    than one if the records disagree) and the commits that made the records.

    Raises:
        FileNotFoundError: no records.
    """
    folder = out / "trials" / run
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not paths:
        raise FileNotFoundError(f"expected the trial records of run {run!r} in {folder}, found none")
    settings: dict[str, set[str]] = defaultdict(set)
    commits: set[str] = set()
    for path in paths:
        record = json.loads(path.read_text())
        algo = record["result"]["algo"]
        settings[algo].add(json.dumps(record["fingerprint"].get("hyperparameters", {}), sort_keys=True))
        commits.add(str(record.get("commit")))
    return {algo: sorted(values) for algo, values in settings.items()}, sorted(commits)


def summary_rows(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per run, game, algorithm and order, from trial rows: game by game (in the order the games first come),
    so that the algorithms on one game stand together, each game's rows in the order of the runs."""
    groups: dict[tuple[str, str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for run, rows in runs.items():
        for row in rows:
            groups[(run, row["game"], row["algo"], row.get("order") or "possible_agents")].append(row)
    games = list(dict.fromkeys(game for _, game, _, _ in groups))
    out = []
    for (run, game, algo, order), trials in sorted(groups.items(), key=lambda kv: games.index(kv[0][1])):
        se = sum(t["label"] == "SE" for t in trials)
        low, high = wilson_interval(se, len(trials))
        p_se = sorted(float(t["p_se"]) for t in trials if t.get("p_se") not in (None, ""))
        target = next(
            (
                share
                for prefix, share in TARGETS.get(algo, ())
                if game.startswith(prefix) and order == "possible_agents"
            ),
            None,
        )
        agents = int(game_payoffs(game).shape[0])
        margin = game_margin(game, tuple(range(agents))) if order == "possible_agents" else None
        out.append(
            {
                "run": run,
                "game": game,
                "agents": agents,
                "algo": algo,
                "order": order,
                "steps": int(float(trials[0]["steps"])),
                "trials": len(trials),
                "se": se / len(trials),
                "se_low": low,
                "se_high": high,
                "p_se_min": p_se[0] if p_se else None,
                "p_se_median": float(np.median(p_se)) if p_se else None,
                "se_margin": None if margin is None or margin.rank is None else round(margin.margin, 2),
                "failing_seeds": " ".join(str(t["seed"]) for t in trials if t["label"] != "SE"),
                "target": target,
                "met": None if target is None else se / len(trials) >= target,
            }
        )
    return out


def write_markdown(
    path: Path,
    rows: Sequence[Mapping[str, Any]],
    args: Args,
    settings: Mapping[str, tuple[dict[str, list[str]], list[str]]],
) -> str:
    """The summary page: which runs, each algorithm's settings and whether they are one, the table, the targets."""
    per_algo: dict[str, set[str]] = defaultdict(set)
    for algo_settings, _ in settings.values():
        for algo, values in algo_settings.items():
            per_algo[algo].update(values)
    lines = [
        f"# Matrix games, several runs in one table ({args.name})",
        "",
        f"Written by `benchmarks/matrix_summary.py` at commit `{git_commit() or 'not recorded'}` with --runs "
        f"{','.join(args.runs)} ({platform.machine()}, {os.cpu_count()} CPUs), from each run's per-trial CSV and "
        "trial records (nothing trained here). Each run's report says how it was run; trajectories are reproducible on "
        "one machine and may differ across CPUs through floating-point rounding.",
        "",
        "Settings each algorithm was given (from the trial records' fingerprints):",
        "",
    ]
    for algo, distinct in per_algo.items():
        runs = [run for run, (algo_settings, _) in settings.items() if algo in algo_settings]
        verdict = "one setting in every run" if len(distinct) == 1 else f"**{len(distinct)} different settings**"
        lines.append(
            f"- `{algo}` ({verdict}; runs {', '.join(runs)}): " + "; ".join(f"`{v}`" for v in sorted(distinct))
        )
    lines += [
        "",
        "SE = the greedy joint action after training is the Stackelberg equilibrium of the order (exact solver); "
        "interval: 95% Wilson. P(SE): the probability that the final policy plays the SE, min / median over seeds. "
        "SE margin: the smallest payoff gap the SE depends on (`stmg_envs.equilibria.decisive_margin`; payoffs of the "
        "generated games lie in [-10, 10]), which a learner that estimates values from samples must resolve.",
        "",
        "| game | agents | SE margin | algo | order | steps | trials | SE [95% CI] | P(SE) min / med | seeds not at the SE "
        "| target | run |",
        "|---|---:|---:|---|---|---:|---:|---|---|---|---|---|",
    ]
    for r in rows:
        p_text = f"{r['p_se_min']:.2f} / {r['p_se_median']:.2f}" if r["p_se_min"] is not None else "-"
        margin = "-" if r["se_margin"] is None else f"{r['se_margin']:.2f}"
        target = "-" if r["target"] is None else f">= {r['target']:.0%}: {'met' if r['met'] else '**NOT met**'}"
        lines.append(
            f"| {r['game']} | {r['agents']} | {margin} | {r['algo']} | {r['order']} | {r['steps']:,} | {r['trials']} | "
            f"{r['se']:.0%} [{r['se_low']:.0%}-{r['se_high']:.0%}] | {p_text} | {r['failing_seeds'] or '-'} | {target} "
            f"| [{r['run']}]({r['run']}.md) |"
        )
    with_target = [r for r in rows if r["target"] is not None]
    if with_target:
        met = sum(bool(r["met"]) for r in with_target)
        lines += ["", "## Targets", "", f"{met} of {len(with_target)} targets met."]
        missed = [r for r in with_target if not r["met"]]
        lines += [
            f"- NOT met: {r['algo']} on {r['game']}, {r['se']:.0%} [{r['se_low']:.0%}-{r['se_high']:.0%}] against "
            f"{r['target']:.0%} at {r['steps']:,} steps"
            for r in missed
        ]
    lines += ["", "## Records", ""]
    lines += [
        f"- {run}: made at commit(s) {', '.join(f'`{c}`' for c in commits)}" for run, (_, commits) in settings.items()
    ]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def run(args: Args) -> str:
    """Read every run of ``args.runs``, write ``<out>/<name>.{md,csv}``; returns the Markdown text.

    Raises:
        ValueError: a bad setting (:meth:`Args.check`).
        FileNotFoundError: a run without its CSV or trial records.
    """
    if (problem := args.check()) is not None:
        raise ValueError(problem)
    trial_rows = {run: read_run(args.out, run) for run in args.runs}
    settings = {run: run_settings(args.out, run) for run in args.runs}
    rows = summary_rows(trial_rows)
    write_csv(args.out / f"{args.name}.csv", rows)
    return write_markdown(args.out / f"{args.name}.md", rows, args, settings)
