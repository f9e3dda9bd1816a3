"""Highway merging: any algorithms (default STEP, MAPPO, IPPO) on on-ramp easy/medium/hard and the two-car merge.

The study lives in the harness (:mod:`stmg_bench.suites.merge_study`: what is run, how it is
evaluated, what is written; ``stmg-bench merge`` runs the same without the repository); this
script runs it and writes into ``benchmarks/results/`` next to itself. An existing report of
the same ``--name`` is replaced only with ``--overwrite`` (without it the run stops before any trial; with it the
saved trials are reused).

Usage::

    python benchmarks/onramp.py                                 # on-ramp easy, medium, hard, 50,000 steps per trial
    python benchmarks/onramp.py --tasks medium,two-car --seeds 5 --steps 200000
    python benchmarks/onramp.py --budget 30 --seeds 3           # steps from throughput measured now
    python benchmarks/onramp.py --help                           # every option
"""

from pathlib import Path

from stmg_bench.cli import reported_errors
from stmg_bench.suites.merge_study import main

if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main(out=Path(__file__).resolve().parent / "results")
