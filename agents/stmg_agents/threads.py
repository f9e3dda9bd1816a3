"""Torch's thread count belongs to the caller, not to an algorithm.

No algorithm of this package changes torch's process-wide thread count: the benchmark
harness runs every trial with one thread (:func:`stmg_bench.sweep.execution.single_threaded`),
and a script or a user sets it around ``learn`` with ``torch.set_num_threads`` (one thread is
fastest for these small networks).

The old keywords ``torch_threads`` (STEP) and ``torch_num_threads`` (MAPPO, IPPO) still work
for one release: given a number, they warn (``DeprecationWarning``) and set that many threads
for the duration of ``learn`` only, restoring the previous count after it (MAPPO and IPPO used
to set it when built and never restore it). ``None``, their new default, leaves the count alone.

Examples:
    >>> import torch, warnings
    >>> before = torch.get_num_threads()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     n = deprecated_threads(1, "torch_threads", "STEP")
    >>> n, caught[0].category.__name__
    (1, 'DeprecationWarning')
    >>> with scoped_threads(n):
    ...     inside = torch.get_num_threads()
    >>> inside, torch.get_num_threads() == before
    (1, True)
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["deprecated_threads", "scoped_threads"]


def deprecated_threads(value: Any, name: str, algorithm: str, *, stacklevel: int = 3) -> int | None:
    """Check a deprecated thread-count keyword: ``None`` passes silently; a number warns and is returned.

    Raises:
        ValueError: ``value`` is neither ``None`` nor an int >= 1.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected `{name}` to be an int >= 1 or None, got {value!r}.")
    warnings.warn(
        f"{algorithm}'s `{name}` is deprecated and will be removed in the next release: torch's thread count is "
        f"the caller's setting (the benchmark harness runs every trial with one thread); call "
        f"torch.set_num_threads({value}) around learn() instead. Until then it applies during learn() only.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return value


@contextlib.contextmanager
def scoped_threads(n: int | None) -> Iterator[None]:
    """``n`` torch intra-op threads inside the block, the previous count restored after; ``None`` changes nothing."""
    if n is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
