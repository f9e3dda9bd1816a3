"""Which agent answers wrongly? Every rank's replies against backward induction, over training.

Why this exists: on the 4- and 5-agent general-sum games of the ``nagent`` suite
STEP ends away from the SE in every seed, even with the backward-induction
curriculum (``step-backward``), and ``reply_learning.py`` shows that a policy
network can lock in wrong replies of the last follower even with exact gradients.
This script looks inside real training runs: for every game, run and seed it
trains the algorithm through the benchmark contract and reads, at a few points of
training, each rank's greedy reply in **every** context (every joint action of the
agents above it), against the reply that backward induction prescribes
(:mod:`stmg_bench.suites.replies`).

The runs (``--runs``; a registry name or ``module:Class`` works too):

* ``step-backward``: the registered variant as the nagent results train it;
* ``step-backward-ent``: the same with the entropy bonus ``--entropy`` (default 0.6);
* ``last-follower``: STEP in which only the last rank's decisions are trained on (the
  ranks above stay near their initial, near-uniform policies: they move only through
  the shared parameters, which Eq. 11's regulariser holds), with the same entropy bonus; against
  ``step-backward-ent`` it shows what the leaders' learning does to the last
  follower's replies;
* ``last-follower-ent0``: the same with STEP's default entropy bonus.

Every run gets ``--n-envs`` copies and discount ``--gamma``, as the matrix suite
gives them; ``--hyperparams RUN=JSON`` adds settings to a run.

Outputs: ``benchmarks/results/<name>.md`` and ``<name>.csv`` (one row per game,
run, seed, checkpoint and rank).

Usage::

    python benchmarks/reply_errors.py
    python benchmarks/reply_errors.py --games general-sum:4:0 --runs step-backward,seq-ppo --seeds 2
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stmg_agents.step.algorithm import STEP
from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_bench.registry import merge_settings, resolve
from stmg_bench.selection import settings_for
from stmg_bench.suites.matrix import game_spec, make_env_factory
from stmg_bench.suites.replies import reply_errors
from stmg_bench.sweep.reporting import write_csv

RESULTS = Path(__file__).resolve().parent / "results"


class LastFollowerSTEP(STEP):
    """STEP in which only the last rank's decisions are trained on: the control with the leaders near their start.

    A class of the benchmark contract as STEP is (its form, ``act``, ``action_probabilities``...), labelled
    ``last-follower``.
    """

    name = "last-follower"

    def _rank_started(self, rank: int | None) -> bool:
        return rank is None or rank == self.n_agents - 1


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    games: tuple[str, ...] = field(
        default=("general-sum:3:1", "general-sum:4:0", "general-sum:5:1"),
        metadata={"help": "matrix-suite games (e.g. general-sum:4:0, penalty:-100)"},
    )
    runs: tuple[str, ...] = field(
        default=("step-backward", "step-backward-ent", "last-follower", "last-follower-ent0"),
        metadata={"help": "the runs named in the docstring, or any registry name or module:Class"},
    )
    entropy: float = field(default=0.6, metadata={"help": "ent_coef of the -ent and last-follower runs"})
    hyperparams: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata={"help": "a run's own settings, RUN=JSON, e.g. step-backward='{\"beta\": 0}'"}
    )
    seeds: int = field(default=3, metadata={"help": "seeds per game and run"})
    steps: int = field(default=10_000, metadata={"help": "joint steps of training (the nagent suite's budget)"})
    checkpoints: int = field(
        default=4, metadata={"help": "read-outs during training (evenly spaced, the last at the end)"}
    )
    order: str = field(
        default="possible_agents",
        metadata={
            "help": "priority order of the STMG (replies are backward induction's under it): possible_agents, "
            "reversed, or agents joined by '+' (agent_2+agent_1+agent_0)"
        },
    )
    n_envs: int = field(default=8, metadata={"help": "environment copies (as the matrix suite)"})
    gamma: float = field(default=0.0, metadata={"help": "discount (as the matrix suite)"})
    name: str = field(default="reply_errors", metadata={"help": "base name of the results files"})
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})

    def check(self) -> str | None:
        if self.seeds < 1 or self.steps < 1 or self.checkpoints < 1:
            return (
                f"expected --seeds, --steps and --checkpoints >= 1, got {self.seeds}, {self.steps}, {self.checkpoints}"
            )
        if self.entropy < 0:
            return f"expected --entropy >= 0, got {self.entropy}"
        if self.order == "random":
            return "expected a fixed --order (possible_agents, reversed or agents joined by '+'), got 'random'"
        if unknown := sorted(set(self.hyperparams) - set(self.runs)):
            return f"--hyperparams names {unknown}, which are not in --runs {list(self.runs)}"
        return None


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])


@dataclass(frozen=True)
class OwnRun:
    """One of this script's own runs (see the docstring): what it trains and whether it takes ``--entropy``."""

    algorithm: str | type  # a registry spec, or a class of the contract
    entropy: bool


