"""Highway on-ramp merging: learning curves of STEP vs MAPPO vs IPPO (paper Fig. 8), average speed and crash rate (Fig. 9).

``stmg/OnRampMerge-v0`` (Chen et al. 2021) at difficulty easy, medium and
hard: controlled vehicles (the agents; the number varies per episode) merge
with human-driven traffic, each with its own reward (speed, merge-lane and
headway terms, -200 for a crash). STEP trains on the STMG in the merge
priority order (:func:`stmg_envs.highway.merge_priority_order`, recomputed at
every step: ramp vehicles nearest the merge end and short headways act first),
MAPPO and IPPO on the simultaneous game. Every algorithm gets the same PPO
hyper-parameters (:data:`stmg_bench.control_trials.ONRAMP_HYPERPARAMETERS`),
the same reward scaling for training (rewards divided by the running std
of the discounted return, as SB3's ``VecNormalize``; evaluations report the
task's own rewards), the same joint environment steps per trial and the same
evaluation episodes (observations are already scaled by the task, so they are
not normalised). STEP's hypernetwork output is scaled by its width
(``hyper_scale_by_width``, part of the preset), so that one Adam step moves its
generated policy weights about as far as the baselines' weights.

Metrics of the greedy policy on fixed evaluation episodes: the team return
(mean over the episode's agents of their episode returns), the average speed
of the controlled vehicles (m/s, over agents and decisions) and the crash
rate (fraction of episodes with a crash; a crash ends the episode).

Budget: ``--budget`` is the wall-clock minutes the sweep should take on this
machine with ``--workers`` parallel trials; each difficulty gets an equal
share of the core-seconds, and within it every trial trains the same number
of joint steps, computed from the training throughput measured on this machine
(:data:`THROUGHPUT`, or measured now with ``--calibrate``). ``--steps`` fixes
the steps per trial instead. The results state the steps behind each number.

Outputs, in ``benchmarks/results/``: ``<name>.md``, ``<name>.csv`` (final
metrics per difficulty and algorithm: mean and 95% t-interval over seeds),
``<name>_curves.csv``, ``<name>_curves.png`` (return, Fig. 8) and
``<name>_speed_crash.png`` (average speed and crash rate, Fig. 9); trial
records in ``benchmarks/results/trials/<name>/`` (an interrupted run resumes).

Usage::

    python benchmarks/onramp.py                          # easy, medium, hard; ~30 min
    python benchmarks/onramp.py --budget 10 --seeds 2
    python benchmarks/onramp.py --difficulties hard --steps 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmg_bench.control_trials import ALGORITHMS, ONRAMP_HYPERPARAMETERS, ORDERS
from stmg_bench.learning_curves import aggregate_curves, steps_for_share, t_interval, whole_rollouts
from stmg_bench.sweep import SweepOptions, Trial, add_sweep_arguments, run_sweep, sweep_kwargs
from stmg_bench.sweep.reporting import default_workers, parse_csv_list, sweep_span_s, write_csv

RESULTS = Path(__file__).resolve().parent / "results"
TASK_ID = "stmg/OnRampMerge-v0"
DIFFICULTIES = ("easy", "medium", "hard")

#: Training throughput (joint steps/s of one trial, updates included, evaluations excluded) with
#: ONRAMP_HYPERPARAMETERS, measured on this project's 2-core benchmark machine with two trials running
#: at once, as the sweep runs them (6,000 steps each; repeat measurements differ by up to about 30%,
#: the simulation's cost depends on the traffic). Used to turn ``--budget`` into steps per trial;
#: ``--calibrate`` measures anew.
THROUGHPUT: dict[str, dict[str, float]] = {
    "easy": {"step": 490.0, "mappo": 620.0, "ippo": 600.0},
    "medium": {"step": 335.0, "mappo": 415.0, "ippo": 300.0},
    "hard": {"step": 240.0, "mappo": 225.0, "ippo": 180.0},
}

#: Fraction of the budget's core-seconds given to training; the rest covers evaluations,
#: process start-up and the uneven end of the sweep.
TRAINING_FRACTION = 0.7


@dataclass(frozen=True)
class Args(SweepOptions):
    """Command-line arguments (see ``--help``)."""

    difficulties: tuple[str, ...] = DIFFICULTIES
    """traffic densities: easy, medium, hard"""
    algos: tuple[str, ...] = ALGORITHMS
    """algorithms: step, mappo, ippo"""
    seeds: int = 3
    """trials per difficulty and algorithm (the paper: 5)"""
    budget: float = 30.0
    """wall-clock minutes the whole sweep should take on this machine"""
    steps: int | None = None
    """joint steps per trial (overrides --budget)"""
    order: str = "merge_priority"
    """STEP's priority order: merge_priority (dynamic) or possible_agents (fixed)"""
    eval_points: int = 10
    """evaluations during training (plus one before and one after)"""
    eval_episodes: int = 5
    """greedy episodes per evaluation"""
    calibrate: bool = False
    """measure the training throughput now instead of using THROUGHPUT"""
    name: str = "onramp"
    """base name of the results files"""
    out: Path = RESULTS
    """results folder"""


