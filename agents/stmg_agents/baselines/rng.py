"""Per-agent random streams for libraries that draw from the global generators.

SB3 samples actions with torch's global generator and shuffles mini-batches
with NumPy's; two agents built in one process would therefore disturb each
other's runs. :class:`GlobalRngScope` gives each agent its own copy of the
global states (Python ``random``, NumPy, torch CPU) and swaps it in only
while that agent runs, so that a seeded run gives the same result whatever
else the process does.

Examples:
    >>> import torch
    >>> from stmg_agents.baselines.rng import GlobalRngScope
    >>> a, b = GlobalRngScope(7), GlobalRngScope(7)
    >>> with a:
    ...     x = torch.rand(1)
    >>> _ = torch.rand(5)  # the outside stream does not disturb the scopes
    >>> with b:
    ...     y = torch.rand(1)
    >>> bool(x == y)
    True
"""

from __future__ import annotations

import random
from types import TracebackType
from typing import Any

import numpy as np
import torch

__all__ = ["GlobalRngScope"]


def _capture() -> tuple[Any, Any, torch.Tensor]:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _restore(state: tuple[Any, Any, torch.Tensor]) -> None:
    py_state, np_state, torch_state = state
    random.setstate(py_state)
    np.random.set_state(np_state)
    torch.set_rng_state(torch_state)


class GlobalRngScope:
    """A private copy of the global random states, active inside ``with``.

    Args:
        seed: Seed of the private streams (``random``, NumPy and torch are all
            seeded with it, as ``stable_baselines3.common.utils.set_random_seed`` does).

    Scopes do not nest: entering a scope that is already active raises.
    """

    def __init__(self, seed: int) -> None:
        outer = _capture()
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        self._state = _capture()
        _restore(outer)
        self._outer: tuple[Any, Any, torch.Tensor] | None = None

    def __enter__(self) -> GlobalRngScope:
        if self._outer is not None:
            raise RuntimeError("GlobalRngScope is already active; scopes do not nest.")
        self._outer = _capture()
        _restore(self._state)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._outer is not None
        self._state = _capture()
        _restore(self._outer)
        self._outer = None
