"""Oracles & Followers against its Q-learning baseline on the iterated 2x2 games, checked by the exact solver.

Why this exists: Oracles & Followers (Gerstgrasser & Parkes 2023) learn a Stackelberg equilibrium
in which the leader commits to a *policy* of an iterated game (an action per memory state). This
script trains O&F (``oaf``: a follower pre-trained against randomly drawn leaders, then the leader,
then the follower re-trained; :mod:`stmg_agents.baselines.oracles_followers`) and their repository's
baseline (``oaf-tabularq``: a follower that runs tabular Q-learning inside every leader episode)
with the same cap of environment steps (every step counts, the baseline's inner Q-learning
episodes included), and compares what they reach with
:func:`stmg_envs.equilibria.iterated.iterated_stackelberg` (``follower="memory-1"``: the follower,
like O&F's, is a time-blind memory-1 policy; ties in the leader's favour).

For each game, method and seed it reads, through the contract's ``act``, the leader's committed
(greedy) action in every memory state and the follower's greedy reply, and reports:

* whether the committed policy is the solver's (the first optimal policy in lexicographic order),
  and whether it is *an* optimal one (its value against the exact best reply equals the optimum);
* the leader's return when both play greedily, against the solver's value (margin = solver's value
  minus the return);
* the follower's regret against the final leader (best memory-1 reply's value minus the reply's),
  and for ``oaf`` its largest regret over every deterministic leader when pre-training ended;
* the steps used (all, pre-training, the leader's own episodes).

Outputs: ``benchmarks/results/<name>.md`` and ``<name>.csv`` (one row per game, method and seed).

Usage::

    python benchmarks/oracles_followers.py                                # 5 games, 5 seeds, 2M steps each
    python benchmarks/oracles_followers.py --games ipd --seeds 2 --steps 200000 --name quick
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stmg_agents.baselines.oracles_followers import OraclesAndFollowers, QLearningFollower
from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_bench.sweep.reporting import refuse_overwrite, write_csv
from stmg_envs.equilibria.iterated import (
    ITERATED_GAMES,
    follower_best_response,
    iterated_stackelberg,
    leader_policies,
    play,
)

RESULTS = Path(__file__).resolve().parent / "results"

#: Method label (the class's ``name``, its registered name) -> the algorithm class (both satisfy the contract).
METHODS: dict[str, Any] = {cls.name: cls for cls in (OraclesAndFollowers, QLearningFollower)}


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    games: tuple[str, ...] = field(
        default=("ipd", "smipd", "bots", "stag_hunt", "chicken"),
        metadata={"help": f"named iterated games, from {sorted(ITERATED_GAMES)}"},
    )
    methods: tuple[str, ...] = field(default=tuple(METHODS), metadata={"help": f"methods, from {list(METHODS)}"})
    seeds: int = field(default=5, metadata={"help": "seeds per game and method (seeds 0, 1, ...)"})
    steps: int = field(
        default=2_000_000,
        metadata={
            "help": "joint environment steps per run, all phases (oaf's defaults: at most half pre-training, "
            "5%% re-training, the rest the leader)"
        },
    )
    hyperparams: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata={"help": "a method's own settings, METHOD=JSON, e.g. oaf='{\"ent_coef\": 0}'"}
    )
    name: str = field(default="oracles_followers", metadata={"help": "base name of the results files"})
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})
    overwrite: bool = field(default=False, metadata={"help": "replace an existing report of this name"})

    def check(self) -> str | None:
        if self.seeds < 1 or self.steps < 1:
            return f"expected --seeds and --steps >= 1, got {self.seeds} and {self.steps}"
        if unknown := sorted(set(self.games) - set(ITERATED_GAMES)):
            return f"expected --games from {sorted(ITERATED_GAMES)}, got {unknown}"
        if unknown := sorted(set(self.methods) - set(METHODS)):
            return f"expected --methods from {list(METHODS)}, got {unknown}"
        if unknown := sorted(set(self.hyperparams) - set(self.methods)):
            return f"--hyperparams names {unknown}, which are not in --methods {list(self.methods)}"
        return None


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])


def make_env_factory(game: str) -> Any:
    def make_env() -> Any:
        import pettingzoo

        import stmg_envs  # noqa: F401  (registers the tasks)

        return pettingzoo.make("parallel", "stmg/IteratedMatrix-v0", game=game)

    return make_env


def _onehot(n: int, m: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[m] = 1.0
    return out


def trial(game: str, method: str, seed: int, args: Args) -> dict[str, Any]:
    """Train one method with one seed on one game and read its policies against the solver."""
    make_env = make_env_factory(game)
    env = make_env()
    leader_agent, follower_agent = env.possible_agents
    n = env.observation_space(leader_agent).shape[0]
    start = time.perf_counter()
    model = METHODS[method](make_env, seed=seed, **args.hyperparams.get(method, {}))
    model.learn(args.steps)
    wall = time.perf_counter() - start
    leader = tuple(int(model.act(leader_agent, _onehot(n, m))) for m in range(n))
    reply = tuple(int(model.act(follower_agent, _onehot(n, m))) for m in range(n))
    solution = iterated_stackelberg(game, follower="memory-1")
    best_reply = follower_best_response(game, leader, follower="memory-1")
    played = play(game, leader, reply)
    pretrain_regret = getattr(model, "pretrain_regret", None)
    return {
        "game": game,
        "method": method,
        "seed": seed,
        "leader_policy": "".join(map(str, leader)),
        "solver_policy": "".join(map(str, solution.leader_policy)),
        "same_as_solver": leader == solution.leader_policy,
        "optimal": best_reply.leader_value >= solution.leader_value - 1e-9,
        "leader_return": played.leader_value,
        "solver_value": solution.leader_value,
        "margin": solution.leader_value - played.leader_value,
        "leader_value_vs_best_reply": best_reply.leader_value,
        "follower_reply": "".join(map(str, reply)),
        "follower_regret": best_reply.follower_value - played.follower_value,
        "pretrain_regret": "" if pretrain_regret is None else pretrain_regret,
        "pretrained": getattr(model, "pretrained", ""),
        "pretrain_steps": getattr(model, "pretrain_timesteps", 0),
        "leader_steps": model.leader_timesteps,
        "leader_episodes": model.leader_episodes,
        "steps": model.num_timesteps,
        "wall_s": round(wall, 2),
    }


def _mean_span(values: list[float], digits: int = 2) -> str:
    mean = float(np.mean(values))
    if min(values) == max(values):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def command_line(argv: list[str]) -> str:
    """The command that ran, as typed (the script's path and every flag given)."""
    return shlex.join(["python", "benchmarks/oracles_followers.py", *argv])


def report(rows: list[dict[str, Any]], args: Args, argv: list[str], minutes: float) -> str:
    lines = [
        f"# Oracles & Followers and the Q-learning follower on the iterated 2x2 games ({args.name})",
        "",
        f"Written by `{command_line(argv)}` at commit `{git_commit() or 'not recorded'}` ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}), {minutes:.1f} min; seeds 0-{args.seeds - 1}, "
        f"{args.steps:,} joint environment steps per run (all phases; the baseline's inner Q-learning steps included)"
        + "".join(f", {m} settings {hp}" for m, hp in args.hyperparams.items())
        + ". Trajectories are reproducible on one machine.",
        "",
        "The solver: `iterated_stackelberg(game, follower='memory-1')`, the leader's best deterministic memory-1 "
        "policy against a time-blind memory-1 follower (O&F's), ties in the leader's favour. 'solver's' = the "
        "committed (greedy) leader policy is the solver's (the first optimal one in lexicographic order); 'optimal' "
        "= its value against the exact best reply is the optimum (several policies may be optimal). Return = the "
        "leader's episode return with both agents greedy (mean [min, max] over seeds); margin = solver's value minus "
        "return. Follower regret = its best memory-1 reply's value against the final leader minus its reply's. "
        "Pre-training (oaf only): seeds whose follower reached regret below 1% of the payoff range against every "
        "deterministic leader, and the steps it took.",
        "",
        "| game | method | solver's | optimal | leader return | solver value | margin | follower regret "
        "| pre-trained | pre-training steps | leader episodes | steps |",
        "|---|---|---:|---:|---|---:|---|---|---:|---|---:|---:|",
    ]
    for game in args.games:
        for method in args.methods:
            group = [r for r in rows if (r["game"], r["method"]) == (game, method)]
            if not group:
                continue
            k = len(group)
            pre = [r for r in group if r["pretrained"] != ""]
            lines.append(
                f"| {game} | {method} | {sum(r['same_as_solver'] for r in group)}/{k} | "
                f"{sum(r['optimal'] for r in group)}/{k} | {_mean_span([r['leader_return'] for r in group])} | "
                f"{group[0]['solver_value']:g} | {_mean_span([r['margin'] for r in group])} | "
                f"{_mean_span([r['follower_regret'] for r in group])} | "
                + (f"{sum(bool(r['pretrained']) for r in pre)}/{k}" if pre else "-")
                + " | "
                + (_mean_span([r["pretrain_steps"] for r in pre], 0) if pre else "-")
                + f" | {np.mean([r['leader_episodes'] for r in group]):,.0f} | "
                f"{np.mean([r['steps'] for r in group]):,.0f} |"
            )
    lines += [
        "",
        "## Every run",
        "",
        "Policies as one digit per memory state (the leader's and the follower's; 0 = the first row/column).",
        "",
        "| game | method | seed | leader policy | solver's | follower reply | return | follower regret "
        "| pre-training regret | pre-training steps | s |",
        "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        pre = "-" if r["pretrain_regret"] == "" else f"{r['pretrain_regret']:g}"
        lines.append(
            f"| {r['game']} | {r['method']} | {r['seed']} | {r['leader_policy']} | {r['solver_policy']} | "
            f"{r['follower_reply']} | {r['leader_return']:g} | {r['follower_regret']:g} | {pre} | "
            f"{r['pretrain_steps']:,} | {r['wall_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    given = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(given)
    refuse_overwrite(args.out, args.name, args.overwrite)
    start = time.perf_counter()
    rows = []
    for game in args.games:
        leader_policies(game)  # an unknown game fails here, before any training
        for method in args.methods:
            for seed in range(args.seeds):
                rows.append(trial(game, method, seed, args))
                print(
                    f"{game} {method} seed {seed}: leader {rows[-1]['leader_policy']} return "
                    f"{rows[-1]['leader_return']:g} (solver {rows[-1]['solver_value']:g}), {rows[-1]['wall_s']:.0f} s",
                    flush=True,
                )
    minutes = (time.perf_counter() - start) / 60
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows)
    text = report(rows, args, given, minutes)
    (args.out / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
