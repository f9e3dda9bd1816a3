"""Tests of stmg_envs.mujoco.quiet: building and stepping the tasks prints nothing, other messages still pass."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from stmg_envs.mujoco.quiet import is_silenced, quiet_model_compilation

pytestmark = pytest.mark.mujoco

SCRIPT = textwrap.dedent(
    """
    import gymnasium, pettingzoo, stmg_envs
    from stmg_envs import stmg_v0
    for task_id, conf in %r:
        parallel = pettingzoo.make("parallel", task_id, agent_conf=conf, episode_length=3)
        parallel.reset(seed=0)
        while parallel.agents:
            parallel.step({a: parallel.action_space(a).sample() for a in parallel.agents})
        parallel.close()
        aec = stmg_v0(pettingzoo.make("parallel", task_id, agent_conf=conf, episode_length=3))
        aec.reset(seed=0)
        for agent in aec.agent_iter():
            done = any(aec.last()[2:4])
            aec.step(None if done else aec.action_space(agent).sample())
        aec.close()
        single = gymnasium.make(task_id, agent_conf=conf, episode_length=3)
        single.reset(seed=0)
        single.step(single.action_space.sample())
        single.close()
    """
)


def test_building_and_stepping_every_task_prints_nothing_and_writes_no_log(tmp_path):
    """A fresh interpreter builds and steps the nine sub-scenarios in every form: empty stdout/stderr, no MUJOCO_LOG.TXT.

    Without the hooks, the import prints Gymnasium-Robotics' Adroit notice and each HalfCheetah build MuJoCo's
    settotalmass warning (both from outside Python's warnings), and MuJoCo writes MUJOCO_LOG.TXT here.
    """
    from tests.mujoco.conftest import NINE_SUB_SCENARIOS

    tasks = [(task_id, conf) for task_id, _, conf, _, _ in NINE_SUB_SCENARIOS]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (tasks,)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


def test_only_the_settotalmass_warning_is_dropped(tmp_path, monkeypatch, capsys):
    """Inside the block another MuJoCo warning is printed and logged as MuJoCo would; the old hook comes back after."""
    import mujoco

    monkeypatch.chdir(tmp_path)
    assert is_silenced("compiler attribute 'settotalmass' is deprecated and will be removed in a future release")
    with quiet_model_compilation():
        hook = mujoco.get_mju_user_warning()
        hook("compiler attribute 'settotalmass' is deprecated and will be removed in a future release")
        hook("Nan, Inf or huge value in QACC at DOF 0. The simulation is unstable.")
    assert mujoco.get_mju_user_warning() is None
    err = capsys.readouterr().err
    assert "settotalmass" not in err
    assert "WARNING: Nan, Inf or huge value in QACC at DOF 0." in err
    log = (tmp_path / "MUJOCO_LOG.TXT").read_text()
    assert "QACC" in log and "settotalmass" not in log


def test_a_hook_installed_before_gets_the_other_warnings():
    """A user's own MuJoCo warning hook keeps receiving every warning but the dropped one, and is restored."""
    import mujoco

    received: list[str] = []
    mujoco.set_mju_user_warning(received.append)
    try:
        with quiet_model_compilation():
            hook = mujoco.get_mju_user_warning()
            hook("compiler attribute 'settotalmass' is deprecated")
            hook("something else")
        assert received == ["something else"]
        assert mujoco.get_mju_user_warning() is not None
    finally:
        mujoco.set_mju_user_warning(None)
