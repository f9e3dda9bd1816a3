"""``K`` copies of a task stepped together, as arrays: the STMG rank by rank, and the simultaneous game.

* :class:`BatchedSTMG`: the sequential game of :func:`stmg_envs.stmg_v0`, for ``K`` copies at once.
  Within a time step the copies advance *rank by rank*: :meth:`BatchedSTMG.observe` gives the
  observations of the agent at the current rank in every copy as stacked arrays
  (:class:`RankObservation`: own observation, superiors' actions and their mask, rank), and
  :meth:`BatchedSTMG.step` takes one array of ``K`` actions back. After the last rank every copy
  takes its time step (one joint step of its parallel game) and a :class:`TimeStep` reports it.
* :class:`BatchedParallel`: the simultaneous game of the same task: all agents' observations as
  one array, one array of joint actions back, one step (:class:`JointStep`).

Build them with :func:`batched_stmg` and :func:`batched_parallel` (they pick a backend:
:mod:`stmg_envs.vector.generic` for any ``ParallelEnv``, native ones where the work is arrays).

## Autoreset
Gymnasium's ``AutoresetMode.SAME_STEP``, the mode Stable-Baselines3's ``VecEnv`` rollouts expect:
a copy whose episode ends (no live agent left) is reset within the call that ended it. The
observations returned by that call are the new episode's first; the ended episode's last own
observations are in ``final_observation`` (with ``episode_over`` marking the copies), and the
reset's infos in ``reset_infos``. Resets draw no new seed: each copy continues its own RNG
(``reset(seed=s)`` seeds copy ``k`` with ``s + k``, as Gymnasium's vector envs do).

## Priority orders (as ``stmg_v0``'s ``order``)
Fixed (``None``, ``"possible_agents"``, ``"reversed"``, a sequence of agents, ``"a+b"``), ``"random"``
(a new permutation per copy and episode, drawn as ``stmg_v0`` draws it from the copy's RNG, which
``reset(seed=...)`` seeds), or a callable ``order(env, rng) -> agents``, called before every time
step of every copy with live agents, ``rng`` that copy's ``numpy.random.Generator``. ``env`` is the
copy's own ``ParallelEnv`` with the generic backend (exactly what ``stmg_v0`` passes) and a
:class:`~stmg_envs.vector.backend.CopyView` with a native backend (``possible_agents``,
``agents``, ``index`` and ``backend``, whose ``observations[index]`` are the copy's
observations). Agents that are not live are skipped, as in ``stmg_v0``.

## Agents that leave or join
Copies may hold different live agents (an agent that terminates early leaves its copy while
the others play on; an agent the env adds joins the next time step). In a copy with ``m`` live
agents only ranks ``0 .. m-1`` act: at higher ranks its row is inactive (``active`` false,
zeros, its action not read). A time step has as many ranks as the fullest copy.

## Equality guarantees
Over the generic backend, copy ``k`` of :class:`BatchedSTMG` equals an independent
``stmg_v0(env_fn(), order)`` reset with the same seed and fed the same actions: the acting agent's
observation at each rank (own part zero-padded when agents' observations differ in size), the
rewards, terminations, truncations and the parallel env's infos of each time step, the order
(``info["rank"]``, ``info["order"]``), the global state (``state()``), across episode ends and
resets (``tests/vector``). Native backends equal the generic one on the same task: the NumPy
backend exactly, the MuJoCo one within 1e-9 (in practice exactly).

Examples:
    >>> import numpy as np
    >>> from stmg_envs.matrix import penalty
    >>> from stmg_envs.vector import batched_stmg
    >>> venv = batched_stmg(lambda: penalty(k=-50, episode_length=2), num_copies=3)
    >>> obs, infos = venv.reset(seed=0)
    >>> obs.rank.tolist(), obs.agent.tolist()             # every copy: agent_0 leads
    ([0, 0, 0], [0, 0, 0])
    >>> obs, done = venv.step(np.array([0, 1, 2]))        # the leaders' actions
    >>> obs.prior_actions[:, :3].tolist(), done is None   # the followers see them
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], True)
    >>> obs, done = venv.step(np.array([2, 1, 0]))        # the followers answer: the time step runs
    >>> done.rewards.tolist()
    [[10.0, 10.0], [2.0, 2.0], [8.0, 8.0]]
    >>> obs, _ = venv.step(np.zeros(3, dtype=np.int64))
    >>> obs, done = venv.step(np.zeros(3, dtype=np.int64))
    >>> done.episode_over.tolist(), done.truncations.all()    # episode over: reset in the same call
    ([True, True, True], np.True_)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from stmg_envs.vector.backend import Backend, SparseInfos
from stmg_envs.wrappers.priority_order import InvalidOrderError, OrderSpec, PriorityOrder
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS

__all__ = [
    "BatchedSTMG",
    "BatchedParallel",
    "RankObservation",
    "RankStep",
    "TimeStep",
    "JointObservation",
    "JointStep",
    "batched_stmg",
    "batched_parallel",
    "make_backend",
    "BACKENDS",
]

#: The backends :func:`make_backend` knows: ``"auto"`` picks the native one that fits, else ``"generic"``.
BACKENDS = ("auto", "generic", "numpy", "mujoco")


class RankObservation(NamedTuple):
    """The observations of the agent at one rank in every copy (``K`` rows).

    The first four fields are ``stmg_v0``'s observation keys (:data:`~stmg_envs.wrappers.stmg.OBSERVATION_KEYS`),
    stacked; :meth:`as_dict` gives them as the ``Dict`` observation of :attr:`BatchedSTMG.single_observation_space`.

    Attributes:
        observation: ``(K, *observation_shape)``, the acting agent's own observation.
        prior_actions: ``(K, D)`` float32, the encoded actions of the agents ranked above it this time step.
        prior_mask: ``(K, N)`` int8, 1 where a slot of ``prior_actions`` is filled.
        rank: ``(K,)`` int64, the rank (the same in every row).
        agent: ``(K,)`` int64, the acting agent's index in ``possible_agents``; -1 where none.
        active: ``(K,)`` bool, whether the copy has an agent at this rank; other rows are zeros and their
            actions are not read.
    """

    observation: np.ndarray
    prior_actions: np.ndarray
    prior_mask: np.ndarray
    rank: np.ndarray
    agent: np.ndarray
    active: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """The four observation parts keyed as in ``stmg_v0`` (the arrays themselves, not copies)."""
        return {key: getattr(self, key) for key in OBSERVATION_KEYS}


if RankObservation._fields[: len(OBSERVATION_KEYS)] != OBSERVATION_KEYS:  # pragma: no cover - a layout change
    raise ImportError("RankObservation's fields must start with stmg_v0's OBSERVATION_KEYS")


class TimeStep(NamedTuple):
    """One time step of every copy (arrays indexed ``[copy, agent]``), returned after its last rank.

    Attributes:
        rewards: ``(K, N)`` float64.
        terminations: ``(K, N)`` bool.
        truncations: ``(K, N)`` bool.
        acted: ``(K, N)`` bool, the agents that acted in this time step.
        ranks: ``(K, N)`` int64, the rank each agent acted with; -1 where it did not act.
        episode_over: ``(K,)`` bool, the copies whose episode ended (they have been reset: autoreset).
        final_observation: ``(K, N, *observation_shape)``, every agent's own observation after the time
            step, before any reset. An agent that finished sees, as under ``stmg_v0``, this own
            observation with ``prior_actions`` and ``prior_mask`` zero and its rank from ``ranks``.
        final_state: ``(K, *state_shape)``, every copy's global state after the time step, before any reset
            (:meth:`BatchedSTMG.state` gives the states after it); ``None`` when no copy's episode ended or the
            task has no state.
        infos: Sparse infos of the step, ``{copy: {agent: info}}`` (non-empty dicts only).
        reset_infos: Sparse infos of the resets of the copies in ``episode_over``.
    """

    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    acted: np.ndarray
    ranks: np.ndarray
    episode_over: np.ndarray
    final_observation: np.ndarray
    final_state: np.ndarray | None
    infos: SparseInfos
    reset_infos: SparseInfos


class RankStep(NamedTuple):
    """What :meth:`BatchedSTMG.step` returns: the next rank's observations, and the time step if one ended."""

    observation: RankObservation
    time_step: TimeStep | None


