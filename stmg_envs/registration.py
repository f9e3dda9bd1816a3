"""Register every stmg task in PettingZoo's and Gymnasium's registries.

A task is described once, by a :class:`TaskSpec` that names the factory of its
*simultaneous* game (a PettingZoo ``ParallelEnv``). From it three registry
entries are derived:

* ``pettingzoo.make("parallel", id)``: the simultaneous game itself (baselines,
  other libraries);
* ``pettingzoo.make("aec", id)``: its sequential form, ``stmg_v0(parallel_env)``;
* ``gymnasium.make(id)``: the sequential form seen one decision at a time
  (:class:`stmg_envs.wrappers.SequentialGymEnv`);
* ``gymnasium.make_vec(id, num_envs=K)``: ``K`` copies of that view as one ``VectorEnv`` over the batched
  STMG (:class:`stmg_envs.vector.SequentialGymVectorEnv`, the ``vector_entry_point``; it also takes
  ``backend``), for every task whose agents cannot leave an episode early (``TaskSpec.agents_leave_early``;
  for the others ``make_vec`` builds a ``SyncVectorEnv``).

Keyword arguments given to ``make`` are split: the names accepted by
:func:`stmg_envs.stmg_v0` (``order``, ``flatten``) configure the wrapper, all
others go to the task's factory.

Task families add their specs (:class:`stmg_envs.task_spec.TaskSpec`) to a
``TASKS`` tuple in their own ``tasks`` module (``stmg_envs/<family>/tasks.py``),
which imports only :mod:`stmg_envs.task_spec` (so no module imports this one
back); those modules must import nothing heavy, so that ``import stmg_envs`` stays fast and works without the optional
extras.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium
import pettingzoo

from stmg_envs.task_spec import TaskSpec

__all__ = ["TaskSpec", "register_task", "registered_task_ids", "example_kwargs", "make_parallel"]

#: Keyword arguments that configure the STMG wrapper rather than the task.
WRAPPER_KWARGS = ("order", "flatten")

_TASKS: dict[str, TaskSpec] = {}


def _load(entry_point: str) -> Callable[..., Any]:
    module_name, _, attr = entry_point.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def _split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    wrapper = {k: kwargs.pop(k) for k in WRAPPER_KWARGS if k in kwargs}
    return wrapper, kwargs


def make_parallel(task_id: str, **kwargs: Any) -> pettingzoo.ParallelEnv:
    """Build the simultaneous game of a registered task (same as ``pettingzoo.make("parallel", id)``)."""
    try:
        spec = _TASKS[task_id]
    except KeyError:
        raise pettingzoo.env_registry.exceptions.NameNotFound(
            f"unknown stmg task {task_id!r}; registered tasks: {sorted(_TASKS)}"
        ) from None
    merged = dict(spec.kwargs)
    merged.update(kwargs)
    try:
        factory = _load(spec.parallel_entry_point)
    except ImportError as exc:  # an optional extra is missing
        message = str(exc).rstrip(".")
        # The extras' own import errors already say what to install; add the hint only where one is missing.
        hint = ""
        if spec.extra and "pip install" not in message:
            hint = f" Install it with: pip install 'stmg-envs[{spec.extra}]'."
        raise ImportError(f"task {task_id!r} could not be imported: {message}.{hint}") from exc
    return factory(**merged)


class _ParallelEntry:
    """PettingZoo ``parallel`` entry point of one task."""

    def __init__(self, task_id: str):
        self.task_id = task_id

    def __call__(self, **kwargs: Any) -> pettingzoo.ParallelEnv:
        wrapper, env_kwargs = _split_kwargs(kwargs)
        if wrapper:
            raise TypeError(
                f"{sorted(wrapper)} configure the sequential (AEC) form; the parallel form of "
                f"{self.task_id!r} does not take them. Use pettingzoo.make('aec', {self.task_id!r}, ...)."
            )
        return make_parallel(self.task_id, **env_kwargs)


class _AECEntry:
    """PettingZoo ``aec`` entry point of one task: the STMG of its parallel env."""

    def __init__(self, task_id: str):
        self.task_id = task_id

    def __call__(self, **kwargs: Any):
        from stmg_envs.wrappers import stmg_v0

        wrapper, env_kwargs = _split_kwargs(kwargs)
        return stmg_v0(make_parallel(self.task_id, **env_kwargs), **wrapper)


class _GymEntry:
    """Gymnasium entry point of one task: the STMG seen one decision at a time."""

    def __init__(self, task_id: str):
        self.task_id = task_id

    def __call__(self, **kwargs: Any):
        from stmg_envs.wrappers import SequentialGymEnv, stmg_v0

        wrapper, env_kwargs = _split_kwargs(kwargs)
        return SequentialGymEnv(stmg_v0(make_parallel(self.task_id, **env_kwargs), **wrapper))


class _GymVectorEntry:
    """Gymnasium vector entry point of one task: ``num_envs`` copies of the Gym view, over the batched STMG."""

    def __init__(self, task_id: str):
        self.task_id = task_id

    def __call__(self, num_envs: int = 1, backend: str = "auto", **kwargs: Any):
        from stmg_envs.vector.sequential_gym import SequentialGymVectorEnv

        wrapper, env_kwargs = _split_kwargs(kwargs)
        return SequentialGymVectorEnv(self.task_id, num_envs, backend=backend, env_kwargs=env_kwargs, **wrapper)


def register_task(spec: TaskSpec) -> None:
    """Register ``spec`` in PettingZoo's (aec and parallel) and Gymnasium's registries."""
    _TASKS[spec.id] = spec
    with warnings.catch_warnings():
        # Re-importing after a reload re-registers; that is not the user's concern.
        warnings.filterwarnings("ignore", message=".*Overriding environment.*")
        pettingzoo.register("parallel", spec.id, entry_point=_ParallelEntry(spec.id))
        pettingzoo.register("aec", spec.id, entry_point=_AECEntry(spec.id))
        gymnasium.register(
            id=spec.id,
            entry_point=_GymEntry(spec.id),
            vector_entry_point=None if spec.agents_leave_early else _GymVectorEntry(spec.id),
            disable_env_checker=False,
        )


def registered_task_ids() -> list[str]:
    """IDs of every stmg task, sorted."""
    return sorted(_TASKS)


def example_kwargs(task_id: str) -> dict[str, Any]:
    """Arguments that build an example of a registered task (``{}`` for a task whose every argument has a default).

    Examples:
        >>> import pettingzoo, stmg_envs
        >>> pettingzoo.make("parallel", "stmg/Matrix-v0", **example_kwargs("stmg/Matrix-v0")).possible_agents
        ['agent_0', 'agent_1']
    """
    return dict(_TASKS[task_id].example_kwargs)


def register_all() -> None:
    """Register the tasks of every family (called by ``import stmg_envs``)."""
    from stmg_envs.highway.tasks import TASKS as HIGHWAY_TASKS
    from stmg_envs.matrix.tasks import TASKS as MATRIX_TASKS
    from stmg_envs.mujoco.tasks import TASKS as MUJOCO_TASKS

    for spec in (*MATRIX_TASKS, *MUJOCO_TASKS, *HIGHWAY_TASKS):
        register_task(spec)
