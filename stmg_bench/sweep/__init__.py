"""Resumable sweeps of independent trials, on a local process pool or on Ray.

A sweep is a list of :class:`Trial` objects, each a call ``fn(**kwargs)`` of a
function named by import path, under a unique ``key``. :func:`run_sweep` runs
every trial that has no record yet, and writes each trial's result, the moment it
finishes, as one JSON record ``<results_dir>/<key>.json`` (atomically: a record is
complete or absent). Calling it again with the same trials after a crash, a
SIGKILL or Ctrl-C resumes the sweep: finished trials are not run again. A trial
that raises gets no record; the others still run, and the error raised at the end
lists the failed keys with their tracebacks.

Backends: ``"local"`` (default), a pool of ``spawn``-ed processes on this machine
(``workers=1``: in the caller's process, for debugging); ``"ray"``, Ray tasks on a
local Ray instance or an existing cluster (``address=``), gathered as they finish
(``pip install 'stmg-envs[ray]'``). Trials run single-threaded either way (see
:mod:`stmg_bench.sweep.execution`), so their results do not depend on the backend.

Benchmark scripts get the same ``--backend``, ``--address``, ``--workers``,
``--fresh`` flags from :func:`add_sweep_arguments`.

Examples:
    >>> import argparse, tempfile
    >>> from stmg_bench.sweep import Trial, add_sweep_arguments, run_sweep, sweep_kwargs
    >>> args = add_sweep_arguments(argparse.ArgumentParser()).parse_args(["--workers", "1"])
    >>> trials = [Trial(key=f"seed={seed}", fn="statistics:mean", kwargs={"data": [seed, 2 * seed]})
    ...           for seed in range(3)]
    >>> records = run_sweep(trials, tempfile.mkdtemp(), progress=False, **sweep_kwargs(args))
    >>> [(record["key"], record["result"]) for record in records]
    [('seed=0', 0), ('seed=1', 1.5), ('seed=2', 3)]
"""

from stmg_bench.sweep.cli import SweepOptions, add_sweep_arguments, sweep_kwargs
from stmg_bench.sweep.errors import MissingRayError, RecordError, SweepError, TrialsFailedError
from stmg_bench.sweep.records import RECORD_FIELDS, RUNNER_FIELDS, read_record, record_path, write_record
from stmg_bench.sweep.runner import BACKENDS, SweepResult, run_sweep, run_sweep_then_report
from stmg_bench.sweep.trial import Trial

__all__ = [
    "Trial",
    "run_sweep",
    "run_sweep_then_report",
    "SweepResult",
    "add_sweep_arguments",
    "SweepOptions",
    "sweep_kwargs",
    "BACKENDS",
    "RECORD_FIELDS",
    "RUNNER_FIELDS",
    "record_path",
    "read_record",
    "write_record",
    "SweepError",
    "TrialsFailedError",
    "RecordError",
    "MissingRayError",
]
