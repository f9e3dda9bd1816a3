"""stmg_bench.provenance: the commit a trial record names, and when it is marked ``+dirty``."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from stmg_bench import provenance

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def test_a_rewritten_report_does_not_make_the_checkout_dirty_but_changed_code_does(tmp_path):
    """A study that rewrites its tracked report in benchmarks/results/ while it runs (as every study does) leaves
    the records' commit clean; a change to a tracked file anywhere else, even above the folder the harness runs
    from, marks it ``+dirty``."""
    package = tmp_path / "stmg_bench"
    results = tmp_path / provenance.RESULTS_DIR
    package.mkdir()
    results.mkdir(parents=True)
    (package / "code.py").write_text("x = 1\n")
    (results / "study.md").write_text("old\n")
    (tmp_path / "README.md").write_text("readme\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "start")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert provenance._commit_of(package) == head
    (results / "study.md").write_text("rewritten by the study\n")
    (results / "new.csv").write_text("untracked\n")
    assert provenance._commit_of(package) == head
    (tmp_path / "README.md").write_text("changed\n")
    assert provenance._commit_of(package) == head + "+dirty"
    _git(tmp_path, "checkout", "--", "README.md")
    (package / "code.py").write_text("x = 2\n")
    assert provenance._commit_of(package) == head + "+dirty"


def test_outside_a_git_checkout_there_is_no_commit(tmp_path):
    """Installed from a wheel (no repository around the package) a record names no commit, instead of failing."""
    assert provenance._commit_of(tmp_path) is None


def test_a_variants_fingerprint_holds_its_overrides():
    """A registered variant shares its class with others (step-explore, step-backward: STEP), so its fingerprint
    holds its overrides: changing what a variant is built with makes its records stale; a plain name has none."""
    from stmg_bench.provenance import fingerprint
    from stmg_bench.registry import resolve

    explore = fingerprint(resolve("step-explore"), {"gamma": 0.0}, "stmg_bench.suites.matrix")
    backward = fingerprint(resolve("step-backward"), {"gamma": 0.0}, "stmg_bench.suites.matrix")
    assert explore["overrides"] == {"leader_start": 0.5, "leader_explore": 0.25} and explore != backward
    assert "overrides" not in fingerprint(resolve("step"), {"gamma": 0.0}, "stmg_bench.suites.matrix")
