"""The headline table of the benchmarks: each algorithm under its documented setting on each suite, from the CSVs.

The results folder holds one report per experiment; a reader wants the answer first. This reads the CSVs the studies
wrote (nothing is trained, nothing is typed in) and writes ``<out>/summary.md`` and ``<out>/summary.csv``, one table per
suite:

* the 2-agent matrix games and the N-agent games (:data:`MATRIX_2AGENT`, :data:`NAGENT`): per game, each column one
  algorithm under one setting on one set of seeds (the tuning seeds the setting was chosen on, held-out seeds, newly
  drawn games, the preset baselines, the defaults run), each cell the SE share with its 95% Wilson interval
  (:func:`~stmg_bench.suites.matrix_study.wilson_interval`) and the number of trials, from the matrix study's
  per-trial CSVs (:func:`~stmg_bench.suites.matrix_summary.read_run`);
* the control tasks (:data:`CONTROL`): per scenario, each algorithm's final greedy return, mean and 95% Student
  t-interval over seeds as the control study's CSV holds them (:func:`stmg_bench.learning_curves.t_interval` computed
  them when the study wrote its report).

A run whose CSV is not there (a held-out run still being computed) is not an error: its column says "not run yet";
a run with fewer trials than planned shows the n it has and the seeds it covers. ``benchmarks/summary.py`` is this,
with the command line derived from :class:`Args`.

Examples:
    >>> rows = [{"game": "mixing", "algo": "step", "seed": s, "label": "SE" if s else "NE"} for s in range(4)]
    >>> cell = se_cell(rows)
    >>> cell.n, cell.se, cell.seeds, format_se(cell)
    (4, 3, '0-3', '75% [30-95%], n=4')
"""

from __future__ import annotations

import csv
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from stmg_bench.provenance import git_commit
from stmg_bench.suites.matrix_stats import wilson_interval
from stmg_bench.suites.matrix_summary import read_run, run_settings
from stmg_bench.sweep.reporting import write_csv

__all__ = [
    "Args",
    "Column",
    "MatrixTable",
    "ControlTable",
    "SECell",
    "MATRIX_2AGENT",
    "NAGENT",
    "CONTROL",
    "headline_runs",
    "se_cell",
    "format_se",
    "seed_ranges",
    "find_run",
    "matrix_rows",
    "control_rows",
    "write_markdown",
    "run",
]


@dataclass(frozen=True)
class Args:
    """The summary's settings; ``benchmarks/summary.py --help`` lists them."""

    out: Path = field(default=Path("benchmarks/results"), metadata={"help": "results folder (read and written)"})
    also: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "other results folders to read a run from when --out has no CSV of it (e.g. a worktree still "
            "computing held-out runs); the summary names the folder each run came from"
        },
    )
    name: str = field(default="summary", metadata={"help": "base name of the results files"})


@dataclass(frozen=True)
class Column:
    """One column of a matrix table: ``algo``'s trials in the runs ``runs`` (one per budget), on the seeds ``seeds``.

    ``label`` heads the column; ``seeds`` is what was planned ("0-99"), the cells say what the CSVs hold.
    """

    label: str
    algo: str
    runs: tuple[str, ...]
    seeds: str


@dataclass(frozen=True)
class MatrixTable:
    """A suite of matrix games: its rows are the games of ``games`` (then any other game a column's CSV has)."""

    title: str
    games: tuple[str, ...]
    columns: tuple[Column, ...]
    note: str = ""


@dataclass(frozen=True)
class ControlTable:
    """Control tasks: ``runs`` are control-study CSVs (one row per task and algorithm); ``task`` and ``value`` name
    the columns that hold the task and the mean of the final value (its interval: ``value`` with ``_mean`` replaced
    by ``_ci95_low`` / ``_ci95_high``)."""

    title: str
    runs: tuple[tuple[str, str, str], ...]  # (run, task column, value column)
    algos: tuple[str, ...]
    note: str = ""


_EXPLORE = "`step-explore --preset entropy`"
_PRESET = "`--preset entropy`"

