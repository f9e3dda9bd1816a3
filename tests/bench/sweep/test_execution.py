"""What a worker does with one trial (stmg_bench/sweep/execution.py)."""

from __future__ import annotations

import os

import pytest

from stmg_bench.sweep import RECORD_FIELDS, RUNNER_FIELDS, execution
from stmg_bench.sweep.execution import execute_trial, single_threaded
from tests.bench.sweep.helpers import FUNCTIONS


def test_successful_trial_gives_a_complete_record():
    """The record holds every documented field, the kwargs and the result."""
    outcome = execute_trial("k", "statistics:mean", {"data": [1, 3]})
    assert outcome.error is None
    assert list(outcome.record) == [f for f in RECORD_FIELDS if f not in RUNNER_FIELDS]
    assert outcome.record["key"] == "k"
    assert outcome.record["fn"] == "statistics:mean"
    assert outcome.record["kwargs"] == {"data": [1, 3]}
    assert outcome.record["result"] == 2
    assert outcome.record["wall_s"] >= 0


def test_numpy_results_are_stored_as_plain_json():
    """NumPy scalars and arrays in a result become JSON numbers and nested lists."""
    outcome = execute_trial("k", f"{FUNCTIONS}:numpy_values", {})
    assert outcome.record["result"] == {"float32": 0.5, "int64": 7, "array": [0, 1, 2], "matrix": [[1, 0], [0, 1]]}
    assert type(outcome.record["result"]["int64"]) is int


@pytest.mark.parametrize(
    ("function", "message"),
    [("not_json", "not JSON-serialisable"), ("exit_early", "SystemExit: 3")],
)
def test_bad_trials_become_failures_not_exceptions(function, message):
    """A non-JSON result or a sys.exit in a trial is reported as that trial's failure, with a traceback."""
    outcome = execute_trial("k", f"{FUNCTIONS}:{function}", {})
    assert outcome.record is None
    assert "Traceback" in outcome.error and message in outcome.error


def test_trial_runs_single_threaded_and_settings_are_restored(monkeypatch):
    """Inside a trial OMP_NUM_THREADS=1 and torch uses one thread; the caller's settings come back after."""
    torch = pytest.importorskip("torch", reason="needs torch to check its thread count")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        outcome = execute_trial("k", f"{FUNCTIONS}:thread_settings", {"import_torch": True})
        assert outcome.record["result"]["OMP_NUM_THREADS"] == "1"
        assert outcome.record["result"]["torch_threads"] == 1
        assert os.environ["OMP_NUM_THREADS"] == "2"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_single_threaded_removes_variables_it_added(monkeypatch):
    """Variables unset before the trial are unset after it."""
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with single_threaded():
        assert os.environ["MKL_NUM_THREADS"] == "1"
    assert "MKL_NUM_THREADS" not in os.environ


def test_orphaned_worker_exits(monkeypatch):
    """A pool worker whose parent (the sweep) died ends itself instead of computing unrecorded trials."""

    class Exited(Exception):
        pass

    def fake_exit(code):
        raise Exited(code)

    monkeypatch.setattr(os, "getppid", lambda: 1)
    monkeypatch.setattr(os, "_exit", fake_exit)
    with pytest.raises(Exited):
        execution._exit_when_orphaned(parent_pid=12345, poll_s=0.0)
