"""Headless ``rgb_array`` rendering for highway-env environments.

highway-env 1.12 draws ``rgb_array`` frames on off-screen pygame surfaces,
which need no display; but its viewer skips all drawing when
``SDL_VIDEODRIVER=dummy`` is set (the usual advice for headless machines),
returning black frames. :class:`OffscreenRenderMixin` turns drawing back on
for off-screen viewers.

This module imports ``highway-env``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stmg_envs.highway._deps import require_highway_env

require_highway_env()

from highway_env.envs.common.graphics import EnvViewer  # noqa: E402

__all__ = ["OffscreenRenderMixin"]


class OffscreenRenderMixin:
    """Mix into a highway-env ``AbstractEnv`` subclass (before it) so ``rgb_array`` frames are drawn headless."""

    render_mode: str | None
    viewer: Any

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array" and self.viewer is None:
            self.viewer = EnvViewer(self)
            self.viewer.enabled = True
        # AbstractEnv.render, next in the MRO of the classes this is mixed into.
        return super().render()  # type: ignore[misc]
