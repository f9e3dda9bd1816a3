"""What a backend of the batched forms does: ``K`` copies of a simultaneous game, stepped as arrays.

A :class:`Backend` owns ``K`` copies of one task and knows nothing of priority orders or
autoreset (the batched forms, :mod:`stmg_envs.vector.batched`, do both on top of any backend).
It keeps two arrays up to date:

* :attr:`Backend.observations`, ``(K, N, *observation_shape)``: every agent's latest own
  observation (a row an env has not filled holds the space's blank element, as in
  :func:`stmg_envs.stmg_v0`);
* :attr:`Backend.live`, ``(K, N)`` bool: the agents alive in each copy (the ``agents`` of
  a PettingZoo env), who act in the next step.

:meth:`Backend.step` steps every copy with one joint-action array and returns a
:class:`StepArrays`; :meth:`Backend.reset` resets some copies. Backends:
:class:`~stmg_envs.vector.generic.GenericBackend` (any ``ParallelEnv`` factory),
:class:`~stmg_envs.vector.matrix.MatrixBackend` (NumPy, the matrix games).

Infos are *sparse*: a dict ``{copy: {agent: info}}`` holding only the non-empty info dicts of
the parallel env (a backend whose task has none returns ``{}``, and builds no dict per step).

Examples:
    >>> from stmg_envs.matrix import penalty
    >>> from stmg_envs.vector import GenericBackend
    >>> backend = GenericBackend(penalty, num_copies=3)
    >>> backend.reset(np.arange(3), [0, 1, 2])
    {}
    >>> backend.observations.shape, backend.live.tolist()
    ((3, 2, 1), [[True, True], [True, True], [True, True]])
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from stmg_envs.vector.layout import BatchLayout

__all__ = ["Backend", "StepArrays", "CopyView", "SparseInfos"]

#: ``{copy index: {agent: the parallel env's info dict}}``, only where that dict is non-empty.
SparseInfos = dict[int, dict[Any, dict[str, Any]]]


class StepArrays(NamedTuple):
    """What one step of every copy returned (indexed ``[copy, agent]``).

    Attributes:
        rewards: ``(K, N)`` float64, the reward of each agent (0 for agents that were not live).
        terminations: ``(K, N)`` bool. An agent that leaves the env without a flag counts as terminated
            (as in :func:`stmg_envs.stmg_v0`).
        truncations: ``(K, N)`` bool.
        infos: :data:`SparseInfos` of the step (of the agents live before it or added by it).
    """

    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    infos: SparseInfos


class CopyView:
    """What an order callable receives as ``env`` from a native backend: one copy, read-only.

    Attributes:
        index: The copy's index in the batch.
        possible_agents: Every agent of the task.
        agents: The copy's live agents, in ``possible_agents`` order (a new list).
        backend: The backend (e.g. ``backend.observations[index]`` for the copy's observations).
    """

    __slots__ = ("backend", "index")

    def __init__(self, backend: Backend, index: int):
        self.backend = backend
        self.index = index

    @property
    def possible_agents(self) -> list[Any]:
        return list(self.backend.possible_agents)

    @property
    def agents(self) -> list[Any]:
        live = self.backend.live[self.index]
        return [agent for agent, alive in zip(self.backend.possible_agents, live.tolist()) if alive]

    def __repr__(self) -> str:
        return f"CopyView(copy={self.index}, agents={self.agents})"


class Backend(abc.ABC):
    """``K`` copies of a task's simultaneous game (see the module docstring).

    Args:
        layout: The agents' array layout.
        num_copies: ``K``, at least 1.

    Attributes:
        layout: The :class:`~stmg_envs.vector.layout.BatchLayout`.
        possible_agents: The agents (the ``N`` axis).
        num_copies: ``K``.
        observations: ``(K, N, *observation_shape)``, updated in place by ``reset``/``step``.
        live: ``(K, N)`` bool, updated in place by ``reset``/``step``.
        name: The task's name (``metadata["name"]`` of its parallel env).
        state_space: The ``Box`` of one copy's global state (the parallel env's ``state_space``), or ``None``
            when the task has none (then :meth:`states` raises).
    """

    name = "batched"
    state_space: Any = None

    def __init__(self, layout: BatchLayout, num_copies: int):
        if isinstance(num_copies, bool) or not isinstance(num_copies, (int, np.integer)) or num_copies < 1:
            raise ValueError(f"expected num_copies to be an integer >= 1, got {num_copies!r}.")
        self.layout = layout
        self.possible_agents = layout.possible_agents
        self.num_agents = layout.num_agents
        self.num_copies = int(num_copies)
        k, n = self.num_copies, self.num_agents
        self.observations = np.broadcast_to(layout.blanks, (k, *layout.blanks.shape)).copy()
        self.live = np.zeros((k, n), dtype=bool)

    @abc.abstractmethod
    def reset(self, copies: np.ndarray, seeds: Sequence[int | None], options: dict | None = None) -> SparseInfos:
        """Reset the copies ``copies`` (indices), copy ``copies[j]`` with ``seeds[j]``; their infos."""

    @abc.abstractmethod
    def step(self, actions: np.ndarray) -> StepArrays:
        """Step every copy with ``actions`` (``(K, N, *action_shape)``; entries of agents not live are not read).

        Every copy must have a live agent. Actions are checked by the caller.
        """

    def states(self) -> np.ndarray:
        """Every copy's global state, ``(K, *state_space.shape)`` (the parallel env's ``state()``; a new array)."""
        raise NotImplementedError(f"{type(self).__name__}: the task has no global state (no state_space).")

    def order_view(self, copy: int) -> Any:
        """What an order callable receives as ``env`` for copy ``copy`` (a :class:`CopyView` unless overridden)."""
        return CopyView(self, copy)

    def close(self) -> None:  # noqa: B027  (a backend without resources need not override it)
        """Release the copies' resources."""
