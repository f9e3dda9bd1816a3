"""Exceptions raised by :func:`stmg_bench.sweep.run_sweep`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["SweepError", "TrialsFailedError", "RecordError", "MissingRayError"]


class SweepError(RuntimeError):
    """Base class of every error a sweep raises about its trials or records."""


class TrialsFailedError(SweepError):
    """Some trials raised; every other trial ran and its record was written.

    Rerunning the same sweep retries only the failed trials (they have no record).

    Attributes:
        failures: Failed trial key -> formatted traceback of what it raised.
        records: The records of the trials that did finish, in the sweep's order.
        result: The same records as the :class:`~stmg_bench.sweep.SweepResult` (with ``executed``,
            ``reused``, ``failed``, ``wall_s``), so a caller can still report what finished.
    """

    def __init__(self, failures: Mapping[str, str], records: Sequence[dict[str, Any]]) -> None:
        self.failures = dict(failures)
        self.records = list(records)
        self.result = records
        details = "\n".join(f"--- trial {key!r} ---\n{tb.rstrip()}" for key, tb in self.failures.items())
        super().__init__(
            f"{len(self.failures)} trial(s) failed: {sorted(self.failures)}; the records of the "
            f"{len(self.records)} other trial(s) were written. Fix the cause and rerun the same sweep: "
            f"only the failed trials run again.\n{details}"
        )


class RecordError(SweepError):
    """A record on disk cannot be reused: unreadable, or made by a different trial."""


class MissingRayError(ImportError):
    """The ``ray`` backend was asked for but Ray is not installed."""
