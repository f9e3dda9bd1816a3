"""benchmarks/throughput.py, MuJoCo section: the four timed loops (the library's parallel env, ours, stmg_v0, the AEC floor)
do the same simulation, so that their times compare like with like; physics section: its table (the physics limit, the
batched forms, today's path) and its arguments."""

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


def test_physics_section_tables_the_limit_the_batched_forms_and_todays_path(monkeypatch):
    """The physics section, tiny (2 copies, 1 and 2 threads, one round): one row per requested sub-scenario with as many
    cells as the header, the physics limit, both batched forms and their shares, today's path taken from the rates it
    is given (not measured again) with the speed-ups against it, every grid point, and a profile where the target is
    missed; without today's rates those columns say "not run"."""
    from stmg_envs.vector.mujoco import batch_available

    if not batch_available():
        pytest.skip("mujoco.batch needs MuJoCo >= 4.0 (Python >= 3.11)")
    throughput = load_script("throughput")
    argv = "--sections physics --scenarios HalfCheetah:2x3 --physics-steps 8 --physics-copies 2 --physics-threads 1,2"
    args = throughput.parse_args([*argv.split(), "--rounds", "1"])
    monkeypatch.setattr(throughput, "PHYSICS_TARGET", 100.0)  # never met: the profile is written
    today = {("stmg/HalfCheetah-v0", "2x3"): {"library": 1.0, "ours": 2.0, "stmg": 4.0, "floor": 1.0}}
    lines, rows = throughput.physics_section(args, today)

    header = next(line for line in lines if line.startswith("| sub-scenario | physics limit"))
    (row_line,) = [line for line in lines if line.startswith("| HalfCheetah 2x3 | ") and " met" in line]
    assert row_line.count("|") == header.count("|") == 12
    assert "NOT met" in row_line
    assert any(line.startswith("Profile of the batched STMG on HalfCheetah 2x3") for line in lines)
    (row,) = [r for r in rows if r["section"] == "physics"]
    assert row["variant"] == "HalfCheetah 2x3"
    assert row["physics_steps_per_s"] > 0 and row["batched_stmg_steps_per_s"] > 0
    assert row["batched_parallel_steps_per_s"] > 0
    assert row["physics_copies"] == 2 and row["physics_threads"] in (1, 2)
    assert row["stmg_vs_physics"] == pytest.approx(
        row["batched_stmg_steps_per_s"] / row["physics_steps_per_s"], rel=1e-2
    )
    assert (row["stmg_steps_per_s"], row["ours_steps_per_s"]) == (4, 2)
    assert row["batched_stmg_vs_stmg"] == pytest.approx(row["batched_stmg_steps_per_s"] / 4, rel=1e-2)
    assert row["batched_parallel_vs_ours"] == pytest.approx(row["batched_parallel_steps_per_s"] / 2, rel=1e-2)
    assert row["met"] is False
    grid = [r for r in rows if r["section"] == "physics grid"]
    assert [(r["copies"], r["threads"]) for r in grid] == [(2, 1), (2, 2)]
    assert all(r[f"{form}_grid_steps_per_s"] > 0 for r in grid for form in ("physics", "stmg", "parallel"))

    monkeypatch.setattr(throughput, "PHYSICS_TARGET", 0.0)  # always met: no profile
    args = throughput.parse_args([*argv.split(), "--rounds", "1", "--physics-threads", "1"])
    lines, rows = throughput.physics_section(args, {})
    (row_line,) = [line for line in lines if line.startswith("| HalfCheetah 2x3 | ") and " met" in line]
    assert row_line.count("not run") == 4 and "| met (+" in row_line
    assert not any(line.startswith("Profile of") for line in lines)
    assert rows[0]["stmg_steps_per_s"] is None


def test_scenarios_are_checked():
    """An unknown --scenarios name is refused with the names that exist."""
    throughput = load_script("throughput")
    with pytest.raises(SystemExit):
        throughput.parse_args(["--scenarios", "HalfCheetah:9x9"])
    assert throughput.parse_args(["--scenarios", "Ant:2x4"]).scenarios == ("Ant:2x4",)
