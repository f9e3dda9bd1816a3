"""Check one agent's action against its space and encode it as numbers.

The STMG shows each agent the actions its superiors chose this step. Those
actions are laid out as flat float32 vectors: a ``Discrete`` action becomes a
one-hot vector, a ``MultiDiscrete`` one a concatenation of one-hots, a ``Box``
or ``MultiBinary`` one its values, anything else Gymnasium's ``flatten``.

An :class:`ActionCodec` is built once per agent and does both jobs on the hot
path of :class:`~stmg_envs.wrappers.STMGEnv`: :meth:`ActionCodec.check` rejects
a bad action with an error that names the agent, the value and the space, and
:meth:`ActionCodec.encode_into` writes a valid one into a buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

import numpy as np
from gymnasium import spaces

__all__ = ["ActionCodec", "FastPath", "InvalidActionError"]


class FastPath(NamedTuple):
    """How to write one agent's actions into a flat prior-action vector on the hot path (:meth:`ActionCodec.fast_path`).

    Attributes:
        int_low: A plain ``int`` in ``[int_low, int_high)`` is valid as it is (a ``Discrete`` action) ...
        int_high: ... (``int_low == int_high``: no such shortcut, for every other space) ...
        one_hot_at: ... and goes to slot ``one_hot_at + action`` of the vector (set to 1).
        check: Validates any other action and returns it in the space's form (:meth:`ActionCodec.check`).
        flat_slot: Where a checked flat 1-D action (``Box``, ``MultiBinary``) is copied as it is, or ``None``
            (then :meth:`ActionCodec.encode_into` writes it).
    """

    int_low: int
    int_high: int
    one_hot_at: int
    check: Callable[[Any], Any]
    flat_slot: slice | None


#: Box actions up to this many entries are checked with plain Python floats (faster than NumPy for few values).
_SMALL_BOX = 16


class InvalidActionError(ValueError):
    """An action that is not an element of the acting agent's action space."""


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        body = np.array2string(value, threshold=8, precision=4)
        return f"array({body}, dtype={value.dtype}, shape={value.shape})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ActionCodec:
    """Validation and flat encoding of the actions of one agent.

    Args:
        agent: The agent's name (used in error messages).
        space: The agent's action space.

    Attributes:
        size: Length of the encoded action.
        int_range: ``(start, stop)`` of a ``Discrete`` space's integers, ``None`` for other spaces.
        low: Lower bound of every encoded entry (float32, never above 0).
        high: Upper bound of every encoded entry (float32, never below 0).

    Examples:
        >>> from gymnasium import spaces
        >>> codec = ActionCodec("agent_0", spaces.Discrete(3))
        >>> codec.encode(codec.check(2))
        array([0., 0., 1.], dtype=float32)
        >>> codec.check(3)
        Traceback (most recent call last):
        ...
        stmg_envs.wrappers.action_codec.InvalidActionError: invalid action for agent 'agent_0': expected an element of Discrete(3) (an integer in [0, 2]), got 3. Pass a valid action, or None only when the agent is terminated or truncated.
    """

    def __init__(self, agent: Any, space: spaces.Space):
        self.agent = agent
        self.space = space
        self._bounds: list[tuple[float, float]] | None = None
        self._uniform: tuple[float, float] | None = None
        self.int_range: tuple[int, int] | None = None
        if isinstance(space, spaces.Discrete):
            self.kind = "discrete"
            self._n = int(space.n)
            self._start = int(space.start)
            self.int_range = (self._start, self._start + self._n)
            self.size = self._n
            low, high = np.zeros(self.size), np.ones(self.size)
        elif isinstance(space, spaces.MultiDiscrete):
            self.kind = "multidiscrete"
            nvec = np.asarray(space.nvec).ravel()
            self._nvec = nvec
            self._mstart = np.asarray(space.start).ravel()
            self._offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.intp)
            self.size = int(nvec.sum())
            low, high = np.zeros(self.size), np.ones(self.size)
        elif isinstance(space, spaces.Box):
            self.kind = "box"
            self.size = int(np.prod(space.shape))
            low = np.asarray(space.low, dtype=np.float64).ravel()
            high = np.asarray(space.high, dtype=np.float64).ravel()
            if self.size <= _SMALL_BOX:
                self._bounds = list(zip(low.tolist(), high.tolist()))
                if (
                    self.size
                    and np.isfinite(low).all()
                    and np.isfinite(high).all()
                    and ((low == low[0]).all() and (high == high[0]).all())
                ):
                    # One finite [lo, hi] for every entry (e.g. torques in [-1, 1]): a single pair to compare with.
                    self._uniform = (float(low[0]), float(high[0]))
        elif isinstance(space, spaces.MultiBinary):
            self.kind = "multibinary"
            self.size = int(np.prod(space.shape))
            low, high = np.zeros(self.size), np.ones(self.size)
        else:
            self.kind = "generic"
            flat = spaces.flatten_space(space)
            if not isinstance(flat, spaces.Box):
                raise TypeError(
                    f"stmg_v0 cannot encode the actions of agent {agent!r}: expected an action space that "
                    f"Gymnasium can flatten to a Box, got {space}."
                )
            self.size = int(np.prod(flat.shape))
            low = np.asarray(flat.low, dtype=np.float64).ravel()
            high = np.asarray(flat.high, dtype=np.float64).ravel()
        # An empty slot reads 0, so 0 must lie inside the bounds.
        self.low = np.minimum(low, 0.0).astype(np.float32)
        self.high = np.maximum(high, 0.0).astype(np.float32)
        self._shape = space.shape
        self._dtype = space.dtype

    def fast_path(self, offset: int) -> FastPath:
        """The shortcuts for writing this agent's actions at ``offset`` of a flat prior-action vector.

        Examples:
            >>> from gymnasium import spaces
            >>> ActionCodec("agent_0", spaces.Discrete(3, start=1)).fast_path(offset=4)[:3]
            (1, 4, 3)
            >>> ActionCodec("agent_1", spaces.Box(-1, 1, (2,))).fast_path(offset=4).flat_slot
            slice(4, 6, None)
        """
        low, high = self.int_range if self.int_range is not None else (0, 0)
        flat = self.kind in ("box", "multibinary") and len(self.space.shape or ()) == 1
        return FastPath(
            int_low=low,
            int_high=high,
            one_hot_at=offset - low,
            check=self._check_box if self.kind == "box" else self.check,
            flat_slot=slice(offset, offset + self.size) if flat else None,
        )

    # ------------------------------------------------------------------ checking
    def _fail(self, action: Any, reason: str) -> InvalidActionError:
        return InvalidActionError(
            f"invalid action for agent {self.agent!r}: expected {reason}, got {_describe(action)}. "
            "Pass a valid action, or None only when the agent is terminated or truncated."
        )

    def check(self, action: Any) -> Any:
        """Return ``action`` in the form to hand to the parallel env, or raise :class:`InvalidActionError`.

        Integers are accepted for ``Discrete`` spaces (not floats, not bools);
        real arrays of the right shape, finite and within bounds for ``Box``
        spaces (cast to the space's dtype).
        """
        kind = self.kind
        if kind == "discrete":
            if type(action) is int or (isinstance(action, np.integer) and not isinstance(action, np.bool_)):
                pass
            elif isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
                action = action.item()
            else:
                raise self._fail(
                    action, f"an element of {self.space} (an integer in [{self._start}, {self._start + self._n - 1}])"
                )
            if not self._start <= action < self._start + self._n:
                raise self._fail(
                    action, f"an element of {self.space} (an integer in [{self._start}, {self._start + self._n - 1}])"
                )
            return int(action)
        if kind == "box":
            return self._check_box(action)
        if kind == "multidiscrete":
            arr = np.asarray(action) if _is_real_sequence(action) or isinstance(action, np.ndarray) else None
            if arr is None or not np.issubdtype(arr.dtype, np.integer) or arr.shape != self.space.shape:
                raise self._fail(action, f"an integer array of shape {self.space.shape} for {self.space}")
            if not self.space.contains(arr.astype(self.space.dtype)):
                raise self._fail(action, f"an element of {self.space}")
            return arr.astype(self.space.dtype, copy=False)
        if kind == "multibinary":
            arr = np.asarray(action) if _is_real_sequence(action) or isinstance(action, np.ndarray) else None
            if (
                arr is None
                or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_)
                or arr.shape != self.space.shape
            ):
                raise self._fail(action, f"a 0/1 integer array of shape {self.space.shape} for {self.space}")
            if not np.all((arr == 0) | (arr == 1)):
                raise self._fail(action, f"only 0 and 1 for {self.space}")
            return arr.astype(self.space.dtype, copy=False)
        try:
            ok = self.space.contains(action)
        except Exception:  # contains() of exotic spaces may raise on foreign types
            ok = False
        if not ok:
            raise self._fail(action, f"an element of {self.space}")
        return action

    def _check_box(self, action: Any) -> Any:
        """:meth:`check` for a ``Box``: the usual array (right shape, real dtype) first, on the quickest route."""
        space, dtype = cast(spaces.Box, self.space), self._dtype
        if type(action) is np.ndarray and action.shape == self._shape and action.dtype.kind in "fiu":
            uniform = self._uniform
            if uniform is not None:  # small box, finite and equal bounds: plain floats, one pair
                lo, hi = uniform
                for value in action.ravel().tolist():
                    if not lo <= value <= hi:  # NaN fails the comparison; infinities lie outside finite bounds
                        break
                else:
                    return action if action.dtype is dtype or action.dtype == dtype else action.astype(dtype)
            elif self._bounds is not None:  # small box: plain floats are faster than NumPy reductions
                for value, (lo, hi) in zip(action.ravel().tolist(), self._bounds):
                    # NaN fails both comparisons; v - v != 0 catches infinities.
                    if not (lo <= value <= hi) or value - value != 0:
                        break
                else:
                    return action if action.dtype is dtype or action.dtype == dtype else action.astype(dtype)
            elif np.isfinite(action).all() and (action >= space.low).all() and (action <= space.high).all():
                return action if action.dtype == dtype else action.astype(dtype)
        arr = action if isinstance(action, np.ndarray) else np.asarray(action) if _is_real_sequence(action) else None
        if (
            arr is None
            or arr.dtype == np.bool_
            or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer))
        ):
            raise self._fail(action, f"a real-valued array for {space}")
        if arr.shape != space.shape:
            raise self._fail(action, f"an array of shape {space.shape} for {space}")
        if not np.all(np.isfinite(arr)):
            raise self._fail(action, f"finite values (no NaN or infinity) for {space}")
        if not (np.all(arr >= space.low) and np.all(arr <= space.high)):
            raise self._fail(action, f"values within the bounds of {space} (the action is not clipped for you)")
        return arr.astype(space.dtype, copy=False)

    # ------------------------------------------------------------------ encoding
    def encode_into(self, buffer: np.ndarray, offset: int, action: Any) -> None:
        """Write the encoding of a *checked* action into ``buffer[offset:offset + size]``.

        The slot must be zero beforehand (one-hot encodings only set ones).
        """
        kind = self.kind
        if kind == "discrete":
            buffer[offset + action - self._start] = 1.0
        elif kind in {"box", "multibinary"}:
            buffer[offset : offset + self.size] = action.reshape(-1)
        elif kind == "multidiscrete":
            buffer[offset + self._offsets + (np.ravel(action) - self._mstart)] = 1.0
        else:
            buffer[offset : offset + self.size] = spaces.flatten(self.space, action)

    def encode(self, action: Any) -> np.ndarray:
        """The float32 encoding of a *checked* action."""
        out = np.zeros(self.size, dtype=np.float32)
        self.encode_into(out, 0, action)
        return out


def _is_real_sequence(value: Any) -> bool:
    """True for numbers and (nested) lists/tuples of them; rejects strings and other objects."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_real_sequence(v) for v in value)
    return False
