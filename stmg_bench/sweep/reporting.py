"""Small helpers that the benchmark scripts share to report a sweep.

Examples:
    >>> records = [{"finished_at": "2026-01-01T00:01:00+00:00", "wall_s": 30.0},
    ...            {"finished_at": "2026-01-01T00:02:00+00:00", "wall_s": 45.0}]
    >>> sweep_span_s(records)
    90.0
    >>> parse_csv_list(" a, b,,c ")
    ('a', 'b', 'c')
"""

from __future__ import annotations

import csv
import datetime
import os
from pathlib import Path
from typing import Any

__all__ = [
    "sweep_span_s",
    "write_csv",
    "parse_csv_list",
    "default_workers",
    "provenance_lines",
    "time_lines",
    "REPORT_SUFFIXES",
    "ReportExistsError",
    "refuse_overwrite",
]

#: The files that make a report ``<out>/<name><suffix>``: every suite writes its Markdown page and its CSV table.
REPORT_SUFFIXES = (".md", ".csv")


class ReportExistsError(ValueError):
    """A run would rewrite a report that already exists, and ``--overwrite`` was not given (see :func:`refuse_overwrite`).

    A ``ValueError``, so :func:`stmg_bench.cli.reported_errors` turns it into one line and exit status 2.
    """


def refuse_overwrite(out: str | os.PathLike[str], name: str, overwrite: bool) -> None:
    """Stop a run that would replace the report ``<out>/<name>.md`` (or ``.csv``) unless ``overwrite`` is set.

    Every suite calls it before any trial runs (calibration included). The trial records are not a report:
    a run interrupted before writing its report resumes without ``--overwrite``, and with ``--overwrite`` a
    rerun still reuses every saved record whose fingerprint matches.

    Raises:
        ReportExistsError: The report exists and ``overwrite`` is false; the message says how to proceed.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> refuse_overwrite(folder, "quick", overwrite=False)  # nothing there yet: go ahead
        >>> _ = (folder / "quick.md").write_text("# an earlier report")
        >>> refuse_overwrite(folder, "quick", overwrite=True)  # asked for
        >>> refuse_overwrite(folder, "quick", overwrite=False)
        Traceback (most recent call last):
        ...
        stmg_bench.sweep.reporting.ReportExistsError: .../quick.md exists; pass --overwrite to replace it (the saved trials of 'quick' are reused: only trials without a matching record run), or --name NEW (or --out FOLDER) to write a new report
    """
    if overwrite:
        return
    existing = [path for path in (Path(out) / f"{name}{suffix}" for suffix in REPORT_SUFFIXES) if path.exists()]
    if existing:
        raise ReportExistsError(
            f"{existing[0]} exists; pass --overwrite to replace it (the saved trials of {name!r} are reused: only "
            "trials without a matching record run), or --name NEW (or --out FOLDER) to write a new report"
        )


def sweep_span_s(records: list[dict]) -> float:
    """Seconds from the first trial's start to the last trial's end, from the records (survives resuming)."""
    ends = [datetime.datetime.fromisoformat(r["finished_at"]).timestamp() for r in records]
    starts = [end - r["wall_s"] for end, r in zip(ends, records)]
    return max(ends) - min(starts)


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` as a CSV file with a header: every key of any row, in order of appearance (blank where absent)."""
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, restval="")
        writer.writeheader()
        writer.writerows(rows)


def parse_csv_list(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: a comma-separated command-line value."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def default_workers(workers: int | None) -> int:
    """``workers`` if given, else the CPUs this process may use (what the local backend starts)."""
    if workers:
        return workers
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def provenance_lines(records: Any) -> list[str]:
    """Markdown bullets saying which commits made the records, and, for a ``saved_only`` render, what is missing.

    ``records``: what :func:`stmg_bench.sweep.run_sweep` returned (its ``outdated`` and ``missing``
    are empty unless it ran with ``saved_only``).

    Examples:
        >>> from stmg_bench.sweep.runner import SweepResult
        >>> result = SweepResult([{"commit": "abc"}], executed=(), reused=("a",), missing=("b",), wall_s=0.0)
        >>> print("\\n".join(provenance_lines(result)))
        - Trial records made at commit `abc` (1 records).
        - Rendered from the saved records only (`--saved-only`): 1 planned trial(s) have no record and are not in these numbers, e.g. `b`.
    """
    commits: dict[str, int] = {}
    for record in records:
        commit = record.get("commit") or "unknown"
        commits[commit] = commits.get(commit, 0) + 1
    made = ", ".join(f"`{c}` ({n} records)" for c, n in commits.items())
    lines = [f"- Trial records made at commit {made}."] if commits else []
    if any(c.endswith("+dirty") for c in commits):
        lines.append(
            "- Records labelled `+dirty` were made by a checkout with uncommitted changes (outside "
            "`benchmarks/results/`): the commit alone does not give their code; their fingerprint's code hash does."
        )
    outdated, missing = getattr(records, "outdated", ()), getattr(records, "missing", ())
    if outdated:
        lines.append(
            f"- Rendered from the saved records only (`--saved-only`): {len(outdated)} of them were made by code or "
            "settings other than this checkout's (their fingerprint differs); rerun from a checkout of the commit "
            "above to extend the sweep with the same code."
        )
    if missing:
        lines.append(
            f"- Rendered from the saved records only (`--saved-only`): {len(missing)} planned trial(s) have no record "
            f"and are not in these numbers, e.g. `{missing[0]}`."
        )
    return lines


def time_lines(records: Any, backend: str) -> list[str]:
    """The end of a report: the sweep's wall time (first trial start to last trial end), this invocation's, and
    :func:`provenance_lines`, each block after a blank line.

    ``records``: what :func:`stmg_bench.sweep.run_sweep` returned; ``backend``: the one it ran on.
    """
    return [
        "",
        f"Wall time of the sweep that produced these records (first trial start to last trial end): "
        f"{sweep_span_s(list(records)) / 60:.1f} min; this invocation: {records.wall_s / 60:.1f} min for "
        f"{len(records.executed)} new trials (backend {backend}; trials already saved are not rerun).",
        "",
        *provenance_lines(records),
        "",
    ]
