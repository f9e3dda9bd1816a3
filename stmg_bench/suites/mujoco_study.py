"""The Multi-Agent MuJoCo study (``benchmarks/mamujoco.py``, ``stmg-bench mujoco``): learning curves of any algorithms (default STEP, MAPPO, IPPO; paper Fig. 6, B.1) and a beta
ablation of STEP (Fig. 7, B.3).

What is run: every algorithm of ``--algos`` (built-in names or your own
``package.module:Class``, see ``stmg_bench.contract``) x every sub-scenario of
``--scenarios`` x ``--seeds`` seeds, each trained for the same joint environment
steps. A sequential-form algorithm (STEP) trains on the STMG of the sub-scenario
(agents act in ``possible_agents`` order, each seeing the torques chosen above
it), a simultaneous-form one (MAPPO, IPPO) on the simultaneous game. Every
algorithm gets the same PPO settings where it takes them (the ``mujoco`` preset,
:data:`stmg_bench.suites.control.MUJOCO_HYPERPARAMETERS`), the same observation
normalisation and reward scaling (running statistics of the training copies,
frozen for evaluation; evaluations report the task's own rewards) and the same
evaluation episodes. STEP's own lever, by default of ``--hyperparams``: its
hypernetwork output scaled by its width (``hyper_scale_by_width``).

The regulariser ablation trains STEP with several ``beta`` (Eq. 11) on one
many-agent sub-scenario (default HalfCheetah 6x1); the comparison's STEP runs
provide the default beta.

How it is evaluated: the greedy policy, periodically, through the algorithm's own
form, on fixed evaluation episodes; the metric is the team's episode return (the
reward is shared). At the final point every pair of algorithms is compared by
Welch's test (a difference whose interval covers 0 is "not shown"), and so is every
pair of the ablation's betas; the p-values are Holm-corrected over the pairs of each task
(:func:`~stmg_bench.suites.control_study.holm`), and the report shows both.

Budget: ``--steps`` joint steps per trial, the same for every algorithm; or
``--budget`` minutes (the default, without either: 100,000 steps), which the script turns into steps by measuring each
algorithm's training throughput now (each sub-scenario and the ablation get an
equal share of the core-seconds). The results state the steps behind each number.

What is written, in ``--out`` (``runs/``; the script: ``benchmarks/results/``): ``<name>.md`` and
``<name>.csv`` (final return per sub-scenario, algorithm and beta: mean and 95% t-interval over seeds),
``<name>_tests.csv`` (the Welch comparisons; ``<name>_beta_tests.csv``: those between the
ablation's betas), ``<name>_curves.csv`` (every curve
point), ``<name>_curves.png`` and ``<name>_beta_ablation.png``; trial records in
``<out>/trials/<name>/`` (an interrupted run resumes; a record made by
other code or settings is run again). An existing ``<name>.md`` or ``<name>.csv`` is never replaced unless
``--overwrite`` is given (the run stops before any trial; ``--name NEW`` writes a new report instead).

Usage::

    python benchmarks/mamujoco.py                                   # default scenarios, 100,000 steps per trial
    python benchmarks/mamujoco.py --budget 30                        # ~30 min, steps from throughput measured now
    python benchmarks/mamujoco.py --scenarios all --budget 240 --ablation-scenario none
    python benchmarks/mamujoco.py --algos step,my_pkg.algos:MyPPO --scenarios Ant-2x4 --steps 200000
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from stmg_bench.args import parse_dataclass
from stmg_bench.learning_curves import aggregate_curves
from stmg_bench.suites import control_study as study
from stmg_bench.suites.control import EVAL_ORDER_SAMPLE, MUJOCO_HYPERPARAMETERS
from stmg_bench.sweep import run_sweep, sweep_kwargs
from stmg_bench.sweep.reporting import (
    default_workers,
    refuse_overwrite,
    time_lines,
    write_csv,
)

#: The results folder of ``stmg-bench``, a folder of the user's own (``benchmarks/mamujoco.py`` writes into
#: ``benchmarks/results/`` next to itself instead).
RESULTS = Path("runs")
#: The orders ``--order`` takes by name (the STMG's; any other: agents joined by ``+``).
ORDERS = ("possible_agents", "reversed", "random")

#: Sub-scenario label -> (registered task, agent_conf): the paper's nine.
SCENARIOS: dict[str, tuple[str, str]] = {
    "HalfCheetah-2x3": ("stmg/HalfCheetah-v0", "2x3"),
    "HalfCheetah-3x2": ("stmg/HalfCheetah-v0", "3x2"),
    "HalfCheetah-6x1": ("stmg/HalfCheetah-v0", "6x1"),
    "Ant-2x4": ("stmg/Ant-v0", "2x4"),
    "Ant-4x2": ("stmg/Ant-v0", "4x2"),
    "Ant-8x1": ("stmg/Ant-v0", "8x1"),
    "ManySegmentAnt-2x3": ("stmg/ManySegmentAnt-v0", "2x3"),
    "ManySegmentAnt-3x2": ("stmg/ManySegmentAnt-v0", "3x2"),
    "ManySegmentAnt-6x1": ("stmg/ManySegmentAnt-v0", "6x1"),
}
DEFAULT_SCENARIOS = ("HalfCheetah-2x3", "HalfCheetah-6x1", "Ant-2x4")

#: Fraction of the budget's core-seconds given to training; the rest covers evaluations,
#: process start-up and the uneven end of the sweep.
TRAINING_FRACTION = 0.75


@dataclass(frozen=True)
class Args(study.ControlArgs):
    """The MuJoCo study's settings (``--help`` lists them with the shared ones of ``ControlArgs``)."""

    DEFAULT_STEPS: ClassVar[int] = 100_000  # without --steps or --budget

    scenarios: tuple[str, ...] = field(
        default=DEFAULT_SCENARIOS,
        metadata={"help": f"sub-scenarios of the comparison, from {list(SCENARIOS)}, or 'all'"},
    )
    ablation_scenario: str = field(
        default="HalfCheetah-6x1", metadata={"help": "sub-scenario of STEP's beta ablation ('none': no ablation)"}
    )
    ablation_algo: str = field(
        default="step",
        metadata={"help": "the algorithm whose `beta` the ablation varies (its comparison runs give beta = 1)"},
    )
    betas: tuple[str, ...] = field(
        default=("0", "0.1", "1", "10"),
        metadata={"help": "beta values of the ablation (the comparison's STEP runs use STEP's default, 1)"},
    )
    episode_length: int = field(default=1000, metadata={"help": "steps per episode (the paper: 1000)"})
    order: str = field(
        default="possible_agents",
        metadata={
            "help": "priority order of the STMG for sequential-form algorithms: possible_agents, reversed, random "
            "(drawn each episode; evaluated under a fixed sample of orders, stmg_bench.suites.control.evaluation_orders) "
            "or agents joined by '+' (agent_1+agent_0)",
        },
    )
    name: str = field(default="mujoco", metadata={"help": "base name of the results files"})
    out: Path = field(
        default=RESULTS,
        metadata={"help": "results folder (benchmarks/mamujoco.py: benchmarks/results/ next to it)"},
    )

    def check(self) -> str | None:
        if (problem := super().check()) is not None:
            return problem
        if unknown := [s for s in self.scenarios if s not in SCENARIOS and s != "all"]:
            return f"unknown scenarios {unknown}; expected some of {list(SCENARIOS)} or 'all'"
        if self.ablation_scenario not in (*SCENARIOS, "none"):
            return f"unknown ablation scenario {self.ablation_scenario!r}; expected one of {list(SCENARIOS)} or 'none'"
        try:
            betas = [float(b) for b in self.betas]
        except ValueError:
            return f"expected --betas as comma-separated numbers, got {self.betas}"
        if any(b < 0 for b in betas):
            return f"expected betas >= 0, got {betas}"
        if not betas and self.ablation_scenario != "none":
            return (
                "expected --betas to name at least one value for the ablation, got none (or --ablation-scenario none)"
            )
        if self.episode_length < 1:
            return f"expected --episode-length >= 1, got {self.episode_length}"
        if not self.scenarios and self.ablation_scenario == "none":
            return "nothing to run: no scenarios and no ablation"
        scenarios = tuple(SCENARIOS) if "all" in self.scenarios else self.scenarios
        used = {s: task(self, s) for s in (*scenarios, self.ablation_scenario) if s in SCENARIOS}
        return study.order_problem(self.order, used, ORDERS)