class JointObservation(NamedTuple):
    """The observations of every agent of every copy.

    Attributes:
        observation: ``(K, N, *observation_shape)``.
        live: ``(K, N)`` bool, the agents that act in the next step (the others' actions are not read).
    """

    observation: np.ndarray
    live: np.ndarray


class JointStep(NamedTuple):
    """One joint step of every copy (arrays indexed ``[copy, agent]``).

    Attributes:
        observation: ``(K, N, *observation_shape)``, the next observations (a new episode's first in copies
            that reset).
        live: ``(K, N)`` bool, the agents that act in the next step.
        rewards, terminations, truncations: ``(K, N)``, as in :class:`TimeStep`.
        acted: ``(K, N)`` bool, the agents that acted in this step.
        episode_over: ``(K,)`` bool, the copies whose episode ended and that were reset.
        final_observation: ``(K, N, *observation_shape)``, the observations after the step, before any reset.
        final_state: As in :class:`TimeStep`.
        infos, reset_infos: Sparse infos, as in :class:`TimeStep`.
    """

    observation: np.ndarray
    live: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    acted: np.ndarray
    episode_over: np.ndarray
    final_observation: np.ndarray
    final_state: np.ndarray | None
    infos: SparseInfos
    reset_infos: SparseInfos


_NOT_RESET = "call reset() first"


