"""The highway merge study (``benchmarks/onramp.py``, ``stmg-bench merge``): learning curves of any algorithms (default STEP, MAPPO, IPPO; paper Fig. 8), average speed
and crash rate (Fig. 9).

What is run: ``stmg/OnRampMerge-v0`` (Chen et al. 2021) at difficulty easy, medium and
hard, and Bi-AC's two-car merge ``stmg/TrafficMerge-v0`` (``--tasks two-car``; a main-lane
leader and a ramp follower, episodes of 2-4 decisions): on the on-ramp, controlled vehicles (the agents; their number varies per episode) merge with
human-driven traffic, each with its own reward (speed, merge-lane and headway terms,
-200 for a crash). Every algorithm of ``--algos`` (built-in names or your own
``package.module:Class``) x task x ``--seeds`` seeds trains for the same joint
steps. A sequential-form algorithm (STEP) trains on the STMG in ``--order`` (default
the merge priority, :func:`stmg_envs.highway.merge_priority_order`, recomputed every
step: ramp vehicles nearest the merge end and short headways act first); a
simultaneous-form one (MAPPO, IPPO) on the simultaneous game. Every algorithm gets
the same PPO settings where it takes them (the ``onramp`` preset,
:data:`stmg_bench.suites.control.ONRAMP_HYPERPARAMETERS`) and the same reward scaling
for training (rewards divided by the running std of the discounted return, as SB3's
``VecNormalize``; evaluations report the task's own rewards; observations are
already scaled by the task). STEP's own lever, by default of ``--hyperparams``: its
hypernetwork output scaled by its width.

How it is evaluated: the greedy policy through each algorithm's form on fixed
evaluation episodes: the team return (mean over the episode's agents of their
episode returns), the average speed of the controlled vehicles (m/s, over agents and
decisions) and the crash rate (fraction of episodes with a crash; a crash ends the
episode). At the final point every pair of algorithms is compared by Welch's test, its p-values
Holm-corrected over the pairs of each task (:func:`~stmg_bench.suites.control_study.holm`).

Budget: ``--steps`` joint steps per trial, the same for every algorithm (default 50,000);
or ``--budget`` minutes, turned into steps by measuring each algorithm's training throughput now
(each task gets an equal share of the core-seconds).

What is written, in ``--out`` (``runs/``; the script: ``benchmarks/results/``): ``<name>.md``,
``<name>.csv`` (final metrics per task and algorithm: mean and 95% t-interval over seeds), ``<name>_tests.csv``,
``<name>_curves.csv``, ``<name>_curves.png`` (return, Fig. 8) and ``<name>_speed_crash.png``
(Fig. 9); trial records in ``<out>/trials/<name>/`` (an interrupted run resumes). An existing
``<name>.md`` or ``<name>.csv`` is never replaced unless ``--overwrite`` is given (the run stops before any trial;
``--name NEW`` writes a new report instead).

Usage::

    python benchmarks/onramp.py                                 # easy, medium, hard, 50,000 steps per trial
    python benchmarks/onramp.py --budget 30 --seeds 3           # steps from throughput measured now
    python benchmarks/onramp.py --tasks hard,two-car --steps 100000 --order possible_agents
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from stmg_bench.args import parse_dataclass
from stmg_bench.learning_curves import aggregate_curves, t_interval
from stmg_bench.suites import control_study as study
from stmg_bench.suites.control import ONRAMP_HYPERPARAMETERS, ORDERS
from stmg_bench.sweep import run_sweep, sweep_kwargs
from stmg_bench.sweep.reporting import (
    default_workers,
    refuse_overwrite,
    time_lines,
    write_csv,
)

#: The results folder of ``stmg-bench``, a folder of the user's own (``benchmarks/onramp.py`` writes into
#: ``benchmarks/results/`` next to itself instead).
RESULTS = Path("runs")
#: Task label -> (registered ID, arguments). The on-ramp difficulties and the two-car merge.
TASKS: dict[str, tuple[str, dict]] = {
    **{d: ("stmg/OnRampMerge-v0", {"difficulty": d}) for d in ("easy", "medium", "hard")},
    "two-car": ("stmg/TrafficMerge-v0", {}),
}
DEFAULT_TASKS = ("easy", "medium", "hard")
#: Task label -> the outcome flags its infos report (:class:`~stmg_bench.deterministic_evaluation.EpisodeSummary`'s
#: ``flags``), each with what it means: their rates over the evaluation episodes are reported per task.
OUTCOMES: dict[str, dict[str, str]] = {
    "two-car": {
        "main_first": "main-lane car first",
        "ramp_first": "ramp car first",
        "crash": "crash",
    },
}

#: Fraction of the budget's core-seconds given to training; the rest covers evaluations,
#: process start-up and the uneven end of the sweep.
TRAINING_FRACTION = 0.7


@dataclass(frozen=True)
class Args(study.ControlArgs):
    """The merge study's settings (``--help`` lists them with the shared ones of ``ControlArgs``)."""

    DEFAULT_STEPS: ClassVar[int] = 50_000  # without --steps or --budget

    tasks: tuple[str, ...] = field(
        default=DEFAULT_TASKS, metadata={"help": f"on-ramp traffic densities and the two-car merge, from {list(TASKS)}"}
    )
    order: str = field(
        default="merge_priority",
        metadata={
            "help": f"priority order of the STMG for sequential-form algorithms, from {list(ORDERS)}, or agents "
            "joined by '+' (agent_1+agent_0)",
        },
    )
    eval_episodes: int = field(default=5, metadata={"help": "greedy episodes per evaluation"})
    name: str = field(default="onramp", metadata={"help": "base name of the results files"})
    out: Path = field(
        default=RESULTS,
        metadata={"help": "results folder (benchmarks/onramp.py: benchmarks/results/ next to it)"},
    )

    def check(self) -> str | None:
        if (problem := super().check()) is not None:
            return problem
        if not self.tasks or [t for t in self.tasks if t not in TASKS]:
            return f"expected --tasks from {list(TASKS)}, got {list(self.tasks)}"
        return study.order_problem(self.order, {t: task(self, t) for t in self.tasks}, ORDERS)


