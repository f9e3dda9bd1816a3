"""The entropy bonus of every built-in algorithm: a number, a linear ``(start, end)`` schedule, or SB3's callable.

STEP, seq-ppo, MAPPO and IPPO take ``ent_coef`` in one of three forms, checked by
:func:`check_ent_coef` and read at every update by :func:`ent_coef_at`:

* a number ``>= 0``: the same bonus for the whole of training;
* a pair ``(start, end)`` (a list from JSON too): a bonus that moves linearly from
  ``start`` at the beginning of ``learn`` to ``end`` at its end, SB3's
  ``LinearSchedule(start, end, 1.0)``: strong exploration early, fading. This is the
  form a benchmark gives every algorithm alike (``--ent-coef 0.6,0.05``), and the one
  that MAPPO's and IPPO's configurations store (they are saved as JSON);
* (STEP and seq-ppo) a callable of the progress remaining (1 at the start of ``learn``,
  0 at its end), SB3's convention for ``learning_rate`` and ``clip_range``.

Examples:
    >>> check_ent_coef([0.6, 0.05])
    (0.6, 0.05)
    >>> round(ent_coef_at((0.6, 0.05), 1.0), 3), round(ent_coef_at((0.6, 0.05), 0.5), 3), ent_coef_at(0.05, 0.3)
    (0.6, 0.325, 0.05)
    >>> check_ent_coef(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: expected ent_coef to be a finite number >= 0, or [start, end] (a linear schedule from start to end over training), or a callable of the progress remaining; got -1.0.

Version history:
    * 0.1.0: added (STEP took a callable before; the baselines a number).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["EntCoef", "check_ent_coef", "ent_coef_at"]

#: A bonus, a linear ``(start, end)`` schedule, or a callable of the progress remaining.
EntCoef = float | tuple[float, float] | Callable[[float], float]


def _bonus(value: Any) -> float | None:
    """``value`` as a float when it is a finite number ``>= 0``, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0.0 else None


def check_ent_coef(value: Any, name: str = "ent_coef", *, allow_callable: bool = True) -> EntCoef:
    """``value`` as an entropy bonus: a float, a ``(start, end)`` tuple of floats, or (if allowed) the callable.

    Args:
        value: The bonus as given: a number, a pair (list or tuple) of numbers, or a callable.
        name: How the error message names the argument (e.g. ``"`ent_coef`"``).
        allow_callable: False where the setting must stay JSON-friendly (MAPPO's and IPPO's configurations).

    Raises:
        ValueError: anything else, saying what was expected and what was given.
    """
    if allow_callable and callable(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        pair = tuple(_bonus(v) for v in value)
        if None not in pair:
            return pair  # type: ignore[return-value]
    elif (number := _bonus(value)) is not None:
        return number
    callable_text = ", or a callable of the progress remaining" if allow_callable else ""
    raise ValueError(
        f"expected {name} to be a finite number >= 0, or [start, end] (a linear schedule from start to end over "
        f"training){callable_text}; got {value!r}."
    )


def ent_coef_at(value: EntCoef, progress_remaining: float) -> float:
    """The bonus of an update at ``progress_remaining`` (1 at the start of ``learn``, 0 at its end).

    A number is returned as it is; a pair goes through SB3's ``LinearSchedule(start, end, 1.0)``; a
    callable is called.
    """
    if isinstance(value, tuple):
        from stable_baselines3.common.utils import LinearSchedule

        return float(LinearSchedule(value[0], value[1], 1.0)(progress_remaining))
    if callable(value):
        return float(value(progress_remaining))
    return float(value)
