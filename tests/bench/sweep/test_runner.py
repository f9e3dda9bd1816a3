"""run_sweep with the local backend: resume, failures, --fresh, bad input (stmg_bench/sweep/runner.py)."""

from __future__ import annotations

import os
import sys

import pytest

from stmg_bench.sweep import MissingRayError, RecordError, Trial, TrialsFailedError, run_sweep, runner
from tests.bench.sweep.helpers import FUNCTIONS, log_counts, logged_trials, record_keys


def test_records_are_returned_in_trial_order_one_file_per_trial(tmp_path):
    """Every trial gets exactly one record file, and the records come back in the order of the trials."""
    log = tmp_path / "log"
    trials = logged_trials(log, 5)[::-1]
    records = run_sweep(trials, tmp_path / "out", workers=2, progress=False)
    assert [record["key"] for record in records] == [trial.key for trial in trials]
    assert [record["result"]["double"] for record in records] == [8, 6, 4, 2, 0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"t{i}.json" for i in range(5)]
    assert records.executed == tuple(trial.key for trial in trials) and records.reused == ()


def test_rerun_reuses_records_without_executing_trials(tmp_path):
    """A second call with the same trials returns the same records and runs nothing."""
    log = tmp_path / "log"
    trials = logged_trials(log, 4)
    first = run_sweep(trials, tmp_path / "out", workers=1, progress=False)
    second = run_sweep(trials, tmp_path / "out", workers=1, progress=False)
    assert second == first
    assert second.executed == () and second.reused == tuple(t.key for t in trials)
    assert log_counts(log) == {f"t{i}": 1 for i in range(4)}


def test_new_trials_added_to_a_sweep_run_alone(tmp_path):
    """Extending a finished sweep runs only the new trials."""
    log = tmp_path / "log"
    run_sweep(logged_trials(log, 2), tmp_path / "out", workers=1, progress=False)
    records = run_sweep(logged_trials(log, 4), tmp_path / "out", workers=1, progress=False)
    assert records.executed == ("t2", "t3")
    assert log_counts(log) == {f"t{i}": 1 for i in range(4)}


def test_workers_1_runs_in_process_and_more_in_other_processes(tmp_path):
    """workers=1 runs trials in the caller (debuggable); workers>1 in worker processes."""
    trials = [Trial(key=f"p{i}", fn=f"{FUNCTIONS}:thread_settings") for i in range(2)]
    in_process = run_sweep(trials, tmp_path / "a", workers=1, progress=False)
    assert {record["result"]["pid"] for record in in_process} == {os.getpid()}
    pooled = run_sweep(trials, tmp_path / "b", workers=2, progress=False)
    assert os.getpid() not in {record["result"]["pid"] for record in pooled}
    assert {record["result"]["OMP_NUM_THREADS"] for record in pooled} == {"1"}


def test_pool_worker_trial_importing_torch_gets_one_thread(tmp_path):
    """A trial that imports torch lazily in a pool worker runs with torch.get_num_threads() == 1."""
    pytest.importorskip("torch", reason="needs torch to check its thread count")
    trial = Trial(key="torch", fn=f"{FUNCTIONS}:thread_settings", kwargs={"import_torch": True})
    [record] = run_sweep([trial], tmp_path, workers=2, progress=False)
    assert record["result"]["torch_threads"] == 1


def test_each_record_is_written_when_its_trial_finishes(tmp_path):
    """Records are written as trials finish, not at the end: a running trial sees an earlier one's record."""
    log, out = tmp_path / "log", tmp_path / "out"
    trials = [
        Trial(
            key="late",
            fn=f"{FUNCTIONS}:wait_for_record",
            kwargs={"log": str(log), "key": "late", "record": str(out / "early.json")},
        ),
        Trial(key="early", fn=f"{FUNCTIONS}:log_and_return", kwargs={"log": str(log), "key": "early", "value": 1}),
    ]
    records = run_sweep(trials, out, workers=2, progress=False)
    assert records[0]["result"] == {"saw_record": True}


