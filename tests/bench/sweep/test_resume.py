"""A sweep process killed with SIGKILL resumes without redoing finished trials (the crash scenario).

The sweep runs as a separate process (``python -m tests.bench.sweep.sweep_driver``, a
benchmark-style script with the shared sweep flags) on 2 pool workers. Trials
t0-t2 finish at once; t3-t7 wait for a gate file that does not exist during the
first run, so the kill always lands with exactly t0-t2 recorded and two trials
in flight, whatever the machine's speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bench.sweep.helpers import REPO_ROOT, log_counts, logged_pids, record_keys

COUNT, INSTANT = 8, 3
ALL_KEYS = {f"t{i}" for i in range(COUNT)}
PATIENCE_S = 60.0


def driver_command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "tests.bench.sweep.sweep_driver",
        "--results", str(tmp_path / "out"), "--log", str(tmp_path / "log"),
        "--count", str(COUNT), "--gate", str(tmp_path / "gate"), "--gate-from", str(INSTANT),
        "--backend", "local", "--workers", "2", *extra,
    ]  # fmt: skip


def driver_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}


def run_driver(tmp_path: Path, *extra: str) -> str:
    done = subprocess.run(
        driver_command(tmp_path, *extra),
        cwd=REPO_ROOT,
        env=driver_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def killed_sweep(tmp_path):
    """Start the sweep, SIGKILL its process once t0-t2 are recorded and t3, t4 are running."""

    def first_records_and_two_in_flight() -> bool:
        recorded, started = record_keys(tmp_path / "out"), set(log_counts(tmp_path / "log"))
        return recorded >= {"t0", "t1", "t2"} and started >= {"t3", "t4"}

    driver = subprocess.Popen(
        driver_command(tmp_path), cwd=REPO_ROOT, env=driver_env(), start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: driver.poll() is not None or first_records_and_two_in_flight(), "the first records")
        assert driver.poll() is None, f"the sweep ended before it was killed: {driver.communicate()}"
        os.kill(driver.pid, signal.SIGKILL)  # the sweep process only: its workers are orphaned, as in a real crash
        driver.wait()
        yield tmp_path
    finally:
        try:  # noqa: SIM105
            os.killpg(driver.pid, signal.SIGKILL)  # never leave a worker behind, whatever the test found
        except ProcessLookupError:
            pass
        driver.communicate()


def test_killed_sweep_resumes_without_redoing_finished_trials(killed_sweep):
    """After a SIGKILL, a rerun executes exactly the trials without a record, once each, and leaves the
    finished trials' records untouched. Trials in flight at the kill legitimately start a second time."""
    tmp_path = killed_sweep
    out, log = tmp_path / "out", tmp_path / "log"
    # Orphaned workers still in a gated trial would pick up queued trials once the gate opens, before they
    # notice the kill; a real restart comes later than that, so wait for them to be gone first.
    orphans = {pid for pids in logged_pids(log).values() for pid in pids}
    wait_until(lambda: not any(is_running(pid) for pid in orphans), "the orphaned workers to exit")
    recorded_at_kill = record_keys(out)
    assert recorded_at_kill == {"t0", "t1", "t2"}  # the gated trials cannot have finished
    records_at_kill = {key: (out / f"{key}.json").read_bytes() for key in recorded_at_kill}
    counts_at_kill = log_counts(log)

    (tmp_path / "gate").touch()
    stdout = run_driver(tmp_path)

    assert record_keys(out) == ALL_KEYS
    assert set(stdout.split()[1:]) == ALL_KEYS - recorded_at_kill
    counts = log_counts(log)
    for key in recorded_at_kill:
        assert counts[key] == 1, f"finished trial {key} was executed again"
        assert (out / f"{key}.json").read_bytes() == records_at_kill[key]
    for key in ALL_KEYS - recorded_at_kill:
        assert counts[key] == counts_at_kill[key] + 1, f"unfinished trial {key} did not run exactly once"
    assert not list(out.glob(".*.tmp"))


def test_workers_of_a_killed_sweep_exit_by_themselves(killed_sweep):
    """Pool workers notice that the sweep process died and exit, instead of computing trials nobody records."""
    in_flight = logged_pids(killed_sweep / "log")
    worker_pids = {pid for key in ("t3", "t4") for pid in in_flight[key]}
    assert os.getpid() not in worker_pids
    wait_until(lambda: not any(is_running(pid) for pid in worker_pids), "the orphaned workers to exit")


def test_fresh_flag_reruns_a_finished_sweep(tmp_path):
    """--fresh on the command line deletes the sweep's records and runs every trial again."""
    (tmp_path / "gate").touch()
    run_driver(tmp_path)
    assert run_driver(tmp_path).split()[1:] == []  # resumed: nothing to run
    assert set(run_driver(tmp_path, "--fresh").split()[1:]) == ALL_KEYS
    assert log_counts(tmp_path / "log") == dict.fromkeys(ALL_KEYS, 2)
