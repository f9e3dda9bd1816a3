"""Sweeps on a two-node Ray cluster started with ``ray start`` on this machine, with faults injected.

The cluster (``tests/bench/sweep/ray_cluster.py``: loopback addresses, token authentication,
1 CPU per node, separate temporary folders) is started once for the module and stopped at
its end, whatever the tests found. Every driver is a separate process, as a user's would be;
this process never connects to Ray. Trials wait for a gate file, so each fault lands while
known trials are running, whatever the machine's speed. One to two minutes in all (most of it starting Ray).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from stmg_bench.sweep import read_record
from tests.bench.sweep.helpers import REPO_ROOT, log_counts, logged_pids, record_keys
from tests.bench.sweep.ray_cluster import LocalRayCluster, is_alive, wait_until

pytest.importorskip("ray", reason="needs Ray: pip install 'stmg-envs[ray]'")
if not sys.platform.startswith("linux"):
    pytest.skip("the cluster helper finds a node's processes through /proc (Linux)", allow_module_level=True)

pytestmark = [pytest.mark.ray, pytest.mark.slow]

#: Longest wait for a sweep to reach a state, or for killed processes to be gone.
PATIENCE_S = 240.0
#: Longest a whole sweep may take once its gate is open.
SWEEP_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def cluster():
    """A running head node (1 CPU); tests add worker nodes. Everything is stopped at the end of the module."""
    # A short root: Ray's unix sockets live under it, and socket paths are limited to ~107 characters.
    root = Path(tempfile.mkdtemp(prefix="stmg-ray-"))
    running = LocalRayCluster(root)
    try:
        running.start_head(num_cpus=1)
        yield running
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)


GATED_ALGORITHM = '''
"""A matrix-suite algorithm that logs "<seed> <pid>" when training starts and waits for a gate file."""
import os
import time
from pathlib import Path


class Gated:
    form = "simultaneous"
    name = "gated"

    def __init__(self, make_env, seed, log=None, gate=None, action=1):
        self.seed, self.log, self.gate, self.action = seed, log, gate, action

    def learn(self, total_timesteps, callback=None):
        if self.log is None:  # the harness's contract check, in the driver
            return self
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(f"{self.seed} {os.getpid()}\\n")
        deadline = time.monotonic() + 180
        while not Path(self.gate).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {self.gate} never appeared")
            time.sleep(0.05)
        return self

    def act(self, agent, observation):
        return self.action
'''


def test_matrix_sweep_finishes_every_trial_once_when_a_worker_nodes_raylet_is_killed(cluster, tmp_path):
    """`stmg-bench matrix --backend ray --address` (as `python -m stmg_bench.cli`) on the two-node cluster, the worker node's raylet SIGKILLed
    while trials run there: the sweep still records every trial exactly once (Ray reruns the lost ones on the
    head), exits 0, and its output holds none of Ray's `[state-dump]` lines nor any Ray message in the report."""
    seeds = 4
    worker = cluster.add_worker("worker", num_cpus=1)
    algorithm, log, gate, out = tmp_path / "gated_algo.py", tmp_path / "log", tmp_path / "gate", tmp_path / "out"
    algorithm.write_text(textwrap.dedent(GATED_ALGORITHM))
    command = [
        sys.executable, "-m", "stmg_bench.cli", "matrix", "--backend", "ray", "--address", cluster.address,
        "--games", "penalty:0", "--algos", f"{algorithm}:Gated",
        "--hyperparams", "gated=" + json.dumps({"log": str(log), "gate": str(gate)}),
        "--seeds", str(seeds), "--steps", "10", "--curve-points", "0", "--out", str(out), "--name", "cluster",
    ]  # fmt: skip
    sweep = subprocess.Popen(
        command, cwd=tmp_path, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        # Both nodes' CPUs busy with gated trials, one on each node.
        wait_until(
            lambda: sweep.poll() is not None or sum(log_counts(log).values()) >= 2, "2 trials running", PATIENCE_S
        )
        assert sweep.poll() is None, f"the sweep ended early: {sweep.communicate()}"
        worker_pids = worker.pids()
        on_worker = {key for key, pids in logged_pids(log).items() if set(pids) & worker_pids}
        assert on_worker, "no trial runs on the worker node: the kill would test nothing"

        os.kill(worker.raylet_pid(), signal.SIGKILL)
        wait_until(lambda: not worker.pids(), "the worker node's processes to be gone", PATIENCE_S)
        gate.touch()
        stdout, stderr = sweep.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.communicate()

    assert sweep.returncode == 0, stderr[-3000:]
    records = {path.stem: json.loads(path.read_text()) for path in out.rglob("gated_*.json")}
    assert sorted(records) == sorted(f"gated_penalty0_s{seed}" for seed in range(seeds))
    assert all(record["key"] == key for key, record in records.items())
    assert all(record["result"]["greedy_joint_action"] == [1, 1] for record in records.values())
    # Started twice: the trials running on the killed node (rerun on the head); every other one once.
    assert log_counts(log) == {str(seed): 2 if str(seed) in on_worker else 1 for seed in range(seeds)}
    assert "[state-dump]" not in stdout + stderr
    assert "(raylet" not in stdout and "# Matrix games" in stdout


def driver_command(cluster: LocalRayCluster, tmp_path: Path, count: int, gate_from: int) -> list[str]:
    return [
        sys.executable, "-m", "tests.bench.sweep.sweep_driver",
        "--results", str(tmp_path / "out"), "--log", str(tmp_path / "log"), "--count", str(count),
        "--gate", str(tmp_path / "gate"), "--gate-from", str(gate_from), "--backend", "ray", "--address", cluster.address,
    ]  # fmt: skip


def driver_env(cluster: LocalRayCluster) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**cluster.env, "PYTHONPATH": python_path}