#: The 2-agent matrix games: the one setting on the seeds it was chosen on and on held-out seeds, the baselines
#: with the same preset, and the 100-seed defaults run.
MATRIX_2AGENT = MatrixTable(
    title="Matrix games, 2 agents (10,000 joint steps per trial)",
    games=("penalty:0", "penalty:-25", "penalty:-50", "penalty:-75", "penalty:-100", "mixing", "escape", "maintain"),
    columns=(
        Column(f"STEP {_EXPLORE}, tuning seeds 0-99", "step-explore", ("matrix_games_explore",), "0-99"),
        Column(f"STEP {_EXPLORE}, held-out seeds from 100", "step-explore", ("heldout_paper_explore",), "100-199"),
        Column(f"seq-ppo {_PRESET}", "seq-ppo", ("matrix_games_preset_baselines",), "0-99"),
        Column(f"MAPPO {_PRESET}", "mappo", ("matrix_games_preset_baselines",), "0-99"),
        Column("STEP, defaults", "step", ("matrix_games",), "0-99"),
        Column("MAPPO, defaults", "mappo", ("matrix_games",), "0-99"),
        Column("IPPO, defaults", "ippo", ("matrix_games",), "0-99"),
    ),
    note="The setting `step-explore --preset entropy` was chosen on seeds 0-99; the held-out column scores it on "
    "seeds it was not chosen on. Defaults: the matrix suite's settings without the preset.",
)

#: The N-agent games (`nagent` suite, 3-5 agents; budget 10,000 x 2^(N-2) joint steps).
NAGENT = MatrixTable(
    title="N-agent games (`nagent` suite; 20,000 / 40,000 / 80,000 joint steps for 3 / 4 / 5 agents)",
    games=(
        "team-trap:3:0",
        "team-trap:3:1",
        "general-sum:3:0",
        "general-sum:3:1",
        "team-trap:4:0",
        "team-trap:4:1",
        "general-sum:4:0",
        "general-sum:4:1",
        "team-trap:5:0",
        "team-trap:5:1",
        "general-sum:5:0",
        "general-sum:5:1",
    ),
    columns=(
        Column(
            f"STEP {_EXPLORE}, tuning seeds 0-19",
            "step-explore",
            ("nagent_explore3_20k", "nagent_explore4_40k", "nagent_explore5_80k"),
            "0-19",
        ),
        Column(
            f"STEP {_EXPLORE}, held-out seeds",
            "step-explore",
            ("heldout_nagent3_explore", "heldout_nagent4_explore", "heldout_nagent5_explore"),
            "100 on",
        ),
        Column(
            f"STEP {_EXPLORE}, newly drawn games",
            "step-explore",
            ("newdraws_nagent3_explore", "newdraws_nagent4_explore"),
            "see cells",
        ),
        Column(f"seq-ppo {_PRESET}", "seq-ppo", ("nagent_preset_baselines3_20k", "nagent_preset_seqppo4_40k"), "0-19"),
        Column(f"MAPPO {_PRESET}", "mappo", ("nagent_preset_baselines3_20k",), "0-19"),
    ),
    note="seq-ppo was run up to 4 agents and MAPPO on 3 agents; '-': not run.",
)

#: The control tasks: final greedy returns at the real budgets.
CONTROL = ControlTable(
    title="Control tasks: final greedy return, mean [95% t-interval] over seeds",
    runs=(
        ("mujoco_1m", "scenario", "final_return_mean"),
        ("onramp_medium_200k", "task", "final_team_return_mean"),
    ),
    algos=("step", "mappo", "ippo", "seq-ppo"),
    note="Multi-Agent MuJoCo at 1,000,000 joint steps per trial (`mujoco_1m`), on-ramp medium at 200,000 "
    "(`onramp_medium_200k`, the team return). Whether two algorithms differ: each report's Welch tests.",
)


def headline_runs(
    matrix_tables: Sequence[MatrixTable] = (MATRIX_2AGENT, NAGENT), control_table: ControlTable | None = CONTROL
) -> tuple[str, ...]:
    """The runs the summary reads, in table order (the docs list their pages first in each group).

    Examples:
        >>> headline_runs()[:2]
        ('matrix_games_explore', 'heldout_paper_explore')
    """
    runs = [run for table in matrix_tables for column in table.columns for run in column.runs]
    runs += [run for run, _, _ in control_table.runs] if control_table is not None else []
    return tuple(dict.fromkeys(runs))


class SECell(NamedTuple):
    """One algorithm's trials on one game: SE count, trials, the 95% Wilson interval, the seeds, the runs read."""

    se: int
    n: int
    low: float
    high: float
    seeds: str
    runs: tuple[str, ...]


