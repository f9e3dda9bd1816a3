"""Records: one JSON file per trial, written atomically (stmg_bench/sweep/records.py)."""

from __future__ import annotations

import json
import os

import pytest

from stmg_bench.sweep import RECORD_FIELDS, RecordError, read_record, record_path, write_record
from stmg_bench.sweep.records import remove_records


def make_record(key: str = "t0", result: object = 1) -> dict:
    return {
        "key": key,
        "fn": "statistics:mean",
        "kwargs": {"data": [1]},
        "result": result,
        "wall_s": 0.5,
        "finished_at": "2025-01-01T00:00:00+00:00",
        "host": "h",
        "fingerprint": {"code": "abc"},
        "commit": "0123abc",
    }


def test_record_round_trips_with_fields_in_order(tmp_path):
    """A written record reads back equal, with the documented fields in the documented order."""
    path = write_record(tmp_path, make_record())
    assert path == record_path(tmp_path, "t0") == tmp_path / "t0.json"
    assert list(json.loads(path.read_text())) == list(RECORD_FIELDS)
    assert read_record(tmp_path, "t0") == make_record()
    assert path.read_text().count("\n") == 1  # one line per record: `cat *.json` is JSON Lines


def test_record_is_renamed_into_place_complete(tmp_path, monkeypatch):
    """The record appears by one os.replace of a complete temporary file from the same folder."""
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((src, dst, json.loads(open(src).read())))  # noqa: SIM115
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_record(tmp_path, make_record())
    [(src, dst, content)] = replaced
    assert os.path.dirname(src) == str(tmp_path)  # same file system, so the rename is atomic
    assert os.path.basename(src).startswith(".t0.")  # never mistaken for a record
    assert dst == tmp_path / "t0.json"
    assert content == make_record()


def test_interrupted_write_leaves_the_old_record_and_no_temporary_file(tmp_path, monkeypatch):
    """A write that dies before the rename leaves the previous record intact and cleans up after itself."""
    write_record(tmp_path, make_record(result="old"))

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_record(tmp_path, make_record(result="new"))
    assert read_record(tmp_path, "t0")["result"] == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t0.json"]


def test_unreadable_record_is_reported_with_the_fix(tmp_path):
    """A truncated or foreign file under a record's name raises RecordError saying how to recover."""
    (tmp_path / "t0.json").write_text('{"key": "t0", "res')
    with pytest.raises(RecordError, match="not valid JSON.*--fresh"):
        read_record(tmp_path, "t0")
    (tmp_path / "t1.json").write_text(json.dumps(make_record(key="other")))
    with pytest.raises(RecordError, match="record of trial 't1'"):
        read_record(tmp_path, "t1")


def test_remove_records_deletes_records_and_leftover_temporary_files(tmp_path):
    """remove_records deletes the given keys' records and temp files, and nothing else."""
    write_record(tmp_path, make_record("t0"))
    write_record(tmp_path, make_record("t1"))
    (tmp_path / ".t0.abc123.tmp").write_text("partial")
    (tmp_path / "summary.md").write_text("keep me")
    assert remove_records(tmp_path, ["t0", "missing"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md", "t1.json"]


def test_a_record_from_before_fingerprints_reads_back_with_an_empty_one(tmp_path):
    """Records written by an older version have no fingerprint or commit: they read back as {} and None."""
    old = {k: v for k, v in make_record().items() if k not in ("fingerprint", "commit")}
    (tmp_path / "t0.json").write_text(json.dumps(old))
    record = read_record(tmp_path, "t0")
    assert record["fingerprint"] == {} and record["commit"] is None