class _Batched:
    """What both forms share: the backend, seeding, autoreset and the needs-reset state."""

    def __init__(self, backend: Backend):
        if not isinstance(backend, Backend):
            raise TypeError(f"expected a stmg_envs.vector Backend, got {type(backend).__name__}.")
        self.backend = backend
        self.layout = backend.layout
        self.num_copies = backend.num_copies
        self.possible_agents = backend.possible_agents
        self.num_agents = backend.num_agents
        self.single_action_space = self.layout.action_space
        self.single_state_space = backend.state_space
        self._broken: str | None = _NOT_RESET
        self._arange = np.arange(self.num_copies)

    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        k = self.num_copies
        if seed is None:
            return [None] * k
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(k)]
        if (
            isinstance(seed, Sequence)
            and not isinstance(seed, str)
            and len(seed) == k
            and all(s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool)) for s in seed)
        ):
            return [None if s is None else int(s) for s in seed]
        raise TypeError(
            f"expected seed to be None, an integer (copy k gets seed + k) or a sequence of {k} integers or None, "
            f"got {seed!r}."
        )

    def _require_reset(self) -> None:
        if self._broken is not None:
            raise RuntimeError(f"{type(self).__name__}: {self._broken}.")

    def _check_live(self, copies: np.ndarray) -> None:
        empty = copies[~self.backend.live[copies].any(axis=1)]
        if len(empty):
            self._broken = f"copy {int(empty[0])} had no live agent right after reset(); call reset()"
            raise RuntimeError(f"{type(self).__name__}: copy {int(empty[0])} has no live agent right after reset().")

    def state(self) -> np.ndarray:
        """Every copy's global state now, ``(K, *single_state_space.shape)`` (the parallel env's ``state()``).

        Raises:
            NotImplementedError: the task has no global state (``single_state_space`` is ``None``).
        """
        self._require_reset()
        return self.backend.states()

    def _final_state(self, over: np.ndarray) -> np.ndarray | None:
        return self.backend.states() if self.single_state_space is not None and over.any() else None

    def close(self) -> None:
        """Close every copy."""
        self.backend.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BatchedSTMG(_Batched):
    """``K`` copies of the STMG of a task, advanced rank by rank (see the module docstring).

    Build it with :func:`batched_stmg`, or from a backend.

    ## Spaces
    * :attr:`single_observation_space`: one row of a :class:`RankObservation`, the ``Dict`` of ``stmg_v0``
      (keys :data:`~stmg_envs.wrappers.stmg.OBSERVATION_KEYS`; the own part zero-padded when the agents'
      observations differ in size).
    * :attr:`single_action_space`: one row of the actions: the agents' shared space (``Discrete`` spaces
      of different sizes: a ``Discrete`` covering them, each agent's range checked).
    * :attr:`single_state_space`: one copy's global state (:meth:`state`), or ``None`` when the task has none.

    ## Actions
    ``step(actions)``: an array ``(K, *action_shape)``, row ``k`` the action of the agent at the current
    rank in copy ``k`` (integers for ``Discrete``, reals within bounds for ``Box``; rows of inactive
    copies are not read). A wrong shape or dtype, or a value outside the agent's space, raises
    :class:`~stmg_envs.wrappers.action_codec.InvalidActionError` ("expected X, got Y") and changes nothing.

    ## Rewards, terminations, truncations, infos
    In the :class:`TimeStep` that the last rank's ``step`` returns (``None`` before). ``orders``/``ranks``
    give the order of the coming time step (``stmg_v0``'s ``info["order"]``/``info["rank"]``).

    ## Arguments
    * ``backend``: the copies (:func:`make_backend`).
    * ``order``: the priority order, as ``stmg_v0``'s (module docstring).

    ## Version history
    * v0: first version.

    Examples:
        >>> import numpy as np
        >>> from stmg_envs.matrix import mixing
        >>> from stmg_envs.vector import batched_stmg
        >>> venv = batched_stmg(mixing, num_copies=4, order="random")
        >>> obs, _ = venv.reset(seed=1)
        >>> venv.orders.tolist()                      # per copy: possible_agents indices, first acts first
        [[0, 1], [0, 1], [1, 0], [1, 0]]
        >>> obs.agent.tolist()
        [0, 0, 1, 1]
        >>> venv.step(np.array([0, 0, 5, 0]))
        Traceback (most recent call last):
        ...
        stmg_envs.wrappers.action_codec.InvalidActionError: invalid actions at rank 0: expected copy 2's action (agent 'agent_1', Discrete(3)) to be an integer in [0, 2], got 5. Nothing was changed; pass valid actions.
    """

    def __init__(self, backend: Backend, order: OrderSpec = None):
        super().__init__(backend)
        layout = self.layout
        k, n = self.num_copies, self.num_agents
        self._priority = PriorityOrder(order, self.possible_agents)
        self.order_kind = self._priority.kind
        index = {agent: i for i, agent in enumerate(self.possible_agents)}
        self._agent_index = index
        fixed = np.empty(n, dtype=np.int64)
        base = self.possible_agents
        if self.order_kind == "fixed":  # the fixed order of all agents (random and callable orders start from this)
            base = self._priority.for_step(None, list(self.possible_agents), np.random.default_rng(0))
        fixed[[index[a] for a in base]] = np.arange(n)
        self._position = np.broadcast_to(fixed, (k, n)).copy()  # each agent's place in its copy's episode order
        self._rngs = [np.random.default_rng() for _ in range(k)]
        self.single_observation_space = spaces.Dict(
            dict(
                zip(
                    OBSERVATION_KEYS,
                    (layout.observation_space, layout.prior_space, layout.mask_space, layout.rank_space),
                )
            )
        )
        self._order = np.full((k, n), -1, dtype=np.int64)
        self._rank_of = np.full((k, n), -1, dtype=np.int64)
        self._num_ranks = 0
        self._full_ranks = 0
        self._rank_values = [np.full(k, r, dtype=np.int64) for r in range(n)]
        self._rank = 0
        self._prior = np.zeros((k, layout.prior_size), dtype=np.float32)
        self._mask = np.zeros((k, n), dtype=np.int8)
        self._joint = np.zeros((k, n, *layout.action_shape), dtype=layout.action_dtype)
        self._live_seen = np.zeros((k, n), dtype=bool)
        self._all_rows = np.arange(k)
        self._true = np.ones(k, dtype=bool)

    # ------------------------------------------------------------------ properties
    @property
    def rank(self) -> int:
        """The rank that acts next in the current time step."""
        self._require_reset()
        return self._rank

    @property
    def num_ranks(self) -> int:
        """How many ranks the current time step has (the most live agents of any copy)."""
        self._require_reset()
        return self._num_ranks

    @property
    def orders(self) -> np.ndarray:
        """``(K, N)`` int64: each copy's order of the current time step (agent indices, first acts first), -1-padded."""
        self._require_reset()
        return self._order.copy()

    @property
    def ranks(self) -> np.ndarray:
        """``(K, N)`` int64: each agent's rank in the current time step, -1 where it is not live."""
        self._require_reset()
        return self._rank_of.copy()

    @property
    def live(self) -> np.ndarray:
        """``(K, N)`` bool: the agents that act in the current time step."""
        self._require_reset()
        return self.backend.live.copy()

    # ------------------------------------------------------------------ orders
    def _new_episodes(self, copies: np.ndarray) -> None:
        if self.order_kind == "random":
            n = self.num_agents
            positions = np.arange(n)
            for e in copies.tolist():
                perm = self._rngs[e].permutation(n)  # what PriorityOrder.new_episode draws under stmg_v0
                self._position[e, perm] = positions

    def _set_orders(self, copies: np.ndarray | None) -> None:
        """Order the live agents of ``copies`` (``None``: all) for the coming time step."""
        live = self.backend.live
        if self.order_kind == "callable":
            rows = self._all_rows if copies is None else copies
            index, possible = self._agent_index, self.possible_agents
            for e in rows.tolist():
                names = [possible[i] for i in np.flatnonzero(live[e]).tolist()]
                self._order[e] = -1
                self._rank_of[e] = -1
                if not names:
                    continue
                try:
                    order = self._priority.for_step(self.backend.order_view(e), names, self._rngs[e])
                except InvalidOrderError as exc:
                    self._broken = f"stopped because the order callable failed in copy {e} ({exc}); call reset()"
                    raise
                agents = [index[a] for a in order]
                self._order[e, : len(agents)] = agents
                self._rank_of[e, agents] = np.arange(len(agents))
        else:
            n = self.num_agents
            keys = np.where(live, self._position, self._position + n)
            sorted_agents = np.argsort(keys, axis=1)
            counts = live.sum(axis=1)
            valid = np.arange(n)[None, :] < counts[:, None]
            sorted_agents[~valid] = -1
            self._order[:] = sorted_agents
            self._rank_of.fill(-1)
            rows, cols = np.nonzero(valid)
            self._rank_of[rows, sorted_agents[rows, cols]] = cols
        counts = (self._order >= 0).sum(axis=1)
        self._num_ranks = int(counts.max())
        self._full_ranks = int(counts.min())  # the ranks at which every copy has an agent
        self._live_seen[:] = live

    def _start_time_step(self) -> None:
        self._rank = 0
        self._prior.fill(0.0)
        self._mask.fill(0)

    # ------------------------------------------------------------------ API
    def reset(
        self, seed: int | Sequence[int | None] | None = None, options: dict | None = None
    ) -> tuple[RankObservation, SparseInfos]:
        """Reset every copy; the observations of rank 0 and the resets' sparse infos.

        Args:
            seed: ``None``, an integer (copy ``k`` gets ``seed + k``) or one seed (or ``None``) per copy. A seed
                also seeds the copy's order RNG (``"random"`` orders, callables), as in ``stmg_v0``.
            options: Passed to every copy's reset.
        """
        seeds = self._seeds(seed)
        for e, s in enumerate(seeds):
            if s is not None:
                self._rngs[e] = np.random.default_rng(s)
        self._broken = _NOT_RESET
        copies = self._all_rows
        infos = self.backend.reset(copies, seeds, options)
        self._check_live(copies)
        self._new_episodes(copies)
        self._set_orders(None)
        self._start_time_step()
        self._broken = None
        return self._observe(), infos

    def observe(self) -> RankObservation:
        """The observations of the agents at the current rank (new arrays, which the caller may keep)."""
        self._require_reset()
        return self._observe()

    def _observe(self) -> RankObservation:
        r = self._rank
        rank = self._rank_values[r].copy()
        if r < self._full_ranks:  # every copy has an agent at this rank
            agent = self._order[:, r].copy()
            observation = self.backend.observations[self._arange, agent]
            return RankObservation(observation, self._prior.copy(), self._mask.copy(), rank, agent, self._true.copy())
        agent = self._order[:, r].copy()
        active = agent >= 0
        observation = self.backend.observations[self._arange, np.maximum(agent, 0)]
        prior = self._prior.copy()
        mask = self._mask.copy()
        idle = ~active
        observation[idle] = 0
        prior[idle] = 0.0
        mask[idle] = 0
        return RankObservation(observation, prior, mask, rank, agent, active)

    def step(self, actions: Any) -> RankStep:
        """Play the actions of the current rank; after the last rank, every copy's time step.

        Args:
            actions: ``(K, *action_shape)``, row ``k`` the action of copy ``k``'s agent at this rank.

        Returns:
            :class:`RankStep`: the next rank's observations (after the last rank: rank 0 of the next time step,
            of a new episode where a copy reset) and the :class:`TimeStep` (``None`` before the last rank).

        Raises:
            InvalidActionError: a bad actions array (nothing changes; the batch stays usable).
            RuntimeError: the batch has not been reset.
        """
        self._require_reset()
        r = self._rank
        agent = self._order[:, r]
        last = r + 1 >= self._num_ranks
        if r < self._full_ranks:
            arr = self.layout.check_rank(actions, agent, None, r, self._all_rows)
            rows, agents, values = self._all_rows, agent, arr
        else:
            active = agent >= 0
            arr = self.layout.check_rank(actions, agent, active, r)
            rows = np.flatnonzero(active)
            agents, values = agent[rows], arr[rows]
        self._joint[rows, agents] = values
        if not last:
            self.layout.encode(self._prior, rows, agents, values)
            self._mask[rows, agents] = 1
            self._rank = r + 1
            return RankStep(self._observe(), None)
        return RankStep(*self._time_step())

    def _time_step(self) -> tuple[RankObservation, TimeStep]:
        backend = self.backend
        acted = backend.live.copy()
        ranks = self._rank_of.copy()
        self._broken = "a time step failed in the middle; call reset()"  # until it has fully run
        out = backend.step(self._joint)
        final = backend.observations.copy()
        over = np.logical_not(backend.live.any(axis=1))
        final_state = self._final_state(over)
        reset_infos: SparseInfos = {}
        if over.any():
            copies = np.flatnonzero(over)
            reset_infos = backend.reset(copies, [None] * len(copies))
            self._check_live(copies)
            self._new_episodes(copies)
            any_over = True
        else:
            any_over = False
        if (
            self.order_kind == "callable"
            or (self.order_kind == "random" and any_over)
            or (backend.live != self._live_seen).any()
        ):
            self._set_orders(None)
        self._start_time_step()
        self._broken = None
        time_step = TimeStep(
            out.rewards,
            out.terminations,
            out.truncations,
            acted,
            ranks,
            over,
            final,
            final_state,
            out.infos,
            reset_infos,
        )
        return self._observe(), time_step

    def __repr__(self) -> str:
        return (
            f"BatchedSTMG({self.backend.name}, num_copies={self.num_copies}, order={self._priority.spec!r}, "
            f"backend={type(self.backend).__name__})"
        )