def parse_args(argv: list[str] | None = None) -> Args:
    defaults = Args()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--difficulties", default=",".join(defaults.difficulties), help=f"comma-separated from {list(DIFFICULTIES)}")
    parser.add_argument("--algos", default=",".join(defaults.algos), help=f"comma-separated from {list(ALGORITHMS)}")
    parser.add_argument("--seeds", type=int, default=defaults.seeds, help="trials per difficulty and algorithm (default %(default)s)")
    parser.add_argument("--budget", type=float, default=defaults.budget, help="wall-clock minutes of the sweep (default %(default)s)")
    parser.add_argument("--steps", type=int, default=None, help="joint steps per trial; overrides --budget")
    parser.add_argument("--order", choices=ORDERS, default=defaults.order, help="STEP's priority order (default %(default)s)")
    parser.add_argument("--eval-points", type=int, default=defaults.eval_points, help="evaluations during training (default %(default)s)")
    parser.add_argument("--eval-episodes", type=int, default=defaults.eval_episodes, help="greedy episodes per evaluation (default %(default)s)")
    parser.add_argument("--calibrate", action="store_true", help="measure training throughput first instead of using the built-in table")
    parser.add_argument("--name", default=defaults.name, help="base name of the results files (default %(default)s)")
    parser.add_argument("--out", type=Path, default=defaults.out, help="results folder")
    add_sweep_arguments(parser)
    ns = parser.parse_args(argv)
    difficulties, algos = parse_csv_list(ns.difficulties), parse_csv_list(ns.algos)
    if not difficulties or (unknown := [d for d in difficulties if d not in DIFFICULTIES]):
        parser.error(f"expected --difficulties from {list(DIFFICULTIES)}, got {ns.difficulties!r}")
    if not algos or (unknown := [a for a in algos if a not in ALGORITHMS]):
        parser.error(f"expected --algos from {list(ALGORITHMS)}, got {ns.algos!r}")
    if ns.seeds < 1 or ns.budget <= 0 or (ns.steps is not None and ns.steps < 1):
        parser.error("expected --seeds >= 1, --budget > 0 and --steps >= 1")
    if ns.eval_points < 0 or ns.eval_episodes < 1:
        parser.error("expected --eval-points >= 0 and --eval-episodes >= 1")
    return Args(
        difficulties=difficulties, algos=algos, seeds=ns.seeds, budget=ns.budget, steps=ns.steps, order=ns.order,
        eval_points=ns.eval_points, eval_episodes=ns.eval_episodes, calibrate=ns.calibrate, name=ns.name,
        out=ns.out, backend=ns.backend, workers=ns.workers, address=ns.address, fresh=ns.fresh,
    )


