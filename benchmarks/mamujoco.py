"""Multi-Agent MuJoCo: learning curves of STEP vs MAPPO vs IPPO (paper Fig. 6, B.1) and a beta ablation (Fig. 7, B.3).

STEP trains on the STMG of each sub-scenario (agents act in ``possible_agents``
order, each seeing the torques chosen above it; diagonal Gaussian head),
MAPPO and IPPO on the simultaneous game. Every algorithm gets the same PPO
hyper-parameters (:data:`stmg_bench.control_trials.MUJOCO_HYPERPARAMETERS`),
the same observation normalisation and reward scaling (running statistics
of the training copies, frozen for evaluation; evaluations report the task's
own rewards), the same number of joint environment steps per trial and the
same evaluation episodes. STEP's hypernetwork output is scaled by its width
(``hyper_scale_by_width``, part of the preset): one Adam step then moves its
generated policy weights about as far as the baselines' weights. The greedy
policy is evaluated periodically; the metric is the team's episode return (the
reward is shared by all agents).

The regulariser ablation trains STEP with several ``beta`` (Eq. 11) on one
many-agent sub-scenario (default HalfCheetah 6x1); the main comparison's STEP
runs provide the default beta.

Budget: ``--budget`` is the wall-clock minutes the sweep should take on this
machine with ``--workers`` parallel trials. Each sub-scenario and the
ablation get an equal share of the core-seconds; within a share every trial
trains the same number of joint steps, computed from the training throughput
measured on this machine (:data:`THROUGHPUT`, or measured now with
``--calibrate``). ``--steps`` fixes the steps per trial instead. The results
state the steps each number was trained for.

Outputs, in ``benchmarks/results/``: ``<name>.md`` and ``<name>.csv`` (final
return per sub-scenario, algorithm and beta: mean and 95% t-interval over
seeds), ``<name>_curves.csv`` (every curve point), ``<name>_curves.png`` (one
panel per sub-scenario) and ``<name>_beta_ablation.png``; trial records in
``benchmarks/results/trials/<name>/`` (an interrupted run resumes).

Usage::

    python benchmarks/mamujoco.py                                   # default scenarios, ~30 min
    python benchmarks/mamujoco.py --budget 10 --seeds 2             # shorter
    python benchmarks/mamujoco.py --scenarios all --budget 240      # the nine sub-scenarios
    python benchmarks/mamujoco.py --scenarios Ant-8x1 --steps 200000 --ablation-scenario none
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from stmg_bench.control_trials import ALGORITHMS, MUJOCO_HYPERPARAMETERS
from stmg_bench.learning_curves import aggregate_curves, steps_for_share, t_interval, whole_rollouts
from stmg_bench.sweep import SweepOptions, Trial, add_sweep_arguments, run_sweep, sweep_kwargs
from stmg_bench.sweep.reporting import default_workers, parse_csv_list, sweep_span_s, write_csv

RESULTS = Path(__file__).resolve().parent / "results"

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

#: Training throughput (joint steps/s of one trial, updates included, evaluations excluded) of each
#: algorithm with MUJOCO_HYPERPARAMETERS, measured on this project's 2-core benchmark machine with two
#: trials running at once, as the sweep runs them (12,000 steps each; repeat measurements differ by
#: up to about 20%). Used to turn ``--budget`` into steps per trial; ``--calibrate`` measures anew.
THROUGHPUT: dict[str, dict[str, float]] = {
    "HalfCheetah-2x3": {"step": 1600.0, "mappo": 2600.0, "ippo": 2550.0},
    "HalfCheetah-3x2": {"step": 1250.0, "mappo": 2300.0, "ippo": 2250.0},
    "HalfCheetah-6x1": {"step": 1130.0, "mappo": 1720.0, "ippo": 1680.0},
    "Ant-2x4": {"step": 1300.0, "mappo": 1430.0, "ippo": 1430.0},
    "Ant-4x2": {"step": 1040.0, "mappo": 1210.0, "ippo": 1240.0},
    "Ant-8x1": {"step": 540.0, "mappo": 960.0, "ippo": 990.0},
    "ManySegmentAnt-2x3": {"step": 620.0, "mappo": 840.0, "ippo": 870.0},
    "ManySegmentAnt-3x2": {"step": 770.0, "mappo": 800.0, "ippo": 830.0},
    "ManySegmentAnt-6x1": {"step": 650.0, "mappo": 700.0, "ippo": 750.0},
}

#: Fraction of the budget's core-seconds given to training; the rest covers evaluations,
#: process start-up and the uneven end of the sweep.
TRAINING_FRACTION = 0.75


@dataclass(frozen=True)
class Args(SweepOptions):
    """Command-line arguments (see ``--help``)."""

    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    """sub-scenarios of the comparison (labels of SCENARIOS, or 'all')"""
    algos: tuple[str, ...] = ALGORITHMS
    """algorithms: step, mappo, ippo"""
    seeds: int = 3
    """trials per sub-scenario and algorithm (the paper: 5)"""
    budget: float = 30.0
    """wall-clock minutes the whole sweep should take on this machine"""
    steps: int | None = None
    """joint steps per trial (overrides --budget)"""
    ablation_scenario: str | None = "HalfCheetah-6x1"
    """sub-scenario of the beta ablation ('none': no ablation)"""
    betas: tuple[float, ...] = (0.0, 0.1, 1.0, 10.0)
    """beta values of the ablation (the comparison's STEP runs use beta=1.0)"""
    episode_length: int = 1000
    """steps per episode (the paper: 1000)"""
    eval_points: int = 10
    """evaluations during training (plus one before and one after)"""
    eval_episodes: int = 2
    """greedy episodes per evaluation"""
    calibrate: bool = False
    """measure the training throughput now instead of using THROUGHPUT"""
    name: str = "mujoco"
    """base name of the results files"""
    out: Path = RESULTS
    """results folder"""


def parse_args(argv: list[str] | None = None) -> Args:
    defaults = Args()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(defaults.scenarios), help=f"comma-separated from {list(SCENARIOS)}, or 'all'")
    parser.add_argument("--algos", default=",".join(defaults.algos), help=f"comma-separated from {list(ALGORITHMS)}")
    parser.add_argument("--seeds", type=int, default=defaults.seeds, help="trials per sub-scenario and algorithm (default %(default)s)")
    parser.add_argument("--budget", type=float, default=defaults.budget, help="wall-clock minutes of the sweep (default %(default)s)")
    parser.add_argument("--steps", type=int, default=None, help="joint steps per trial; overrides --budget")
    parser.add_argument("--ablation-scenario", default=defaults.ablation_scenario, help="sub-scenario of the beta ablation, or 'none' (default %(default)s)")
    parser.add_argument("--betas", default=",".join(str(b) for b in defaults.betas), help="beta values of the ablation (default %(default)s)")
    parser.add_argument("--episode-length", type=int, default=defaults.episode_length, help="steps per episode (default %(default)s)")
    parser.add_argument("--eval-points", type=int, default=defaults.eval_points, help="evaluations during training (default %(default)s)")
    parser.add_argument("--eval-episodes", type=int, default=defaults.eval_episodes, help="greedy episodes per evaluation (default %(default)s)")
    parser.add_argument("--calibrate", action="store_true", help="measure training throughput first instead of using the built-in table")
    parser.add_argument("--name", default=defaults.name, help="base name of the results files (default %(default)s)")
    parser.add_argument("--out", type=Path, default=defaults.out, help="results folder")
    add_sweep_arguments(parser)
    ns = parser.parse_args(argv)
    scenarios = tuple(SCENARIOS) if ns.scenarios.strip() == "all" else parse_csv_list(ns.scenarios)
    algos = parse_csv_list(ns.algos)
    if unknown := [s for s in scenarios if s not in SCENARIOS]:
        parser.error(f"unknown scenarios {unknown}; expected some of {list(SCENARIOS)} or 'all'")
    if unknown := [a for a in algos if a not in ALGORITHMS]:
        parser.error(f"unknown algos {unknown}; expected some of {list(ALGORITHMS)}")
    ablation = None if ns.ablation_scenario in (None, "", "none") else ns.ablation_scenario
    if ablation is not None and ablation not in SCENARIOS:
        parser.error(f"unknown ablation scenario {ablation!r}; expected one of {list(SCENARIOS)} or 'none'")
    try:
        betas = tuple(float(b) for b in parse_csv_list(ns.betas))
    except ValueError:
        parser.error(f"expected --betas as comma-separated numbers, got {ns.betas!r}")
    if any(b < 0 for b in betas):
        parser.error(f"expected betas >= 0, got {betas}")
    if ns.seeds < 1 or ns.budget <= 0 or (ns.steps is not None and ns.steps < 1) or ns.episode_length < 1:
        parser.error("expected --seeds >= 1, --budget > 0, --steps >= 1 and --episode-length >= 1")
    if ns.eval_points < 0 or ns.eval_episodes < 1:
        parser.error("expected --eval-points >= 0 and --eval-episodes >= 1")
    if not scenarios and ablation is None:
        parser.error("nothing to run: no scenarios and no ablation")
    return Args(
        scenarios=scenarios, algos=algos, seeds=ns.seeds, budget=ns.budget, steps=ns.steps, ablation_scenario=ablation,
        betas=betas, episode_length=ns.episode_length, eval_points=ns.eval_points, eval_episodes=ns.eval_episodes,
        calibrate=ns.calibrate, name=ns.name, out=ns.out, backend=ns.backend, workers=ns.workers,
        address=ns.address, fresh=ns.fresh,
    )