class BatchedParallel(_Batched):
    """``K`` copies of the simultaneous game of a task, one joint step at a time (see the module docstring).

    Build it with :func:`batched_parallel`, or from a backend.

    ## Spaces
    * :attr:`single_observation_space`: one agent's own observation (zero-padded when the agents' differ).
    * :attr:`single_action_space`: one agent's action (as in :class:`BatchedSTMG`).
    * :attr:`single_state_space`: one copy's global state (:meth:`state`, for centralised critics), or ``None``.

    ## Actions
    ``step(actions)``: an array ``(K, N, *action_shape)``; entries of agents that are not live are not read.
    Bad actions raise :class:`~stmg_envs.wrappers.action_codec.InvalidActionError` and change nothing.

    ## Arguments
    * ``backend``: the copies (:func:`make_backend`).

    ## Version history
    * v0: first version.

    Examples:
        >>> import numpy as np
        >>> from stmg_envs.matrix import escape
        >>> from stmg_envs.vector import batched_parallel
        >>> venv = batched_parallel(escape, num_copies=2)
        >>> first, infos = venv.reset(seed=0)
        >>> first.observation.shape, first.live.all()
        ((2, 2, 1), np.True_)
        >>> out = venv.step(np.array([[2, 2], [0, 1]]))
        >>> out.rewards.tolist()
        [[30.0, 30.0], [10.0, 10.0]]
    """

    def __init__(self, backend: Backend):
        super().__init__(backend)
        self.single_observation_space = self.layout.observation_space

    def reset(
        self, seed: int | Sequence[int | None] | None = None, options: dict | None = None
    ) -> tuple[JointObservation, SparseInfos]:
        """Reset every copy (seeds as :meth:`BatchedSTMG.reset`); the observations and sparse infos."""
        seeds = self._seeds(seed)
        self._broken = _NOT_RESET
        infos = self.backend.reset(self._arange, seeds, options)
        self._check_live(self._arange)
        self._broken = None
        return JointObservation(self.backend.observations.copy(), self.backend.live.copy()), infos

    def step(self, actions: Any) -> JointStep:
        """One joint step of every copy (autoreset: see the module docstring).

        Raises:
            InvalidActionError: a bad actions array (nothing changes; the batch stays usable).
            RuntimeError: the batch has not been reset.
        """
        self._require_reset()
        backend = self.backend
        arr = self.layout.check_joint(actions, backend.live)
        if arr.dtype != self.layout.action_dtype:
            arr = arr.astype(self.layout.action_dtype)
        acted = backend.live.copy()
        self._broken = "a step failed in the middle; call reset()"
        out = backend.step(arr)
        final = backend.observations.copy()
        over = np.logical_not(backend.live.any(axis=1))
        final_state = self._final_state(over)
        reset_infos: SparseInfos = {}
        if over.any():
            copies = np.flatnonzero(over)
            reset_infos = backend.reset(copies, [None] * len(copies))
            self._check_live(copies)
        self._broken = None
        return JointStep(
            backend.observations.copy(),
            backend.live.copy(),
            out.rewards,
            out.terminations,
            out.truncations,
            acted,
            over,
            final,
            final_state,
            out.infos,
            reset_infos,
        )

    def __repr__(self) -> str:
        return (
            f"BatchedParallel({self.backend.name}, num_copies={self.num_copies}, backend={type(self.backend).__name__})"
        )