def parse_args(argv: list[str] | None = None, prog: str | None = None) -> Args:
    args = parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0], prog=prog)
    if "all" in args.scenarios:
        args = dataclasses.replace(args, scenarios=tuple(SCENARIOS))
    return args


def betas(args: Args) -> list[float]:
    return [float(b) for b in args.betas]


def ablation(args: Args) -> str | None:
    return None if args.ablation_scenario == "none" else args.ablation_scenario


def task(args: Args, scenario: str) -> study.TaskSpec:
    task_id, conf = SCENARIOS[scenario]
    return study.TaskSpec(
        task_id, {"agent_conf": conf, "episode_length": args.episode_length}, "mujoco", True, True, args.order
    )


def _key(algo: str, scenario: str, args: Args, beta: float | None = None) -> str:
    """A trial's record name: ``step_Ant-2x4_s0``, with ``_beta0.1`` for an ablation and ``_orandom`` for random orders."""
    order = "" if args.order == "possible_agents" else f"_o{args.order}"
    return f"{algo}_{scenario}{'' if beta is None else f'_beta{beta:g}'}{order}"


#: STEP's default beta: the comparison's STEP trials double as the ablation's beta = 1 trials.
DEFAULT_BETA = 1.0


def ablation_base(args: Args, algorithms: list, settings: dict) -> tuple:
    """The ablated algorithm and its settings: its comparison run's if it is compared, else resolved alone."""
    for algo in algorithms:
        if args.ablation_algo in (algo.spec, algo.name):
            return algo, settings[algo.name]
    [algo], alone = study.resolve_algorithms(dataclasses.replace(args, algos=(args.ablation_algo,)), "mujoco")
    return algo, alone[algo.name]


