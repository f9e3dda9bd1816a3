"""Why Bi-AC's leader yields in our two-car merge: the game of constant policies, and traces of training.

Why this exists: on ``stmg/TrafficMerge-v0`` the Bi-AC paper's leader (the main-lane car)
passes the merge point first in 72.2% of its episodes (its Table 4); ours
(``biac_ac_two_car.md``) mostly lets the ramp car go first. This script asks two questions
that need no training to be right:

1. **What does the game reward?** Every pair of *constant* policies (each car repeats one of
   the five meta-actions until the episode ends) is played on the merge study's 50
   evaluation episodes (reset seeds ``EVAL_SEED_OFFSET + i``, as ``benchmarks/onramp.py``
   evaluates). The table gives each pair's outcomes and mean rewards; from it, the pure Nash
   equilibria among constant policies, and the leader's Stackelberg commitment (the main-lane
   car commits to an action, the ramp car answers with its best constant reply).
2. **What does Bi-AC learn, and when?** ``biac-ac`` and ``biac-ac-actor`` are trained with the
   authors' settings (as ``biac_ac_two_car``, but on the task's raw rewards as the authors' code,
   without the merge suite's reward scaling), and every ``--trace-every`` steps the greedy
   policies are read on the first decision of the same evaluation episodes: the leader's action,
   the follower's reply to each of the five leader actions, and the greedy episodes' outcomes.

Outputs: ``benchmarks/results/<name>.md``, ``<name>_constant.csv`` and ``<name>_trace.csv``.

Usage::

    python benchmarks/two_car_game.py                       # both parts (about 25 min on two idle cores)
    python benchmarks/two_car_game.py --trace-seeds 0       # the game table only (about a minute)
"""

from __future__ import annotations

import itertools
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_bench.registry import resolve
from stmg_bench.suites.control import EVAL_SEED_OFFSET
from stmg_bench.sweep.reporting import write_csv

RESULTS = Path(__file__).resolve().parent / "results"
#: highway-env's meta-actions, by index (``TrafficMergeEnv``'s action space).
ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")
SHORT = "LIRFS"
OUTCOMES = ("main_first", "ramp_first", "crash")
#: The settings of ``biac_ac_two_car`` (the authors' code's: 2 x 30 MLPs, Adam 1e-3, gamma 1, one env copy).
AUTHORS_SETTINGS = {"n_envs": 1, "learning_rate": 0.001, "gamma": 1.0, "max_grad_norm": 10.0, "hidden_sizes": [30, 30]}


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    eval_episodes: int = field(default=50, metadata={"help": "evaluation episodes (the merge study's first N)"})
    variants: tuple[str, ...] = field(
        default=("biac-ac", "biac-ac-actor"), metadata={"help": "registered algorithms to trace"}
    )
    trace_seeds: int = field(default=3, metadata={"help": "training seeds traced per variant (0: the game only)"})
    steps: int = field(default=10_000, metadata={"help": "joint steps of training per traced seed"})
    trace_every: int = field(default=1_000, metadata={"help": "joint steps between two readings of a trace"})
    name: str = field(default="two_car_game", metadata={"help": "results file stem"})
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])


def make_env():
    from stmg_envs import stmg_v0
    from stmg_envs.highway.traffic_merge import TrafficMergeEnv

    return stmg_v0(TrafficMergeEnv())


def play(env, seed: int, choose) -> tuple[str, np.ndarray]:
    """One episode of the STMG ``env`` reset with ``seed``; ``choose(agent, observation, decision)`` gives each action."""
    env.reset(seed=seed)
    decision = 0
    while env.agents:
        agent = env.agent_selection
        done = env.terminations[agent] or env.truncations[agent]
        env.step(None if done else choose(agent, env.observe(agent), decision))
        if agent == env.possible_agents[-1]:
            decision += 1
    sim = env.unwrapped.sim
    return sim.outcome(), np.array(sim.outcome_rewards(sim.outcome()))  # rewards are 0 until the outcome