# ---------------------------------------------------------------------- constructors
def make_backend(
    env_fn: Callable[[], ParallelEnv] | str,
    num_copies: int,
    backend: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
) -> Backend:
    """``num_copies`` copies of a task as a :class:`~stmg_envs.vector.backend.Backend`.

    Args:
        env_fn: A zero-argument factory of the task's ``ParallelEnv`` (called once per copy by the generic
            backend, once in all by a native one), or a registered task id (``"stmg/Penalty-v0"``).
        num_copies: ``K``.
        backend: ``"auto"`` (default: the native backend that fits the task, else the generic one),
            ``"generic"`` (:class:`~stmg_envs.vector.generic.GenericBackend`), ``"numpy"``
            (:class:`~stmg_envs.vector.matrix.MatrixBackend`, the matrix games), ``"mujoco"``
            (:class:`~stmg_envs.vector.mujoco.MuJoCoBackend`, HalfCheetah, Ant and ManySegmentAnt on ``mujoco.batch``).
        env_kwargs: Keyword arguments of a registered task id (``{"k": -50}``); only with an id.

    Raises:
        ValueError: an unknown ``backend``, or one that does not fit the task.
        TypeError: ``env_fn`` is no factory of ``ParallelEnv`` s.

    Examples:
        >>> from stmg_envs.matrix import penalty
        >>> type(make_backend(penalty, 8)).__name__, type(make_backend(penalty, 8, "generic")).__name__
        ('MatrixBackend', 'GenericBackend')
    """
    from stmg_envs.vector.generic import GenericBackend
    from stmg_envs.vector.matrix import MatrixBackend

    if backend not in BACKENDS:
        raise ValueError(f"expected backend to be one of {BACKENDS}, got {backend!r}.")
    if env_kwargs is not None and not isinstance(env_fn, str):
        raise ValueError(
            f"env_kwargs configure a registered task id, got env_kwargs={env_kwargs!r} with {env_fn!r}; pass the "
            "arguments to your factory instead (e.g. lambda: penalty(k=-50))."
        )
    if isinstance(env_fn, str):
        task_id, kwargs = env_fn, dict(env_kwargs or {})
        from stmg_envs.registration import make_parallel

        def env_fn() -> ParallelEnv:
            return make_parallel(task_id, **kwargs)

    if not callable(env_fn):
        raise TypeError(f"expected env_fn to be a factory of ParallelEnvs or a task id, got {env_fn!r}.")
    first = env_fn()
    if backend == "generic":
        return GenericBackend(env_fn, num_copies, first=first)
    if backend in ("auto", "numpy") and MatrixBackend.fits(first):
        return MatrixBackend(first, num_copies)
    if backend == "numpy":
        raise ValueError(
            f"the numpy backend runs the matrix games (MatrixGame), got {type(first).__name__}; use backend='generic'."
        )
    if backend in ("auto", "mujoco"):
        try:
            from stmg_envs.vector.mujoco import MuJoCoBackend
        except ImportError:
            MuJoCoBackend = None  # type: ignore[assignment,misc]
        if MuJoCoBackend is not None and MuJoCoBackend.fits(first):
            return MuJoCoBackend(first, num_copies)
        if backend == "mujoco":
            raise ValueError(
                f"the mujoco backend needs a Multi-Agent MuJoCo task and mujoco.batch (MuJoCo >= 4), got "
                f"{type(first).__name__}; use backend='generic'."
            )
    return GenericBackend(env_fn, num_copies, first=first)