def test_failing_trial_does_not_lose_the_others_and_is_retried_alone(tmp_path):
    """One trial raising: the others' records are written, the error lists it, a rerun runs only it."""
    log, out, flag = tmp_path / "log", tmp_path / "out", tmp_path / "fixed"
    trials = logged_trials(log, 4)
    trials.insert(
        2,
        Trial(key="flaky", fn=f"{FUNCTIONS}:fail_unless", kwargs={"log": str(log), "key": "flaky", "flag": str(flag)}),
    )
    with pytest.raises(TrialsFailedError) as info:
        run_sweep(trials, out, workers=2, progress=False)
    assert list(info.value.failures) == ["flaky"]
    assert "RuntimeError: trial flaky fails until" in info.value.failures["flaky"]
    assert "flaky" in str(info.value) and "RuntimeError" in str(info.value)
    assert [record["key"] for record in info.value.records] == ["t0", "t1", "t2", "t3"]
    assert record_keys(out) == {"t0", "t1", "t2", "t3"}

    flag.touch()
    records = run_sweep(trials, out, workers=2, progress=False)
    assert records.executed == ("flaky",)
    assert records[2]["result"] == "fixed"
    assert log_counts(log) == {"t0": 1, "t1": 1, "flaky": 2, "t2": 1, "t3": 1}


def test_crashed_worker_process_fails_its_trial_without_hanging(tmp_path):
    """A trial that kills its worker process is reported as failed; every trial is accounted for."""
    log = tmp_path / "log"
    trials = [Trial(key="crash", fn=f"{FUNCTIONS}:kill_own_process"), *logged_trials(log, 2)]
    with pytest.raises(TrialsFailedError) as info:
        run_sweep(trials, tmp_path / "out", workers=2, progress=False)
    assert "crash" in info.value.failures
    recorded = {record["key"] for record in info.value.records}
    assert recorded | set(info.value.failures) == {"crash", "t0", "t1"}
    assert recorded.isdisjoint(info.value.failures)


