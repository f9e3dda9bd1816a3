"""Tests of stmg_envs.mujoco.tasks: registry entries and conformance of the registered forms."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import pettingzoo
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.env_registry.registration import spec as pettingzoo_spec
from pettingzoo.test import api_test, seed_test

import stmg_envs
from stmg_envs.mujoco.tasks import TASKS

EPISODE_LENGTH = 20
MUJOCO_IDS = ("stmg/Ant-v0", "stmg/HalfCheetah-v0", "stmg/ManySegmentAnt-v0")


def test_the_three_robots_are_registered_everywhere():
    """Ant, HalfCheetah and ManySegmentAnt are in stmg's, PettingZoo's (aec, parallel) and Gymnasium's registries."""
    assert tuple(spec.id for spec in TASKS) == MUJOCO_IDS
    assert all(spec.extra == "mujoco" for spec in TASKS)
    for task_id in MUJOCO_IDS:
        assert task_id in stmg_envs.registered_task_ids()
        assert task_id in gymnasium.registry
        for env_type in ("aec", "parallel"):
            assert pettingzoo_spec(env_type, task_id).id == task_id


def test_importing_stmg_envs_does_not_import_mujoco():
    """`import stmg_envs` (which reads the task lists) loads neither mujoco nor gymnasium_robotics."""
    code = (
        "import sys, stmg_envs; "
        "loaded = [m for m in ('mujoco', 'gymnasium_robotics') if m in sys.modules]; "
        "print(','.join(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.mujoco
def test_parallel_form_takes_the_factory_arguments(sub_scenario):
    """pettingzoo.make('parallel', id, agent_conf=...) builds the asked sub-scenario with the asked episode length."""
    task_id, scenario, conf, n_agents, _ = sub_scenario
    env = pettingzoo.make("parallel", task_id, agent_conf=conf, agent_obsk=0, episode_length=EPISODE_LENGTH)
    try:
        assert (env.scenario, env.agent_conf, env.episode_length) == (scenario, conf, EPISODE_LENGTH)
        assert len(env.possible_agents) == n_agents
    finally:
        env.close()


@pytest.mark.mujoco
def test_api_test_passes_on_the_sequential_form(sub_scenario):
    """PettingZoo's api_test accepts the STMG (AEC) form of each sub-scenario."""
    task_id, _, conf, _, _ = sub_scenario
    env = pettingzoo.make("aec", task_id, agent_conf=conf, episode_length=EPISODE_LENGTH)
    try:
        with warnings.catch_warnings():
            # api_test inspects only Box/Discrete observations and warns about the STMG's Dict ones.
            warnings.filterwarnings("ignore", message="Observation.*")
            api_test(env, num_cycles=2 * EPISODE_LENGTH)
    finally:
        env.close()


@pytest.mark.mujoco
def test_seed_test_passes_on_the_sequential_form(sub_scenario):
    """PettingZoo's seed_test (two envs, same seed, many AEC steps) finds identical runs."""
    task_id, _, conf, _, _ = sub_scenario
    seed_test(
        lambda: pettingzoo.make("aec", task_id, agent_conf=conf, episode_length=EPISODE_LENGTH),
        num_cycles=2 * EPISODE_LENGTH,
    )


@pytest.mark.mujoco
def test_gymnasium_check_env_passes(sub_scenario):
    """gymnasium's check_env accepts gymnasium.make(id) for each sub-scenario.

    The render check is skipped: it would build every declared render mode, and
    'human' needs a display; off-screen rendering is tested in test_offscreen_gl.
    """
    task_id, _, conf, _, _ = sub_scenario
    env = gymnasium.make(task_id, agent_conf=conf, episode_length=EPISODE_LENGTH)
    try:
        with warnings.catch_warnings():
            # Joint velocities are unbounded, so the observation Box is (-inf, inf) by design.
            warnings.filterwarnings("ignore", message=".*Box observation space (minimum|maximum) value.*")
            check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()
