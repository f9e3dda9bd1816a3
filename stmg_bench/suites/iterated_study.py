"""The iterated-games study (``benchmarks/iterated_games.py``, ``stmg-bench iterated``): does the leader learn to commit?

What is run: every algorithm of ``--algos`` (registered names or your own ``package.module:Class``)
x every game of ``--games`` (Oracles & Followers' iterated 2x2 games, ``stmg/IteratedMatrix-v0``)
x ``--seeds`` seeds, each trial trained for ``--steps`` joint steps on the form the algorithm declares
(:mod:`stmg_bench.suites.iterated`). Every algorithm gets ``--n-envs`` environment copies and discount
``--gamma`` (1: the game's return is the sum over the episode, as O&F train) where its constructor takes them.

How it is scored (see :mod:`stmg_bench.suites.iterated`): the leader's committed policy (its greedy action in
each memory state) is worth the leader's return against a follower that best-responds to it exactly; the exact
solver gives the best such value (:func:`stmg_envs.equilibria.iterated.iterated_stackelberg`). A trial is
*optimal* when its committed policy reaches that value, against the stationary (``memory-1``) follower, what a
learned follower that does not see the time step can be, and against the time-aware (``markov``) one. The greedy
episode shows what the two learned policies actually play, and the follower's regret what its own learning left
on the table.

What is written, in ``--out`` (``runs/``; the script: ``benchmarks/results/``): ``<name>.md`` and ``<name>.csv``
(per game and algorithm: optimal share with its 95% Wilson interval, the committed policy's value and the
greedy episode's returns with 95% t-intervals, the follower's regret), trial records in
``<out>/trials/<name>/`` (an interrupted run resumes). An existing report is never replaced unless
``--overwrite`` is given.

Usage::

    python benchmarks/iterated_games.py --algos step,seq-ppo,mappo --seeds 5
    python benchmarks/iterated_games.py --games ipd --algos step --steps 20000 --seeds 2 --name try
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stmg_bench import selection
from stmg_bench.args import algos_field, command_line, hyperparams_field, parse_dataclass
from stmg_bench.learning_curves import t_interval
from stmg_bench.registry import ResolvedAlgorithm
from stmg_bench.suites.iterated import FOLLOWER_MODELS, GAMES, make_env_factory, plan_trials
from stmg_bench.suites.matrix_stats import wilson_interval
from stmg_bench.sweep import SweepOptions, run_sweep_then_report, sweep_kwargs
from stmg_bench.sweep.reporting import default_workers, provenance_lines, refuse_overwrite, sweep_span_s, write_csv

__all__ = ["Args", "SHARED_SETTINGS", "summarise", "write_markdown", "run", "main"]

#: Settings every algorithm gets where its constructor takes them: they are not part of any method.
SHARED_SETTINGS = ("n_envs", "gamma")


@dataclass(frozen=True)
class Args(SweepOptions):
    """The iterated-games study's settings; ``stmg-bench iterated --help`` lists them."""

    games: tuple[str, ...] = field(
        default=GAMES,
        metadata={"help": "iterated games by name (stmg_envs.equilibria.iterated.ITERATED_GAMES)"},
    )
    algos: tuple[str, ...] = algos_field(("step", "seq-ppo", "mappo"))
    hyperparams: dict[str, dict[str, Any]] = hyperparams_field()
    seeds: int = field(default=5, metadata={"help": "trials per game and algorithm (O&F: 5)"})
    seed_start: int = field(default=0, metadata={"help": "the first seed: trials use SEED_START .. SEED_START+SEEDS-1"})
    steps: int = field(default=100_000, metadata={"help": "joint environment steps of training per trial"})
    n_envs: int = field(default=8, metadata={"help": "environment copies per rollout, for every algorithm taking it"})
    gamma: float = field(default=1.0, metadata={"help": "discount factor, for every algorithm taking it (O&F: 1)"})
    name: str = field(default="iterated_games", metadata={"help": "base name of the results files"})
    out: Path = field(
        default=Path("runs"),
        metadata={"help": "results folder (benchmarks/iterated_games.py: benchmarks/results/ next to it)"},
    )

    def check(self) -> str | None:
        """A message for an argument that cannot work, or None."""
        from stmg_envs.equilibria.iterated import ITERATED_GAMES

        if not self.games or (unknown := [g for g in self.games if g not in ITERATED_GAMES]):
            return f"expected --games from {sorted(ITERATED_GAMES)}, got {list(self.games)}"
        if not self.algos:
            return "expected one or more --algos, got none"
        if self.seeds < 1 or self.steps < 1 or self.n_envs < 1 or self.seed_start < 0:
            return (
                "expected --seeds, --steps and --n-envs >= 1 and --seed-start >= 0, got "
                f"{self.seeds}, {self.steps}, {self.n_envs}, {self.seed_start}"
            )
        if not 0.0 <= self.gamma <= 1.0:
            return f"expected --gamma in [0, 1], got {self.gamma}"
        del unknown
        return None


