"""Put several matrix runs in one table: each algorithm's SE share on each game at each run's budget, and its settings.

The N-agent games need a budget per number of agents, so a setting meant for every matrix
game is run once per budget (``benchmarks/matrix_games.py --name ...``); this reads what those
runs wrote (their per-trial CSVs and trial records in ``benchmarks/results/``), trains nothing,
and writes ``benchmarks/results/<name>.{md,csv}``: per game and algorithm, the steps, the SE
share with its 95% interval, P(SE) over seeds, the failing seeds and the target, and for each
algorithm the settings its records were made with (one setting across the runs, or which).

Usage::

    python benchmarks/matrix_summary.py --runs matrix_games_explore,nagent_explore3_20k --name one_setting
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.suites import matrix_summary

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    args = parse_dataclass(matrix_summary.Args, argv, description=__doc__.split("\n\n")[0])
    if args.out == matrix_summary.Args().out:  # the script reads and writes next to itself, wherever it is run from
        args = dataclasses.replace(args, out=RESULTS)
    print(matrix_summary.run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
