"""The ``local`` backend: trials in a pool of worker processes on this machine.

Workers are started with the ``spawn`` method (the same on Linux, macOS and
Windows; nothing of the caller's state is inherited), at most one per pending
trial. ``workers=1`` runs the trials one after another in the caller's process,
where a debugger or ``breakpoint()`` works.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

from stmg_bench.sweep.execution import TrialOutcome, execute_trial, prepare_worker_process
from stmg_bench.sweep.trial import Trial

__all__ = ["run_local"]

#: Seconds an interrupted sweep waits for each terminated worker process to exit.
_TERMINATE_PATIENCE_S = 10.0


def available_cores() -> int:
    """The number of cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_local(trials: Sequence[Trial], workers: int | None, on_outcome: Callable[[TrialOutcome], None]) -> None:
    """Run ``trials`` on ``workers`` processes (default :func:`available_cores`), calling ``on_outcome``
    in the caller's process, in completion order, as each one finishes.

    A worker process that dies abruptly (killed, out of memory, segfault) breaks the pool: the
    trial it ran and every trial not finished yet are reported as failed (a rerun runs them);
    the trials finished before keep their records.
    """
    workers = workers or available_cores()
    if not trials:
        return
    if workers == 1:
        for trial in trials:
            on_outcome(execute_trial(trial.key, trial.fn, trial.kwargs))
        return
    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(trials)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=prepare_worker_process,
        initargs=(os.getpid(),),
    )
    finished = False
    try:
        futures: dict[Future[TrialOutcome], Trial] = {
            executor.submit(execute_trial, trial.key, trial.fn, dict(trial.kwargs)): trial for trial in trials
        }
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception:  # the worker process died (BrokenProcessPool) or the outcome did not unpickle
                outcome = TrialOutcome(key=futures[future].key, error=traceback.format_exc())
            on_outcome(outcome)
        finished = True
    finally:
        if finished:
            executor.shutdown(wait=True)
        else:  # interrupted (Ctrl-C) or on_outcome raised: stop now, the unfinished trials have no record
            processes = list((getattr(executor, "_processes", None) or {}).values())  # shutdown() forgets them
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:  # return only once no trial of this sweep is running any more
                process.join(_TERMINATE_PATIENCE_S)
