"""The headline table of the benchmarks: each algorithm under its documented setting on each suite.

Reads the CSVs the studies wrote into ``benchmarks/results/`` (nothing is trained) and writes
``benchmarks/results/summary.{md,csv}``: the SE share with its 95% Wilson interval on the 2-agent
matrix games and the N-agent games (tuning seeds, held-out seeds, newly drawn games, the preset
baselines, the defaults run), and the final greedy returns with 95% intervals on the control tasks.
A run not computed yet is named as such. The docs include the table at the top of the Benchmarks page.

Usage::

    python benchmarks/summary.py
    python benchmarks/summary.py --also ../wt_heldout/benchmarks/results   # held-out runs still in a worktree
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.suites import summary

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    args = parse_dataclass(summary.Args, argv, description=__doc__.split("\n\n")[0])
    if args.out == summary.Args().out:  # the script reads and writes next to itself, wherever it is run from
        args = dataclasses.replace(args, out=RESULTS)
    print(summary.run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