DEFAULT_BETA = MUJOCO_HYPERPARAMETERS.beta


def _trial(args: Args, scenario: str, algo: str, seed: int, steps: int, beta: float | None = None) -> Trial:
    task_id, conf = SCENARIOS[scenario]
    hyper = {} if beta is None or beta == DEFAULT_BETA else {"beta": beta}
    suffix = "" if not hyper else f"_beta{beta:g}"
    return Trial(
        key=f"{algo}_{scenario}{suffix}_s{seed}",
        fn="stmg_bench.control_trials:control_trial",
        kwargs={
            "algo": algo,
            "task_id": task_id,
            "task_kwargs": {"agent_conf": conf, "episode_length": args.episode_length},
            "seed": seed,
            "steps": steps,
            "eval_points": args.eval_points,
            "eval_episodes": args.eval_episodes,
            "normalize_observations": True,
            "normalize_rewards": True,
            "order": "possible_agents",
            "hyperparams": hyper,
        },
    )


def plan_steps(args: Args, throughput: dict[str, dict[str, float]]) -> dict[str, int]:
    """Joint steps per trial for each sub-scenario of the sweep.

    The training core-seconds of the budget are split into equal shares, one per
    sub-scenario of the comparison and one for the ablation. The ablation runs on
    the same steps as the comparison's STEP runs of its sub-scenario (which it
    reuses for the default beta), so when that sub-scenario is also compared, its
    trials and the ablation's pool their two shares.
    """
    rollout = MUJOCO_HYPERPARAMETERS.rollout_joint_steps
    groups: dict[str, list[float]] = {}
    shares: dict[str, int] = {}
    for scenario in args.scenarios:
        groups[scenario] = [throughput[scenario][a] for a in args.algos for _ in range(args.seeds)]
        shares[scenario] = 1
    if args.ablation_scenario is not None:
        reused = args.ablation_scenario in args.scenarios and "step" in args.algos
        extra = [b for b in args.betas if not (reused and b == DEFAULT_BETA)]
        groups.setdefault(args.ablation_scenario, []).extend(
            throughput[args.ablation_scenario]["step"] for _ in extra for _ in range(args.seeds)
        )
        shares[args.ablation_scenario] = shares.get(args.ablation_scenario, 0) + 1
    if args.steps is not None:
        return {s: whole_rollouts(args.steps, rollout) for s in groups}
    share = args.budget * 60.0 * default_workers(args.workers) * TRAINING_FRACTION / sum(shares.values())
    return {s: steps_for_share(share * shares[s], rates, rollout) for s, rates in groups.items() if rates}


