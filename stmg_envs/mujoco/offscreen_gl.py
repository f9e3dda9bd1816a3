"""Choose an OpenGL backend for off-screen MuJoCo rendering on headless Linux.

Gymnasium's MuJoCo renderer reads ``MUJOCO_GL`` when it creates its context. With
the variable unset it tries GLFW first, and on a machine without a display GLFW
"succeeds" at import and only fails later inside ``mjr_makeContext``. So, for
off-screen render modes on a headless Linux machine with ``MUJOCO_GL`` unset,
:func:`select_offscreen_gl_backend` sets it to ``"egl"`` (or ``"osmesa"``) when
that library can be found. A ``MUJOCO_GL`` set by the user is never changed.

Examples:
    >>> from stmg_envs.mujoco.offscreen_gl import select_offscreen_gl_backend
    >>> select_offscreen_gl_backend() in (None, "egl", "osmesa", "glfw")
    True
"""

from __future__ import annotations

import ctypes.util
import os
import sys

__all__ = ["is_headless", "select_offscreen_gl_backend"]

#: Off-screen backends in order of preference, with the shared library each needs.
_BACKENDS = (("egl", "EGL"), ("osmesa", "OSMesa"))


def is_headless() -> bool:
    """Whether this is a Linux machine without a display (no ``DISPLAY``/``WAYLAND_DISPLAY``)."""
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def select_offscreen_gl_backend() -> str | None:
    """Make sure ``MUJOCO_GL`` names a backend that can render without a display.

    Returns:
        The value of ``MUJOCO_GL`` after the call: the user's own if it was set,
        the backend chosen here on a headless Linux machine, or ``None`` when the
        default (GLFW with a display) applies or no off-screen library was found.
    """
    current = os.environ.get("MUJOCO_GL")
    if current:
        return current
    if not is_headless():
        return None
    for backend, library in _BACKENDS:
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            return backend
    return None