def parse_args(argv: list[str] | None = None, prog: str | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0], prog=prog)


def task(args: Args, label: str) -> study.TaskSpec:
    task_id, kwargs = TASKS[label]
    return study.TaskSpec(task_id, dict(kwargs), "onramp", False, True, args.order)


def task_of(record: Mapping[str, Any]) -> str:
    kw = record["kwargs"]
    for label, (task_id, kwargs) in TASKS.items():
        if task_id == kw["task_id"] and kwargs == kw["task_kwargs"]:
            return label
    raise KeyError(kw)


def plan(args: Args, algorithms: list, settings: dict) -> tuple[dict[str, int], str]:
    """Joint steps per trial for each task (equal core-second shares), and where they came from."""
    groups = {d: [a.name for a in algorithms for _ in range(args.seeds)] for d in args.tasks}
    shares = dict.fromkeys(args.tasks, 1)
    rollout = dict.fromkeys(args.tasks, ONRAMP_HYPERPARAMETERS.rollout_joint_steps)
    if args.steps is not None:
        return study.plan_steps(args, groups, shares, None, rollout, TRAINING_FRACTION), "--steps"
    throughput = study.calibrate({d: task(args, d) for d in args.tasks}, algorithms, settings, args.calibration_steps)
    return (
        study.plan_steps(args, groups, shares, throughput, rollout, TRAINING_FRACTION),
        f"training throughput measured now ({args.calibration_steps:,} steps per algorithm and task)",
    )


def make_trials(args: Args, algorithms: list, settings: dict, steps: dict[str, int]) -> list:
    return [
        study.make_trial(f"{algo.name}_{d}_s{seed}", algo, settings[algo.name], task(args, d), seed, steps[d], args)
        for d in args.tasks
        for algo in algorithms
        for seed in range(args.seeds)
    ]


