"""Every results report says what made it: the commit, the script and its command line, and the machine.

For each ``benchmarks/results/*.md``: a commit (a hash in backticks, or "not recorded" where the writer did not
record it), the script that wrote it (``benchmarks/<script>.py`` that exists, or ``stmg-bench``), no script that no
longer exists (a report made by an older script names it otherwise), the machine (architecture and CPUs, or "not
recorded"), and, where its trial records were made by an uncommitted tree (``+dirty``), says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
REPORTS = sorted(RESULTS.glob("*.md"))


def problems(path: Path) -> list[str]:
    """What the report at ``path`` does not say about its provenance (empty: it says everything checked)."""
    text = path.read_text()
    out = []
    if not re.search(r"`[0-9a-f]{7,40}(\+dirty)?`", text) and "not recorded" not in text:
        out.append("no commit (a hash in backticks, or 'not recorded')")
    scripts = set(re.findall(r"benchmarks/(\w+\.py)", text))
    if not scripts and "stmg-bench" not in text:
        out.append("no script named")
    out += [
        f"names benchmarks/{s}, which does not exist" for s in sorted(scripts) if not (ROOT / "benchmarks" / s).exists()
    ]
    if not re.search(r"x86_64|aarch64|arm64|AMD64|\d+ CPUs|[Mm]achine:? not recorded", text):
        out.append("no machine (architecture / CPUs)")
    trials = RESULTS / "trials" / path.stem
    dirty = trials.is_dir() and any(
        str(json.loads(f.read_text()).get("commit", "")).endswith("+dirty") for f in trials.glob("*.json")
    )
    if dirty and "+dirty" not in text:
        out.append("trial records made by an uncommitted tree (+dirty), not said")
    return out


def test_the_check_names_what_a_report_lacks(tmp_path: Path) -> None:
    """Guards the check itself: a report without commit, machine or with a removed script is named, a full one not."""
    bad = tmp_path / "bad.md"
    bad.write_text("# x\n\nWritten by `benchmarks/mujoco.py` with --seeds 3.\n")
    assert problems(bad) == [
        "no commit (a hash in backticks, or 'not recorded')",
        "names benchmarks/mujoco.py, which does not exist",
        "no machine (architecture / CPUs)",
    ]
    good = tmp_path / "good.md"
    good.write_text("Written by `benchmarks/mamujoco.py` at commit `abc1234` with --seeds 3 (x86_64, 2 CPUs).\n")
    assert problems(good) == []


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_every_report_names_commit_script_and_machine(path: Path) -> None:
    """Guards each committed report's provenance (see the module docstring)."""
    assert problems(path) == []
