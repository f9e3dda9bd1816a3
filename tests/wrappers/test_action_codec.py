"""ActionCodec's Box check: every route (small boxes with one or several bounds, infinite bounds, large boxes)
accepts exactly the finite, in-bounds actions of the right shape."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from stmg_envs import InvalidActionError
from stmg_envs.wrappers.action_codec import _SMALL_BOX, ActionCodec

BOXES = {
    # small, one finite [lo, hi] for every entry: the route MuJoCo torques take
    "uniform": spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32),
    # small, a different finite bound per entry
    "per_entry": spaces.Box(np.array([-1.0, 0.0, -3.0], np.float32), np.array([1.0, 2.0, -2.0], np.float32)),
    # small, some bounds infinite: finiteness must be checked on its own
    "half_open": spaces.Box(np.array([-np.inf, 0.0]), np.array([0.0, np.inf]), dtype=np.float64),
    # small, several dimensions
    "matrix": spaces.Box(-2.0, 2.0, shape=(2, 3), dtype=np.float32),
    # above _SMALL_BOX: NumPy reductions
    "large": spaces.Box(-1.0, 1.0, shape=(_SMALL_BOX + 4,), dtype=np.float32),
}

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1.0000001, -1.0000001, 2.0, -2.0, -3.0, 1e300, -1e300]


def expected_valid(space: spaces.Box, action: np.ndarray) -> bool:
    return bool(np.isfinite(action).all() and (action >= space.low).all() and (action <= space.high).all())


@pytest.mark.parametrize("name", BOXES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_box_check_accepts_exactly_the_finite_in_bounds_actions(name, data):
    """Whatever route a Box takes, check() returns the action (in the space's dtype) iff it is finite and in bounds."""
    space = BOXES[name]
    codec = ActionCodec("agent", space)
    size = int(np.prod(space.shape))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64]))
    values = data.draw(
        st.lists(
            st.one_of(st.sampled_from(SPECIAL), st.floats(-4, 4), st.integers(-4, 4)),
            min_size=size,
            max_size=size,
        )
    )
    with np.errstate(invalid="ignore", over="ignore"):
        action = np.array(values, dtype=np.float64).astype(dtype).reshape(space.shape)
    if expected_valid(space, action):
        out = codec.check(action)
        assert out.dtype == space.dtype and out.shape == space.shape
        np.testing.assert_array_equal(out, action.astype(space.dtype))
        assert codec.fast_path(0).check(action) is not None
    else:
        for check in (codec.check, codec.fast_path(0).check):
            with pytest.raises(InvalidActionError, match="agent"):
                check(action)


def test_uniform_route_is_taken_only_for_finite_equal_bounds():
    """The one-pair route needs every bound finite and equal; the others keep their per-entry or NumPy checks."""
    assert ActionCodec("a", BOXES["uniform"])._uniform == (-1.0, 1.0)
    for name in ("per_entry", "half_open", "large"):
        assert ActionCodec("a", BOXES[name])._uniform is None, name
