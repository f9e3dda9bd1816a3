"""Multi-Agent MuJoCo: learning curves of any algorithms (default STEP, MAPPO, IPPO) and STEP's beta ablation.

The study lives in the harness (:mod:`stmg_bench.suites.mujoco_study`: what is run, how it
is evaluated, what is written; ``stmg-bench mujoco`` runs the same without the repository);
this script runs it and writes into ``benchmarks/results/`` next to itself. An existing report of
the same ``--name`` is replaced only with ``--overwrite`` (without it the run stops before any trial; with it the
saved trials are reused).

Usage::

    python benchmarks/mamujoco.py                                   # default scenarios, 100,000 steps per trial
    python benchmarks/mamujoco.py --budget 30                        # ~30 min, steps from throughput measured now
    python benchmarks/mamujoco.py --scenarios all --budget 240 --ablation-scenario none
    python benchmarks/mamujoco.py --algos step,my_pkg.algos:MyPPO --scenarios Ant-2x4 --steps 200000
    python benchmarks/mamujoco.py --help                             # every option
"""

from pathlib import Path

from stmg_bench.cli import reported_errors
from stmg_bench.suites.mujoco_study import main

if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main(out=Path(__file__).resolve().parent / "results")
