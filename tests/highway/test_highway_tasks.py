"""Tests of stmg_envs.highway.tasks: registry entries, lazy import, and conformance of every registered form."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import pettingzoo
import pytest
from pettingzoo.env_registry.registration import spec as pettingzoo_spec

import stmg_envs
from stmg_envs.highway.tasks import TASKS

HIGHWAY_IDS = ("stmg/OnRampMerge-v0", "stmg/TrafficMerge-v0")
_INF_BOUNDS = ".*infinity.*"


def test_both_tasks_are_registered_everywhere():
    """OnRampMerge and TrafficMerge are in stmg's, PettingZoo's (aec, parallel) and Gymnasium's registries."""
    assert tuple(spec.id for spec in TASKS) == HIGHWAY_IDS
    assert all(spec.extra == "highway" for spec in TASKS)
    for task_id in HIGHWAY_IDS:
        assert task_id in stmg_envs.registered_task_ids()
        assert task_id in gymnasium.registry
        for env_type in ("aec", "parallel"):
            assert pettingzoo_spec(env_type, task_id).id == task_id


def test_importing_stmg_envs_and_the_package_does_not_import_highway_env():
    """`import stmg_envs, stmg_envs.highway` and the priority function load neither highway_env nor pygame."""
    code = (
        "import sys, stmg_envs, stmg_envs.highway; from stmg_envs.highway import merge_priority_order; "
        "print(','.join(m for m in ('highway_env', 'pygame', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_a_missing_highway_env_names_the_extra_to_install():
    """With highway_env unimportable, the env and pettingzoo.make name `pip install 'stmg-envs[highway]'`, once."""
    code = (
        "import sys; sys.modules['highway_env'] = None\n"
        "import pettingzoo, stmg_envs\n"
        "for make in (lambda: __import__('stmg_envs.highway', fromlist=['x']).OnRampMergeEnv,\n"
        "             lambda: pettingzoo.make('parallel', 'stmg/TrafficMerge-v0')):\n"
        "    try:\n"
        "        make()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all(line.count("pip install 'stmg-envs[highway]'") == 1 for line in lines), lines


@pytest.mark.highway
@pytest.mark.parametrize(
    "task_id, kwargs",
    [
        ("stmg/OnRampMerge-v0", {"difficulty": "hard", "max_steps": 6}),
        ("stmg/OnRampMerge-v0", {"difficulty": "medium", "max_steps": 6, "agent_id_in_obs": True, "flatten": True}),
        ("stmg/TrafficMerge-v0", {}),
    ],
    ids=["on-ramp-hard", "on-ramp-medium-flat", "traffic-merge"],
)
def test_conformance_of_every_form(task_id, kwargs):
    """api_test and seed_test (AEC), parallel_api_test, multi-step determinism (all forms) and check_env pass.

    Episodes are cut to a few decisions to keep highway-env's cost low.
    """
    from stmg_envs.testing import check_task

    with warnings.catch_warnings():
        # Kinematics observations are unbounded by design (as in the reference code); the Dict
        # observations of the STMG draw api_test's generic warnings; absent agents (fewer vehicles
        # than possible_agents) draw parallel_api_test's.
        warnings.filterwarnings("ignore", message=_INF_BOUNDS)
        warnings.filterwarnings("ignore", message="Observation.*")
        warnings.filterwarnings("ignore", message="No agents present.*")
        check_task(task_id, num_cycles=15, quiet=True, **kwargs)


@pytest.mark.highway
def test_conformance_with_the_dynamic_priority_order():
    """The STMG driven by merge_priority_order passes api_test, seed_test and the determinism checks."""
    from stmg_envs.highway import merge_priority_order
    from stmg_envs.testing import check_task

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_INF_BOUNDS)
        warnings.filterwarnings("ignore", message="Observation.*")
        warnings.filterwarnings("ignore", message="No agents present.*")
        check_task(
            "stmg/OnRampMerge-v0", num_cycles=15, quiet=True, difficulty="hard", max_steps=6, order=merge_priority_order
        )


@pytest.mark.highway
def test_make_passes_the_task_arguments():
    """pettingzoo.make('parallel', id, difficulty=..., num_controlled=...) builds the asked setting."""
    env = pettingzoo.make("parallel", "stmg/OnRampMerge-v0", difficulty="medium", num_controlled=3, max_steps=7)
    assert (env.difficulty, env.max_steps) == ("medium", 7)
    assert env.possible_agents == ["vehicle_0", "vehicle_1", "vehicle_2"]
    env = pettingzoo.make("parallel", "stmg/OnRampMerge-v0")
    assert env.difficulty == "easy"


@pytest.mark.highway
def test_gymnasium_make_renders_rgb_arrays():
    """gymnasium.make(id, render_mode='rgb_array').render() returns an image of the road."""
    env = gymnasium.make("stmg/TrafficMerge-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
