"""Tests of stmg_envs.mujoco.offscreen_gl and of off-screen rendering of the MuJoCo tasks."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from stmg_envs.mujoco import offscreen_gl
from stmg_envs.mujoco.offscreen_gl import is_headless, select_offscreen_gl_backend


@pytest.fixture
def headless_linux(monkeypatch):
    """A Linux machine with no display and MUJOCO_GL unset (restored after the test)."""
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL"):
        monkeypatch.setenv(name, "")  # records the original value, so a value set by the test is undone
        monkeypatch.delenv(name)


def test_a_users_mujoco_gl_is_never_changed(headless_linux, monkeypatch):
    """If MUJOCO_GL is set, it is returned as is and left alone."""
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert select_offscreen_gl_backend() == "osmesa"
    assert os.environ["MUJOCO_GL"] == "osmesa"


def test_headless_linux_prefers_egl_then_osmesa(headless_linux, monkeypatch):
    """Without a display, EGL is chosen when libEGL exists, else OSMesa when libOSMesa exists."""
    monkeypatch.setattr(offscreen_gl.ctypes.util, "find_library", lambda name: "lib.so" if name == "EGL" else None)
    assert select_offscreen_gl_backend() == "egl"
    assert os.environ["MUJOCO_GL"] == "egl"
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(offscreen_gl.ctypes.util, "find_library", lambda name: "lib.so" if name == "OSMesa" else None)
    assert select_offscreen_gl_backend() == "osmesa"


def test_no_offscreen_library_leaves_mujoco_gl_unset(headless_linux, monkeypatch):
    """With neither EGL nor OSMesa installed, nothing is set and None says so."""
    monkeypatch.setattr(offscreen_gl.ctypes.util, "find_library", lambda name: None)
    assert select_offscreen_gl_backend() is None
    assert "MUJOCO_GL" not in os.environ


def test_a_machine_with_a_display_keeps_the_default(headless_linux, monkeypatch):
    """With DISPLAY set, the default (GLFW) applies: nothing is set."""
    monkeypatch.setenv("DISPLAY", ":0")
    assert not is_headless()
    assert select_offscreen_gl_backend() is None
    assert "MUJOCO_GL" not in os.environ


def _offscreen_context_or_skip() -> None:
    """Skip, with the reason, unless an off-screen OpenGL context can be created here."""
    backend = select_offscreen_gl_backend() if is_headless() else os.environ.get("MUJOCO_GL", "glfw")
    if backend is None:
        pytest.skip("no display and neither libEGL nor libOSMesa found: off-screen rendering is impossible here")
    if is_headless() and backend not in ("egl", "osmesa"):
        pytest.skip(f"no display and MUJOCO_GL={backend!r}: only egl/osmesa render without a display")
    try:
        if backend == "egl":
            from mujoco.egl import GLContext
        elif backend == "osmesa":
            from mujoco.osmesa import GLContext
        else:
            from mujoco.glfw import GLContext
        context = GLContext(64, 64)
        context.free()
    except Exception as exc:  # any failure to make a GL context means: no rendering on this machine
        pytest.skip(f"cannot create a {backend} OpenGL context on this machine: {type(exc).__name__}: {exc}")


@pytest.mark.mujoco
@pytest.mark.parametrize("scenario", ["Ant", "HalfCheetah", "ManySegmentAnt"])
def test_rgb_array_rendering_gives_frames(scenario):
    """render_mode='rgb_array' returns an (H, W, 3) uint8 frame with an actual picture, for each robot."""
    _offscreen_context_or_skip()
    from stmg_envs.mujoco import make_mamujoco

    conf = {"Ant": "2x4", "HalfCheetah": "2x3", "ManySegmentAnt": "2x3"}[scenario]
    env = make_mamujoco(scenario, conf, episode_length=20, render_mode="rgb_array")
    try:
        assert env.render_mode == "rgb_array"
        env.reset(seed=0)
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert frame.ndim == 3 and frame.shape[2] == 3
        assert frame.std() > 1.0, "the frame is blank"
    finally:
        env.close()


@pytest.mark.mujoco
def test_depth_array_rendering_gives_a_depth_map():
    """render_mode='depth_array' returns a 2-D float depth map that is not constant."""
    _offscreen_context_or_skip()
    from stmg_envs.mujoco import half_cheetah

    env = half_cheetah("6x1", episode_length=20, render_mode="depth_array")
    try:
        env.reset(seed=0)
        depth = env.render()
        assert depth.ndim == 2 and np.issubdtype(depth.dtype, np.floating)
        assert depth.max() > depth.min()
    finally:
        env.close()


def test_offscreen_rendering_without_a_usable_backend_is_refused(headless_linux, monkeypatch):
    """On a headless machine with MUJOCO_GL=glfw (or no EGL/OSMesa), building an rgb_array env raises RuntimeError.

    Otherwise the first frame raises mujoco.FatalError and the second aborts the process.
    """
    from stmg_envs.mujoco import half_cheetah

    monkeypatch.setenv("MUJOCO_GL", "glfw")
    with pytest.raises(RuntimeError, match="MUJOCO_GL='glfw' needs a display"):
        half_cheetah("2x3", render_mode="rgb_array")
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(offscreen_gl.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(RuntimeError, match="neither libEGL nor libOSMesa"):
        half_cheetah("2x3", render_mode="depth_array")