def make_trials(args: Args, steps: dict[str, int]) -> list[Trial]:
    trials = []
    for scenario in args.scenarios:
        for algo in args.algos:
            for seed in range(args.seeds):
                trials.append(_trial(args, scenario, algo, seed, steps[scenario]))
    if args.ablation_scenario is not None:
        keys = {t.key for t in trials}
        for beta in args.betas:
            for seed in range(args.seeds):
                trial = _trial(args, args.ablation_scenario, "step", seed, steps[args.ablation_scenario], beta)
                if trial.key not in keys:
                    trials.append(trial)
                    keys.add(trial.key)
    return trials


def calibrate(args: Args) -> dict[str, dict[str, float]]:
    """Measure training throughput with one short trial per algorithm and sub-scenario (in this process)."""
    from stmg_bench.control_trials import control_trial

    needed = set(args.scenarios) | ({args.ablation_scenario} if args.ablation_scenario else set())
    table = {}
    for scenario in SCENARIOS:
        if scenario not in needed:
            continue
        task_id, conf = SCENARIOS[scenario]
        table[scenario] = {}
        for algo in ALGORITHMS:
            record = control_trial(
                algo, task_id, {"agent_conf": conf, "episode_length": args.episode_length}, seed=0, steps=20_000,
                eval_points=0, eval_episodes=1, normalize_observations=True, normalize_rewards=True,
            )
            table[scenario][algo] = round(record["steps_per_s"], 1)
            print(f"calibrate: {scenario} {algo}: {record['steps_per_s']:.0f} joint steps/s", file=sys.stderr, flush=True)
    return table


