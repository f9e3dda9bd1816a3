"""Reproduce the matrix-game results of the STEP paper (Fig. 5, Table 1) and the Bi-AC games, for any algorithm.

What is run: every algorithm of ``--algos`` (built-in names such as ``step``,
``mappo``, ``ippo``, or your own ``package.module:Class``, see
``stmg_bench.contract``) x every game of ``--games`` x every order of ``--orders``
x ``--seeds`` seeds, each trial trained for ``--steps`` joint steps on the form
the algorithm declares. Trials run in parallel (local process pool, or Ray with
``--backend ray``) and each is saved the moment it ends, so an interrupted run
resumes where it stopped; a saved trial made by other code or settings is run
again (its fingerprint differs).

How it is evaluated: the greedy policy is played through the algorithm's own form
(in the STMG each agent sees its superiors' greedy actions) and its joint action is
labelled by the exact solver of ``stmg_envs.equilibria`` under the order used: the
Stackelberg equilibrium, which Nash equilibrium, or none. Algorithms that offer
``action_probabilities`` also get P(SE) and probability curves.

What is written, in ``benchmarks/results/<name>.{md,csv}`` and ``<name>_*.png``: the
share of outcomes per game, algorithm and order with 95% intervals, the distribution
of P(SE) over seeds, Table 1's probabilities and rewards, curves (Fig. B.2),
training throughput, the targets and the wall time (``--out FOLDER`` writes elsewhere). A report
that exists is never replaced unless asked: the run stops before any trial with a message, so
rerunning a committed benchmark on purpose takes ``--overwrite`` (its saved trials are reused),
and ``--name NEW`` writes a new report beside it.

Training settings: every algorithm gets ``--n-envs 8`` environment copies and discount
``--gamma 0`` when its constructor takes them (the authors' matrix-game code: 4 and
0.99; the stage game repeats with a constant observation, so discounting later
rewards in only adds noise to each decision's return) and otherwise its own
defaults (STEP's are the authors' matrix-game settings); ``--hyperparams`` adds an
algorithm's own settings. ``--n-envs 4 --gamma 0.99`` gives the authors' settings.

Usage::

    python benchmarks/matrix_games.py --name mine                 # 100 seeds x 10,000 steps (the paper's budget)
    python benchmarks/matrix_games.py --algos step-explore,mappo,seq-ppo --preset entropy \\
        --games mixing --seeds 6 --out runs/quick --name quick        # what `make run` does
    python benchmarks/matrix_games.py --overwrite                 # rerun the committed matrix_games.md on purpose
    python benchmarks/matrix_games.py --games penalty:-100,mixing --algos step,examples.tabular_learner:SequentialQ \\
        --name sequential_q
    python benchmarks/matrix_games.py --algos step --hyperparams step='{"beta": 0.5}' --name beta05
    python benchmarks/matrix_games.py --algos step,step-scaled --games penalty:0,penalty:-100,mixing \\
        --name matrix_games_scaled_hypernetwork --overwrite      # the width-scaled hypernetwork, committed: redo it
    python benchmarks/matrix_games.py --orders possible_agents,reversed --games mixing --seeds 10 --name orders

``stmg-bench matrix`` (installed with the package) runs the same study.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.suites import matrix_study

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    args = parse_dataclass(matrix_study.Args, argv, description=__doc__.split("\n\n")[0])
    if args.out == matrix_study.Args().out:  # the script writes next to itself, wherever it is run from
        import dataclasses

        args = dataclasses.replace(args, out=RESULTS)
    print(matrix_study.run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