METRICS = ("team_return", "mean_speed", "crash_rate")

#: Ranges of the bounded metrics (the outcome flags' shares included); their t-intervals are clipped to them in
#: tables and plots.
METRIC_RANGES = {
    "mean_speed": (0.0, None),
    "crash_rate": (0.0, 1.0),
    **{flag: (0.0, 1.0) for flags in OUTCOMES.values() for flag in flags},
}


def clip_to_range(metric: str, low, high):
    """``(low, high)`` of an interval (floats or arrays) clipped to the metric's possible values."""
    if metric not in METRIC_RANGES:
        return low, high
    bottom, top = METRIC_RANGES[metric]
    return np.clip(low, bottom, top), np.clip(high, bottom, top)


def summary_rows(groups: dict, budget_text: str) -> list[dict]:
    rows = []
    for (label, algo), results in groups.items():
        row = {
            "task": label,
            "algo": algo,
            "seeds": len(results),
            "steps_per_trial": results[0]["steps"],
            "budget": budget_text,
        }
        finals = {metric: [r["final"][metric] for r in results] for metric in METRICS}
        for flag in OUTCOMES.get(label, {}):
            rates = [r["final"].get("flag_rates", {}).get(flag) for r in results]
            if all(rate is not None for rate in rates):  # not in records made before the flags were recorded
                finals[flag] = rates
        for metric, values in finals.items():
            interval = t_interval(values)
            low, high = clip_to_range(metric, interval.low, interval.high)
            row[f"final_{metric}_mean"] = round(interval.mean, 3)
            row[f"final_{metric}_ci95_low"] = round(float(low), 3)
            row[f"final_{metric}_ci95_high"] = round(float(high), 3)
        best = [max(p["team_return"] for p in r["curve"] if p["step"] > 0) for r in results]
        row["best_team_return_mean"] = round(t_interval(best).mean, 3)
        row["train_steps_per_s"] = round(sum(r["steps_per_s"] for r in results) / len(results))
        row["train_min_per_trial"] = round(sum(r["train_s"] for r in results) / len(results) / 60, 2)
        row["peak_rss_mb"] = round(max(r.get("peak_rss_mb", float("nan")) for r in results))
        rows.append(row)
    return rows


def curve_rows(groups: dict) -> list[dict]:
    rows = []
    for (label, algo), results in groups.items():
        bands = {m: aggregate_curves([r["curve"] for r in results], m) for m in METRICS}
        for i, step in enumerate(bands["team_return"].steps):
            row = {"task": label, "algo": algo, "step": step, "seeds": bands["team_return"].intervals[i].n}
            for metric, band in bands.items():
                interval = band.intervals[band.steps.index(step)]
                low, high = clip_to_range(metric, interval.low, interval.high)
                row[f"{metric}_mean"] = round(interval.mean, 3)
                row[f"{metric}_ci95_low"] = round(float(low), 3)
                row[f"{metric}_ci95_high"] = round(float(high), 3)
            rows.append(row)
    return rows


def _ci(row: dict, metric: str, fmt: str) -> str:
    return (
        f"{row[f'final_{metric}_mean']:{fmt}} ({row[f'final_{metric}_ci95_low']:{fmt}} .. "
        f"{row[f'final_{metric}_ci95_high']:{fmt}})"
    )


