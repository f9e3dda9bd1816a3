"""What a worker does with one trial: call its function and turn the outcome into a record.

This module runs inside worker processes (local pool processes, Ray workers), so
it imports nothing heavy. Every trial runs single-threaded: ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` are ``1`` while it runs (libraries
imported during the trial, PyTorch included, start with one thread), and if PyTorch
is already imported ``torch.set_num_threads(1)`` is applied for the trial's
duration. One thread per trial keeps parallel trials from oversubscribing the cores
and makes a trial's floating-point result independent of the backend and worker
count. The previous settings are restored after the trial, which matters only when
trials run in the caller's process (``workers=1``).

Examples:
    >>> outcome = execute_trial("seed=0", "statistics:mean", {"data": [1, 2, 3]})
    >>> outcome.record["result"], outcome.error
    (2, None)
    >>> print(execute_trial("empty", "statistics:mean", {"data": []}).error.splitlines()[-1])
    statistics.StatisticsError: mean requires at least one data point
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stmg_bench.sweep.trial import json_round_trip, resolve_function

__all__ = ["TrialOutcome", "execute_trial", "single_threaded", "prepare_worker_process"]

#: Thread-count variables set to ``"1"`` while a trial runs.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class TrialOutcome:
    """What came back from one trial: its record, or the traceback of what it raised.

    Attributes:
        key: The trial's key.
        record: The trial's record (see :mod:`stmg_bench.sweep.records`), ``None`` if it failed.
        error: The formatted traceback if it failed, else ``None``.
    """

    key: str
    record: dict[str, Any] | None = None
    error: str | None = None


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the body with one BLAS/OpenMP/PyTorch thread, restoring the previous settings after."""
    saved_env = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    torch = sys.modules.get("torch")
    saved_torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if torch is not None and saved_torch_threads is not None:
            torch.set_num_threads(saved_torch_threads)


def execute_trial(key: str, fn: str, kwargs: Mapping[str, Any]) -> TrialOutcome:
    """Run ``fn(**kwargs)`` single-threaded and return its record, or its traceback if it raised.

    Never raises for a failing trial (``KeyboardInterrupt`` excepted), so one bad trial cannot
    take the sweep down; a result that is not JSON-serialisable counts as a failure.
    """
    start = time.perf_counter()
    try:
        with single_threaded():
            function = resolve_function(fn)
            torch = sys.modules.get("torch")  # the trial's module may have imported it just now
            if torch is not None:
                torch.set_num_threads(1)
            result = function(**kwargs)
        wall_s = time.perf_counter() - start
        try:
            result = json_round_trip(result)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"trial {key!r} ({fn}) returned a value that is not JSON-serialisable: {exc}") from None
    except (Exception, SystemExit):
        return TrialOutcome(key=key, error=traceback.format_exc())
    record = {
        "key": key,
        "fn": fn,
        "kwargs": dict(kwargs),
        "result": result,
        "wall_s": wall_s,
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
    }
    return TrialOutcome(key=key, record=record)


def _exit_when_orphaned(parent_pid: int, poll_s: float) -> None:
    """Stop this worker process as soon as the sweep that started it is gone (killed, crashed)."""
    while True:
        time.sleep(poll_s)
        if os.getppid() != parent_pid:
            os._exit(1)


def prepare_worker_process(parent_pid: int, poll_s: float = 0.5) -> None:
    """Initializer of local pool workers: one thread per library, and no orphans.

    Sets the thread-count variables for the worker's whole life (libraries imported
    by trials, PyTorch included, then start single-threaded) and starts a daemon
    thread that ends the worker if its parent, the sweep process, dies: a sweep killed
    with SIGKILL leaves no workers computing trials whose records nobody will write.
    """
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    watchdog = threading.Thread(
        target=_exit_when_orphaned, args=(parent_pid, poll_s), name="stmg-sweep-orphan-watchdog", daemon=True
    )
    watchdog.start()