def seed_ranges(seeds: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``.

    Examples:
        >>> seed_ranges([0, 1, 2, 5, 7, 8]), seed_ranges([])
        ('0-2, 5, 7-8', '')
    """
    values = sorted(set(seeds))
    parts: list[str] = []
    start = prev = None
    for value in [*values, None]:
        if start is not None and (value is None or value != prev + 1):  # type: ignore[operator]
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if value is not None:
            start = value if start is None else start
            prev = value
    return ", ".join(parts)


def se_cell(rows: Sequence[Mapping[str, Any]], runs: tuple[str, ...] = ()) -> SECell:
    """The SE share of per-trial rows (``label`` ``"SE"`` or not) with its 95% Wilson interval."""
    se = sum(row["label"] == "SE" for row in rows)
    low, high = wilson_interval(se, len(rows))
    return SECell(se, len(rows), low, high, seed_ranges(int(float(row["seed"])) for row in rows), runs)


def format_se(cell: SECell | None) -> str:
    """A table cell: ``"95% [76-99%], n=20"``; ``"-"`` for no trials."""
    if cell is None or cell.n == 0:
        return "-"
    return f"{cell.se / cell.n:.0%} [{100 * cell.low:.0f}-{cell.high:.0%}], n={cell.n}"


def find_run(run: str, folders: Sequence[Path]) -> Path | None:
    """The first of ``folders`` that holds ``<run>.csv``, or None."""
    return next((folder for folder in folders if (folder / f"{run}.csv").exists()), None)


def matrix_rows(
    table: MatrixTable, folders: Sequence[Path]
) -> tuple[dict[str, dict[str, SECell]], dict[str, Path | None]]:
    """Per game, per column label, the column's cell; and where each run's CSV was found (None: not run yet)."""
    found = {run: find_run(run, folders) for column in table.columns for run in column.runs}
    cells: dict[str, dict[str, SECell]] = {game: {} for game in table.games}
    for column in table.columns:
        per_game: dict[str, list[Mapping[str, Any]]] = {}
        runs_of: dict[str, list[str]] = {}
        for run in column.runs:
            folder = found[run]
            if folder is None:
                continue
            for row in read_run(folder, run):
                if row["algo"] == column.algo and (row.get("order") or "possible_agents") == "possible_agents":
                    per_game.setdefault(row["game"], []).append(row)
                    if run not in runs_of.setdefault(row["game"], []):
                        runs_of[row["game"]].append(run)
        for game, rows in per_game.items():
            cells.setdefault(game, {})[column.label] = se_cell(rows, tuple(runs_of[game]))
    return cells, found


def control_rows(table: ControlTable, folders: Sequence[Path]) -> tuple[list[dict[str, Any]], dict[str, Path | None]]:
    """One row per task and algorithm of ``table.algos`` (the ablation rows of a MuJoCo CSV, with a ``beta``, left
    out): run, task, algo, seeds, steps, mean, ci95_low, ci95_high, as the control study's CSV holds them."""
    found = {run: find_run(run, folders) for run, _, _ in table.runs}
    out = []
    for run, task_column, value in table.runs:
        folder = found[run]
        if folder is None:
            continue
        with open(folder / f"{run}.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("beta") or row["algo"] not in table.algos:
                    continue
                stem = value.removesuffix("_mean")
                out.append(
                    {
                        "run": run,
                        "task": row[task_column],
                        "algo": row["algo"],
                        "seeds": int(row["seeds"]),
                        "steps": int(float(row["steps_per_trial"])),
                        "mean": float(row[value]),
                        "ci95_low": float(row[f"{stem}_ci95_low"]),
                        "ci95_high": float(row[f"{stem}_ci95_high"]),
                    }
                )
    return out, found


def _link(run: str, folder: Path | None, out: Path) -> str:
    if folder is None:
        return f"`{run}`: **not run yet** (no `{run}.csv`)"
    where = "" if folder.resolve() == out.resolve() else f", read from `{folder}`"
    return f"[`{run}`]({run}.md){where}"


def _records(run: str, folder: Path | None) -> str:
    if folder is None:
        return ""
    try:
        _, commits = run_settings(folder, run)
    except FileNotFoundError:
        return "; trial records not committed"
    dirty = " (`+dirty`: made by a tree with uncommitted changes)" if any(c.endswith("+dirty") for c in commits) else ""
    return "; trial records made at commit " + ", ".join(f"`{_short(c)}`" for c in commits) + dirty


def _short(commit: str) -> str:
    """``"509e2d44cd8c...+dirty"`` -> ``"509e2d4+dirty"`` (the ``+dirty`` of a record made by an uncommitted tree kept)."""
    head, sep, rest = commit.partition("+")
    return head[:7] + sep + rest


def _command(args: Args) -> str:
    default_out = args.out.parts[-2:] == Args().out.parts  # the script's own results folder, wherever it is run from
    flags = [] if default_out else [f"--out {args.out}"]
    flags += [f"--also {','.join(args.also)}"] if args.also else []
    flags += [f"--name {args.name}"] if args.name != Args().name else []
    return " ".join(["benchmarks/summary.py", *flags])


def write_markdown(
    path: Path,
    args: Args,
    matrix: Sequence[tuple[MatrixTable, dict[str, dict[str, SECell]], dict[str, Path | None]]],
    control: tuple[ControlTable, list[dict[str, Any]], dict[str, Path | None]] | None,
) -> str:
    """The summary page: provenance, then one table per suite with the runs each column read."""
    lines = [
        "# Summary: each algorithm under its documented setting on each suite",
        "",
        f"Written by `{_command(args)}` at commit `{git_commit() or 'unknown'}` ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}) from the CSVs the studies wrote (nothing is "
        "trained here, no number is typed in). Each run's report says how it was run. SE = the greedy joint action "
        "after training is the Stackelberg equilibrium (exact solver), share of trials with its 95% Wilson interval "
        "and the number of trials n.",
    ]
    for table, cells, found in matrix:
        header = [c.label for c in table.columns]
        lines += ["", f"## {table.title}", "", "| game | " + " | ".join(header) + " |"]
        lines.append("|---|" + "---|" * len(header))
        for game, row in cells.items():
            if not row:
                continue
            lines.append(f"| {game} | " + " | ".join(format_se(row.get(label)) for label in header) + " |")
        lines += ["", table.note, "", "Columns:", ""]
        for column in table.columns:
            seen = sorted(
                {
                    cell.seeds
                    for row in cells.values()
                    for label, cell in row.items()
                    if label == column.label and cell.seeds
                }
            )
            seeds = f"seeds {'; '.join(seen)}" if seen else f"seeds planned {column.seeds}"
            runs = "; ".join(f"{_link(run, found[run], args.out)}{_records(run, found[run])}" for run in column.runs)
            lines.append(f"- {column.label} (`{column.algo}`, {seeds}): {runs}")
    if control is not None:
        ctable, rows, found = control
        lines += ["", f"## {ctable.title}", "", "| task | steps | " + " | ".join(ctable.algos) + " |"]
        lines.append("|---|---:|" + "---|" * len(ctable.algos))
        for task in dict.fromkeys(row["task"] for row in rows):
            by_algo = {row["algo"]: row for row in rows if row["task"] == task}
            steps = next(iter(by_algo.values()))["steps"]
            cells_text = [
                f"{r['mean']:.1f} [{r['ci95_low']:.1f}..{r['ci95_high']:.1f}], n={r['seeds']}"
                if (r := by_algo.get(algo))
                else "-"
                for algo in ctable.algos
            ]
            lines.append(f"| {task} | {steps:,} | " + " | ".join(cells_text) + " |")
        lines += ["", ctable.note, "", "Runs:", ""]
        lines += [f"- {_link(run, found[run], args.out)}{_records(run, found[run])}" for run, _, _ in ctable.runs]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def run(
    args: Args,
    matrix_tables: Sequence[MatrixTable] = (MATRIX_2AGENT, NAGENT),
    control_table: ControlTable | None = CONTROL,
) -> str:
    """Read the runs of every table from ``args.out`` (then ``args.also``), write ``<out>/<name>.{md,csv}``; returns
    the Markdown text. A run without its CSV is reported as not run yet, not an error."""
    folders = [args.out, *(Path(p) for p in args.also)]
    matrix = [(table, *matrix_rows(table, folders)) for table in matrix_tables]
    control = None if control_table is None else (control_table, *control_rows(control_table, folders))
    flat: list[dict[str, Any]] = []
    for table, cells, _ in matrix:
        for game, row in cells.items():
            for column in table.columns:
                if (cell := row.get(column.label)) is not None:
                    flat.append(
                        {
                            "suite": table.title,
                            "task": game,
                            "column": column.label,
                            "algo": column.algo,
                            "runs": " ".join(cell.runs),
                            "seeds": cell.seeds,
                            "n": cell.n,
                            "se": cell.se / cell.n,
                            "se_low": cell.low,
                            "se_high": cell.high,
                        }
                    )
    if control is not None:
        for row in control[1]:
            flat.append({"suite": control[0].title, "column": row["algo"], **row})
    write_csv(args.out / f"{args.name}.csv", flat)
    return write_markdown(args.out / f"{args.name}.md", args, matrix, control)
