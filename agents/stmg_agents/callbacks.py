"""The training callbacks the algorithms take: Stable-Baselines3's, and the benchmark contract's ``callback(num_timesteps)``.

:func:`sb3_callback` is the one place that tells the forms apart (the ``learn`` of MAPPO, IPPO, STEP and
seq-ppo take every one of them; STEP's through SB3's ``_init_callback`` hook); :class:`ProgressAfterUpdate` runs
the contract's form inside SB3's callback events.

Examples:
    >>> from stable_baselines3.common.callbacks import CallbackList, ConvertCallback
    >>> type(sb3_callback(lambda num_timesteps: True)).__name__          # the contract's form
    'ProgressAfterUpdate'
    >>> type(sb3_callback(lambda locals_, globals_: True)).__name__      # SB3's callable form
    'ConvertCallback'
    >>> type(sb3_callback([])).__name__, type(sb3_callback(None)).__name__
    ('CallbackList', 'ConvertCallback')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback

__all__ = ["ProgressAfterUpdate", "sb3_callback"]


class ProgressAfterUpdate(BaseCallback):
    """SB3's callback events turned into the benchmark contract's: ``callback(num_timesteps)`` after every update.

    SB3 has no hook after an update (PPO's ``train()``); the start of the next rollout and the end of
    training are the moments right after one. ``num_timesteps`` is the model's (``self.model``: the
    algorithm that fires the events). A ``False`` stops training at the next environment step.

    Args:
        callback: ``callback(num_timesteps)``; returning ``False`` stops training.
    """

    def __init__(self, callback: Callable[[int], Any]) -> None:
        super().__init__()
        self._callback = callback
        self._updates_seen = 0
        self._stop = False

    def _report(self) -> None:
        if self._callback(int(self.model.num_timesteps)) is False:
            self._stop = True

    def _on_rollout_start(self) -> None:
        if self._updates_seen:
            self._report()
        self._updates_seen += 1

    def _on_step(self) -> bool:
        return not self._stop

    def _on_training_end(self) -> None:
        if not self._stop:
            self._report()


def _takes(function: Any, n_arguments: int) -> bool:
    """Whether ``function`` can be called with ``n_arguments`` positional arguments (unknown: True)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: SB3's form, as before the contract's
        return True
    try:
        signature.bind(*range(n_arguments))
    except TypeError:
        return False
    return True


def sb3_callback(callback: Any) -> BaseCallback:
    """The SB3 ``BaseCallback`` for any callback form ``learn`` takes (the one place that tells them apart).

    * ``None``: none (SB3's ``ConvertCallback(None)``, which does nothing);
    * a ``BaseCallback``, or a list of them (SB3's ``CallbackList``): as SB3 runs them;
    * a callable that can be called as ``callback(locals, globals)`` (two arguments): SB3's callable form, called
      at every step (SB3's ``ConvertCallback``); ``False`` stops training;
    * a callable that takes one argument only: the benchmark contract's ``callback(num_timesteps)``
      (:mod:`stmg_bench.contract`), called after every update (:class:`ProgressAfterUpdate`); ``False`` stops.

    A callable whose signature cannot be read counts as SB3's form, as every callable did before the contract's.

    Raises:
        TypeError: none of these (a callable taking neither one nor two arguments included).
    """
    if isinstance(callback, list):
        return CallbackList(callback)
    if callback is None or isinstance(callback, BaseCallback):
        return ConvertCallback(None) if callback is None else callback
    if callable(callback):
        if _takes(callback, 2):
            return ConvertCallback(callback)
        if _takes(callback, 1):
            return ProgressAfterUpdate(callback)
    raise TypeError(
        f"expected `callback` to be a stable_baselines3 BaseCallback, a list of them, a callable "
        f"callback(num_timesteps) (the benchmark contract's, after every update), a callable "
        f"callback(locals, globals) (SB3's, at every step) or None, got {callback!r}."
    )