def plan_steps(args: Args, throughput: dict[str, dict[str, float]]) -> dict[str, int]:
    """Joint steps per trial for each difficulty (equal core-second shares)."""
    rollout = ONRAMP_HYPERPARAMETERS.rollout_joint_steps
    if args.steps is not None:
        return {d: whole_rollouts(args.steps, rollout) for d in args.difficulties}
    share = args.budget * 60.0 * default_workers(args.workers) * TRAINING_FRACTION / len(args.difficulties)
    return {
        d: steps_for_share(share, [throughput[d][a] for a in args.algos for _ in range(args.seeds)], rollout)
        for d in args.difficulties
    }


def make_trials(args: Args, steps: dict[str, int]) -> list[Trial]:
    return [
        Trial(
            key=f"{algo}_{difficulty}_s{seed}",
            fn="stmg_bench.control_trials:control_trial",
            kwargs={
                "algo": algo,
                "task_id": TASK_ID,
                "task_kwargs": {"difficulty": difficulty},
                "seed": seed,
                "steps": steps[difficulty],
                "eval_points": args.eval_points,
                "eval_episodes": args.eval_episodes,
                "normalize_observations": False,
                "normalize_rewards": True,
                "order": args.order if algo == "step" else "possible_agents",
                "hyperparams": {},
            },
        )
        for difficulty in args.difficulties
        for algo in args.algos
        for seed in range(args.seeds)
    ]


def calibrate(args: Args) -> dict[str, dict[str, float]]:
    """Measure training throughput with one short trial per algorithm and difficulty (in this process)."""
    from stmg_bench.control_trials import control_trial

    table: dict[str, dict[str, float]] = {}
    for difficulty in args.difficulties:
        table[difficulty] = {}
        for algo in ALGORITHMS:
            record = control_trial(
                algo, TASK_ID, {"difficulty": difficulty}, seed=0, steps=8_000, eval_points=0, eval_episodes=1,
                normalize_rewards=True, order=args.order if algo == "step" else "possible_agents",
            )
            table[difficulty][algo] = round(record["steps_per_s"], 1)
            print(f"calibrate: {difficulty} {algo}: {record['steps_per_s']:.0f} joint steps/s", file=sys.stderr, flush=True)
    return table


METRICS = ("team_return", "mean_speed", "crash_rate")

#: Ranges of the bounded metrics; their t-intervals are clipped to them in tables and plots.
METRIC_RANGES = {"mean_speed": (0.0, None), "crash_rate": (0.0, 1.0)}


def clip_to_range(metric: str, low, high):
    """``(low, high)`` of an interval (floats or arrays) clipped to the metric's possible values."""
    if metric not in METRIC_RANGES:
        return low, high
    bottom, top = METRIC_RANGES[metric]
    return np.clip(low, bottom, top), np.clip(high, bottom, top)


