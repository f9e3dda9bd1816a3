"""Oracles & Followers' iterated games for any algorithm: does the leader learn to commit to the solver's policy?

What is run, how it is scored and what is written: :mod:`stmg_bench.suites.iterated_study` (``--help`` lists every
flag). In short: every algorithm of ``--algos`` x game of ``--games`` x ``--seeds`` seeds trains ``--steps`` joint
steps on ``stmg/IteratedMatrix-v0``; the leader's greedy action in each memory state (its committed policy) is
scored by the exact solver against a best-responding follower; the report, ``benchmarks/results/<name>.md`` and
``.csv``, gives the share of trials whose committed policy is optimal (95% Wilson intervals), its value, the greedy
episode's returns and the follower's regret. An existing report is replaced only with ``--overwrite``.

Usage::

    python benchmarks/iterated_games.py --algos step,seq-ppo,mappo --seeds 5 --steps 100000
    python benchmarks/iterated_games.py --games ipd,bots --algos step --seeds 2 --steps 20000 --name try

``stmg-bench iterated`` (installed with the package) runs the same study into ``runs/``.
"""

from __future__ import annotations

from pathlib import Path

from stmg_bench.cli import reported_errors
from stmg_bench.suites import iterated_study

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        iterated_study.main(out=RESULTS)