def summarise(records: Sequence[Mapping[str, Any]], games: Sequence[str], names: Sequence[str]) -> list[dict[str, Any]]:
    """One CSV row per game and algorithm (in the order given) that has records."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        result = record["result"]
        groups[(result["game"], result["algo"])].append(result)
    rows = []
    for game in games:
        for name in names:
            results = groups.get((game, name))
            if not results:
                continue
            n = len(results)
            row: dict[str, Any] = {"game": game, "algo": name, "trials": n, "steps_per_trial": results[0]["steps"]}
            for follower in FOLLOWER_MODELS:
                key = follower.replace("-", "")
                hits = sum(r["optimal"][follower] for r in results)
                low, high = wilson_interval(hits, n)
                value = t_interval([r["committed_value"][follower] for r in results])
                regret = t_interval([r["follower_regret"][follower] for r in results])
                row |= {
                    f"optimal_{key}": hits,
                    f"optimal_{key}_share": round(hits / n, 4),
                    f"optimal_{key}_ci95_low": round(low, 4),
                    f"optimal_{key}_ci95_high": round(high, 4),
                    f"same_policy_{key}": sum(r["same_policy"][follower] for r in results),
                    f"solver_value_{key}": results[0]["solver_value"][follower],
                    f"committed_value_{key}_mean": round(value.mean, 3),
                    f"committed_value_{key}_ci95_low": round(value.low, 3),
                    f"committed_value_{key}_ci95_high": round(value.high, 3),
                    f"follower_regret_{key}_mean": round(regret.mean, 3),
                    f"follower_regret_{key}_ci95_low": round(regret.low, 3),
                    f"follower_regret_{key}_ci95_high": round(regret.high, 3),
                }
            for who, index in (("leader", 0), ("follower", 1)):
                ret = t_interval([r["episode_returns"][index] for r in results])
                row |= {
                    f"episode_{who}_return_mean": round(ret.mean, 3),
                    f"episode_{who}_return_ci95_low": round(ret.low, 3),
                    f"episode_{who}_return_ci95_high": round(ret.high, 3),
                }
            row["decisions_per_s"] = round(sum(r["decisions_per_s"] for r in results) / n)
            rows.append(row)
    return rows


def _interval(row: Mapping[str, Any], stem: str) -> str:
    return f"{row[f'{stem}_mean']:.2f} [{row[f'{stem}_ci95_low']:.2f}, {row[f'{stem}_ci95_high']:.2f}]"


def _share(row: Mapping[str, Any], key: str) -> str:
    return (
        f"{row[f'optimal_{key}']} of {row['trials']}: {row[f'optimal_{key}_share']:.0%} "
        f"[{row[f'optimal_{key}_ci95_low']:.0%}-{row[f'optimal_{key}_ci95_high']:.0%}]"
    )


def solver_lines(games: Sequence[str]) -> list[str]:
    """The solver's optimum of each game, for both follower models."""
    from stmg_envs.equilibria.iterated import iterated_game, iterated_stackelberg

    lines = [
        "| game | memory | steps | offset | leader's best, memory-1 follower (policy) | leader's best, markov follower (policy) |",
        "|---|---|---:|---:|---|---|",
    ]
    for game in games:
        spec = iterated_game(game)
        best = {f: iterated_stackelberg(spec, follower=f) for f in FOLLOWER_MODELS}
        cells = [f"{best[f].leader_value:g} ({''.join(map(str, best[f].leader_policy))})" for f in FOLLOWER_MODELS]
        lines.append(
            f"| {game} | {spec.memory} | {spec.episode_length} | {spec.reward_offset:g} | {cells[0]} | {cells[1]} |"
        )
    return lines