def test_driver_killed_with_sigkill_resumes_on_the_cluster_without_redoing_or_losing_trials(cluster, tmp_path):
    """A sweep driver on the cluster SIGKILLed with 3 trials recorded and another running, then started again:
    the rerun executes exactly the trials without a record, once each; the finished trials' records are
    untouched and every record on disk reads back whole."""
    count, instant = 5, 3
    out, log = tmp_path / "out", tmp_path / "log"
    everything = {f"t{i}" for i in range(count)}
    driver = subprocess.Popen(
        driver_command(cluster, tmp_path, count, instant), cwd=REPO_ROOT, env=driver_env(cluster),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:

        def three_finished_and_a_gated_one_running() -> bool:
            return record_keys(out) >= {"t0", "t1", "t2"} and bool(set(log_counts(log)) - {"t0", "t1", "t2"})

        wait_until(
            lambda: driver.poll() is not None or three_finished_and_a_gated_one_running(),
            "3 records and a gated trial running",
            PATIENCE_S,
        )
        assert driver.poll() is None, f"the sweep ended before it was killed: {driver.communicate()}"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver.communicate()

    # Ray ends the tasks of a driver that is gone; the rerun comes after that, as a real restart would.
    in_flight = {pid for key, pids in logged_pids(log).items() if key not in record_keys(out) for pid in pids}
    wait_until(lambda: not any(is_alive(pid) for pid in in_flight), "the tasks to end", PATIENCE_S)
    recorded = record_keys(out)
    assert recorded == {"t0", "t1", "t2"}  # the gated trials cannot have finished
    saved = {key: (out / f"{key}.json").read_bytes() for key in recorded}
    counts_at_kill = log_counts(log)

    (tmp_path / "gate").touch()
    rerun = subprocess.run(
        driver_command(cluster, tmp_path, count, instant), cwd=REPO_ROOT, env=driver_env(cluster),
        capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]

    assert set(rerun.stdout.split()[1:]) == everything - recorded
    assert record_keys(out) == everything
    counts = log_counts(log)
    for key in recorded:
        assert counts[key] == 1, f"finished trial {key} was executed again"
        assert (out / f"{key}.json").read_bytes() == saved[key]
    for key in everything - recorded:
        assert counts[key] == counts_at_kill[key] + 1, f"unfinished trial {key} did not run exactly once"
    assert [read_record(out, f"t{i}")["result"]["value"] for i in range(count)] == list(range(count))
    assert not list(out.glob(".*.tmp"))