def write_markdown(
    path: Path,
    rows: list[dict],
    tests: list[dict],
    args: Args,
    names: list[str],
    settings: dict,
    steps: dict[str, int],
    steps_source: str,
    records,
    targets: Mapping[str, str] | None = None,
) -> str:
    """The report; ``targets`` (algorithm name -> registry target) adds the papers' figures of the methods they
    implement (:mod:`stmg_bench.published`)."""
    hp = ONRAMP_HYPERPARAMETERS
    lines = [
        f"# Highway merging: {' vs '.join(names)} ({args.name})",
        "",
        f"Written by `benchmarks/onramp.py` (`stmg-bench merge`) with {args.algos_text}, --tasks {','.join(args.tasks)}, "
        f"{args.budget_text}, --seeds {args.seeds}, --order {args.order}, "
        f"--eval-points {args.eval_points}, --eval-episodes {args.eval_episodes}, {default_workers(args.workers)} workers "
        f"({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}). Steps per trial from "
        f"{steps_source}: " + ", ".join(f"{d} {n:,}" for d, n in steps.items()) + " joint steps "
        "(on-ramp: 100 decisions per episode at most; two-car merge: 20). Trajectories are reproducible on one machine; training may differ "
        "across CPUs through floating-point rounding.",
        "",
        f"Metrics of the greedy policy, played through each algorithm's form, on {args.eval_episodes} fixed evaluation "
        "episodes after the last update: team return = mean over the episode's agents of their episode returns "
        "(per-agent rewards; on the on-ramp a crash costs -200 and ends the episode; in the two-car merge the car that "
        "passes the merge point first gets 50, the other 10, and a crash costs both -25 to -5); speed = average speed of the controlled vehicles "
        "in m/s; crash rate = fraction of episodes with a crash (intervals of speed and crash rate clipped to their "
        "possible values); best return = each seed's best evaluation after training began. Mean and 95% Student "
        "t-interval over seeds. Shared PPO settings (the `onramp` preset, given to every algorithm that takes them): "
        f"{hp.n_envs} envs x {hp.n_steps} steps per rollout, lr {hp.learning_rate:g}, {hp.n_epochs} epochs x "
        f"{hp.n_minibatches} minibatches, entropy {hp.ent_coef:g}, hidden {list(hp.hidden_sizes)}; reward scaling for "
        "training (VecNormalize-style). Each algorithm was built with:",
        "",
        *[f"- `{name}`: `{settings[name]}`" for name in names],
        "",
        "| task | algo | seeds | steps per trial | final team return (95% CI) | best return | avg speed m/s (95% CI) | crash rate (95% CI) | train steps/s | peak RSS MB | budget |",
        "|---|---|---:|---:|---|---:|---|---|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['algo']} | {r['seeds']} | {r['steps_per_trial']:,} | {_ci(r, 'team_return', '.1f')} | "
            f"{r['best_team_return_mean']:.1f} | {_ci(r, 'mean_speed', '.2f')} | {_ci(r, 'crash_rate', '.2f')} | "
            f"{r['train_steps_per_s']:,} | {r['peak_rss_mb']} | {r['budget']} |"
        )
    lines += outcome_lines(rows)
    lines += published_lines(rows, targets or {})
    if tests:
        lines += [
            "",
            study.TESTS_NOTE,
            "",
            *study.significance_lines(tests, "team return"),
        ]
    lines += time_lines(records, args.backend)
    text = "\n".join(lines)
    path.write_text(text)
    return text


def outcome_lines(rows: list[dict]) -> list[str]:
    """A table per task with :data:`OUTCOMES`: the share of evaluation episodes ending in each outcome."""
    lines: list[str] = []
    for task_label, flags in OUTCOMES.items():
        task_rows = [r for r in rows if r["task"] == task_label and all(f"final_{f}_mean" in r for f in flags)]
        if not task_rows:
            continue
        lines += [
            "",
            f"Outcomes of the {task_label} task's evaluation episodes after the last update (share of episodes; mean "
            "and 95% Student t-interval over seeds, clipped to [0, 1]):",
            "",
            "| task | algo | seeds | " + " | ".join(flags.values()) + " |",
            "|---|---|---:|" + "---|" * len(flags),
            *(
                f"| {r['task']} | {r['algo']} | {r['seeds']} | " + " | ".join(_ci(r, f, ".1%") for f in flags) + " |"
                for r in task_rows
            ),
        ]
    return lines