#: This script's own runs, by name; any other name of ``--runs`` is a registry spec (``step-backward`` too).
OWN_RUNS: dict[str, OwnRun] = {
    "step-backward-ent": OwnRun("step-backward", entropy=True),
    "last-follower": OwnRun(LastFollowerSTEP, entropy=True),
    "last-follower-ent0": OwnRun(LastFollowerSTEP, entropy=False),
}


def run_factory(run: str, args: Args) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """``(algorithm class, a registered variant's overrides, the run's settings)`` of a run name (see the docstring)
    or of a registry spec; the class is built with the overrides under the settings (``merge_settings``)."""
    own_run = OWN_RUNS.get(run, OwnRun(run, entropy=False))
    if isinstance(own_run.algorithm, str):
        resolved = resolve(own_run.algorithm)
        factory, overrides = resolved.load(), dict(resolved.overrides)
    else:
        factory, overrides = own_run.algorithm, {}
    own: dict[str, Any] = {"ent_coef": args.entropy} if own_run.entropy else {}
    own.update(args.hyperparams.get(run, {}))
    return factory, overrides, settings_for(factory, {"n_envs": args.n_envs, "gamma": args.gamma}, own)


def trial(game: str, run: str, seed: int, args: Args) -> list[dict[str, Any]]:
    """Train one run with one seed on one game; one row per checkpoint and rank."""
    import pettingzoo
    import torch

    import stmg_envs  # noqa: F401  (registers the tasks)

    torch.set_num_threads(1)
    task_id, task_kwargs = game_spec(game)
    payoffs = pettingzoo.make("parallel", task_id, **task_kwargs).payoffs
    make_env = make_env_factory("sequential", task_id, task_kwargs, args.order.replace("+", ","))
    factory, overrides, settings = run_factory(run, args)
    if getattr(factory, "form", None) != "sequential":  # before training, not after
        raise ValueError(
            f"run {run!r}: expected a sequential-form algorithm, got form {getattr(factory, 'form', None)!r}"
        )
    algorithm = factory(make_env, seed=seed, **merge_settings(overrides, settings))
    every = max(1, args.steps // args.checkpoints)
    rows: list[dict[str, Any]] = []
    read_outs = [0]

    def read_out(num_timesteps: int) -> None:
        read_outs[0] += 1
        ranks = reply_errors(algorithm, make_env, payoffs, seed=seed)
        se = not any(r.se_context in r.wrong_contexts for r in ranks)
        for r in ranks:
            rows.append(
                {
                    "game": game,
                    "run": run,
                    "seed": seed,
                    "step": int(num_timesteps),
                    "rank": r.rank,
                    "agent": r.agent,
                    "contexts": r.contexts,
                    "wrong": r.wrong,
                    "wrong_on_se_path": int(r.se_context in r.wrong_contexts),
                    "p_reply_se_path": r.p_reply_se_path,
                    "p_reply_mean": r.p_reply_mean,
                    "se_reply_best_against_learned": int(r.best_learned == r.se_reply),
                    "values_learned": " / ".join(f"{v:.2f}" for v in r.values_learned),
                    "values_se": " / ".join(f"{v:.2f}" for v in r.values_se),
                    "greedy_is_se": se,
                }
            )

    def on_update(num_timesteps: int) -> bool:
        if num_timesteps >= (read_outs[0] + 1) * every and num_timesteps < args.steps:
            read_out(num_timesteps)
        return True

    algorithm.learn(args.steps, callback=on_update)
    read_out(int(getattr(algorithm, "num_timesteps", args.steps)))
    return rows


def _span(values: list[float]) -> str:
    return f"{min(values):g} / {max(values):g}" if min(values) != max(values) else f"{min(values):g}"


def report(rows: list[dict[str, Any]], args: Args, minutes: float) -> str:
    lines = [
        f"# Every rank's replies against backward induction ({args.name})",
        "",
        f"Written by `benchmarks/reply_errors.py` at commit `{git_commit() or 'not recorded'}` with --games {','.join(args.games)} --runs {','.join(args.runs)} "
        f"--entropy {args.entropy:g} --seeds {args.seeds} --steps {args.steps} --checkpoints {args.checkpoints} "
        f"--n-envs {args.n_envs} --gamma {args.gamma:g}"
        + (f" --order {args.order}" if args.order != "possible_agents" else "")
        + "".join(f" --hyperparams {run}='{json.dumps(hp)}'" for run, hp in args.hyperparams.items())
        + f"; {platform.machine()}, Python {sys.version.split()[0]}, "
        f"{minutes:.1f} min. Trajectories are reproducible on one machine; training may differ across CPUs "
        "through floating-point rounding.",
        "",
        "For each rank: 'wrong' = contexts (joint actions of the agents above it) whose greedy reply is not the "
        "backward-induction reply, at the end of training (min / max over seeds, of the rank's contexts); "
        "'P(reply) on SE path' = the probability of the backward-induction reply in the context the SE passes "
        "through (median over seeds); 'SE reply best vs learned' = seeds in which the rank's SE action is still its "
        "best action in that context when the ranks below play their learned policies (where it is not, the rank "
        "learns another action however well it learns: the ranks below have made another action better); "
        "'SE' = seeds whose greedy joint action is the SE.",
        "",
        "| game | run | settings | SE | rank | contexts | wrong (min / max) | wrong on SE path | P(reply) on SE path "
        "| SE reply best vs learned |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for game in args.games:
        for run in args.runs:
            group = [r for r in rows if (r["game"], r["run"]) == (game, run)]
            final = [r for r in group if r["step"] == max(x["step"] for x in group if x["seed"] == r["seed"])]
            seeds = sorted({r["seed"] for r in final})
            se = sum(1 for s in seeds if next(r for r in final if r["seed"] == s)["greedy_is_se"])
            settings = run_factory(run, args)[2]
            shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("n_envs", "gamma")) or "-"
            for rank in sorted({r["rank"] for r in final}):
                ranked = [r for r in final if r["rank"] == rank]
                p = [r["p_reply_se_path"] for r in ranked if r["p_reply_se_path"] is not None]
                lines.append(
                    f"| {game} | {run} | {shown} | {se}/{len(seeds)} | {rank} | {ranked[0]['contexts']} | "
                    f"{_span([r['wrong'] for r in ranked])} | {sum(r['wrong_on_se_path'] for r in ranked)}/{len(ranked)} | "
                    f"{f'{np.median(p):.2f}' if p else '-'} | "
                    f"{sum(r['se_reply_best_against_learned'] for r in ranked)}/{len(ranked)} |"
                )
    lines += [
        "",
        "## The last follower's wrong replies over training",
        "",
        "Mean over seeds of the last rank's wrong contexts at each read-out.",
        "",
    ]
    steps = sorted({r["step"] for r in rows})
    lines += ["| game | run | " + " | ".join(f"{s:,}" for s in steps) + " |", "|---|---|" + "---:|" * len(steps)]
    for game in args.games:
        for run in args.runs:
            group = [r for r in rows if (r["game"], r["run"]) == (game, run)]
            last = [r for r in group if r["rank"] == max(x["rank"] for x in group)]
            cells = []
            for s in steps:
                at = [r["wrong"] for r in last if r["step"] == s]
                cells.append(f"{np.mean(at):.1f} / {last[0]['contexts']}" if at else "-")
            lines.append(f"| {game} | {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    rows = [
        row
        for game in args.games
        for run in args.runs
        for seed in range(args.seeds)
        for row in trial(game, run, seed, args)
    ]
    minutes = (time.perf_counter() - start) / 60
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows)
    text = report(rows, args, minutes)
    (args.out / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