def plan(args: Args, algorithms: list, settings: dict) -> tuple[dict[str, int], str]:
    """Joint steps per trial for each sub-scenario, and where they came from."""
    groups = {s: [a.name for a in algorithms for _ in range(args.seeds)] for s in args.scenarios}
    shares = dict.fromkeys(args.scenarios, 1)
    measured, hp = list(algorithms), dict(settings)
    target = ablation(args)
    if target is not None:
        step, step_hp = ablation_base(args, algorithms, settings)
        reused = step in algorithms and target in args.scenarios
        extra = [b for b in betas(args) if not (reused and b == DEFAULT_BETA)]
        groups.setdefault(target, []).extend(step.name for _ in extra for _ in range(args.seeds))
        shares[target] = shares.get(target, 0) + 1
        if step not in measured:
            measured.append(step)
            hp[step.name] = step_hp
    rollout = dict.fromkeys(groups, MUJOCO_HYPERPARAMETERS.rollout_joint_steps)
    if args.steps is not None:
        return study.plan_steps(args, groups, shares, None, rollout, TRAINING_FRACTION), "--steps"
    throughput = study.calibrate({s: task(args, s) for s in groups}, measured, hp, args.calibration_steps)
    return (
        study.plan_steps(args, groups, shares, throughput, rollout, TRAINING_FRACTION),
        f"training throughput measured now ({args.calibration_steps:,} steps per algorithm and sub-scenario)",
    )


def make_trials(args: Args, algorithms: list, settings: dict, steps: dict[str, int]) -> list:
    trials = [
        study.make_trial(
            f"{_key(algo.name, scenario, args)}_s{seed}",
            algo,
            settings[algo.name],
            task(args, scenario),
            seed,
            steps[scenario],
            args,
        )
        for scenario in args.scenarios
        for algo in algorithms
        for seed in range(args.seeds)
    ]
    target = ablation(args)
    if target is not None:
        step, base = ablation_base(args, algorithms, settings)
        keys = {t.key for t in trials}
        for beta in betas(args):
            for seed in range(args.seeds):
                key = f"{_key(step.name, target, args, None if beta == DEFAULT_BETA else beta)}_s{seed}"
                if key not in keys:
                    hp = base if beta == DEFAULT_BETA else {**base, "beta": beta}
                    trials.append(study.make_trial(key, step, hp, task(args, target), seed, steps[target], args))
                    keys.add(key)
    return trials


