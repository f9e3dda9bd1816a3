"""benchmarks/throughput.py, MuJoCo section: the four timed loops (the library's parallel env, ours, stmg_v0, the AEC floor)
do the same simulation, so that their times compare like with like."""

from __future__ import annotations

import numpy as np
import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_envs import stmg_v0
from tests.bench.benchmark_scripts import load_script

pytestmark = pytest.mark.mujoco


@pytest.mark.parametrize("task_id, conf", [("stmg/Ant-v0", "2x4"), ("stmg/HalfCheetah-v0", "6x1")])
def test_timed_loops_simulate_the_same_trajectory(task_id, conf):
    """Library, raw, stmg_v0 and MinimalAEC loops, given the same joint actions across an episode end, reach the same state."""
    throughput = load_script("throughput")

    def make():
        return pettingzoo.make("parallel", task_id, agent_conf=conf, episode_length=7)

    probe = make()
    rng = np.random.default_rng(0)
    joints = [
        {a: rng.uniform(-1, 1, size=probe.action_space(a).shape).astype(np.float32) for a in probe.possible_agents}
        for _ in range(5)
    ]
    raw, seq, floor = make(), stmg_v0(make()), throughput.MinimalAEC(make())
    library = make().unwrapped.mamujoco  # Gymnasium-Robotics' own parallel env, as the script times it
    throughput.joint_steps_parallel(library, joints, 10, seed=3)
    throughput.joint_steps_parallel(raw, joints, 10, seed=3)
    throughput.joint_steps_aec(seq, joints, 10, seed=3)
    throughput.joint_steps_aec(floor, joints, 10, seed=3)
    assert (seq.num_time_steps, floor.num_time_steps) == (3, 10)  # the STMG counts since its reset (after 7)
    np.testing.assert_array_equal(seq.state(), raw.state())
    np.testing.assert_array_equal(floor.parallel_env.state(), raw.state())
    np.testing.assert_array_equal(library.state(), raw.state())
