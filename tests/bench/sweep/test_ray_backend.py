"""run_sweep with backend="ray" on a local Ray instance (stmg_bench/sweep/ray_backend.py).

Ray takes seconds to start, so one instance serves most of the module (the ``ray_instance``
fixture); the first test lets ``run_sweep`` start and stop an instance of its own, the second
runs on a separate "cluster" process given by its address.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import pytest

from stmg_bench.sweep import Trial, TrialsFailedError, run_sweep, runner
from tests.bench.sweep.helpers import FUNCTIONS, REPO_ROOT, log_counts, logged_trials, record_keys

ray = pytest.importorskip("ray", reason="needs Ray: pip install 'stmg-envs[ray]'")

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_instance():
    """A local 2-CPU Ray instance shared by the module; its workers import the tests from the repo root."""
    assert not ray.is_initialized(), "another test left Ray running"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO_ROOT)  # Ray puts the driver's working directory on its workers' sys.path
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def test_rays_own_messages_are_condensed_to_one_line_on_stderr_while_a_sweep_runs(capsys):
    """Ray's messages to the driver (here a dead raylet's, with the `[state-dump]` log tail Ray appends) print as
    their first line on stderr inside `ray_messages_condensed`, through the path Ray's error listener takes; a
    trial's own output still prints as Ray prints it; Ray's printing is restored afterwards."""
    from ray._private import worker

    from stmg_bench.sweep.ray_backend import ray_messages_condensed

    died = {
        "pid": "raylet",
        "is_err": False,
        "lines": [
            "Raylet is terminated. Termination is unexpected. Last 2 lines of the Raylet logs:\n"
            "    [state-dump] NodeManager:\n    [state-dump] Node ID: 1f\n"
        ],
    }
    trial_output = {"pid": 4321, "task_name": "trial:t0", "is_err": False, "lines": ["hello from trial t0"]}
    original = worker.print_worker_logs
    with ray_messages_condensed(ray):
        worker.print_to_stdstream(died, ignore_prefix=False)
        worker.print_worker_logs(trial_output, sys.stdout)
    assert worker.print_worker_logs is original
    captured = capsys.readouterr()
    assert captured.err == "(raylet) Raylet is terminated. Termination is unexpected.\n"
    assert "hello from trial t0" in captured.out
    assert "[state-dump]" not in captured.out + captured.err


def test_sweep_starts_and_shuts_down_its_own_local_instance(tmp_path, monkeypatch):
    """Without a running Ray, the sweep starts a local instance, runs the trials there and stops it."""
    assert not ray.is_initialized()
    monkeypatch.chdir(REPO_ROOT)
    log = tmp_path / "log"
    records = run_sweep(logged_trials(log, 3), tmp_path / "out", backend="ray", workers=2, progress=False)
    assert [record["result"]["value"] for record in records] == [0, 1, 2]
    assert record_keys(tmp_path / "out") == {"t0", "t1", "t2"}
    assert not ray.is_initialized()


def test_sweep_runs_on_an_existing_cluster_given_by_address(tmp_path, monkeypatch):
    """With address=..., the sweep connects to a running cluster, runs there, disconnects and leaves the
    cluster running (a second sweep connects again)."""
    assert not ray.is_initialized()
    monkeypatch.chdir(REPO_ROOT)
    head = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.sweep.ray_head"], cwd=REPO_ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        address = head.stdout.readline().strip()
        assert address, "the Ray head did not start"
        log, out = tmp_path / "log", tmp_path / "out"
        first = run_sweep(logged_trials(log, 2), out, backend="ray", address=address, progress=False)
        assert not ray.is_initialized()
        second = run_sweep(logged_trials(log, 3), out, backend="ray", address=address, progress=False)
        assert first.executed == ("t0", "t1") and second.executed == ("t2",)
        assert record_keys(out) == {"t0", "t1", "t2"}
        assert log_counts(log) == {"t0": 1, "t1": 1, "t2": 1}
    finally:
        head.stdin.close()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        head.stdout.close()


def test_ray_gives_the_same_records_as_local(ray_instance, tmp_path):
    """The backend changes where trials run, not what they return."""
    trials = [*logged_trials(tmp_path / "log", 3), Trial(key="np", fn=f"{FUNCTIONS}:numpy_values")]
    local = run_sweep(trials, tmp_path / "local", workers=1, progress=False)
    remote = run_sweep(trials, tmp_path / "ray", backend="ray", progress=False)
    assert [r["result"] for r in remote] == [r["result"] for r in local]
    assert [r["kwargs"] for r in remote] == [r["kwargs"] for r in local]


def test_ray_writes_each_record_as_its_trial_finishes(ray_instance, tmp_path):
    """Results are gathered incrementally: a running task sees the record of one that finished before it."""
    log, out = tmp_path / "log", tmp_path / "out"
    trials = [
        Trial(
            key="late",
            fn=f"{FUNCTIONS}:wait_for_record",
            kwargs={"log": str(log), "key": "late", "record": str(out / "early.json")},
        ),
        Trial(key="early", fn=f"{FUNCTIONS}:log_and_return", kwargs={"log": str(log), "key": "early", "value": 1}),
    ]
    records = run_sweep(trials, out, backend="ray", progress=False)
    assert records[0]["result"] == {"saw_record": True}


def test_ray_failing_trial_does_not_lose_the_others_and_is_retried_alone(ray_instance, tmp_path):
    """A trial raising in a Ray task: the others are recorded, and a rerun runs only the failed one."""
    log, out, flag = tmp_path / "log", tmp_path / "out", tmp_path / "fixed"
    trials = [
        *logged_trials(log, 3),
        Trial(key="flaky", fn=f"{FUNCTIONS}:fail_unless", kwargs={"log": str(log), "key": "flaky", "flag": str(flag)}),
    ]
    with pytest.raises(TrialsFailedError) as info:
        run_sweep(trials, out, backend="ray", progress=False)
    assert list(info.value.failures) == ["flaky"] and "RuntimeError" in info.value.failures["flaky"]
    assert record_keys(out) == {"t0", "t1", "t2"}
    flag.touch()
    records = run_sweep(trials, out, backend="ray", progress=False)
    assert records.executed == ("flaky",)
    assert log_counts(log) == {"t0": 1, "t1": 1, "t2": 1, "flaky": 2}


def test_interrupted_ray_sweep_resumes_without_redoing_finished_trials(ray_instance, tmp_path, monkeypatch):
    """Ctrl-C mid-sweep (raised while writing the third record) cancels the running tasks; a rerun on Ray
    redoes only the trials without a record, and the caller's Ray instance is left running."""
    log, out, gate = tmp_path / "log", tmp_path / "out", tmp_path / "gate"
    trials = logged_trials(log, 6, gate=gate, gate_from=3)
    real_write = runner.write_record
    written: list[str] = []

    def write_then_interrupt(folder, record):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(record["key"])
        return real_write(folder, record)

    monkeypatch.setattr(runner, "write_record", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(trials, out, backend="ray", progress=False)
    monkeypatch.undo()
    assert ray.is_initialized()
    assert record_keys(out) == set(written) and len(written) == 2
    counts_before = log_counts(log)

    gate.touch()
    records = run_sweep(trials, out, backend="ray", progress=False)
    assert set(records.executed) == {t.key for t in trials} - set(written)
    counts_after = log_counts(log)
    for key in written:
        assert counts_after[key] == counts_before[key] == 1
    for key in records.executed:
        assert counts_after[key] == counts_before[key] + 1


def test_a_users_algorithm_module_reaches_the_ray_workers(ray_instance, tmp_path):
    """A matrix trial of an algorithm in a user's own module (a folder outside the repository, not on the
    workers' path) runs on Ray: the trial carries the folder, and the workers import the module from there."""
    import textwrap

    from stmg_bench.registry import resolve
    from stmg_bench.suites import matrix

    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / "ray_user_algo.py").write_text(
        textwrap.dedent("""
        class Constant:
            form = "simultaneous"
            name = "constant"
            def __init__(self, make_env, seed, action=1):
                self.action = action
            def learn(self, total_timesteps, callback=None):
                return self
            def act(self, agent, observation):
                return self.action
    """)
    )
    algo = resolve("ray_user_algo:Constant", search_path=[str(folder)])
    trials = matrix.plan_trials(["penalty:0"], [algo], {"constant": {"action": 2}}, seeds=2, steps=10, curve_points=0)
    records = run_sweep(trials, tmp_path / "out", backend="ray", workers=2, progress=False)
    assert [r["result"]["greedy_joint_action"] for r in records] == [[2, 2], [2, 2]]
    assert all(r["result"]["algo"] == "constant" for r in records)