def test_interrupted_pool_sweep_resumes_without_redoing_finished_trials(tmp_path, monkeypatch):
    """Ctrl-C mid-sweep (here: raised while writing the third record) stops the pool; a rerun redoes only
    the trials without a record."""
    log, out, gate = tmp_path / "log", tmp_path / "out", tmp_path / "gate"
    trials = logged_trials(log, 6, gate=gate, gate_from=3)
    real_write = runner.write_record
    written = []

    def write_then_interrupt(folder, record):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(record["key"])
        return real_write(folder, record)

    monkeypatch.setattr(runner, "write_record", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(trials, out, workers=2, progress=False)
    monkeypatch.undo()
    assert record_keys(out) == set(written) and len(written) == 2
    counts_before = log_counts(log)

    gate.touch()
    records = run_sweep(trials, out, workers=2, progress=False)
    assert set(records.executed) == {t.key for t in trials} - set(written)
    counts_after = log_counts(log)
    for key in written:
        assert counts_after[key] == counts_before[key] == 1
    for key in records.executed:
        assert counts_after[key] == counts_before[key] + 1


def test_fresh_reruns_every_trial(tmp_path):
    """fresh=True deletes the sweep's records first and runs all trials again; other files stay."""
    log, out = tmp_path / "log", tmp_path / "out"
    trials = logged_trials(log, 3)
    run_sweep(trials, out, workers=1, progress=False)
    (out / "notes.md").write_text("kept")
    records = run_sweep(trials, out, workers=1, progress=False, fresh=True)
    assert records.executed == ("t0", "t1", "t2") and records.reused == ()
    assert log_counts(log) == {"t0": 2, "t1": 2, "t2": 2}
    assert (out / "notes.md").read_text() == "kept"


def test_record_from_different_kwargs_is_not_reused(tmp_path):
    """A record whose fn/kwargs differ from the trial with its key raises RecordError instead of mixing
    results of different settings; fresh=True redoes it."""
    log, out = tmp_path / "log", tmp_path / "out"
    run_sweep(logged_trials(log, 2), out, workers=1, progress=False)
    changed = [Trial(key="t0", fn=f"{FUNCTIONS}:log_and_return", kwargs={"log": str(log), "key": "t0", "value": 9})]
    with pytest.raises(RecordError, match=r"(?s)--fresh.*'t0': record has"):
        run_sweep(changed, out, workers=1, progress=False)
    [record] = run_sweep(changed, out, workers=1, progress=False, fresh=True)
    assert record["result"]["value"] == 9


def test_record_with_another_fingerprint_is_rerun_and_said_so(tmp_path, capsys):
    """Resuming after the code or settings changed (another fingerprint) reruns exactly those trials, says how
    many, and records the new fingerprint and the commit; trials with the same fingerprint are reused."""
    import dataclasses

    log, out = tmp_path / "log", tmp_path / "out"
    trials = [dataclasses.replace(t, fingerprint={"code": "v1"}) for t in logged_trials(log, 3)]
    run_sweep(trials, out, workers=1, progress=False)
    changed = [dataclasses.replace(t, fingerprint={"code": "v2"}) if t.key == "t1" else t for t in trials]
    records = run_sweep(changed, out, workers=1, progress=True)
    assert records.rerun == ("t1",) and records.executed == ("t1",) and set(records.reused) == {"t0", "t2"}
    assert log_counts(log) == {"t0": 1, "t1": 2, "t2": 1}
    assert [r["fingerprint"] for r in records] == [{"code": "v1"}, {"code": "v2"}, {"code": "v1"}]
    assert "1 saved trial(s) were made by other code or settings" in capsys.readouterr().err
    assert all("commit" in r for r in records)


def test_saved_only_renders_old_records_without_running_or_deleting_anything(tmp_path, capsys):
    """saved_only returns the saved records whatever their fingerprint, runs no trial, deletes no record, and
    says which records other code made and which trials have none; with fresh it is refused."""
    import dataclasses

    log, out = tmp_path / "log", tmp_path / "out"
    trials = [dataclasses.replace(t, fingerprint={"code": "v1"}) for t in logged_trials(log, 3)]
    run_sweep(trials[:2], out, workers=1, progress=False)
    later = [dataclasses.replace(t, fingerprint={"code": "v2"}) if t.key == "t1" else t for t in trials]
    records = run_sweep(later, out, workers=1, progress=True, saved_only=True)
    assert [r["key"] for r in records] == ["t0", "t1"] and records[1]["fingerprint"] == {"code": "v1"}
    assert records.outdated == ("t1",) and records.missing == ("t2",) and records.executed == ()
    assert log_counts(log) == {"t0": 1, "t1": 1} and record_keys(out) == {"t0", "t1"}
    assert "(1 of them made by other code or settings), 1 without a record (not run)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="expected one of them, got both"):
        run_sweep(later, out, workers=1, progress=False, saved_only=True, fresh=True)
    assert run_sweep(later, tmp_path / "nothing", progress=False, saved_only=True).missing == ("t0", "t1", "t2")


def test_saved_from_reads_earlier_runs_for_the_trials_this_run_has_no_record_of(tmp_path):
    """A saved-only report over several runs: this run's own record wins, the others fill in the trials it lacks
    (a bare name is a run next to this one), a fingerprint that differs is still named, nothing runs or moves;
    without saved_only, saved_from is refused, and so is a name with no folder."""
    import dataclasses

    log = tmp_path / "log"
    trials = [dataclasses.replace(t, fingerprint={"code": "v1"}) for t in logged_trials(log, 4)]
    run_sweep(trials[:1], tmp_path / "trials" / "mine", workers=1, progress=False)
    run_sweep(trials[:2], tmp_path / "trials" / "earlier", workers=1, progress=False)
    other = [dataclasses.replace(t, fingerprint={"code": "v0"}) for t in trials[2:3]]
    run_sweep(other, tmp_path / "elsewhere", workers=1, progress=False)
    records = run_sweep(
        trials,
        tmp_path / "trials" / "mine",
        progress=False,
        saved_only=True,
        saved_from=("earlier", tmp_path / "elsewhere"),
    )
    assert [r["key"] for r in records] == ["t0", "t1", "t2"] and records.missing == ("t3",)
    assert records.outdated == ("t2",) and log_counts(log) == {"t0": 2, "t1": 1, "t2": 1}
    assert record_keys(tmp_path / "trials" / "mine") == {"t0"}
    with pytest.raises(ValueError, match="expected saved_only=True"):
        run_sweep(trials, tmp_path / "trials" / "mine", progress=False, saved_from=("earlier",))
    with pytest.raises(ValueError, match="saved_from names no folder of records at .*earlir"):  # a typo
        run_sweep(trials, tmp_path / "trials" / "mine", progress=False, saved_only=True, saved_from=("earlir",))


def test_unimportable_function_fails_before_any_trial_runs(tmp_path):
    """A typo in fn raises at once in the caller, before any trial runs or any record is written."""
    log = tmp_path / "log"
    trials = [*logged_trials(log, 2), Trial(key="typo", fn=f"{FUNCTIONS}:no_such_function")]
    with pytest.raises(ValueError, match="no_such_function"):
        run_sweep(trials, tmp_path / "out", workers=1, progress=False)
    assert not log.exists() and record_keys(tmp_path / "out") == set()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"backend": "dask"}, ValueError, r"expected backend in \('local', 'ray'\), got 'dask'"),
        ({"workers": 0}, ValueError, "expected workers as a positive int"),
        ({"workers": True}, ValueError, "expected workers as a positive int"),
        ({"address": "auto"}, ValueError, "needs backend='ray'"),
    ],
)
def test_bad_options_are_rejected(tmp_path, options, error, message):
    """Bad backend/workers/address values raise an error saying what was expected."""
    with pytest.raises(error, match=message):
        run_sweep([Trial(key="a", fn="statistics:mean", kwargs={"data": [1]})], tmp_path, progress=False, **options)


