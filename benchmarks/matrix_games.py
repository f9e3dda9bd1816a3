"""Reproduce the matrix-game results of the STEP paper (Fig. 5, Table 1) and the Bi-AC games.

STEP (on the sequential form) against MAPPO and IPPO (on the simultaneous form),
on Penalty for every k, Mixing, Escape and Maintain. Each trial trains one
algorithm with one seed; its final greedy joint action is labelled by the exact
solver of :mod:`stmg_envs.games` (the Stackelberg equilibrium, which Nash
equilibrium, or none). Trials run in parallel (local process pool, or Ray with
``--backend ray``) and each is saved the moment it ends, so an interrupted run
resumes where it stopped.

Outputs, in ``benchmarks/results/<name>.{md,csv}`` and ``<name>_*.png``:
the proportion of outcomes per game and algorithm (Fig. 5), the action
probabilities and rewards of Table 1, action-probability curves over
training (Fig. B.2), training throughput, the targets and the wall time.

Training settings: all three algorithms use the PPO settings of the authors'
matrix-game code (25 steps per environment copy per rollout, lr 5e-4, 5 epochs,
one minibatch, entropy 0.05, hidden 64x2, clip 0.2; these are also STEP's
defaults) with two exceptions, the same for every algorithm and stated in the
results: 8 environment copies per rollout (``--n-envs``; the authors use 4) and
discount ``--gamma 0`` (the authors use 0.99). The stage game is repeated with a
constant observation, so later rewards do not depend on an action: discounting
them in only adds noise to each decision's return. ``--n-envs 4 --gamma 0.99``
gives the authors' settings exactly; ``benchmarks/results/matrix_games_authors_settings.md``
shows what they measure.

``--step-hyper-scale-by-width`` gives STEP the width-scaled hypernetwork that the
control benchmarks use (``NLevelPolicy(hyper_scale_by_width=True)``: one Adam
step moves the generated policy weights about as far as an ordinary layer's,
instead of tens of times further); by default STEP has the paper's plain
hypernetwork. ``benchmarks/results/matrix_games_scaled_hypernetwork.md`` shows
what that changes.

Usage::

    python benchmarks/matrix_games.py                             # 100 seeds x 10,000 steps (the paper's budget)
    python benchmarks/matrix_games.py --seeds 3 --name quick      # a short run (what `make run` does)
    python benchmarks/matrix_games.py --games penalty:-100,mixing --algos step
    python benchmarks/matrix_games.py --n-envs 4 --gamma 0.99 --games penalty:-100,mixing \
        --name matrix_games_authors_settings                     # the authors' PPO settings
    python benchmarks/matrix_games.py --games penalty:0,penalty:-100,mixing --algos step \
        --step-hyper-scale-by-width --name matrix_games_scaled_hypernetwork
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmg_envs.sweep import SweepOptions, Trial, add_sweep_arguments, run_sweep, sweep_kwargs
from stmg_envs.sweep.reporting import parse_csv_list, sweep_span_s, write_csv

RESULTS = Path(__file__).resolve().parent / "results"

#: Game label -> (registered ID, arguments).
GAMES: dict[str, tuple[str, dict]] = {
    **{f"penalty:{k}": ("stmg/Penalty-v0", {"k": float(k)}) for k in (0, -25, -50, -75, -100)},
    "mixing": ("stmg/Mixing-v0", {}),
    "escape": ("stmg/Escape-v0", {}),
    "maintain": ("stmg/Maintain-v0", {}),
}
ALGOS = ("step", "mappo", "ippo")
#: The games of the timed reproduction (target: all of them, every algorithm, 100 seeds, in < 30 min).
REPRODUCTION = tuple(g for g in GAMES if g.startswith("penalty") or g == "mixing")


@dataclass(frozen=True)
class Args(SweepOptions):
    """Command-line arguments (see ``--help``)."""

    games: tuple[str, ...] = tuple(GAMES)
    """games to run: penalty:<k> for k in 0,-25,-50,-75,-100, mixing, escape, maintain"""
    algos: tuple[str, ...] = ALGOS
    """algorithms: step, mappo, ippo"""
    seeds: int = 100
    """trials per game and algorithm (the paper: 100)"""
    steps: int = 10_000
    """joint environment steps of training per trial (the paper: 10,000)"""
    curve_points: int = 20
    """read-outs of the policy during training, for the curves"""
    n_envs: int = 8
    """environment copies per rollout, for every algorithm (the authors: 4)"""
    gamma: float = 0.0
    """discount factor, for every algorithm (the authors: 0.99; see the module docstring)"""
    step_hyper_scale_by_width: bool = False
    """give STEP the width-scaled hypernetwork of the control benchmarks (default: the paper's plain one)"""
    name: str = "matrix_games"
    """base name of the results files"""
    out: Path = RESULTS
    """results folder"""


def parse_args(argv: list[str] | None = None) -> Args:
    defaults = Args()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", default=",".join(defaults.games), help=f"comma-separated, from {list(GAMES)}")
    parser.add_argument("--algos", default=",".join(defaults.algos), help=f"comma-separated, from {list(ALGOS)}")
    parser.add_argument("--seeds", type=int, default=defaults.seeds, help="trials per game and algorithm")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="joint steps of training per trial")
    parser.add_argument("--curve-points", type=int, default=defaults.curve_points, help="policy read-outs during training")
    parser.add_argument("--n-envs", type=int, default=defaults.n_envs, help="environment copies per rollout, every algorithm (default %(default)s; the authors: 4)")
    parser.add_argument("--gamma", type=float, default=defaults.gamma, help="discount factor, every algorithm (default %(default)s; the authors: 0.99)")
    parser.add_argument("--step-hyper-scale-by-width", action="store_true", help="give STEP the width-scaled hypernetwork of the control benchmarks (default: the paper's plain one)")
    parser.add_argument("--name", default=defaults.name, help="base name of the results files")
    parser.add_argument("--out", type=Path, default=defaults.out, help="results folder")
    add_sweep_arguments(parser)
    ns = parser.parse_args(argv)
    games = parse_csv_list(ns.games)
    algos = parse_csv_list(ns.algos)
    if unknown := [g for g in games if g not in GAMES]:
        parser.error(f"unknown games {unknown}; expected some of {list(GAMES)}")
    if unknown := [a for a in algos if a not in ALGOS]:
        parser.error(f"unknown algos {unknown}; expected some of {list(ALGOS)}")
    if ns.seeds < 1 or ns.steps < 100 or ns.curve_points < 0:
        parser.error("expected --seeds >= 1, --steps >= 100 and --curve-points >= 0")
    if ns.n_envs < 1 or not 0.0 <= ns.gamma <= 1.0:
        parser.error(f"expected --n-envs >= 1 and 0 <= --gamma <= 1, got --n-envs {ns.n_envs} and --gamma {ns.gamma}")
    return Args(
        games=games, algos=algos, seeds=ns.seeds, steps=ns.steps, curve_points=ns.curve_points,
        n_envs=ns.n_envs, gamma=ns.gamma, step_hyper_scale_by_width=ns.step_hyper_scale_by_width, name=ns.name,
        out=ns.out, backend=ns.backend, address=ns.address, workers=ns.workers, fresh=ns.fresh,
    )