def group_records(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        result = record["result"]
        groups[(result["task_kwargs"]["difficulty"], result["algo"])].append(result)
    return groups


def _ordered(groups: dict) -> list[tuple[tuple[str, str], list[dict]]]:
    return sorted(groups.items(), key=lambda kv: (DIFFICULTIES.index(kv[0][0]), ALGORITHMS.index(kv[0][1])))


def summary_rows(groups: dict, budget_text: str) -> list[dict]:
    rows = []
    for (difficulty, algo), results in _ordered(groups):
        row = {"difficulty": difficulty, "algo": algo, "seeds": len(results), "steps_per_trial": results[0]["steps"],
               "budget": budget_text}
        for metric in METRICS:
            interval = t_interval([r["final"][metric] for r in results])
            low, high = clip_to_range(metric, interval.low, interval.high)
            row[f"final_{metric}_mean"] = round(interval.mean, 3)
            row[f"final_{metric}_ci95_low"] = round(float(low), 3)
            row[f"final_{metric}_ci95_high"] = round(float(high), 3)
        best = [max(p["team_return"] for p in r["curve"] if p["step"] > 0) for r in results]
        row["best_team_return_mean"] = round(t_interval(best).mean, 3)
        row["train_steps_per_s"] = round(sum(r["steps_per_s"] for r in results) / len(results))
        row["train_min_per_trial"] = round(sum(r["train_s"] for r in results) / len(results) / 60, 2)
        rows.append(row)
    return rows


def curve_rows(groups: dict) -> list[dict]:
    rows = []
    for (difficulty, algo), results in _ordered(groups):
        bands = {m: aggregate_curves([r["curve"] for r in results], m) for m in METRICS}
        for i, step in enumerate(bands["team_return"].steps):
            row = {"difficulty": difficulty, "algo": algo, "step": step, "seeds": bands["team_return"].intervals[i].n}
            for metric, band in bands.items():
                interval = band.intervals[band.steps.index(step)]
                low, high = clip_to_range(metric, interval.low, interval.high)
                row[f"{metric}_mean"] = round(interval.mean, 3)
                row[f"{metric}_ci95_low"] = round(float(low), 3)
                row[f"{metric}_ci95_high"] = round(float(high), 3)
            rows.append(row)
    return rows


def _ci(row: dict, metric: str, fmt: str) -> str:
    return (f"{row[f'final_{metric}_mean']:{fmt}} ({row[f'final_{metric}_ci95_low']:{fmt}} .. "
            f"{row[f'final_{metric}_ci95_high']:{fmt}})")


def write_markdown(path: Path, rows: list[dict], args: Args, steps: dict[str, int], throughput_source: str,
                   wall_s: float, n_new: int, span_s: float) -> str:
    budget = f"--steps {args.steps}" if args.steps else f"--budget {args.budget:g} min"
    hp = ONRAMP_HYPERPARAMETERS
    lines = [
        f"# Highway on-ramp merging: STEP vs MAPPO vs IPPO ({args.name})",
        "",
        f"Written by `benchmarks/onramp.py` with {budget}, --seeds {args.seeds}, --order {args.order}, "
        f"--eval-points {args.eval_points}, --eval-episodes {args.eval_episodes}, {default_workers(args.workers)} workers "
        f"({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}). Steps per trial from "
        f"{throughput_source}: " + ", ".join(f"{d} {n:,}" for d, n in steps.items()) + " joint steps "
        f"(100 decisions per episode at most).",
        "",
        f"Metrics of the greedy policy on {args.eval_episodes} fixed evaluation episodes after the last update: "
        "team return = mean over the episode's agents of their episode returns (per-agent rewards; a crash costs "
        "-200 and ends the episode); speed = average speed of the controlled vehicles in m/s; crash rate = fraction "
        "of episodes with a crash (intervals of speed and crash rate clipped to their possible values); best return = each seed's best evaluation after training began. "
        "Mean and 95% Student t-interval over seeds. All algorithms: the same PPO settings "
        f"({hp.n_envs} envs x {hp.n_steps} steps per rollout, lr {hp.learning_rate:g}, {hp.n_epochs} epochs x "
        f"{hp.n_minibatches} minibatches, entropy {hp.ent_coef:g}, hidden {list(hp.hidden_sizes)}; "
        f"STEP's hyper_scale_by_width={hp.hyper_scale_by_width}) and reward scaling "
        "for training (VecNormalize-style; evaluations use the task's rewards). These budgets are "
        "a small fraction of the paper's: the numbers show early learning, not converged performance.",
        "",
        "| difficulty | algo | seeds | steps per trial | final team return (95% CI) | best return | avg speed m/s (95% CI) | crash rate (95% CI) | train steps/s | budget |",
        "|---|---|---:|---:|---|---:|---|---|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['difficulty']} | {r['algo']} | {r['seeds']} | {r['steps_per_trial']:,} | {_ci(r, 'team_return', '.1f')} | "
            f"{r['best_team_return_mean']:.1f} | {_ci(r, 'mean_speed', '.2f')} | {_ci(r, 'crash_rate', '.2f')} | "
            f"{r['train_steps_per_s']:,} | {r['budget']} |"
        )
    lines += [
        "",
        f"Wall time of the sweep that produced these records (first trial start to last trial end): "
        f"{span_s / 60:.1f} min; this invocation: {wall_s / 60:.1f} min for {n_new} new trials (backend {args.backend}; "
        "trials already saved are not rerun).",
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text)
    return text


def plot(groups: dict, args: Args, steps: dict[str, int]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    thousands = FuncFormatter(lambda x, _: f"{x / 1000:g}k")

    colors = {"step": "tab:red", "mappo": "tab:blue", "ippo": "tab:green"}
    budget = f"--steps {args.steps}" if args.steps else f"budget {args.budget:g} min"
    n = len(args.difficulties)
    paths = []
    figures = (
        ("curves", ("team_return",), "team episode return", "Highway on-ramp merging (Fig. 8)"),
        ("speed_crash", ("mean_speed", "crash_rate"), None, "Highway on-ramp merging: average speed and crash rate (Fig. 9)"),
    )
    labels = {"team_return": "team episode return", "mean_speed": "average speed (m/s)", "crash_rate": "crash rate"}
    for suffix, metrics, _, title in figures:
        fig, axes = plt.subplots(len(metrics), n, figsize=(4.6 * n, 3.4 * len(metrics)), squeeze=False)
        for row, metric in enumerate(metrics):
            for col, difficulty in enumerate(args.difficulties):
                ax = axes[row][col]
                for algo in args.algos:
                    results = groups.get((difficulty, algo))
                    if not results:
                        continue
                    x, mean, low, high = aggregate_curves([r["curve"] for r in results], metric).arrays()
                    low, high = clip_to_range(metric, low, high)
                    ax.plot(x, mean, color=colors[algo], label=f"{algo.upper()} (n={len(results)})")
                    ax.fill_between(x, low, high, color=colors[algo], alpha=0.2)
                if metric == "crash_rate":
                    ax.set_ylim(-0.05, 1.05)
                ax.set_title(f"{difficulty} ({steps[difficulty]:,} steps/trial)", fontsize=10)
                ax.set_xlabel("joint environment steps")
                ax.xaxis.set_major_formatter(thousands)
                ax.set_ylabel(labels[metric])
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
        fig.suptitle(f"{title}, greedy policy: mean and 95% CI over seeds ({budget})", fontsize=11)
        fig.tight_layout()
        path = args.out / f"{args.name}_{suffix}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.steps:
        throughput, source = THROUGHPUT, "--steps"
    elif args.calibrate:
        throughput, source = calibrate(args), "throughput measured now (--calibrate)"
    else:
        throughput, source = THROUGHPUT, "the built-in throughput table (THROUGHPUT)"
    steps = plan_steps(args, throughput)
    trials = make_trials(args, steps)
    print(f"{args.name}: {len(trials)} trials; joint steps per trial: {steps}", file=sys.stderr, flush=True)
    records = run_sweep(trials, args.out / "trials" / args.name, desc=f"{args.name}: trials", **sweep_kwargs(args))
    groups = group_records(records)
    budget_text = f"--steps {args.steps}" if args.steps else f"--budget {args.budget:g} min"
    rows = summary_rows(groups, budget_text)
    write_csv(args.out / f"{args.name}.csv", rows)
    write_csv(args.out / f"{args.name}_curves.csv", curve_rows(groups))
    text = write_markdown(args.out / f"{args.name}.md", rows, args, steps, source, records.wall_s, len(records.executed),
                          sweep_span_s(records))
    plot(groups, args, steps)
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