def test_duplicate_keys_and_non_trials_are_rejected(tmp_path):
    """Keys must be unique (they name the record files) and trials must be Trial objects."""
    trial = Trial(key="a", fn="statistics:mean", kwargs={"data": [1]})
    with pytest.raises(ValueError, match="unique trial keys, got 'a' twice"):
        run_sweep([trial, trial], tmp_path, progress=False)
    with pytest.raises(TypeError, match="expected trials as stmg_bench.sweep.Trial"):
        run_sweep([("a", "statistics:mean")], tmp_path, progress=False)  # type: ignore[list-item]


def test_ray_backend_without_ray_names_the_extra(tmp_path, monkeypatch):
    """backend='ray' without Ray installed says which extra to install."""
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(MissingRayError, match=r"pip install 'stmg-envs\[ray\]'"):
        run_sweep([Trial(key="a", fn="statistics:mean", kwargs={"data": [1]})], tmp_path, backend="ray", progress=False)


def test_progress_prints_a_summary_line(tmp_path, capsys):
    """With progress=True the sweep ends with a line giving trials run/reused and the wall time."""
    trials = [Trial(key="a", fn="statistics:mean", kwargs={"data": [1]})]
    records = run_sweep(trials, tmp_path, workers=1, desc="demo")
    assert "demo: 1 trials: 1 run, 0 reused, wall time" in capsys.readouterr().err
    assert records.summary.startswith("1 trials: 1 run, 0 reused, wall time")