def scenario_of(record: Mapping[str, Any]) -> str:
    kw = record["kwargs"]
    for label, (task_id, conf) in SCENARIOS.items():
        if task_id == kw["task_id"] and kw["task_kwargs"]["agent_conf"] == conf:
            return label
    raise KeyError(kw)


def beta_of(record: Mapping[str, Any], ablated: str) -> float | str:
    """The trial's explicit beta; DEFAULT_BETA for the ablated algorithm's comparison runs; '' for the others."""
    hp = record["result"]["hyperparameters"]
    if "beta" in hp:
        return float(hp["beta"])
    return DEFAULT_BETA if record["result"]["algo"] == ablated else ""


def summary_rows(groups: dict, budget_text: str) -> list[dict]:
    rows = []
    for (scenario, algo, beta), results in groups.items():
        final = study.final_interval(results, "team_return")
        best = study.t_interval([max(p["team_return"] for p in r["curve"] if p["step"] > 0) for r in results])
        rows.append(
            {
                "scenario": scenario,
                "algo": algo,
                "beta": beta,
                "seeds": final.n,
                "steps_per_trial": results[0]["steps"],
                "budget": budget_text,
                "final_return_mean": round(final.mean, 2),
                "final_return_ci95_low": round(final.low, 2),
                "final_return_ci95_high": round(final.high, 2),
                "best_return_mean": round(best.mean, 2),
                "train_steps_per_s": round(sum(r["steps_per_s"] for r in results) / len(results)),
                "train_min_per_trial": round(sum(r["train_s"] for r in results) / len(results) / 60, 2),
                "peak_rss_mb": round(max(r.get("peak_rss_mb", float("nan")) for r in results)),
                # memory over the trial: resident memory at the first and the last evaluation (largest over seeds)
                "rss_first_mb": _rss_at(results, 0),
                "rss_last_mb": _rss_at(results, -1),
            }
        )
    return rows


def _rss_at(results: list[dict], index: int) -> float | str:
    """The largest resident memory (MiB) over seeds at curve point ``index``; '' for records without it."""
    values = [r["curve"][index].get("rss_mb") for r in results if r["curve"]]
    values = [v for v in values if v is not None]
    return round(max(values)) if values else ""


def curve_rows(groups: dict) -> list[dict]:
    rows = []
    for (scenario, algo, beta), results in groups.items():
        band = aggregate_curves([r["curve"] for r in results], "team_return")
        for step, interval in zip(band.steps, band.intervals):
            rows.append(
                {
                    "scenario": scenario,
                    "algo": algo,
                    "beta": beta,
                    "step": step,
                    "seeds": interval.n,
                    "team_return_mean": round(interval.mean, 3),
                    "ci95_low": round(interval.low, 3),
                    "ci95_high": round(interval.high, 3),
                }
            )
    return rows


def ablation_groups(groups: dict, args: Args, ablated: str) -> dict:
    """(ablation sub-scenario, "beta = b") -> results of the ablated algorithm at each beta, in ``--betas`` order.

    A beta without records maps to ``[]``; empty without an ablation.
    """
    target = ablation(args)
    if target is None:
        return {}
    return {(target, f"beta = {b:g}"): groups.get((target, ablated, b), []) for b in betas(args)}


def ablation_tests(groups: dict, args: Args, ablated: str) -> list[dict]:
    """Welch's test of every pair of betas of the ablation at the final point (the comparison's table, for betas).

    Pairs with a beta that has no records are left out (:func:`~stmg_bench.suites.control_study.significance_rows`).
    """
    target = ablation(args)
    if target is None:
        return []
    by_beta = ablation_groups(groups, args, ablated)
    return study.significance_rows(by_beta, [target], [label for _, label in by_beta])


