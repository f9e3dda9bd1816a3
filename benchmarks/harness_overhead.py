"""What the benchmark harness costs per trial: a matrix trial through the contract vs the same training called directly.

What is run: for each built-in algorithm, interleaved rounds of two ways to run the
same matrix trial (same game, seed, steps, settings and number of policy read-outs):

* ``direct``: what the benchmark did before the harness existed: build the class
  from the task id (``STEP("stmg/Penalty-v0", ...)``, ``MAPPO(...)``), train with its
  own callback, and read the policy out with its own read-out
  (``joint_policy_readout`` / ``action_readout``) at the curve points and at the end;
* ``harness``: :func:`stmg_bench.suites.matrix.matrix_trial` (registry, contract,
  progress callback, evaluation through the form, outcome labels).

How it is evaluated: the wall time of each; the overhead is the median over rounds
of ``harness / direct - 1``, with its range; the target is at most 5%.

What is written: ``benchmarks/results/<name>.md`` and ``<name>.csv``.

Usage::

    python benchmarks/harness_overhead.py                 # 5 rounds, Penalty k=-100, 10,000 steps
    python benchmarks/harness_overhead.py --rounds 9 --algos step
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_bench.registry import resolve
from stmg_bench.suites.matrix import GAMES, matrix_trial
from stmg_bench.sweep.reporting import write_csv

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.05


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    algos: tuple[str, ...] = field(default=("step", "mappo", "ippo"), metadata={"help": "built-in algorithms to time"})
    game: str = field(default="penalty:-100", metadata={"help": f"the game, from {list(GAMES)}"})
    steps: int = field(default=10_000, metadata={"help": "joint steps per trial (the matrix study's)"})
    curve_points: int = field(default=20, metadata={"help": "policy read-outs during training (the matrix study's)"})
    rounds: int = field(default=5, metadata={"help": "interleaved rounds (each: direct then harness, per algorithm)"})
    name: str = field(default="harness_overhead", metadata={"help": "base name of the results files"})
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})


SETTINGS = {"n_envs": 8, "gamma": 0.0}  # the matrix study's shared settings


def _sequential_readout(model: Any, seed: int) -> object:
    from stmg_agents.step.evaluation import joint_policy_readout

    return joint_policy_readout(model, seed=seed)


def _simultaneous_readout(model: Any, seed: int) -> object:
    return model.action_readout()


#: The built-ins' own read-out of the policy, by form: STEP's joint-policy read-out, the baselines' action read-out.
READOUTS: dict[str, Callable[[Any, int], object]] = {
    "sequential": _sequential_readout,
    "simultaneous": _simultaneous_readout,
}


def direct(algo: str, task_id: str, kwargs: dict, seed: int, steps: int, curve_points: int) -> None:
    """The trial as the benchmark ran it before the harness: the class itself, its own callback and read-out.

    The class is the built-in's own, built from the task id with the matrix study's settings (under which a
    registered variant's overrides lie); its read-out is its form's.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    every = max(1, steps // curve_points)
    curve: list = []
    resolved = resolve(algo)
    factory = resolved.load()
    model = factory(task_id, seed=seed, env_kwargs=dict(kwargs), **resolved.settings(SETTINGS))

    def readout() -> object:
        return READOUTS[resolved.form](model, seed)

    class Curve(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            if model.num_timesteps >= len(curve) * every:
                curve.append(readout())

    model.learn(steps, callback=Curve())
    readout()


def main(argv: list[str] | None = None) -> None:
    import torch

    args = parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])
    torch.set_num_threads(1)
    task_id, kwargs = GAMES[args.game]
    times: dict[str, dict[str, list[float]]] = {a: {"direct": [], "harness": []} for a in args.algos}
    for algo in args.algos:  # warm-up: imports and first constructions are paid once per process either way
        direct(algo, task_id, kwargs, 0, 200, 2)
        matrix_trial(
            resolve(algo).to_json(), task_id, kwargs, seed=0, steps=200, curve_points=2, hyperparameters=SETTINGS
        )
    for round_ in range(args.rounds):
        for algo in args.algos:
            start = time.perf_counter()
            direct(algo, task_id, kwargs, round_, args.steps, args.curve_points)
            times[algo]["direct"].append(time.perf_counter() - start)
            start = time.perf_counter()
            matrix_trial(
                resolve(algo).to_json(),
                task_id,
                kwargs,
                seed=round_,
                steps=args.steps,
                curve_points=args.curve_points,
                hyperparameters=SETTINGS,
            )
            times[algo]["harness"].append(time.perf_counter() - start)
            print(
                f"round {round_}: {algo} direct {times[algo]['direct'][-1]:.2f} s, harness "
                f"{times[algo]['harness'][-1]:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    rows = []
    for algo in args.algos:
        d, h = np.array(times[algo]["direct"]), np.array(times[algo]["harness"])
        ratios = h / d - 1
        rows.append(
            {
                "algo": algo,
                "rounds": args.rounds,
                "direct_s_median": round(float(np.median(d)), 3),
                "harness_s_median": round(float(np.median(h)), 3),
                "overhead_median": round(float(np.median(ratios)), 4),
                "overhead_min": round(float(ratios.min()), 4),
                "overhead_max": round(float(ratios.max()), 4),
            }
        )
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows)
    lines = [
        f"# Harness overhead per matrix trial ({args.name})",
        "",
        f"Written by `benchmarks/harness_overhead.py` at commit `{git_commit() or 'not recorded'}` with --game {args.game} --steps {args.steps} --curve-points "
        f"{args.curve_points} --rounds {args.rounds} ({platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; one process, one torch thread). Each round times, per algorithm, the trial "
        "called directly (the class, its own callback and read-out) and through `stmg_bench.suites.matrix.matrix_trial`, "
        "one after the other, with the same seed; overhead = harness / direct - 1, median over rounds [min, max].",
        "",
        "| algorithm | direct s (median) | harness s (median) | overhead median [min, max] | target <= 5% |",
        "|---|---:|---:|---|---|",
    ]
    for r in rows:
        met = "met" if r["overhead_median"] <= TARGET else "NOT met"
        lines.append(
            f"| {r['algo']} | {r['direct_s_median']:.2f} | {r['harness_s_median']:.2f} | "
            f"{r['overhead_median']:+.1%} [{r['overhead_min']:+.1%}, {r['overhead_max']:+.1%}] | {met} |"
        )
    text = "\n".join(lines) + "\n"
    (args.out / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