def scenario_of(record: dict) -> str:
    kw = record["kwargs"]
    for label, (task_id, conf) in SCENARIOS.items():
        if task_id == kw["task_id"] and kw["task_kwargs"]["agent_conf"] == conf:
            return label
    raise KeyError(kw)


def beta_of(record: dict) -> float:
    return float(record["result"]["hyperparameters"]["beta"])


def group_records(records: list[dict]) -> dict[tuple[str, str, float], list[dict]]:
    groups: dict[tuple[str, str, float], list[dict]] = defaultdict(list)
    for record in records:
        groups[(scenario_of(record), record["result"]["algo"], beta_of(record))].append(record["result"])
    return groups


def summary_rows(groups: dict, args: Args, budget_text: str) -> list[dict]:
    rows = []
    for (scenario, algo, beta), results in sorted(groups.items(), key=lambda kv: (kv[0][0], ALGORITHMS.index(kv[0][1]), kv[0][2])):
        final = t_interval([r["final"]["team_return"] for r in results])
        best = t_interval([max(p["team_return"] for p in r["curve"] if p["step"] > 0) for r in results])
        rows.append({
            "scenario": scenario, "algo": algo, "beta": beta if algo == "step" else "", "seeds": final.n,
            "steps_per_trial": results[0]["steps"], "budget": budget_text,
            "final_return_mean": round(final.mean, 2), "final_return_ci95_low": round(final.low, 2),
            "final_return_ci95_high": round(final.high, 2),
            "best_return_mean": round(best.mean, 2),
            "train_steps_per_s": round(sum(r["steps_per_s"] for r in results) / len(results)),
            "train_min_per_trial": round(sum(r["train_s"] for r in results) / len(results) / 60, 2),
        })
    return rows


def curve_rows(groups: dict) -> list[dict]:
    rows = []
    for (scenario, algo, beta), results in sorted(groups.items(), key=lambda kv: (kv[0][0], ALGORITHMS.index(kv[0][1]), kv[0][2])):
        band = aggregate_curves([r["curve"] for r in results], "team_return")
        for step, interval in zip(band.steps, band.intervals):
            rows.append({
                "scenario": scenario, "algo": algo, "beta": beta if algo == "step" else "", "step": step,
                "seeds": interval.n, "team_return_mean": round(interval.mean, 3),
                "ci95_low": round(interval.low, 3), "ci95_high": round(interval.high, 3),
            })
    return rows


