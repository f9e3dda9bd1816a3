"""Tests of the helpers shipped in ``stmg_envs.testing``."""

from __future__ import annotations

import numpy as np
import pytest

from stmg_envs.testing import assert_same


@pytest.mark.parametrize(
    "a, b",
    [
        (np.zeros(2, np.float32), np.zeros(2, np.float64)),  # same values, other dtype
        ({"x": 1, "y": 2}, {"y": 2, "x": 1}),  # same items, other key order
        ((1, 2), [1, 2]),  # tuple vs list
        (1, 1.0),  # int vs float
        (np.int64(1), 1),  # NumPy scalar vs Python int
    ],
)
def test_assert_same_exact_also_compares_form(a, b):
    """Equal values in another form pass by default and fail with exact=True (what the hot-path test relies on)."""
    assert_same(a, b, "x")
    with pytest.raises(AssertionError):
        assert_same(a, b, "x", exact=True)


def test_assert_same_rejects_different_values_and_accepts_nan_in_both():
    """Different values fail in both modes; NaN in the same place counts as equal."""
    for exact in (False, True):
        with pytest.raises(AssertionError, match="where"):
            assert_same({"a": np.array([1.0, 2.0])}, {"a": np.array([1.0, 3.0])}, "where", exact)
        assert_same([float("nan"), np.array([np.nan])], [float("nan"), np.array([np.nan])], "nan", exact)
