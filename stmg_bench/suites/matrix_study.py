"""The matrix study: arguments, summary and report around the matrix suite's trials, for any algorithms and orders.

:func:`run` resolves the algorithms of :class:`Args`, plans the trials
(:func:`stmg_bench.suites.matrix.plan_trials`), runs the sweep, and writes the CSV,
the Markdown report (outcome shares with 95% Wilson intervals, the distribution of
P(SE) over seeds, the failing seeds, targets, time) and the plots.
``benchmarks/matrix_games.py`` and ``stmg-bench matrix`` are this, with the command
line derived from :class:`Args`.

The study is split by responsibility; this module keeps :func:`run` and re-exports the public names of:

* :mod:`stmg_bench.suites.matrix_args`: :class:`Args`, :class:`MatrixPreset`, :data:`MATRIX_PRESETS`,
  :data:`SHARED_SETTINGS`, :func:`resolve_algorithms`;
* :mod:`stmg_bench.suites.matrix_stats`: the games' solved tables (:func:`game_payoffs`, :func:`game_margin`,
  :func:`game_of`), :func:`summarise`, :func:`wilson_interval`, :func:`seed_power_lines`, the targets
  (:data:`TARGETS`, :func:`targets`);
* :mod:`stmg_bench.suites.matrix_report`: :func:`write_markdown` and its sections;
* :mod:`stmg_bench.suites.matrix_plots`: :func:`plot`, :func:`plot_orders`.

None of them is imported by :mod:`stmg_bench.suites.matrix`, the trials' module, whose source is part of the
trial fingerprint: the report's code can change without making saved trials stale.

Examples:
    >>> wilson_interval(95, 100)
    (0.888..., 0.978...)
"""

from __future__ import annotations

import dataclasses

from stmg_bench import selection
from stmg_bench.suites.matrix import expand_games, game_spec, make_env_factory, plan_trials
from stmg_bench.suites.matrix_args import (
    MATRIX_PRESETS,
    SHARED_SETTINGS,  # noqa: F401  (re-exported, see below)
    Args,
    MatrixPreset,
    resolve_algorithms,
)
from stmg_bench.suites.matrix_plots import plot, plot_orders
from stmg_bench.suites.matrix_report import compare_lines, listed_orders, reply_lines, write_markdown
from stmg_bench.suites.matrix_stats import (  # noqa: F401  (re-exported, see below)
    LISTED_RANDOM_ORDERS,
    RANDOM_POOLED,
    STEP_TARGETS,
    TARGET_SETS,
    TARGETS,
    THROUGHPUT_TARGET_SETS,
    THROUGHPUT_TARGETS,
    RowStats,
    TrialRow,
    game_margin,
    game_of,
    game_payoffs,
    order_label,
    seed_power_lines,
    summarise,
    targets,
    wilson_interval,
)
from stmg_bench.sweep import run_sweep_then_report, sweep_kwargs
from stmg_bench.sweep.reporting import refuse_overwrite, write_csv

#: The public names (unchanged by the split into modules). Also importable from here, as before the split:
#: ``SHARED_SETTINGS``, ``LISTED_RANDOM_ORDERS``, ``STEP_TARGETS``, ``TARGET_SETS``, ``TARGETS``, ``THROUGHPUT_TARGETS``, ``THROUGHPUT_TARGET_SETS``,
#: ``order_label``,
#: the statistics' rows ``TrialRow`` and ``RowStats``.
__all__ = [
    "Args",
    "MATRIX_PRESETS",
    "MatrixPreset",
    "run",
    "resolve_algorithms",
    "game_of",
    "game_margin",
    "game_payoffs",
    "summarise",
    "RANDOM_POOLED",
    "wilson_interval",
    "seed_power_lines",
    "targets",
    "write_markdown",
    "listed_orders",
    "plot",
    "plot_orders",
    "compare_lines",
    "reply_lines",
]


def run(args: Args, *, progress: bool = True) -> str:
    """The whole study: resolve the algorithms, plan and run the sweep, summarise, write CSV, Markdown and plots.

    Returns:
        The Markdown text (also written to ``<out>/<name>.md``).

    Raises:
        ReportExistsError: ``<out>/<name>.md`` or ``.csv`` exists and ``args.overwrite`` is not set (nothing has run).
    """
    if (problem := args.check()) is not None:
        raise ValueError(problem)
    refuse_overwrite(args.out, args.name, args.overwrite)  # before any trial runs
    args = dataclasses.replace(args.with_preset(), games=expand_games(args.games))
    algorithms, settings = resolve_algorithms(args)
    if not args.saved_only:  # a --hyperparams value the class refuses ends here, not in every trial
        task_id, task_kwargs = game_spec(args.games[0])
        order = args.order_names()[0]
        selection.check_construction(
            algorithms,
            settings,
            lambda algo: make_env_factory(algo.form, task_id, task_kwargs, order, args.agent_indicator),
        )
    trials = plan_trials(
        args.games,
        algorithms,
        settings,
        args.seeds,
        args.steps,
        args.curve_points,
        args.order_names(),
        agent_indicator=args.agent_indicator,
        seed_start=args.seed_start,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    records, failure = run_sweep_then_report(  # report what finished, name what failed, then raise
        trials,
        args.out / "trials" / args.name,
        desc=f"{args.name}: trials",
        progress=progress,
        **sweep_kwargs(args),
    )
    rows, stats = summarise(records, args.games, args.order_names())
    if rows:
        write_csv(args.out / f"{args.name}.csv", [row.csv_row() for row in rows])
    text = write_markdown(
        args.out / f"{args.name}.md",
        stats,
        args,
        algorithms,
        settings,
        records,
        failures=failure.failures if failure else {},
    )
    if stats:
        plot(stats, records, args, [a.name for a in algorithms])
    if failure is not None:
        raise failure
    return text
