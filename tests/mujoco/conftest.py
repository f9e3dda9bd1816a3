"""Shared set-up of the Multi-Agent MuJoCo tests.

* Tests marked ``@pytest.mark.mujoco`` are skipped, with the reason, when the
  ``mujoco`` binding cannot be imported; nothing else is ever skipped for it.
* A test that takes a ``sub_scenario`` argument runs once for each of the STEP
  paper's nine sub-scenarios.
"""

from __future__ import annotations

import os

import pytest

try:
    import mujoco  # noqa: F401

    MUJOCO_SKIP_REASON: str | None = None
except ImportError as exc:  # the [mujoco] extra is not installed
    MUJOCO_SKIP_REASON = f"mujoco is not importable ({exc}); install it with: pip install 'stmg-envs[mujoco]'"
except Exception as exc:  # mujoco imports the MUJOCO_GL backend eagerly; a missing backend fails here
    MUJOCO_SKIP_REASON = (
        f"mujoco is not importable with MUJOCO_GL={os.environ.get('MUJOCO_GL')!r} "
        f"({type(exc).__name__}: {exc}); install that backend or unset MUJOCO_GL"
    )

#: (registry ID, scenario, agent_conf, number of agents, joints per agent)
NINE_SUB_SCENARIOS = (
    ("stmg/Ant-v0", "Ant", "2x4", 2, 4),
    ("stmg/Ant-v0", "Ant", "4x2", 4, 2),
    ("stmg/Ant-v0", "Ant", "8x1", 8, 1),
    ("stmg/HalfCheetah-v0", "HalfCheetah", "2x3", 2, 3),
    ("stmg/HalfCheetah-v0", "HalfCheetah", "3x2", 3, 2),
    ("stmg/HalfCheetah-v0", "HalfCheetah", "6x1", 6, 1),
    ("stmg/ManySegmentAnt-v0", "ManySegmentAnt", "2x3", 2, 12),
    ("stmg/ManySegmentAnt-v0", "ManySegmentAnt", "3x2", 3, 8),
    ("stmg/ManySegmentAnt-v0", "ManySegmentAnt", "6x1", 6, 4),
)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("mujoco") is not None and MUJOCO_SKIP_REASON is not None:
        pytest.skip(MUJOCO_SKIP_REASON)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sub_scenario" in metafunc.fixturenames:
        metafunc.parametrize(
            "sub_scenario",
            NINE_SUB_SCENARIOS,
            ids=[f"{scenario}-{conf}" for _, scenario, conf, _, _ in NINE_SUB_SCENARIOS],
        )