def hyperparams(args: Args, algo: str) -> dict:
    """The settings ``algo`` is given on top of its defaults (the authors' matrix-game PPO settings)."""
    hp = {"n_envs": args.n_envs, "gamma": args.gamma}
    if algo == "step" and args.step_hyper_scale_by_width:
        hp["policy_kwargs"] = {"hyper_scale_by_width": True}
    return hp


def make_trials(args: Args) -> list[Trial]:
    trials = []
    for game in args.games:
        task_id, kwargs = GAMES[game]
        for algo in args.algos:
            for seed in range(args.seeds):
                trials.append(
                    Trial(
                        key=f"{algo}_{game.replace(':', '')}_s{seed}",
                        fn="stmg_agents.matrix_trials:matrix_trial",
                        kwargs={
                            "algo": algo, "task_id": task_id, "task_kwargs": kwargs, "seed": seed,
                            "steps": args.steps, "curve_points": args.curve_points,
                            "hyperparams": hyperparams(args, algo),
                        },
                    )
                )
    return trials


def game_of(record: dict) -> str:
    kw = record["kwargs"]
    for game, (task_id, kwargs) in GAMES.items():
        if task_id == kw["task_id"] and kwargs == kw["task_kwargs"]:
            return game
    raise KeyError(kw)


def summarise(records: list[dict], args: Args) -> tuple[list[dict], dict[tuple[str, str], dict]]:
    """Per-trial rows and per (game, algo) aggregates."""
    rows = []
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        res = record["result"]
        game = game_of(record)
        groups[(game, res["algo"])].append(res)
        rows.append({
            "game": game, "algo": res["algo"], "seed": res["seed"], "steps": res["steps"], "label": res["label"],
            "tag": res["tag"], "greedy_joint_action": " ".join(f"a{a + 1}" for a in res["greedy_joint_action"]),
            "p_se": round(res["p_se"], 4),
            **{f"p_{agent}_a{j + 1}": round(p, 4) for agent, m in zip(res["agents"], res["marginals"]) for j, p in enumerate(m)},
            **{f"reward_{agent}": round(r, 4) for agent, r in zip(res["agents"], res["expected_payoffs"])},
            "train_s": round(res["train_s"], 3), "decisions_per_s": round(res["decisions_per_s"]),
        })
    stats = {}
    for key, results in groups.items():
        tags = Counter(r["tag"] for r in results)
        labels = Counter(r["label"] for r in results)
        n = len(results)
        marg = np.mean([r["marginals"] for r in results], axis=0)
        stats[key] = {
            "n": n,
            "se": labels["SE"] / n,
            "ne": labels["NE"] / n,
            "none": labels["none"] / n,
            "tags": dict(tags),
            "marginals": marg,
            "agents": results[0]["agents"],
            "rewards": np.mean([r["expected_payoffs"] for r in results], axis=0),
            "dps": float(np.mean([r["decisions_per_s"] for r in results])),
            "train_s": float(np.sum([r["train_s"] for r in results])),
        }
    return rows, stats