def write_markdown(
    path: Path,
    rows: Sequence[Mapping[str, Any]],
    args: Args,
    algorithms: Sequence[ResolvedAlgorithm],
    settings: Mapping[str, Mapping[str, Any]],
    records: Any,
    failures: Mapping[str, str] | None = None,
) -> str:
    """The results page: the solver's optimum per game, then each algorithm's committed policies and returns."""
    names = [a.name for a in algorithms]
    lines = [
        f"# Iterated games: {' vs '.join(names)} ({args.name})",
        "",
        "Written by the iterated-games suite of `stmg_bench` (`benchmarks/iterated_games.py` / `stmg-bench iterated`) "
        f"as `iterated_games.py {command_line(args, skip=('out', 'overwrite'))}`: games {', '.join(args.games)}; "
        f"{args.seeds} seeds from {args.seed_start}; {args.steps:,} joint steps per trial; "
        f"{default_workers(args.workers)} workers; {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}. Trajectories are reproducible on one machine; training may differ across CPUs "
        "through floating-point rounding.",
        "",
        "The games (Oracles & Followers' iterated 2x2 games, `stmg/IteratedMatrix-v0`; `agent_0` leads) and the "
        "exact solver's optimum: the leader's return under its best deterministic memory-1 policy (an action per "
        "memory state, written as a string of actions) against a follower that best-responds to it, stationary "
        "(`memory-1`) or time-aware (`markov`); ties in the leader's favour.",
        "",
        *solver_lines(args.games),
        "",
        "How to read the results: a trial's *committed policy* is the leader's greedy action in each memory state; "
        "it is *optimal* when, against an exactly best-responding follower, it is worth the solver's optimum (the "
        "share, with its 95% Wilson interval; *same policy*: identical to the solver's, which a policy of equal value "
        "need not be). *Committed value* is that worth (mean and 95% t-interval over seeds). The *greedy episode* is "
        "what the learned leader and follower actually play; the follower's *regret* is its best-response value "
        "against the committed policy minus its return in that episode (0: the learned follower best-responds). "
        "Each algorithm was built with:",
        "",
        *[f"- `{name}`: `{dict(settings[name])}`" for name in names],
        "",
        "| game | algo | trials | optimal, memory-1 follower | same policy | optimal, markov follower | committed value "
        "(memory-1) | greedy episode: leader | greedy episode: follower | follower regret (memory-1) | decisions/s |",
        "|---|---|---:|---|---:|---|---|---|---|---|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['game']} | {row['algo']} | {row['trials']} | {_share(row, 'memory1')} | "
            f"{row['same_policy_memory1']} | {_share(row, 'markov')} | "
            f"{_interval(row, 'committed_value_memory1')} of {row['solver_value_memory1']:g} | "
            f"{_interval(row, 'episode_leader_return')} | {_interval(row, 'episode_follower_return')} | "
            f"{_interval(row, 'follower_regret_memory1')} | {row['decisions_per_s']:,} |"
        )
    if failures:
        lines += ["", f"**{len(failures)} trial(s) failed** and are not in these numbers:", ""]
        lines += [f"- `{key}`: {message}" for key, message in sorted(failures.items())]
    lines += [
        "",
        f"Wall time of the sweep that produced these records (first trial start to last trial end): "
        f"{sweep_span_s(list(records)) / 60:.1f} min.",
        "",
        *provenance_lines(records),
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text)
    return text


def run(args: Args, *, progress: bool = True) -> str:
    """Resolve the algorithms, run the sweep, write the CSV and the Markdown report; returns the report's text.

    Raises:
        ValueError: an argument that cannot work (:meth:`Args.check`).
        ReportExistsError: ``<out>/<name>.md`` or ``.csv`` exists and ``args.overwrite`` is not set (nothing has run).
    """
    if (problem := args.check()) is not None:
        raise ValueError(problem)
    refuse_overwrite(args.out, args.name, args.overwrite)
    shared = {name: getattr(args, name) for name in SHARED_SETTINGS}
    algorithms, settings = selection.resolve_algorithms(args.algos, args.hyperparams, shared)
    if not args.saved_only:  # a setting the class refuses ends here, not in every trial
        selection.check_construction(algorithms, settings, lambda algo: make_env_factory(algo.form, args.games[0]))
    trials = plan_trials(args.games, algorithms, settings, args.seeds, args.steps, args.seed_start)
    args.out.mkdir(parents=True, exist_ok=True)
    records, failure = run_sweep_then_report(  # report what finished, name what failed, then raise
        trials,
        args.out / "trials" / args.name,
        desc=f"{args.name}: trials",
        progress=progress,
        **sweep_kwargs(args),
    )
    rows = summarise(list(records), args.games, [a.name for a in algorithms])
    if rows:
        write_csv(args.out / f"{args.name}.csv", rows)
    text = write_markdown(
        args.out / f"{args.name}.md", rows, args, algorithms, settings, records, failure.failures if failure else {}
    )
    if failure is not None:
        raise failure
    return text


def main(argv: list[str] | None = None, prog: str | None = None, out: Path | None = None) -> None:
    """Parse ``argv``, run the study and print its report; ``out`` replaces the default results folder."""
    args = parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0], prog=prog)
    if out is not None and args.out == Args().out:
        args = dataclasses.replace(args, out=out)
    print(run(args))
    sys.stdout.flush()
