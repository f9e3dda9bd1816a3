"""Observation normalisation on the batched arrays: a backend whose observations are standardised.

:class:`NormalizedBackend` wraps any :class:`~stmg_envs.vector.backend.Backend` and standardises its
observations (and ``states()``) with the project's one running normaliser,
:class:`stmg_envs.normalization.ObservationStatistics` (the statistics that
:class:`~stmg_envs.normalization.NormalizedObservations` uses on a single ``ParallelEnv``; share one object
between both, or between a training and an evaluation batch). Both batched forms built on it
(:class:`~stmg_envs.vector.BatchedSTMG`, :class:`~stmg_envs.vector.BatchedParallel`) see the normalised
own observations: the rank observations, the joint observations and the final observations of ended
episodes; the ``prior_actions``, ``prior_mask`` and rank parts are not touched.

## What is updated, and when
Each agent has its own statistics (keyed by the agent, as in ``NormalizedObservations``). After every
reset and step of the copies, the rows the copies just returned (after a step: the agents that acted or
joined; after a reset: the reset copies' live agents) are added to their agent's statistics as one batch,
and then standardised with the updated statistics: the ``VecNormalize`` order (update with the batch, then
normalise it). With ``update=False`` the statistics are only read (evaluation). ``states()`` is
standardised with the :data:`~stmg_envs.normalization.STATE_KEY` statistics, updated on every call when
``update`` is true (as ``NormalizedObservations.state()``).

## Equality guarantees (``tests/vector/test_normalize.py``)
With ``update=False``, copy ``k`` equals ``NormalizedObservations(env, statistics, update=False)`` stepped
alone, exactly. With ``update=True`` the statistics after a run equal (to 1e-9) those of the same
observations added one copy at a time; the normalised values differ from ``K`` wrappers updated one after
the other only in which statistics each row saw (a wrapper sees the copies before it; here every row of
a batch sees the whole batch).

Observations must be floating point (``Box`` of a float dtype); when the agents' observations are
zero-padded to one width, each agent's statistics cover the padded row (the padding stays 0). Reward
scaling (``NormalizedObservations``'s ``reward_gamma``) is not done here.

Examples:
    >>> import numpy as np
    >>> from stmg_envs.normalization import ObservationStatistics
    >>> from stmg_envs.vector import BatchedParallel, NormalizedBackend, make_backend
    >>> stats = ObservationStatistics()
    >>> venv = BatchedParallel(NormalizedBackend(make_backend("stmg/Mixing-v0", 4), stats))
    >>> first, _ = venv.reset(seed=0)
    >>> stats.count("agent_0"), first.observation.dtype
    (4, dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stmg_envs.normalization import STATE_KEY, ObservationStatistics
from stmg_envs.vector.backend import Backend, SparseInfos, StepArrays

__all__ = ["NormalizedBackend"]


class NormalizedBackend(Backend):
    """``backend`` with its observations (and states) standardised by shared running statistics.

    Args:
        backend: The copies (:func:`~stmg_envs.vector.make_backend`).
        statistics: The (shared) :class:`~stmg_envs.normalization.ObservationStatistics`.
        update: Add the observations the copies return to the statistics (training); ``False`` only reads them.
        normalize_state: Standardise ``states()`` too (centralised critics read it).

    Raises:
        TypeError: ``backend`` is no backend, ``statistics`` no ``ObservationStatistics``, or the observations are
            not floating point.

    Attributes:
        inner: The wrapped backend (its ``observations`` are the raw ones).
    """

    def __init__(
        self,
        backend: Backend,
        statistics: ObservationStatistics,
        update: bool = True,
        normalize_state: bool = True,
    ):
        if not isinstance(backend, Backend):
            raise TypeError(f"expected a stmg_envs.vector Backend, got {type(backend).__name__}.")
        if not isinstance(statistics, ObservationStatistics):
            raise TypeError(f"expected statistics to be an ObservationStatistics, got {type(statistics).__name__}.")
        if not np.issubdtype(backend.layout.observation_dtype, np.floating):
            raise TypeError(
                f"expected floating-point observations to normalise, got dtype {backend.layout.observation_dtype} "
                f"({backend.layout.observation_space}); normalise only Box observations of a float dtype."
            )
        super().__init__(backend.layout, backend.num_copies)
        self.inner = backend
        self.statistics = statistics
        self.update = bool(update)
        self.normalize_state = bool(normalize_state)
        self.name = backend.name
        self.state_space = backend.state_space
        self.live = backend.live  # the same array, updated in place by the inner backend
        self.observations[:] = backend.observations

    def _refresh(self, rows: np.ndarray) -> None:
        """Add the ``rows`` (``(K, N)`` bool) of the inner observations to the statistics and standardise them."""
        raw, out, stats = self.inner.observations, self.observations, self.statistics
        for i, agent in enumerate(self.possible_agents):
            copies = np.flatnonzero(rows[:, i])
            if not len(copies):
                continue
            batch = raw[copies, i]
            if self.update:
                stats.update(agent, batch)
            out[copies, i] = stats.normalize(agent, batch)

    def reset(self, copies: np.ndarray, seeds: Sequence[int | None], options: dict | None = None) -> SparseInfos:
        infos = self.inner.reset(copies, seeds, options)
        copies = np.asarray(copies)
        self.observations[copies] = self.inner.observations[copies]
        rows = np.zeros_like(self.live)
        rows[copies] = self.live[copies]
        self._refresh(rows)
        return infos

    def step(self, actions: np.ndarray) -> StepArrays:
        before = self.live.copy()
        out = self.inner.step(actions)
        rows = before | self.live
        self.observations[rows] = self.inner.observations[rows]
        self._refresh(rows)
        return out

    def states(self) -> np.ndarray:
        states = self.inner.states()
        if not self.normalize_state:
            return states
        flat = states.reshape(len(states), -1)
        if self.update:
            self.statistics.update(STATE_KEY, flat)
        return self.statistics.normalize(STATE_KEY, flat).reshape(states.shape)

    def order_view(self, copy: int) -> Any:
        """What the inner backend gives an order callable (the copy's raw observations)."""
        return self.inner.order_view(copy)

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"NormalizedBackend({self.inner!r}, update={self.update})"
