"""Agent-decisions per second through the full AEC API, side by side.

Measures, in one process and one run, the cost of the AEC loop
(``agent_iter`` / ``last`` / ``step``) on Penalty for:

* ``raw parallel``: the ``ParallelEnv`` stepped directly with a joint action
  (one decision per agent per step; the floor any AEC form pays on top of);
* ``parallel_to_aec``: PettingZoo's own conversion (no subgame observations);
* ``stmg_v0``: our sequential game (richer observations, order enforcement);
* ``stmg_v0(flatten=True)``: the same with flat ``Box`` observations.

Each variant is timed in several interleaved rounds and the median taken, so a
busy second core affects all variants alike. Peak memory is checked over a
long run with ``tracemalloc`` (the growth between the first and the last
quarter of the run should be ~0). The table is written to
``benchmarks/results/throughput.md`` and ``.csv``.

Usage::

    python benchmarks/throughput.py                 # default budget (~1 minute)
    python benchmarks/throughput.py --steps 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import csv
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from pettingzoo.utils.conversions import parallel_to_aec

import stmg_envs
from stmg_envs import stmg_v0
from stmg_envs.matrix import penalty

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Args:
    """Command-line arguments."""

    steps: int = 200_000
    """agent-decisions per timed round and variant"""
    rounds: int = 5
    """interleaved timing rounds; the median is reported"""
    memory_steps: int = 400_000
    """agent-decisions of the long run whose memory is tracked"""
    seed: int = 0
    """seed of the env and of the action sequence"""
    out: Path = RESULTS
    """folder for throughput.md / throughput.csv"""


def parse_args() -> Args:
    defaults = Args()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=defaults.steps, help=Args.__dataclass_fields__["steps"].type)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--memory-steps", type=int, default=defaults.memory_steps)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=Path, default=defaults.out)
    ns = parser.parse_args()
    if ns.steps < 1000 or ns.rounds < 1 or ns.memory_steps < 1000:
        parser.error("expected --steps >= 1000, --rounds >= 1, --memory-steps >= 1000")
    return Args(steps=ns.steps, rounds=ns.rounds, memory_steps=ns.memory_steps, seed=ns.seed, out=ns.out)


def actions_for(n: int, seed: int) -> list[int]:
    """A fixed sequence of valid Penalty actions (plain ints, as a policy's argmax would give)."""
    return np.random.default_rng(seed).integers(0, 3, size=n).tolist()


def run_parallel(n_decisions: int, actions: list[int], seed: int) -> int:
    """Step the ParallelEnv directly; counts one decision per agent per step."""
    env = penalty()
    agents = env.possible_agents
    env.reset(seed=seed)
    done = 0
    i = 0
    while done < n_decisions:
        joint = {a: actions[(i + j) % len(actions)] for j, a in enumerate(agents)}
        i += len(agents)
        _, _, _, truncs, _ = env.step(joint)
        done += len(agents)
        if not env.agents:
            env.reset()
    return done


def run_aec(make: Callable[[], object], n_decisions: int, actions: list[int], seed: int) -> int:
    """The standard AEC loop: ``agent_iter`` / ``last`` / ``step``, resetting when the episode ends."""
    env = make()
    done = 0
    i = 0
    n_actions = len(actions)
    while done < n_decisions:
        env.reset(seed=seed)
        for _agent in env.agent_iter():
            _obs, _reward, termination, truncation, _info = env.last()
            if termination or truncation:
                action = None
            else:
                action = actions[i % n_actions]
                i += 1
            env.step(action)
            done += 1
    return done


VARIANTS: dict[str, Callable[[int, list[int], int], int]] = {
    "raw parallel (no AEC)": run_parallel,
    "pettingzoo parallel_to_aec": lambda n, a, s: run_aec(lambda: parallel_to_aec(penalty()), n, a, s),
    "stmg_v0": lambda n, a, s: run_aec(lambda: stmg_v0(penalty()), n, a, s),
    "stmg_v0(flatten=True)": lambda n, a, s: run_aec(lambda: stmg_v0(penalty(), flatten=True), n, a, s),
}


def time_variants(args: Args, actions: list[int]) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, run in VARIANTS.items():
            gc.collect()
            start = time.perf_counter()
            done = run(args.steps, actions, args.seed)
            rates[name].append(done / (time.perf_counter() - start))
    return rates


def memory_growth(args: Args, actions: list[int]) -> tuple[float, float]:
    """Peak traced memory (MiB) over a long stmg_v0 run, and growth between its first and last quarter."""
    env = stmg_v0(penalty())
    quarter = args.memory_steps // 4
    tracemalloc.start()
    run_env_decisions(env, quarter, actions, args.seed)
    first, _ = tracemalloc.get_traced_memory()
    run_env_decisions(env, 2 * quarter, actions, args.seed)
    run_env_decisions(env, quarter, actions, args.seed)
    last, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, (last - first) / 2**20


def run_env_decisions(env, n: int, actions: list[int], seed: int) -> None:
    done = 0
    i = 0
    while done < n:
        env.reset(seed=seed)
        for _agent in env.agent_iter():
            _, _, term, trunc, _ = env.last()
            env.step(None if term or trunc else actions[i % len(actions)])
            i += 1
            done += 1


def main() -> None:
    args = parse_args()
    actions = actions_for(4096, args.seed)
    started = time.perf_counter()
    rates = time_variants(args, actions)
    peak_mib, growth_mib = memory_growth(args, actions)
    wall = time.perf_counter() - started

    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["pettingzoo parallel_to_aec"]
    rows = [
        {
            "variant": name,
            "decisions_per_s": round(med),
            "min": round(min(rates[name])),
            "max": round(max(rates[name])),
            "vs_parallel_to_aec": round(med / base, 2),
        }
        for name, med in medians.items()
    ]
    ratio = medians["stmg_v0"] / base
    target_met = ratio >= 1.5

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "throughput.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Throughput: agent-decisions per second through the AEC API (Penalty, 2 agents)",
        "",
        f"Written by `benchmarks/throughput.py` (steps={args.steps}, rounds={args.rounds}, seed={args.seed}) on "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"stmg-envs {stmg_envs.__version__}. Median over interleaved rounds (min-max in brackets).",
        "",
        "| variant | decisions/s | vs parallel_to_aec |",
        "|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['decisions_per_s']:,} [{row['min']:,}-{row['max']:,}] | {row['vs_parallel_to_aec']:.2f}x |"
        )
    lines += [
        "",
        f"Target: stmg_v0 >= 1.5x parallel_to_aec. Measured: **{ratio:.2f}x** ({'met' if target_met else 'NOT met'}).",
        "",
        f"Memory over a long stmg_v0 run ({args.memory_steps:,} decisions): peak {peak_mib:.2f} MiB traced, "
        f"growth from the first to the last quarter {growth_mib:+.3f} MiB.",
        "",
        f"Wall time: {wall:.1f} s.",
    ]
    text = "\n".join(lines) + "\n"
    (args.out / "throughput.md").write_text(text)
    print(text)
    sys.exit(0)


if __name__ == "__main__":
    main()
