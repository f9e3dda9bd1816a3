"""The ``ray`` backend: trials as Ray tasks, on a local Ray instance or an existing cluster.

* ``address=None`` (and no ``RAY_ADDRESS`` in the environment): a local Ray instance
  is started with ``num_cpus=workers`` (default: the cores Ray detects), without
  dashboard, and shut down when the sweep ends.
* ``address="auto"``, ``"ray://host:10001"``, ``"host:6379"``: the sweep connects to
  that cluster as a driver and disconnects at the end; the cluster keeps running.
  The ``stmg_envs`` package and the modules of the trial functions must be
  importable on its nodes (installed, or shipped with a Ray ``runtime_env``).
  A cluster started with ``RAY_AUTH_MODE=token`` (Ray 2.52 or later; the ``ray``
  extra's minimum) refuses drivers and nodes without its token: the driver then
  needs ``RAY_AUTH_MODE=token`` and the same token (``RAY_AUTH_TOKEN``,
  ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``), see Ray's "token-auth" docs
  and docs/benchmarks.md, "Sweeps on an existing Ray cluster".
* Ray already initialised by the caller (``ray.init(...)`` with any options, e.g. a
  ``runtime_env``): the sweep uses it as it is and leaves it running.

Each trial is a task with ``num_cpus=1``; with ``workers`` given, at most that many
are in flight at a time. Results are gathered with ``ray.wait`` as they arrive,
so each record is written the moment its trial finishes. Ray adds the driver's
working directory (and script directory) to the workers' ``sys.path``, so on a
local instance trial functions are found as in the driver.

A task lost with its worker process or its node (a raylet killed, a machine gone)
is retried by Ray (``max_retries``, Ray's default 3), on the nodes still alive;
only a trial that raised, or one lost more often than that, fails.

Ray's own messages to the driver (a node died, a task is retried) are condensed while
the sweep runs: one line each, on stderr, without the log tail Ray appends (the dead
raylet's last log lines, ``[state-dump]`` statistics), so that they neither flood the
sweep's output nor mix into a report written to stdout. What trials print reaches the
driver as Ray prints it. Ray's Python logging is set to ERROR on a Ray instance the
sweep initialises.

Examples:
    >>> condensed_messages(["Raylet is terminated. Last 2 lines of the Raylet logs:\\n    [state-dump] a\\n"])
    ['Raylet is terminated.']
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any

from stmg_bench.sweep.errors import MissingRayError
from stmg_bench.sweep.execution import TrialOutcome, execute_trial
from stmg_bench.sweep.trial import Trial

__all__ = ["run_ray", "import_ray", "condensed_messages", "ray_messages_condensed"]

#: Seconds an interrupted sweep waits for its cancelled tasks to stop before it returns.
_CANCEL_PATIENCE_S = 10.0


def import_ray() -> ModuleType:
    """Import Ray, or raise :class:`MissingRayError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise MissingRayError(
            f"backend='ray' needs Ray, which is not importable ({exc}); install it with "
            "pip install 'stmg-envs[ray]', or use backend='local' (--backend local)"
        ) from exc
    return ray


#: Ray's own processes, as Ray names the source of a message it prints on the driver ("(raylet) ...").
_RAY_SOURCES = ("raylet", "gcs_server")
#: The end of a message's first line that announces the log tail cut off by :func:`condensed_messages`.
_TAIL_ANNOUNCEMENT = re.compile(r"\s*Last \d+ lines of the .*logs:\s*$")


def condensed_messages(messages: Iterable[str]) -> list[str]:
    """The first line of each of Ray's messages, without the log lines it appends (``[state-dump] ...``)."""
    condensed = []
    for message in messages:
        lines = [line.strip() for line in str(message).splitlines() if line.strip()]
        if lines and not lines[0].startswith("[state-dump]"):
            condensed.append(_TAIL_ANNOUNCEMENT.sub("", lines[0]))
    return condensed


@contextlib.contextmanager
def ray_messages_condensed(ray: ModuleType) -> Iterator[None]:
    """While the body runs, print Ray's own messages on the driver as one line each on stderr (trials' output unchanged).

    Ray prints them from background threads of the driver (the error listener, the log
    monitor's stream) through ``ray._private.worker.print_worker_logs``, mostly on stdout; this
    replaces that function for the body's duration. Where a Ray version has no such
    function, Ray's printing is left as it is.
    """
    worker_module = getattr(getattr(ray, "_private", None), "worker", None)
    original = getattr(worker_module, "print_worker_logs", None)
    if worker_module is None or original is None:
        yield
        return

    def print_condensed(data: dict[str, Any], print_file: Any, ignore_prefix: bool = False) -> None:
        source = data.get("pid")
        if source == "autoscaler":  # Ray keeps only the autoscaler's event lines: to stderr
            original(data, sys.stderr, ignore_prefix)
            return
        if source not in _RAY_SOURCES:  # a trial's own output
            original(data, print_file, ignore_prefix)
            return
        where = f", ip={data['ip']}" if data.get("ip") and data.get("ip") != data.get("localhost") else ""
        for line in condensed_messages(data.get("lines", [])):
            print(f"({source}{where}) {line}", file=sys.stderr, flush=True)

    worker_module.print_worker_logs = print_condensed
    try:
        yield
    finally:
        worker_module.print_worker_logs = original


def run_ray(
    trials: Sequence[Trial],
    workers: int | None,
    address: str | None,
    on_outcome: Callable[[TrialOutcome], None],
) -> None:
    """Run ``trials`` as Ray tasks, calling ``on_outcome`` in the caller as each one finishes."""
    ray = import_ray()
    with ray_messages_condensed(ray):
        _run_tasks(ray, trials, workers, address, on_outcome)


def _run_tasks(
    ray: ModuleType,
    trials: Sequence[Trial],
    workers: int | None,
    address: str | None,
    on_outcome: Callable[[TrialOutcome], None],
) -> None:
    """The body of :func:`run_ray`: connect or start Ray, submit, gather, and disconnect."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    initialised_here = not ray.is_initialized()
    if initialised_here:
        options: dict[str, Any] = {"logging_level": logging.ERROR}
        if address is None:  # a local instance for this sweep; without workers Ray counts the cores itself
            options.update(include_dashboard=False, **({"num_cpus": workers} if workers else {}))
        ray.init(address=address, **options)
    in_flight_limit = workers or len(trials)
    waiting = list(reversed(trials))  # popped from the end: submitted in the sweep's order
    in_flight: dict[Any, Trial] = {}
    try:
        remote_trial = ray.remote(num_cpus=1)(execute_trial)
        while waiting or in_flight:
            while waiting and len(in_flight) < in_flight_limit:
                trial = waiting.pop()
                ref = remote_trial.options(name=f"trial:{trial.key}").remote(trial.key, trial.fn, dict(trial.kwargs))
                in_flight[ref] = trial
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                trial = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception:  # the worker died (WorkerCrashedError, OOM) or the task was cancelled
                    outcome = TrialOutcome(key=trial.key, error=traceback.format_exc())
                on_outcome(outcome)
    finally:
        if in_flight:  # interrupted: stop the unfinished trials (they have no record and rerun next time)
            for ref in in_flight:
                ray.cancel(ref, force=True)
            ray.wait(list(in_flight), num_returns=len(in_flight), timeout=_CANCEL_PATIENCE_S)
        if initialised_here:
            ray.shutdown()
