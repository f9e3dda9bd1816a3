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

__all__ = ["sweep_span_s", "write_csv", "parse_csv_list", "default_workers", "provenance_lines"]


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
