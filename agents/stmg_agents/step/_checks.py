"""Argument checks shared by the STEP modules (each raises ``ValueError`` saying what was expected)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_int", "check_widths"]


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer ``>= minimum`` (not a bool), else ``ValueError``.

    Examples:
        >>> check_int(np.int64(3), "n_envs")
        3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"expected {name} to be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_widths(value: Any, name: str) -> tuple[int, ...]:
    """A sequence of layer widths (each an integer >= 1) as a tuple, else ``ValueError``.

    Examples:
        >>> check_widths([64, 64], "net_arch")
        (64, 64)
    """
    try:
        widths = tuple(value)
    except TypeError:
        raise ValueError(f"expected {name} to be a sequence of layer widths such as (64,), got {value!r}.") from None
    return tuple(check_int(w, f"every width in {name}") for w in widths)
