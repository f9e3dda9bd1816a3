"""Factories of the Multi-Agent MuJoCo tasks (the STEP paper's nine sub-scenarios).

* ``stmg/Ant-v0``, :func:`ant`: ``agent_conf`` ``"2x4"`` (default), ``"4x2"``,
  ``"8x1"`` (and the library's ``"2x4d"``);
* ``stmg/HalfCheetah-v0``, :func:`half_cheetah`: ``"2x3"`` (default), ``"3x2"``,
  ``"6x1"``;
* ``stmg/ManySegmentAnt-v0``, :func:`many_segment_ant`: ``"2x3"`` (default),
  ``"3x2"``, ``"6x1"`` (any ``"NxM"``).

Building a task prints nothing: :mod:`stmg_envs.mujoco.quiet` drops MuJoCo's
``settotalmass`` deprecation warning and Gymnasium-Robotics' Adroit notice (and
nothing else). The robots are Gymnasium's ``-v5`` MuJoCo tasks, factorised by
``gymnasium_robotics.mamujoco_v1`` and wrapped in :class:`MaMuJoCoParallelEnv`.
MuJoCo is imported when a factory is called, never when this module is
imported, so ``import stmg_envs`` works without the ``[mujoco]`` extra.

Examples:
    >>> from stmg_envs.mujoco import ant
    >>> env = ant("4x2", agent_obsk=1, episode_length=100)
    >>> env.possible_agents
    ['agent_0', 'agent_1', 'agent_2', 'agent_3']
    >>> env.action_space("agent_0").shape
    (2,)
    >>> env.close()
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from stmg_envs.mujoco.offscreen_gl import is_headless, select_offscreen_gl_backend
from stmg_envs.mujoco.parallel_env import MaMuJoCoParallelEnv
from stmg_envs.mujoco.partitions import agent_factorization, check_agent_conf
from stmg_envs.mujoco.quiet import import_gymnasium_robotics, quiet_model_compilation

__all__ = ["make_mamujoco", "ant", "half_cheetah", "many_segment_ant", "RENDER_MODES"]

#: Render modes of the Gymnasium MuJoCo robots.
RENDER_MODES = ("human", "rgb_array", "depth_array")

#: Gymnasium ``make`` arguments that this package sets from its own arguments.
_RESERVED_GYM_KWARGS = {
    "render_mode": "render_mode",
    "max_episode_steps": "episode_length",
    "xml_file": "the scenario",
}

#: Default episode length of the Gymnasium MuJoCo robots (and of the paper).
DEFAULT_EPISODE_LENGTH = 1000


def _import_mamujoco() -> tuple[ModuleType, ModuleType]:
    """Import MuJoCo and MaMuJoCo, or explain which extra to install."""
    try:
        import mujoco  # noqa: F401  (fails early and clearly if the binding is missing)

        import_gymnasium_robotics()  # without its Adroit notice (stmg_envs.mujoco.quiet)
        from gymnasium_robotics.envs.multiagent_mujoco import many_segment_ant as segment_asset
        from gymnasium_robotics.envs.multiagent_mujoco import mujoco_multi
    except ImportError as exc:
        raise ImportError(
            f"the Multi-Agent MuJoCo tasks need the optional 'mujoco' extra ({exc}). "
            "Install it with: pip install 'stmg-envs[mujoco]'"
        ) from exc
    except Exception as exc:  # mujoco imports its MUJOCO_GL backend eagerly
        backend = os.environ.get("MUJOCO_GL")
        if not backend:
            raise
        raise ImportError(
            f"importing mujoco failed with MUJOCO_GL={backend!r} ({type(exc).__name__}: {exc}); "
            "install that OpenGL backend, or unset MUJOCO_GL"
        ) from exc
    return mujoco_multi, segment_asset


def _check_int_at_least(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"expected {name} to be an int >= {minimum}, got {value!r}")


def _check_arguments(
    scenario: str,
    agent_conf: str,
    agent_obsk: int,
    episode_length: int,
    render_mode: str | None,
    pad_observations: bool,
    gym_kwargs: Mapping[str, Any] | None,
) -> None:
    check_agent_conf(scenario, agent_conf)
    _check_int_at_least("agent_obsk", agent_obsk, 0)
    _check_int_at_least("episode_length", episode_length, 1)
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"expected render_mode to be None or one of {RENDER_MODES}, got {render_mode!r}")
    if render_mode == "human" and is_headless():
        raise RuntimeError(
            "render_mode='human' opens a window, but this machine has no display (DISPLAY and "
            "WAYLAND_DISPLAY are unset); use render_mode='rgb_array' to get frames off-screen"
        )
    if not isinstance(pad_observations, bool):
        raise TypeError(f"expected pad_observations to be a bool, got {pad_observations!r}")
    if gym_kwargs is not None:
        if not isinstance(gym_kwargs, Mapping):
            raise TypeError(f"expected gym_kwargs to be a mapping or None, got {type(gym_kwargs).__name__}")
        for key, argument in _RESERVED_GYM_KWARGS.items():
            if key in gym_kwargs:
                raise ValueError(f"gym_kwargs may not set {key!r}: it is set from {argument}")


def _ensure_offscreen_rendering() -> None:
    """Pick an off-screen OpenGL backend, or refuse where rendering would crash later.

    Without a display, GLFW "creates" a context, the first frame raises
    ``mujoco.FatalError`` and the next one aborts the process.
    """
    backend = select_offscreen_gl_backend()
    if is_headless() and backend not in ("egl", "osmesa"):
        found = (
            "MUJOCO_GL is unset and neither libEGL nor libOSMesa was found"
            if backend is None
            else (f"MUJOCO_GL={backend!r} needs a display")
        )
        raise RuntimeError(
            f"off-screen rendering on a machine without a display needs MUJOCO_GL='egl' or 'osmesa', "
            f"but {found}. Install EGL (e.g. libegl1) or OSMesa and set MUJOCO_GL accordingly."
        )


def _make_single_agent_env(
    scenario: str,
    agent_conf: str,
    episode_length: int,
    render_mode: str | None,
    gym_kwargs: Mapping[str, Any],
    segment_asset: ModuleType,
):
    """The Gymnasium ``-v5`` robot that MaMuJoCo factorises (as the library builds it).

    ``ManySegmentAnt``'s model file is generated in a private temporary folder:
    the library writes it into its own package folder under a fixed name, which
    fails on a read-only install and races when several processes build the same
    robot at once.
    """
    import gymnasium

    if scenario != "ManySegmentAnt":
        with quiet_model_compilation():
            return gymnasium.make(
                f"{scenario}-v5", max_episode_steps=episode_length, render_mode=render_mode, **gym_kwargs
            )
    agents, segments_per_agent = (int(n) for n in agent_conf.split("x"))
    with tempfile.TemporaryDirectory(prefix="stmg_mamujoco_") as folder, quiet_model_compilation():
        asset_path = str(Path(folder) / "many_segment_ant.xml")
        segment_asset.gen_asset(n_segs=agents * segments_per_agent, asset_path=asset_path)
        return gymnasium.make(
            "Ant-v5",
            xml_file=asset_path,
            max_episode_steps=episode_length,
            render_mode=render_mode,
            **gym_kwargs,
        )


def make_mamujoco(
    scenario: str,
    agent_conf: str,
    *,
    agent_obsk: int = 1,
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    render_mode: str | None = None,
    pad_observations: bool = True,
    gym_kwargs: Mapping[str, Any] | None = None,
) -> MaMuJoCoParallelEnv:
    """Build a Multi-Agent MuJoCo task as a :class:`MaMuJoCoParallelEnv`.

    Args:
        scenario: ``"Ant"``, ``"HalfCheetah"`` or ``"ManySegmentAnt"``.
        agent_conf: Partition of the joints among agents, e.g. ``"2x4"`` (see
            :data:`stmg_envs.mujoco.partitions.SCENARIOS`).
        agent_obsk: Graph distance (in joints) up to which an agent observes
            other joints; ``0`` observes only its own joints.
        episode_length: Steps after which the episode is truncated.
        render_mode: ``None``, ``"human"``, ``"rgb_array"`` or ``"depth_array"``.
            For the off-screen modes on a headless Linux machine ``MUJOCO_GL`` is
            set to ``egl``/``osmesa`` if unset (see
            :mod:`stmg_envs.mujoco.offscreen_gl`).
        pad_observations: Zero-pad every agent's observation to the longest
            one (default), so that all agents share one observation space, as a
            parameter-shared policy and ``gymnasium.make("stmg/<Task>-v0")``
            need; ``False`` keeps MaMuJoCo's per-agent lengths.
        gym_kwargs: Extra arguments of the Gymnasium ``-v5`` robot, e.g.
            ``{"ctrl_cost_weight": 0.1}``; arguments that change the robot's
            observation vector are not supported by MaMuJoCo.

    Returns:
        The task's simultaneous game.

    Raises:
        ValueError: On an unknown scenario or ``agent_conf`` (the message lists
            the valid ones) or an invalid argument.
        RuntimeError: For ``render_mode="human"`` on a Linux machine without a
            display, or an off-screen mode there without EGL/OSMesa (GLFW would
            abort the process).
        ImportError: If the ``[mujoco]`` extra is not installed.

    Examples:
        >>> env = make_mamujoco("HalfCheetah", "3x2", agent_obsk=0, episode_length=10)
        >>> [env.action_space(a).shape for a in env.possible_agents]
        [(2,), (2,), (2,)]
        >>> env.close()
    """
    _check_arguments(scenario, agent_conf, agent_obsk, episode_length, render_mode, pad_observations, gym_kwargs)
    if render_mode in ("rgb_array", "depth_array"):
        _ensure_offscreen_rendering()  # before mujoco's import, which reads MUJOCO_GL
    mujoco_multi, segment_asset = _import_mamujoco()
    single_agent_env = _make_single_agent_env(
        scenario, agent_conf, episode_length, render_mode, dict(gym_kwargs or {}), segment_asset
    )
    mamujoco = mujoco_multi.parallel_env(
        scenario,
        agent_conf,
        agent_obsk=agent_obsk,
        agent_factorization=agent_factorization(scenario, agent_conf),
        render_mode=render_mode,
        gym_env=single_agent_env,
    )
    return MaMuJoCoParallelEnv(mamujoco, scenario=scenario, agent_conf=agent_conf, pad_observations=pad_observations)


def ant(
    agent_conf: str = "2x4",
    *,
    agent_obsk: int = 1,
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    render_mode: str | None = None,
    pad_observations: bool = True,
    gym_kwargs: Mapping[str, Any] | None = None,
) -> MaMuJoCoParallelEnv:
    """Ant (``stmg/Ant-v0``): four legs, eight joints.

    ``agent_conf``: ``"2x4"`` (front legs / back legs), ``"4x2"`` (one leg per
    agent), ``"8x1"`` (one joint per agent), ``"2x4d"`` (diagonal legs). Other
    arguments as in :func:`make_mamujoco`.

    Examples:
        >>> env = ant("8x1", episode_length=20)
        >>> len(env.possible_agents)
        8
        >>> env.close()
    """
    return make_mamujoco(
        "Ant",
        agent_conf,
        agent_obsk=agent_obsk,
        episode_length=episode_length,
        render_mode=render_mode,
        pad_observations=pad_observations,
        gym_kwargs=gym_kwargs,
    )


def half_cheetah(
    agent_conf: str = "2x3",
    *,
    agent_obsk: int = 1,
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    render_mode: str | None = None,
    pad_observations: bool = True,
    gym_kwargs: Mapping[str, Any] | None = None,
) -> MaMuJoCoParallelEnv:
    """HalfCheetah (``stmg/HalfCheetah-v0``): two legs, six joints.

    ``agent_conf``: ``"2x3"`` (back leg / front leg), ``"3x2"`` ((bfoot, bshin),
    (bthigh, ffoot), (fshin, fthigh)), ``"6x1"`` (one joint per agent). Other
    arguments as in :func:`make_mamujoco`.

    Examples:
        >>> env = half_cheetah("6x1", episode_length=20)
        >>> len(env.possible_agents)
        6
        >>> env.close()
    """
    return make_mamujoco(
        "HalfCheetah",
        agent_conf,
        agent_obsk=agent_obsk,
        episode_length=episode_length,
        render_mode=render_mode,
        pad_observations=pad_observations,
        gym_kwargs=gym_kwargs,
    )


def many_segment_ant(
    agent_conf: str = "2x3",
    *,
    agent_obsk: int = 1,
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    render_mode: str | None = None,
    pad_observations: bool = True,
    gym_kwargs: Mapping[str, Any] | None = None,
) -> MaMuJoCoParallelEnv:
    """Many-segment Ant (``stmg/ManySegmentAnt-v0``, the paper's "ManyAgent Ant").

    ``agent_conf`` ``"NxM"``: ``N`` agents each controlling ``M`` consecutive body
    segments of four joints; the paper's are ``"2x3"``, ``"3x2"`` and ``"6x1"``
    (all six segments). Other arguments as in :func:`make_mamujoco`.

    Examples:
        >>> env = many_segment_ant("3x2", episode_length=20)
        >>> env.action_space("agent_0").shape
        (8,)
        >>> env.close()
    """
    return make_mamujoco(
        "ManySegmentAnt",
        agent_conf,
        agent_obsk=agent_obsk,
        episode_length=episode_length,
        render_mode=render_mode,
        pad_observations=pad_observations,
        gym_kwargs=gym_kwargs,
    )
