"""Trial functions of the sweep tests, importable by worker processes as ``tests.bench.sweep.trial_functions``.

Each appends ``"<key> <pid>"`` to a log file when it starts, so a test can count how
often a trial was executed and by which process.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

#: Longest any trial waits for a file before giving up (only reached when a test is failing).
PATIENCE_S = 60.0


def _log_start(log: str, key: str) -> None:
    with open(log, "a", encoding="utf-8") as handle:  # one short O_APPEND write per line: lines never interleave
        handle.write(f"{key} {os.getpid()}\n")


def _wait_for(path: str, patience_s: float) -> bool:
    deadline = time.monotonic() + patience_s
    while not Path(path).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def log_and_return(log: str, key: str, value: int, gate: str | None = None) -> dict[str, Any]:
    """Log the start, wait until ``gate`` exists (if given), return ``value`` and ``2 * value``."""
    _log_start(log, key)
    if gate is not None and not _wait_for(gate, PATIENCE_S):
        raise TimeoutError(f"gate {gate} never appeared")
    return {"value": value, "double": 2 * value}


def fail_unless(log: str, key: str, flag: str) -> str:
    """Log the start; raise unless the file ``flag`` exists."""
    _log_start(log, key)
    if not Path(flag).exists():
        raise RuntimeError(f"trial {key} fails until {flag} exists")
    return "fixed"


def wait_for_record(log: str, key: str, record: str) -> dict[str, bool]:
    """Log the start; report whether the file ``record`` (another trial's record) appeared meanwhile."""
    _log_start(log, key)
    return {"saw_record": _wait_for(record, PATIENCE_S)}


def thread_settings(import_torch: bool = False) -> dict[str, Any]:
    """The thread settings a trial runs under; imports torch first if asked (as a trial might, lazily)."""
    if import_torch:
        import torch
    torch = sys.modules.get("torch")
    return {
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "pid": os.getpid(),
    }


def numpy_values() -> dict[str, Any]:
    """NumPy scalars and arrays, which records store as plain JSON numbers and lists."""
    import numpy as np

    return {"float32": np.float32(0.5), "int64": np.int64(7), "array": np.arange(3), "matrix": np.eye(2)}


def not_json() -> object:
    """A result JSON cannot represent."""
    return {"set": {1, 2}}


def exit_early() -> None:
    """A trial that calls sys.exit."""
    sys.exit(3)


def kill_own_process() -> None:
    """A trial whose worker process dies abruptly (like a segfault or the OOM killer)."""
    os._exit(1)