def comparison_groups(groups: dict, args: Args) -> dict:
    """(scenario, algorithm) -> results of the comparison (STEP at its default beta)."""
    return {(s, a): r for (s, a, b), r in groups.items() if s in args.scenarios and b in ("", DEFAULT_BETA)}


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
    beta_tests: Sequence[Mapping[str, Any]] = (),
) -> str:
    comparison = [r for r in rows if r["scenario"] in args.scenarios and r["beta"] in ("", DEFAULT_BETA)]
    target = ablation(args)
    ablated_name = ablation_base(args, [], {})[0].name if target is not None else None
    ablated = [r for r in rows if r["scenario"] == target and r["algo"] == ablated_name and r["beta"] != ""]
    hp = MUJOCO_HYPERPARAMETERS
    lines = [
        f"# Multi-Agent MuJoCo: {' vs '.join(names)} ({args.name})",
        "",
        f"Written by `benchmarks/mamujoco.py` (`stmg-bench mujoco`) with {args.algos_text}, --scenarios "
        f"{','.join(args.scenarios)}, --ablation-scenario {args.ablation_scenario}"
        + (
            f", --ablation-algo {args.ablation_algo}, --betas {','.join(args.betas)}"
            if args.ablation_scenario != "none"
            else ""
        )
        + f", --order {args.order}, {args.budget_text}, --seeds {args.seeds}, --episode-length "
        f"{args.episode_length}, --eval-points {args.eval_points}, --eval-episodes {args.eval_episodes}, "
        f"{default_workers(args.workers)} workers ({platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}). Steps per trial from {steps_source}: "
        + ", ".join(f"{s} {n:,}" for s, n in steps.items())
        + " joint steps."
        + (
            " Priority order: random (drawn each episode for sequential-form algorithms; every evaluation plays "
            f"the fixed sample of {EVAL_ORDER_SAMPLE} orders of `stmg_bench.suites.control.evaluation_orders` and "
            "reports their mean)."
            if args.order == "random"
            else ""
        )
        + " Trajectories are reproducible on one "
        "machine; training may differ across CPUs through floating-point rounding.",
        "",
        "Return = the team's episode return of the greedy policy (shared reward), played through each algorithm's "
        f"form, averaged over {args.eval_episodes} fixed evaluation episodes; mean and 95% Student t-interval over "
        "seeds. 'final' = after the last update, 'best' = each seed's best evaluation after training began (mean "
        f"over seeds). Shared PPO settings (the `mujoco` preset, given to every algorithm that takes them): {hp.n_envs} "
        f"envs x {hp.n_steps} steps per rollout, lr {hp.learning_rate:g}, {hp.n_epochs} epochs x {hp.n_minibatches} "
        f"minibatches, hidden {list(hp.hidden_sizes)}; running observation normalisation and reward scaling "
        "(VecNormalize-style, training only). Each algorithm was built with:",
        "",
        *[f"- `{name}`: `{settings[name]}`" for name in names],
        "",
        "## Comparison (Fig. 6 / B.1)",
        "",
        "| sub-scenario | algo | seeds | steps per trial | final return (95% CI) | best return | train steps/s | train min per trial | RSS MB first -> last eval | budget |",
        "|---|---|---:|---:|---|---:|---:|---:|---|---|",
    ]
    for r in comparison:
        lines.append(
            f"| {r['scenario']} | {r['algo']} | {r['seeds']} | {r['steps_per_trial']:,} | {_final_text(r)} | "
            f"{r['best_return_mean']:.1f} | {r['train_steps_per_s']:,} | {r['train_min_per_trial']:.1f} | "
            f"{_rss_text(r)} | {r['budget']} |"
        )
    lines += [
        "",
        "RSS = the trial process's resident memory at its first and its last evaluation (the largest over seeds; "
        "'peak' where the records hold only the peak): memory that stays flat over a trial shows no leak.",
    ]
    if tests:
        lines += [
            "",
            study.TESTS_NOTE,
            "",
            *study.significance_lines(tests, "return"),
        ]
    if ablated:
        lines += [
            "",
            f"## Regulariser ablation of {ablated_name} on {target} (Fig. 7 / B.3)",
            "",
            "| beta | seeds | steps per trial | final return (95% CI) | best return | budget |",
            "|---:|---:|---:|---|---:|---|",
        ]
        for r in sorted(ablated, key=lambda r: r["beta"]):
            lines.append(
                f"| {r['beta']:g} | {r['seeds']} | {r['steps_per_trial']:,} | {_final_text(r)} "
                f"| {r['best_return_mean']:.1f} | {r['budget']} |"
            )
        if beta_tests:
            lines += [
                "",
                "Differences between betas at the final point: the same tests, the betas' pairs one family.",
                "",
                *study.significance_lines(beta_tests, "return"),
            ]
    lines += time_lines(records, args.backend)
    text = "\n".join(lines)
    path.write_text(text)
    return text


