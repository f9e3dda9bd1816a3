"""A minimal benchmark-style script for the resume tests, run as ``python -m tests.bench.sweep.sweep_driver``.

It sweeps ``count`` trials of ``log_and_return`` (see :func:`tests.bench.sweep.helpers.logged_trials`)
with the shared sweep flags of :func:`stmg_bench.sweep.add_sweep_arguments`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stmg_bench.sweep import add_sweep_arguments, run_sweep, sweep_kwargs
from tests.bench.sweep.helpers import logged_trials


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, required=True, help="folder of the records")
    parser.add_argument("--log", type=Path, required=True, help="file the trials append their key to")
    parser.add_argument("--count", type=int, default=8, help="number of trials")
    parser.add_argument("--gate", type=Path, default=None, help="file the gated trials wait for")
    parser.add_argument("--gate-from", type=int, default=0, help="index of the first gated trial")
    args = add_sweep_arguments(parser).parse_args(argv)
    trials = logged_trials(args.log, args.count, gate=args.gate, gate_from=args.gate_from)
    records = run_sweep(trials, args.results, progress=False, **sweep_kwargs(args))
    print(f"executed {' '.join(records.executed)}")


if __name__ == "__main__":
    main()
