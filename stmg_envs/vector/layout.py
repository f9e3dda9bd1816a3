"""How the agents of a task lie in the arrays of the batched forms: built once, used on every step.

A :class:`BatchLayout` fixes, for ``N`` agents,

* the *own observation* of one row: every agent's observation space when they are all equal, else
  (all ``Box``) each observation flattened and zero-padded at the end to the longest
  (:attr:`BatchLayout.padded`);
* the *action* of one row: all agents ``Discrete`` (their sizes and starts may differ; actions are
  integers) or all ``Box`` of one shape and dtype (their bounds may differ);
* the ``"prior_actions"`` layout of :func:`stmg_envs.stmg_v0` (one slot per possible agent, in
  ``possible_agents`` order; a ``Discrete`` action one-hot, a ``Box`` action its values), so
  that a row of the batched STMG is the observation ``stmg_v0`` gives;
* the checks of a batch of actions (shape, dtype, bounds), which raise
  :class:`~stmg_envs.wrappers.action_codec.InvalidActionError` saying "expected X, got Y" and change
  nothing.

Examples:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> layout = BatchLayout(
    ...     ["a", "b"],
    ...     [spaces.Box(-1, 1, (2,)), spaces.Box(-1, 1, (3,))],
    ...     [spaces.Discrete(2), spaces.Discrete(3)],
    ... )
    >>> layout.padded, layout.observation_shape, layout.prior_size
    (True, (3,), 5)
    >>> layout.check_rank(np.array([1, 3]), agents=np.array([0, 1]), active=np.array([True, True]), rank=0)
    Traceback (most recent call last):
    ...
    stmg_envs.wrappers.action_codec.InvalidActionError: invalid actions at rank 0: expected copy 1's action (agent 'b', Discrete(3)) to be an integer in [0, 2], got 3. Nothing was changed; pass valid actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from gymnasium import spaces

from stmg_envs.wrappers.action_codec import ActionCodec, InvalidActionError
from stmg_envs.wrappers.stmg import _blank

__all__ = ["BatchLayout"]


def _describe(array: np.ndarray) -> str:
    return f"an array of shape {array.shape} and dtype {array.dtype}"


class BatchLayout:
    """The array layout of ``N`` agents' observations and actions (see the module docstring).

    Args:
        possible_agents: The agents, in the order of the ``N`` axis.
        observation_spaces: Each agent's own observation space (``Dict`` spaces are not supported).
        action_spaces: Each agent's action space.

    Raises:
        TypeError: spaces the batched forms cannot stack (the message says which and what is accepted).

    Attributes:
        observation_space: The own observation of one row (padded ``Box`` when :attr:`padded`).
        observation_shape: Its shape; ``observation_dtype`` its dtype.
        sizes: Each agent's flat observation length (the unpadded part of its row).
        action_kind: ``"discrete"`` or ``"box"``.
        action_space: The action of one row: the shared space, or for differing ``Discrete`` spaces
            a ``Discrete`` covering them all (each agent's own range is still checked).
        action_shape, action_dtype: Shape and dtype of one row's action.
        prior_offsets: Where each agent's slot starts in ``prior_actions`` (``(N,)``).
        prior_size: Length of ``prior_actions``; ``prior_space`` its ``Box`` (as in ``stmg_v0``).
    """

    def __init__(
        self,
        possible_agents: Sequence[Any],
        observation_spaces: Sequence[spaces.Space],
        action_spaces: Sequence[spaces.Space],
    ):
        self.possible_agents = tuple(possible_agents)
        n = self.num_agents = len(self.possible_agents)
        self.observation_spaces = tuple(observation_spaces)
        self.action_spaces = tuple(action_spaces)
        self._init_observations()
        self._init_actions()
        # The prior-action layout of stmg_v0: the same codecs, the same offsets.
        codecs = [ActionCodec(agent, space) for agent, space in zip(self.possible_agents, self.action_spaces)]
        sizes = [codec.size for codec in codecs]
        self.prior_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.prior_size = int(sum(sizes))
        low = np.concatenate([codec.low for codec in codecs]).astype(np.float32)
        high = np.concatenate([codec.high for codec in codecs]).astype(np.float32)
        self.prior_space = spaces.Box(low, high, dtype=np.float32)
        self.mask_space = spaces.MultiBinary(n)
        self.rank_space = spaces.Discrete(n)
        self._arange_size = np.arange(int(np.prod(self.action_shape)) if self.action_kind == "box" else 1)

    # ------------------------------------------------------------------ observations
    def _init_observations(self) -> None:
        inner = self.observation_spaces
        for agent, space in zip(self.possible_agents, inner):
            if isinstance(space, (spaces.Dict, spaces.Tuple)):
                raise TypeError(
                    f"the batched forms expected array observations (Box, Discrete, MultiDiscrete, MultiBinary), got "
                    f"{space} for agent {agent!r}; Dict observations (e.g. with an action mask) are not supported."
                )
        first = inner[0]
        if all(space == first for space in inner[1:]):
            self.padded = False
            self.observation_space = first
            self.observation_shape: tuple[int, ...] = tuple(first.shape or ())
            self.observation_dtype = np.dtype(first.dtype) if first.dtype is not None else np.dtype(np.float64)
            self.sizes = tuple(int(np.prod(self.observation_shape)) for _ in inner)
        else:
            if not all(isinstance(space, spaces.Box) for space in inner):
                raise TypeError(
                    "the batched forms stack the agents' own observations: expected one shared observation space, or "
                    f"Box spaces (flattened and zero-padded to the longest), got {list(inner)}."
                )
            self.padded = True
            boxes = [cast(spaces.Box, space) for space in inner]
            self.sizes = tuple(int(np.prod(space.shape)) for space in boxes)
            width = max(self.sizes)
            self.observation_dtype = np.result_type(*(space.dtype for space in inner))
            low = np.zeros(width, dtype=np.float64)
            high = np.zeros(width, dtype=np.float64)
            for space, size in zip(boxes, self.sizes):
                low[:size] = np.minimum(low[:size], np.asarray(space.low, dtype=np.float64).ravel())
                high[:size] = np.maximum(high[:size], np.asarray(space.high, dtype=np.float64).ravel())
            self.observation_space = spaces.Box(
                low.astype(self.observation_dtype), high.astype(self.observation_dtype), dtype=self.observation_dtype
            )  # type: ignore[arg-type]
            self.observation_shape = (width,)
        self.blanks = np.stack([self.canonical(i, _blank(space)) for i, space in enumerate(inner)])

    def canonical(self, agent: int, observation: Any) -> np.ndarray:
        """Agent ``agent``'s (index) own observation as one row of the batch (a new array)."""
        if not self.padded:
            return np.asarray(observation, dtype=self.observation_dtype).reshape(self.observation_shape)
        out = np.zeros(self.observation_shape, dtype=self.observation_dtype)
        out[: self.sizes[agent]] = np.ravel(observation)
        return out

    def write(self, buffer: np.ndarray, copy: int, agent: int, observation: Any) -> None:
        """Write agent ``agent``'s own observation into ``buffer[copy, agent]`` (padding it when needed)."""
        if not self.padded:
            buffer[copy, agent] = observation
        else:
            row = buffer[copy, agent]
            size = self.sizes[agent]
            row[:size] = np.ravel(observation)
            row[size:] = 0

    # ------------------------------------------------------------------ actions
    def _init_actions(self) -> None:
        acts = self.action_spaces
        if all(type(space) is spaces.Discrete for space in acts):
            self.action_kind = "discrete"
            starts = np.array([int(space.start) for space in acts], dtype=np.int64)  # type: ignore[attr-defined]
            sizes = np.array([int(space.n) for space in acts], dtype=np.int64)  # type: ignore[attr-defined]
            self.action_start, self.action_stop = starts, starts + sizes
            low, high = int(starts.min()), int((starts + sizes).max())
            first = acts[0]
            same = all(space == first for space in acts[1:])
            self.action_space: spaces.Space = first if same else spaces.Discrete(high - low, start=low)
            self.action_shape: tuple[int, ...] = ()
            self.action_dtype = np.dtype(np.int64)
            self._uniform_bounds = bool(np.all(starts == starts[0]) and np.all(sizes == sizes[0]))
            self._low, self._high = int(starts[0]), int(starts[0] + sizes[0])
            return
        if all(type(space) is spaces.Box for space in acts):
            first = acts[0]
            if any(space.shape != first.shape or space.dtype != first.dtype for space in acts[1:]):
                raise TypeError(
                    "the batched forms stack the agents' actions: expected Box action spaces of one shape and dtype, "
                    f"got {list(acts)}."
                )
            self.action_kind = "box"
            self.action_shape = tuple(first.shape or ())
            self.action_dtype = np.dtype(first.dtype)  # type: ignore[assignment]
            self.action_low = np.stack([np.asarray(space.low, dtype=np.float64) for space in acts])  # type: ignore[attr-defined]
            self.action_high = np.stack([np.asarray(space.high, dtype=np.float64) for space in acts])  # type: ignore[attr-defined]
            self._uniform_bounds = bool(
                np.all(self.action_low == self.action_low[0]) and np.all(self.action_high == self.action_high[0])
            )
            low0, high0 = self.action_low[0], self.action_high[0]
            finite = bool(np.isfinite(low0).all() and np.isfinite(high0).all())
            self._uniform_box: tuple[float, float] | None = None
            if self._uniform_bounds and finite and (low0 == low0.flat[0]).all() and (high0 == high0.flat[0]).all():
                self._uniform_box = (float(low0.flat[0]), float(high0.flat[0]))
            same = all(space == first for space in acts[1:])
            if same:
                self.action_space = first
            else:
                self.action_space = spaces.Box(
                    self.action_low.min(axis=0).astype(self.action_dtype),
                    self.action_high.max(axis=0).astype(self.action_dtype),
                    dtype=self.action_dtype,
                )  # type: ignore[arg-type]
            return
        raise TypeError(
            "the batched forms stack the agents' actions: expected every agent to have a Discrete action space, or "
            f"every agent a Box of one shape and dtype, got {list(acts)}."
        )

    def _fail(self, where: str, message: str) -> InvalidActionError:
        return InvalidActionError(f"invalid actions {where}: {message}. Nothing was changed; pass valid actions.")

    def _check_values(self, where: str, arr: np.ndarray, rows: np.ndarray, agents: np.ndarray, label: str) -> None:
        """Check that ``arr`` (one action per row of ``rows``, agent ``agents``) lies in the agents' spaces."""
        if self.action_kind == "discrete":
            if self._uniform_bounds:
                if len(arr) and arr.min() >= self._low and arr.max() < self._high:
                    return
                bad = (arr < self._low) | (arr >= self._high)
            else:
                bad = (arr < self.action_start[agents]) | (arr >= self.action_stop[agents])
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                agent = int(agents[j])
                raise self._fail(
                    where,
                    f"expected {label} {int(rows[j])}'s action (agent {self.possible_agents[agent]!r}, "
                    f"{self.action_spaces[agent]}) to be an integer in [{int(self.action_start[agent])}, "
                    f"{int(self.action_stop[agent]) - 1}], got {arr[j].item()!r}",
                )
            return
        flat = arr.reshape(len(arr), -1)
        if self._uniform_box is not None and len(flat):  # one finite [lo, hi]: two reductions (NaN fails them)
            lo, hi = self._uniform_box
            if flat.min() >= lo and flat.max() <= hi:
                return
        if self._uniform_bounds:
            low, high = self.action_low[0].reshape(1, -1), self.action_high[0].reshape(1, -1)
        else:
            low, high = self.action_low[agents].reshape(len(arr), -1), self.action_high[agents].reshape(len(arr), -1)
        finite = np.isfinite(flat)
        bad_rows = ~(finite & (flat >= low) & (flat <= high)).all(axis=1)
        if bad_rows.any():
            j = int(np.flatnonzero(bad_rows)[0])
            agent = int(agents[j])
            reason = "finite values" if not finite[j].all() else "values within its bounds (actions are not clipped)"
            raise self._fail(
                where,
                f"expected {label} {int(rows[j])}'s action (agent {self.possible_agents[agent]!r}, "
                f"{self.action_spaces[agent]}) to hold {reason}, got {np.array2string(arr[j], precision=4)}",
            )

    def _as_array(self, actions: Any, shape: tuple[int, ...], where: str, what: str) -> np.ndarray:
        arr = actions if type(actions) is np.ndarray else np.asarray(actions)
        kinds = "iu" if self.action_kind == "discrete" else "fiu"
        if arr.shape != shape or arr.dtype.kind not in kinds:
            dtype = "an integer dtype" if self.action_kind == "discrete" else "a real dtype"
            raise self._fail(where, f"expected an array of shape {shape} ({what}) with {dtype}, got {_describe(arr)}")
        return arr

    def check_rank(
        self, actions: Any, agents: np.ndarray, active: np.ndarray | None, rank: int, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Check the actions of one rank: ``(K, *action_shape)``, row ``k`` the action of agent ``agents[k]``.

        Rows where ``active`` is false are not read (``active=None``: every row is active, and ``rows`` may pass
        ``np.arange(K)``). Returns the actions as an array (a view where possible).
        """
        k = len(agents)
        where = f"at rank {rank}"
        arr = self._as_array(actions, (k, *self.action_shape), where, "one action per copy")
        if active is None:
            self._check_values(where, arr, np.arange(k) if rows is None else rows, agents, "copy")
        else:
            chosen = np.flatnonzero(active)
            self._check_values(where, arr[chosen], chosen, agents[chosen], "copy")
        return arr

    def check_joint(self, actions: Any, live: np.ndarray) -> np.ndarray:
        """Check a joint action of every copy, ``(K, N, *action_shape)``; entries of agents not ``live`` are not read."""
        k, n = live.shape
        where = "of the joint step"
        arr = self._as_array(actions, (k, n, *self.action_shape), where, "one action per copy and agent")
        rows, agents = np.nonzero(live)
        self._check_values(where, arr[rows, agents], rows, agents, "copy")
        return arr

    def encode(self, prior: np.ndarray, rows: np.ndarray, agents: np.ndarray, actions: np.ndarray) -> None:
        """Write the checked ``actions`` of ``agents`` into their ``prior_actions`` slots of ``prior[rows]``."""
        if self.action_kind == "discrete":
            prior[rows, self.prior_offsets[agents] - self.action_start[agents] + actions] = 1.0
        else:
            columns = self.prior_offsets[agents][:, None] + self._arange_size[None, :]
            prior[rows[:, None], columns] = actions.reshape(len(rows), -1)
