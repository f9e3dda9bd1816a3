"""Silence exactly two messages that MuJoCo and Gymnasium-Robotics print on the way, and nothing else.

* MuJoCo 3.x warns "compiler attribute 'settotalmass' is deprecated ..." from C
  whenever it compiles Gymnasium's HalfCheetah model (and appends it to
  ``MUJOCO_LOG.TXT`` in the working directory). It is not a Python warning, so
  ``warnings.filterwarnings`` cannot catch it; :func:`quiet_model_compilation`
  installs MuJoCo's own warning hook (``mujoco.set_mju_user_warning``) around a
  compilation and drops that one message. Any other MuJoCo warning raised there
  is passed to the hook that was installed before, or, when there was none,
  printed and logged as MuJoCo's default handler does.
* Importing ``gymnasium_robotics`` 1.2.1-1.4.2 prints a notice about the Adroit
  hand tasks' reward functions (from the ``farama_notifications`` package) to
  stderr; none of this package's tasks is an Adroit task.
  :func:`import_gymnasium_robotics` imports it with that project's notifications
  held back for the import only; every other project's notifications stay.

Examples:
    >>> from stmg_envs.mujoco.quiet import is_silenced
    >>> is_silenced("compiler attribute 'settotalmass' is deprecated and will be removed")
    True
    >>> is_silenced("Nan, Inf or huge value in QACC at DOF 0")
    False
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from types import ModuleType

__all__ = ["SILENCED_WARNINGS", "is_silenced", "quiet_model_compilation", "import_gymnasium_robotics"]

#: The starts of the MuJoCo warnings that :func:`quiet_model_compilation` drops.
SILENCED_WARNINGS: tuple[str, ...] = ("compiler attribute 'settotalmass' is deprecated",)


def is_silenced(message: str) -> bool:
    """Whether ``message`` (a MuJoCo warning's text) is one that this module drops."""
    return message.startswith(SILENCED_WARNINGS)


def _default_warning(message: str) -> None:
    """What MuJoCo's own handler does with a warning: print it to stderr and append it to the log file."""
    sys.stderr.write(f"WARNING: {message}\n\n")
    sys.stderr.flush()
    with contextlib.suppress(OSError), open("MUJOCO_LOG.TXT", "a") as log:
        log.write(f"WARNING {time.ctime()}: {message}\n\n")


@contextlib.contextmanager
def quiet_model_compilation() -> Iterator[None]:
    """Within the block, MuJoCo's ``settotalmass`` deprecation warning is dropped; all others go through.

    The previous warning hook is restored on exit, also when the block raises.
    """
    import mujoco

    previous = mujoco.get_mju_user_warning()

    def handler(message: str) -> None:
        if is_silenced(message):
            return
        if previous is not None:
            previous(message)
        else:
            _default_warning(message)

    mujoco.set_mju_user_warning(handler)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def import_gymnasium_robotics() -> ModuleType:
    """``import gymnasium_robotics`` without its Adroit reward-function notice (a no-op if already imported)."""
    if "gymnasium_robotics" in sys.modules:
        return sys.modules["gymnasium_robotics"]
    try:
        from farama_notifications import notifications
    except ImportError:  # nothing would be printed
        notifications = {}
    held = notifications.pop("gymnasium_robotics", None)
    try:
        import gymnasium_robotics
    finally:
        if held is not None:
            notifications["gymnasium_robotics"] = held
    return gymnasium_robotics