def constant_game(env, seeds: list[int]) -> list[dict]:
    """Outcome shares and mean rewards of every pair of constant policies over the evaluation episodes."""
    rows = []
    main, ramp = env.possible_agents
    for a_main, a_ramp in itertools.product(range(len(ACTIONS)), repeat=2):
        fixed = {main: a_main, ramp: a_ramp}
        outcomes, rewards = Counter(), np.zeros(2)
        for seed in seeds:
            outcome, totals = play(env, seed, lambda agent, _obs, _d, fixed=fixed: fixed[agent])
            outcomes[outcome] += 1
            rewards += totals
        rows.append(
            {
                "main_action": ACTIONS[a_main],
                "ramp_action": ACTIONS[a_ramp],
                **{o: outcomes[o] / len(seeds) for o in OUTCOMES},
                "main_reward": rewards[0] / len(seeds),
                "ramp_reward": rewards[1] / len(seeds),
            }
        )
    return rows


def equilibria(rows: list[dict]) -> tuple[list[tuple[str, str]], list[dict]]:
    """Pure Nash equilibria among constant policies, and, per leader commitment, the ramp car's best replies."""
    n = len(ACTIONS)
    main = np.array([r["main_reward"] for r in rows]).reshape(n, n)
    ramp = np.array([r["ramp_reward"] for r in rows]).reshape(n, n)
    nash = [
        (ACTIONS[i], ACTIONS[j])
        for i, j in itertools.product(range(n), repeat=2)
        if main[i, j] >= main[:, j].max() - 1e-9 and ramp[i, j] >= ramp[i, :].max() - 1e-9
    ]
    commitments = []
    for i in range(n):
        replies = np.flatnonzero(ramp[i] >= ramp[i].max() - 1e-9)
        values = main[i, replies]
        commitments.append(
            {
                "commitment": ACTIONS[i],
                "best_replies": "/".join(ACTIONS[j] for j in replies),
                "leader_worst": float(values.min()),
                "leader_best": float(values.max()),
            }
        )
    return nash, commitments


def reading(algo, env, seeds: list[int], leader: str, follower: str) -> dict:
    """The greedy policies on the first decision of each evaluation episode, and the greedy episodes' outcomes."""
    leader_first, replies, outcomes = Counter(), [Counter() for _ in ACTIONS], Counter()
    for seed in seeds:
        for a_leader in range(len(ACTIONS)):  # the follower's reply to each leader action, same start
            env.reset(seed=seed)
            env.step(a_leader)
            replies[a_leader][algo.act(follower, env.observe(follower))] += 1

        def greedy(agent, obs, decision):
            action = algo.act(agent, obs)
            if decision == 0 and agent == leader:
                leader_first[action] += 1
            return action

        outcome, _ = play(env, seed, greedy)
        outcomes[outcome] += 1
    return {
        "leader_first_action": ACTIONS[leader_first.most_common(1)[0][0]],
        "leader_first_faster": leader_first[ACTIONS.index("FASTER")] / len(seeds),
        "replies": "".join(SHORT[r.most_common(1)[0][0]] for r in replies),
        "reply_to_faster_is_faster": replies[ACTIONS.index("FASTER")][ACTIONS.index("FASTER")] / len(seeds),
        **{o: outcomes[o] / len(seeds) for o in OUTCOMES},
    }