def write_markdown(path: Path, rows: list[dict], args: Args, steps: dict[str, int], throughput_source: str,
                   wall_s: float, n_new: int, span_s: float) -> str:
    comparison = [r for r in rows if r["scenario"] in args.scenarios and (r["algo"] != "step" or r["beta"] == DEFAULT_BETA)]
    ablation = [r for r in rows if r["algo"] == "step" and r["scenario"] == args.ablation_scenario]
    budget = f"--steps {args.steps}" if args.steps else f"--budget {args.budget:g} min"
    lines = [
        f"# Multi-Agent MuJoCo: STEP vs MAPPO vs IPPO ({args.name})",
        "",
        f"Written by `benchmarks/mamujoco.py` with {budget}, --seeds {args.seeds}, --episode-length {args.episode_length}, "
        f"--eval-points {args.eval_points}, --eval-episodes {args.eval_episodes}, {default_workers(args.workers)} workers "
        f"({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}). Steps per trial from "
        f"{throughput_source}: " + ", ".join(f"{s} {n:,}" for s, n in steps.items()) + " joint steps.",
        "",
        "Return = the team's episode return of the greedy policy (shared reward), averaged over "
        f"{args.eval_episodes} fixed evaluation episodes; mean and 95% Student t-interval over seeds. "
        "'final' = after the last update, 'best' = each seed's best evaluation after training began (mean over seeds). "
        f"All algorithms: the same PPO settings ({MUJOCO_HYPERPARAMETERS.n_envs} envs x {MUJOCO_HYPERPARAMETERS.n_steps} "
        f"steps per rollout, lr {MUJOCO_HYPERPARAMETERS.learning_rate:g}, {MUJOCO_HYPERPARAMETERS.n_epochs} epochs x "
        f"{MUJOCO_HYPERPARAMETERS.n_minibatches} minibatches, hidden {list(MUJOCO_HYPERPARAMETERS.hidden_sizes)}"
        f"; STEP's hyper_scale_by_width={MUJOCO_HYPERPARAMETERS.hyper_scale_by_width}) and "
        "running observation normalisation and reward scaling (VecNormalize-style, training only). These budgets are a small fraction of the paper's (millions of steps): "
        "the numbers show early learning, not converged performance.",
        "",
        "## Comparison (Fig. 6 / B.1)",
        "",
        "| sub-scenario | algo | seeds | steps per trial | final return (95% CI) | best return | train steps/s | budget |",
        "|---|---|---:|---:|---|---:|---:|---|",
    ]
    for r in comparison:
        lines.append(
            f"| {r['scenario']} | {r['algo']} | {r['seeds']} | {r['steps_per_trial']:,} | {r['final_return_mean']:.1f} "
            f"({r['final_return_ci95_low']:.1f} .. {r['final_return_ci95_high']:.1f}) | {r['best_return_mean']:.1f} | "
            f"{r['train_steps_per_s']:,} | {r['budget']} |"
        )
    if ablation:
        lines += [
            "",
            f"## Regulariser ablation on {args.ablation_scenario} (Fig. 7 / B.3)",
            "",
            "| beta | seeds | steps per trial | final return (95% CI) | best return | budget |",
            "|---:|---:|---:|---|---:|---|",
        ]
        for r in ablation:
            lines.append(
                f"| {r['beta']:g} | {r['seeds']} | {r['steps_per_trial']:,} | {r['final_return_mean']:.1f} "
                f"({r['final_return_ci95_low']:.1f} .. {r['final_return_ci95_high']:.1f}) | {r['best_return_mean']:.1f} | {r['budget']} |"
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
    paths = []
    budget = f"--steps {args.steps}" if args.steps else f"budget {args.budget:g} min"
    if args.scenarios:
        n = len(args.scenarios)
        cols = min(n, 3)
        rows = -(-n // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
        for ax, scenario in zip(axes.flat, args.scenarios):
            for algo in args.algos:
                results = groups.get((scenario, algo, DEFAULT_BETA))
                if not results:
                    continue
                x, mean, low, high = aggregate_curves([r["curve"] for r in results]).arrays()
                ax.plot(x, mean, color=colors[algo], label=f"{algo.upper()} (n={len(results)})")
                ax.fill_between(x, low, high, color=colors[algo], alpha=0.2)
            ax.set_title(f"{scenario} ({steps[scenario]:,} steps/trial)", fontsize=10)
            ax.set_xlabel("joint environment steps")
            ax.xaxis.set_major_formatter(thousands)
            ax.set_ylabel("team episode return")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.suptitle(f"Multi-Agent MuJoCo, greedy policy: mean and 95% CI over seeds ({budget})", fontsize=11)
        fig.tight_layout()
        path = args.out / f"{args.name}_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    if args.ablation_scenario is not None:
        fig, ax = plt.subplots(figsize=(6, 4))
        cmap = plt.get_cmap("viridis")
        for i, beta in enumerate(args.betas):
            results = groups.get((args.ablation_scenario, "step", beta))
            if not results:
                continue
            x, mean, low, high = aggregate_curves([r["curve"] for r in results]).arrays()
            color = cmap(i / max(1, len(args.betas) - 1))
            ax.plot(x, mean, color=color, label=f"beta = {beta:g} (n={len(results)})")
            ax.fill_between(x, low, high, color=color, alpha=0.15)
        ax.set_title(f"STEP on {args.ablation_scenario}: regulariser coefficient beta\n"
                     f"({steps[args.ablation_scenario]:,} steps/trial, {budget})", fontsize=10)
        ax.set_xlabel("joint environment steps")
        ax.xaxis.set_major_formatter(thousands)
        ax.set_ylabel("team episode return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = args.out / f"{args.name}_beta_ablation.png"
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
    rows = summary_rows(groups, args, budget_text)
    write_csv(args.out / f"{args.name}.csv", rows)
    write_csv(args.out / f"{args.name}_curves.csv", curve_rows(groups))
    text = write_markdown(args.out / f"{args.name}.md", rows, args, steps, source, records.wall_s, len(records.executed),
                          sweep_span_s(records))
    plot(groups, args, steps)
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