def targets(stats: dict, args: Args) -> list[tuple[str, bool | None, str]]:
    out = []
    for game in args.games:
        if (game, "step") in stats:
            se = stats[(game, "step")]["se"]
            if game.startswith("penalty"):
                out.append((f"STEP reaches the SE in >= 95% of trials on {game}", se >= 0.95, f"{se:.0%}"))
            elif game == "mixing":
                out.append(("STEP reaches the SE in >= 99% of trials on mixing", se >= 0.99, f"{se:.0%}"))
    pairs = [(stats[(g, "step")]["dps"], stats[(g, "ippo")]["dps"]) for g in args.games if (g, "step") in stats and (g, "ippo") in stats]
    if pairs:
        ratio = float(np.mean([s for s, _ in pairs]) / np.mean([i for _, i in pairs]))
        out.append(("STEP training throughput >= 0.7x IPPO's (agent-decisions/s during learn)", ratio >= 0.7, f"{ratio:.2f}x"))
    return out


def timing_lines(records: list[dict], args: Args, wall_s: float, n_new: int) -> list[str]:
    """Elapsed time of the whole sweep, reconstructed from the records (it survives resumes), and CPU time."""
    elapsed = sweep_span_s(records)
    busy = sum(r["wall_s"] for r in records)
    workers = args.workers or os.cpu_count() or 1
    core = [g for g in args.games if g.startswith("penalty") or g == "mixing"]
    core_busy = sum(r["wall_s"] for r in records if game_of(r) in core)
    lines = [
        f"- Sweep elapsed, first trial start to last trial end (from the trial records): **{elapsed / 60:.1f} min** "
        f"for {len(records)} trials on {workers} workers (records' times are rounded to the second).",
        f"- Time spent inside trials: {busy / 60:.1f} min in all, i.e. {busy / workers / 60:.1f} min on {workers} fully "
        f"used cores; of it Penalty x {sum(g.startswith('penalty') for g in core)} k and Mixing: "
        f"{core_busy / workers / 60:.1f} min "
        + (
            f"(target for that reproduction: < 30 min; {'met' if core_busy / workers < 1800 else 'NOT met'})."
            if args.seeds == 100 and args.steps == 10_000 and set(core) == set(REPRODUCTION) and set(args.algos) == set(ALGOS)
            else "(the < 30 min target is for Penalty x 5 k and Mixing, STEP, MAPPO and IPPO, 100 seeds x 10,000 "
            "steps; not assessed by this run)."
        ),
        f"- This invocation: {wall_s / 60:.1f} min for {n_new} new trials (backend {args.backend}); saved trials were reused.",
    ]
    return lines


