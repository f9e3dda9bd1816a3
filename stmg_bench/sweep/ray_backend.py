"""The ``ray`` backend: trials as Ray tasks, on a local Ray instance or an existing cluster.

* ``address=None`` (and no ``RAY_ADDRESS`` in the environment): a local Ray instance
  is started with ``num_cpus=workers`` (default: the cores Ray detects), without
  dashboard, and shut down when the sweep ends.
* ``address="auto"``, ``"ray://host:10001"``, ``"host:6379"``: the sweep connects to
  that cluster as a driver and disconnects at the end; the cluster keeps running.
  The ``stmg_envs`` package and the modules of the trial functions must be
  importable on its nodes (installed, or shipped with a Ray ``runtime_env``).
  Recent Ray versions protect clusters with token authentication by default:
  the driver then needs ``RAY_AUTH_MODE=token`` and the cluster's token
  (``~/.ray/auth_token`` or ``RAY_AUTH_TOKEN``), see Ray's "token-auth" docs.
* Ray already initialised by the caller (``ray.init(...)`` with any options, e.g. a
  ``runtime_env``): the sweep uses it as it is and leaves it running.

Each trial is a task with ``num_cpus=1``; with ``workers`` given, at most that many
are in flight at a time. Results are gathered with ``ray.wait`` as they arrive,
so each record is written the moment its trial finishes. Ray adds the driver's
working directory (and script directory) to the workers' ``sys.path``, so on a
local instance trial functions are found as in the driver.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from stmg_bench.sweep.errors import MissingRayError
from stmg_bench.sweep.execution import TrialOutcome, execute_trial
from stmg_bench.sweep.trial import Trial

__all__ = ["run_ray", "import_ray"]

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


def run_ray(
    trials: Sequence[Trial],
    workers: int | None,
    address: str | None,
    on_outcome: Callable[[TrialOutcome], None],
) -> None:
    """Run ``trials`` as Ray tasks, calling ``on_outcome`` in the caller as each one finishes."""
    ray = import_ray()
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