def _final_text(row: Mapping[str, Any]) -> str:
    if row["seeds"] < 2:
        return f"{row['final_return_mean']:.1f} (one seed: no interval)"
    return f"{row['final_return_mean']:.1f} ({row['final_return_ci95_low']:.1f} .. {row['final_return_ci95_high']:.1f})"


def _rss_text(row: Mapping[str, Any]) -> str:
    if row["rss_first_mb"] == "":
        return f"peak {row['peak_rss_mb']}"
    return f"{row['rss_first_mb']} -> {row['rss_last_mb']}"


def plot(groups: dict, args: Args, names: list[str], steps: dict[str, int]) -> list[Path]:
    paths = []
    comparison = comparison_groups(groups, args)
    if args.scenarios:
        panels = [
            (f"{s} ({steps[s]:,} steps/trial)", "team_return", {n: comparison.get((s, n), []) for n in names})
            for s in args.scenarios
        ]
        paths.append(
            study.plot_curves(
                args.out / f"{args.name}_curves.png",
                panels,
                f"Multi-Agent MuJoCo, greedy policy: mean and 95% CI over seeds ({args.budget_text})",
            )
        )
    target = ablation(args)
    if target is not None:
        name = ablation_base(args, [], {})[0].name
        series = {label: results for (_, label), results in ablation_groups(groups, args, name).items()}
        paths.append(
            study.plot_curves(
                args.out / f"{args.name}_beta_ablation.png",
                [(f"{name} on {target} ({steps[target]:,} steps/trial)", "team_return", series)],
                f"Regulariser coefficient beta ({args.budget_text})",
            )
        )
    return paths


def main(argv: list[str] | None = None, prog: str | None = None, out: Path | None = None) -> None:
    """Parse ``argv``, run the study and print its report; ``out`` replaces the default results folder."""
    args = parse_args(argv, prog)
    if out is not None and args.out == RESULTS:
        args = dataclasses.replace(args, out=out)
    refuse_overwrite(args.out, args.name, args.overwrite)  # before any trial runs, calibration included
    args.out.mkdir(parents=True, exist_ok=True)
    algorithms, settings = study.resolve_algorithms(args, "mujoco")
    if not args.saved_only:  # a setting a class refuses ends here, not in every trial
        if args.scenarios:
            study.check_construction(algorithms, settings, task(args, args.scenarios[0]))
        if (target := ablation(args)) is not None:
            ablated, base = ablation_base(args, algorithms, settings)
            study.check_construction([ablated], {ablated.name: {**base, "beta": max(betas(args))}}, task(args, target))
    steps, source = plan(args, algorithms, settings)
    trials = make_trials(args, algorithms, settings, steps)
    print(f"{args.name}: {len(trials)} trials; joint steps per trial: {steps}", file=sys.stderr, flush=True)
    records = run_sweep(trials, args.out / "trials" / args.name, desc=f"{args.name}: trials", **sweep_kwargs(args))
    ablated = ablation_base(args, algorithms, settings)[0].name if ablation(args) else ""
    groups = study.group_records(records, lambda r: (scenario_of(r), r["result"]["algo"], beta_of(r, ablated)))
    names = [a.name for a in algorithms]
    rows = summary_rows(groups, args.budget_text)
    tests = study.significance_rows(comparison_groups(groups, args), list(args.scenarios), names)
    write_csv(args.out / f"{args.name}.csv", rows)
    write_csv(args.out / f"{args.name}_curves.csv", curve_rows(groups))
    if tests:
        write_csv(args.out / f"{args.name}_tests.csv", tests)
    beta_tests = ablation_tests(groups, args, ablated) if ablated else []
    if beta_tests:
        write_csv(args.out / f"{args.name}_beta_tests.csv", beta_tests)
    text = write_markdown(
        args.out / f"{args.name}.md", rows, tests, args, names, settings, steps, source, records, beta_tests
    )
    plot(groups, args, names, steps)
    print(text)
    sys.stdout.flush()