def published_lines(rows: list[dict], targets: Mapping[str, str]) -> list[str]:
    """The papers' figures (:mod:`stmg_bench.published`) beside this run's outcome shares, where both exist."""
    from stmg_bench.published import METRICS, PublishedResult, published_for, settings_notes

    table: list[str] = []
    results: list[PublishedResult] = []
    for r in rows:
        for result in published_for(r["task"], targets.get(r["algo"], "")):
            results.append(result)
            for metric, value in result.figures.items():
                measured = _ci(r, metric, ".1%") if f"final_{metric}_mean" in r else "not measured"
                table.append(
                    f"| {r['task']} | {r['algo']} | {result.method}, {result.source} ({result.runs} runs) | "
                    f"{METRICS[metric]} | {value:.1%} | {measured} |"
                )
    if not table:
        return []
    return [
        "",
        "Beside the published figures of the method each algorithm implements (`stmg_bench.published`); this run: "
        "mean and 95% t-interval over seeds of the share of evaluation episodes. " + " ".join(settings_notes(results)),
        "",
        "| task | algo | paper | metric | published | this run |",
        "|---|---|---|---|---:|---:|",
        *table,
    ]


def plot(groups: dict, args: Args, names: list[str], steps: dict[str, int]) -> list[Path]:
    def panels(metric: str) -> list:
        return [
            (f"{d} ({steps[d]:,} steps/trial)", metric, {n: groups.get((d, n), []) for n in names}) for d in args.tasks
        ]

    return [
        study.plot_curves(
            args.out / f"{args.name}_curves.png",
            panels("team_return"),
            f"Highway on-ramp merging (Fig. 8), greedy policy: mean and 95% CI over seeds ({args.budget_text})",
            clip_to_range,
        ),
        study.plot_curves(
            args.out / f"{args.name}_speed_crash.png",
            panels("mean_speed") + panels("crash_rate"),
            f"Average speed and crash rate (Fig. 9) ({args.budget_text})",
            clip_to_range,
        ),
    ]


def main(argv: list[str] | None = None, prog: str | None = None, out: Path | None = None) -> None:
    """Parse ``argv``, run the study and print its report; ``out`` replaces the default results folder."""
    import dataclasses

    args = parse_args(argv, prog)
    if out is not None and args.out == RESULTS:
        args = dataclasses.replace(args, out=out)
    refuse_overwrite(args.out, args.name, args.overwrite)  # before any trial runs, calibration included
    args.out.mkdir(parents=True, exist_ok=True)
    algorithms, settings = study.resolve_algorithms(args, "onramp")
    if not args.saved_only:  # a setting a class refuses ends here, not in every trial
        study.check_construction(algorithms, settings, task(args, args.tasks[0]))
    steps, source = plan(args, algorithms, settings)
    trials = make_trials(args, algorithms, settings, steps)
    print(f"{args.name}: {len(trials)} trials; joint steps per trial: {steps}", file=sys.stderr, flush=True)
    records = run_sweep(trials, args.out / "trials" / args.name, desc=f"{args.name}: trials", **sweep_kwargs(args))
    groups = study.group_records(records, lambda r: (task_of(r), r["result"]["algo"]))
    names = [a.name for a in algorithms]
    rows = summary_rows(groups, args.budget_text)
    tests = study.significance_rows(groups, list(args.tasks), names)
    write_csv(args.out / f"{args.name}.csv", rows)
    write_csv(args.out / f"{args.name}_curves.csv", curve_rows(groups))
    if tests:
        write_csv(args.out / f"{args.name}_tests.csv", tests)
    text = write_markdown(
        args.out / f"{args.name}.md",
        rows,
        tests,
        args,
        names,
        settings,
        steps,
        source,
        records,
        {a.name: a.target for a in algorithms},
    )
    plot(groups, args, names, steps)
    print(text)
    sys.stdout.flush()
