"""One JSON record per finished trial, written atomically.

A record is ``<results_dir>/<key>.json``, one line of JSON::

    {"key": ..., "fn": ..., "kwargs": {...}, "result": <what fn returned>,
     "wall_s": <seconds fn ran>, "finished_at": <ISO 8601, UTC>, "host": <hostname>,
     "fingerprint": {...}, "commit": <git commit or null>}

Records written before fingerprints existed read back with ``fingerprint`` ``{}``
and ``commit`` ``None``.

It is first written to a temporary file in the same folder (``.<key>.<random>.tmp``),
flushed to disk, then renamed over ``<key>.json`` with :func:`os.replace`, so a
reader (or a sweep killed at any instant) sees either no record or a complete one.

Examples:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> record = {"key": "seed=0", "fn": "statistics:mean", "kwargs": {"data": [5]}, "result": 5,
    ...           "wall_s": 0.0, "finished_at": "2025-01-01T00:00:00+00:00", "host": "h"}
    >>> write_record(folder, record).name
    'seed=0.json'
    >>> read_record(folder, "seed=0")["result"]
    5
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stmg_bench.sweep.errors import RecordError
from stmg_bench.sweep.trial import to_json_text

__all__ = ["RECORD_FIELDS", "RUNNER_FIELDS", "record_path", "write_record", "read_record", "remove_records"]

#: The fields of every record, in the order they are written.
RECORD_FIELDS = ("key", "fn", "kwargs", "result", "wall_s", "finished_at", "host", "fingerprint", "commit")
#: The fields the runner adds to what a worker returns (the worker does not know them).
RUNNER_FIELDS = ("fingerprint", "commit")
#: Fields a record may lack (written by an older version), with the value it reads back with.
_OPTIONAL_FIELDS: dict[str, Any] = {"fingerprint": {}, "commit": None}


def record_path(results_dir: str | os.PathLike[str], key: str) -> Path:
    """Path of the record of trial ``key``."""
    return Path(results_dir) / f"{key}.json"


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_record(results_dir: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    """Atomically write ``record`` to ``<results_dir>/<record["key"]>.json`` and return its path."""
    folder = Path(results_dir)
    final = record_path(folder, record["key"])
    text = (
        to_json_text({name: record.get(name, _OPTIONAL_FIELDS.get(name)) for name in RECORD_FIELDS}) + "\n"
    )  # one line: `cat *.json` is JSONL
    fd, temporary = tempfile.mkstemp(prefix=f".{record['key']}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; records are ordinary result files
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return final


def read_record(results_dir: str | os.PathLike[str], key: str) -> dict[str, Any]:
    """Read the record of trial ``key``.

    Raises:
        FileNotFoundError: There is no record for ``key``.
        RecordError: The file is not a record of ``key`` (edited or written by something else).
    """
    path = record_path(results_dir, key)
    text = path.read_text(encoding="utf-8")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"record {str(path)!r} is not valid JSON ({exc}); delete it (or rerun with fresh=True / --fresh) "
            "to run that trial again"
        ) from None
    required = set(RECORD_FIELDS) - set(_OPTIONAL_FIELDS)
    if not isinstance(record, dict) or record.get("key") != key or not required <= set(record):
        raise RecordError(
            f"expected {str(path)!r} to be the record of trial {key!r} with fields {list(RECORD_FIELDS)}, got "
            f"{text[:200]!r}; delete it (or rerun with fresh=True / --fresh) to run that trial again"
        )
    for name, default in _OPTIONAL_FIELDS.items():
        record.setdefault(name, default)
    return record


def remove_records(results_dir: str | os.PathLike[str], keys: Iterable[str]) -> int:
    """Delete the records of ``keys`` and any temporary files a killed sweep left for them.

    Returns:
        The number of records deleted.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        return 0
    removed = 0
    for key in keys:
        path = record_path(folder, key)
        if path.exists():
            path.unlink()
            removed += 1
        for leftover in folder.glob(f".{key}.*.tmp"):  # keys hold no glob wildcards
            leftover.unlink(missing_ok=True)
    return removed