def write_markdown(path: Path, stats: dict, checks: list, args: Args, wall_s: float, n_new: int, records: list[dict]) -> str:
    lines = [
        f"# Matrix games: {' vs '.join(algo.upper() for algo in args.algos)} ({args.name})",
        "",
        f"Written by `benchmarks/matrix_games.py` with --seeds {args.seeds} --steps {args.steps} "
        f"--games {','.join(args.games)} --algos {','.join(args.algos)}; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        f"Training: every algorithm with the same PPO settings: --n-envs {args.n_envs} environment copies per "
        f"rollout and --gamma {args.gamma:g} (the authors' matrix-game code: 4 and 0.99; the script's docstring says "
        "why the default differs), and otherwise the authors' settings (25 steps per copy per rollout, lr 5e-4, "
        "5 epochs, one minibatch, entropy 0.05, hidden 64x2). STEP's hypernetwork: "
        + ("width-scaled (--step-hyper-scale-by-width)." if args.step_hyper_scale_by_width else "the paper's plain one."),
        "",
        "Outcome = the greedy joint action after training, labelled by the exact solver "
        "(`stmg_envs.games.classify_outcome`): SE = the Stackelberg equilibrium with agent_0 leading; "
        "NE[i] = the i-th pure Nash equilibrium (row-major); none = neither.",
        "",
        "| game | algo | trials | SE | NE (which) | none | P(a1,a2,a3) agent_0 | P(a1,a2,a3) agent_1 | reward agent_0 | reward agent_1 | avg reward | decisions/s |",
        "|---|---|---:|---:|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for game in args.games:
        for algo in args.algos:
            s = stats.get((game, algo))
            if s is None:
                continue
            ne = ", ".join(f"{t} {c / s['n']:.0%}" for t, c in sorted(s["tags"].items()) if t.startswith("NE")) or "-"
            probs = [" / ".join(f"{p:.2f}" for p in m) for m in s["marginals"]]
            lines.append(
                f"| {game} | {algo} | {s['n']} | {s['se']:.0%} | {ne} | {s['none']:.0%} | {probs[0]} | {probs[1]} | "
                f"{s['rewards'][0]:.2f} | {s['rewards'][1]:.2f} | {np.mean(s['rewards']):.2f} | {s['dps']:,.0f} |"
            )
    lines += ["", "## Targets", ""]
    for text, ok, value in checks:
        lines.append(f"- {text}: **{value}** ({'met' if ok else 'NOT met'})")
    lines += ["", "## Time", ""] + timing_lines(records, args, wall_s, n_new) + [""]
    text = "\n".join(lines)
    path.write_text(text)
    return text


def plot(stats: dict, records: list[dict], args: Args) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    penalty = [g for g in args.games if g.startswith("penalty")]
    if penalty:
        fig, axes = plt.subplots(1, len(args.algos), figsize=(4 * len(args.algos), 3.2), sharey=True, squeeze=False)
        for ax, algo in zip(axes[0], args.algos):
            ks = [g.split(":")[1] for g in penalty]
            se = np.array([stats[(g, algo)]["se"] for g in penalty if (g, algo) in stats])
            ne = np.array([stats[(g, algo)]["ne"] for g in penalty if (g, algo) in stats])
            none = np.array([stats[(g, algo)]["none"] for g in penalty if (g, algo) in stats])
            if len(se) != len(ks):
                continue
            ax.bar(ks, se, label="SE (a1,a3)", color="tab:green")
            ax.bar(ks, ne, bottom=se, label="other NE", color="tab:orange")
            ax.bar(ks, none, bottom=se + ne, label="none", color="tab:gray")
            ax.set_title(algo.upper())
            ax.set_xlabel("k")
        axes[0][0].set_ylabel("proportion of trials")
        axes[0][-1].legend(loc="lower right", fontsize=8)
        fig.suptitle(f"Penalty: outcome of {args.seeds} trials x {args.steps} steps")
        fig.tight_layout()
        path = args.out / f"{args.name}_penalty_outcomes.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    for game in [g for g in ("mixing", "penalty:-100") if g in args.games]:
        fig, axes = plt.subplots(2, len(args.algos), figsize=(4 * len(args.algos), 5), sharex=True, sharey=True, squeeze=False)
        for col, algo in enumerate(args.algos):
            curves = [r["result"]["curve"] for r in records if game_of(r) == game and r["result"]["algo"] == algo]
            curves = [c for c in curves if c]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            steps = [c[0] for c in curves[0][:length]]
            probs = np.array([[point[1] for point in c[:length]] for c in curves])  # trial, point, agent, action
            mean = probs.mean(axis=0)
            for row in range(mean.shape[1]):
                ax = axes[row][col]
                for action in range(mean.shape[2]):
                    ax.plot(steps, mean[:, row, action], label=f"a{action + 1}")
                ax.set_title(f"{algo.upper()} agent_{row}")
                ax.set_ylim(0, 1)
        axes[-1][0].set_xlabel("joint steps")
        axes[0][0].set_ylabel("P(action)")
        axes[0][-1].legend(fontsize=8)
        fig.suptitle(f"{game}: action probabilities during training (mean over trials)")
        fig.tight_layout()
        path = args.out / f"{args.name}_{game.replace(':', '')}_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    trials = make_trials(args)
    records = run_sweep(trials, args.out / "trials" / args.name, desc=f"{args.name}: trials", **sweep_kwargs(args))
    wall_s = records.wall_s
    rows, stats = summarise(records, args)
    write_csv(args.out / f"{args.name}.csv", rows)
    checks = targets(stats, args)
    text = write_markdown(args.out / f"{args.name}.md", stats, checks, args, wall_s, len(records.executed), records)
    plot(stats, records, args)
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