def trace(variant: str, seed: int, args: Args, seeds: list[int]) -> list[dict]:
    algo = resolve(variant).build(make_env, seed, **AUTHORS_SETTINGS)
    env = make_env()
    leader, follower = env.possible_agents
    rows = []
    while algo.num_timesteps < args.steps:
        algo.learn(min(args.trace_every, args.steps - algo.num_timesteps))
        rows.append(
            {"variant": variant, "seed": seed, "steps": algo.num_timesteps}
            | reading(algo, env, seeds, leader, follower)
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    import torch

    args = parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    env = make_env()
    seeds = [EVAL_SEED_OFFSET + i for i in range(args.eval_episodes)]
    game = constant_game(env, seeds)
    nash, commitments = equilibria(game)
    traces = [row for v in args.variants for s in range(args.trace_seeds) for row in trace(v, s, args, seeds)]
    minutes = (time.perf_counter() - start) / 60
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}_constant.csv", game)
    if traces:
        write_csv(args.out / f"{args.name}_trace.csv", traces)
    pct = "{:.0%}".format
    lines = [
        f"# The two-car merge as a game, and what Bi-AC learns in it ({args.name})",
        "",
        f"Written by `benchmarks/two_car_game.py` at commit `{git_commit() or 'not recorded'}` with --eval-episodes "
        f"{args.eval_episodes} --variants {','.join(args.variants)} --trace-seeds {args.trace_seeds} --steps "
        f"{args.steps} --trace-every {args.trace_every}; {platform.machine()}, Python {sys.version.split()[0]}, "
        f"{minutes:.1f} min.",
        "",
        "## Constant policies",
        "",
        f"Each car repeats one meta-action until the episode ends; the {args.eval_episodes} evaluation episodes of the "
        "merge study (`benchmarks/onramp.py --tasks two-car`). Rows: the main-lane car (the leader); columns: the ramp "
        "car. Cell: outcome share (main first / ramp first / crash) and mean rewards (main, ramp).",
        "",
        "| main \\ ramp | " + " | ".join(ACTIONS) + " |",
        "|---|" + "---|" * len(ACTIONS),
    ]
    for i, name in enumerate(ACTIONS):
        cells = []
        for row in game[i * len(ACTIONS) : (i + 1) * len(ACTIONS)]:
            cells.append(
                f"{pct(row['main_first'])} / {pct(row['ramp_first'])} / {pct(row['crash'])} "
                f"({row['main_reward']:.1f}, {row['ramp_reward']:.1f})"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Pure Nash equilibria among constant policies (main, ramp): " + ", ".join(f"({a}, {b})" for a, b in nash) + ".",
        "",
        "The leader's commitments (the ramp car answers with its best constant reply; ties give the leader's worst "
        "and best value):",
        "",
        "| leader commits to | ramp car's best replies | leader's value (worst .. best reply) |",
        "|---|---|---|",
        *(
            f"| {c['commitment']} | {c['best_replies']} | {c['leader_worst']:.1f} .. {c['leader_best']:.1f} |"
            for c in commitments
        ),
    ]
    best = max(commitments, key=lambda c: c["leader_worst"])
    lines += [
        "",
        f"Stackelberg commitment of the main-lane car among constant policies: {best['commitment']} "
        f"(value {best['leader_worst']:.1f} whatever best reply the ramp car picks).",
    ]
    if traces:
        lines += [
            "",
            "## Training traces",
            "",
            f"Each variant trained with the authors' settings {AUTHORS_SETTINGS} on the task's raw rewards, read every "
            f"{args.trace_every:,} joint steps on the first decision of the same evaluation episodes: the leader's "
            "most common greedy action and how often it is FASTER; the follower's most common greedy reply to each "
            "leader action (L, I, R, F, S = LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER) and how often it answers "
            "FASTER with FASTER; the greedy episodes' outcomes.",
            "",
            "| variant | seed | steps | leader's first action | leader FASTER | follower's replies to L,I,R,F,S | "
            "F answered with F | main first | ramp first | crash |",
            "|---|---:|---:|---|---:|---|---:|---:|---:|---:|",
            *(
                f"| {r['variant']} | {r['seed']} | {r['steps']:,} | {r['leader_first_action']} | "
                f"{pct(r['leader_first_faster'])} | {r['replies']} | {pct(r['reply_to_faster_is_faster'])} | "
                f"{pct(r['main_first'])} | {pct(r['ramp_first'])} | {pct(r['crash'])} |"
                for r in traces
            ),
        ]
    (args.out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
