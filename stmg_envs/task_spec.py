"""What a task family declares to register a task: :class:`TaskSpec` (no registry code, no imports of its own).

Family modules (``stmg_envs/<family>/tasks.py``) import this module only, and
:mod:`stmg_envs.registration` reads their ``TASKS``; keeping the spec here means
no module imports the registration module back.

Examples:
    >>> from stmg_envs.task_spec import TaskSpec
    >>> TaskSpec("stmg/Penalty-v0", "stmg_envs.matrix.classic:penalty").extra is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TaskSpec"]


@dataclass(frozen=True)
class TaskSpec:
    """A registered task.

    Attributes:
        id: Registry ID, ``"stmg/<Name>-v<N>"``.
        parallel_entry_point: ``"module:callable"`` that returns the task's
            ``ParallelEnv`` from keyword arguments.
        kwargs: Default keyword arguments for the factory.
        extra: The ``pip install stmg-envs[<extra>]`` that the task needs, if any.
        description: One line for listings.
        example_kwargs: Arguments that build an example of a task that has no default for them (``stmg/Matrix-v0``:
            a game), for what builds every task (the docs' task pages, smoke tests); ``()`` for the others.
        agents_leave_early: Whether an agent can leave an episode while others play on (so copies of the task
            can hold different numbers of live agents). Such a task gets no Gymnasium ``vector_entry_point``
            (:class:`stmg_envs.vector.SequentialGymVectorEnv` steps copies in lockstep, one decision each):
            ``gymnasium.make_vec`` then builds a ``SyncVectorEnv`` of the single env.
    """

    id: str
    parallel_entry_point: str
    kwargs: tuple[tuple[str, Any], ...] = field(default=())
    extra: str | None = None
    description: str = ""
    example_kwargs: tuple[tuple[str, Any], ...] = field(default=())
    agents_leave_early: bool = False
