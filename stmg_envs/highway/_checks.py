"""Argument checks shared by the highway tasks: one clear message per mistake."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_bool", "check_choice", "check_int", "check_real"]


def check_bool(owner: str, name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner} expected `{name}` to be True or False, got {value!r} ({type(value).__name__}).")
    return bool(value)


def check_choice(owner: str, name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if not isinstance(value, (str, type(None))) or value not in choices:
        raise ValueError(f"{owner} expected `{name}` to be one of {tuple(choices)!r}, got {value!r}.")
    return value


def check_int(owner: str, name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``, else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner} expected `{name}` to be an integer, got {value!r} ({type(value).__name__}).")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{owner} expected `{name}` {bounds}, got {value}.")
    return int(value)


def check_real(owner: str, name: str, value: Any, *, positive: bool = False) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number (``> 0`` if ``positive``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} expected `{name}` to be a real number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        kind = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"{owner} expected `{name}` to be {kind}, got {value}.")
    return value