def batched_stmg(
    env_fn: Callable[[], ParallelEnv] | str,
    num_copies: int,
    order: OrderSpec = None,
    backend: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
) -> BatchedSTMG:
    """``num_copies`` copies of the STMG of a task, stepped rank by rank: a :class:`BatchedSTMG`.

    Args:
        env_fn: A zero-argument factory of the task's ``ParallelEnv``, or a registered task id.
        num_copies: ``K``.
        order: The priority order, as ``stmg_v0``'s (module docstring).
        backend: See :func:`make_backend`.
        env_kwargs: Keyword arguments of a registered task id.

    Examples:
        >>> from stmg_envs.vector import batched_stmg
        >>> venv = batched_stmg("stmg/Penalty-v0", num_copies=16, order="reversed", env_kwargs={"k": -50})
        >>> obs, _ = venv.reset(seed=0)
        >>> obs.observation.shape, obs.prior_actions.shape, venv.orders[0].tolist()
        ((16, 1), (16, 6), [1, 0])
    """
    return BatchedSTMG(make_backend(env_fn, num_copies, backend, env_kwargs), order=order)


def batched_parallel(
    env_fn: Callable[[], ParallelEnv] | str,
    num_copies: int,
    backend: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
) -> BatchedParallel:
    """``num_copies`` copies of the simultaneous game of a task: a :class:`BatchedParallel`.

    Args:
        env_fn: A zero-argument factory of the task's ``ParallelEnv``, or a registered task id.
        num_copies: ``K``.
        backend: See :func:`make_backend`.
        env_kwargs: Keyword arguments of a registered task id.

    Examples:
        >>> from stmg_envs.vector import batched_parallel
        >>> batched_parallel("stmg/Mixing-v0", num_copies=4).reset(seed=0)[0].observation.shape
        (4, 2, 1)
    """
    return BatchedParallel(make_backend(env_fn, num_copies, backend, env_kwargs))
