"""Helpers of the sweep tests: building test trials and reading what they left behind."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from stmg_bench.sweep import Trial

#: Root of the repository: worker processes import ``tests.bench.sweep.trial_functions`` from here.
REPO_ROOT = Path(__file__).resolve().parents[3]

FUNCTIONS = "tests.bench.sweep.trial_functions"


def logged_trials(log: Path, count: int, *, gate: Path | None = None, gate_from: int = 0) -> list[Trial]:
    """Trials ``t0 ... t<count-1>`` of ``log_and_return``; those from ``gate_from`` on wait for ``gate``."""
    return [
        Trial(
            key=f"t{i}",
            fn=f"{FUNCTIONS}:log_and_return",
            kwargs={
                "log": str(log),
                "key": f"t{i}",
                "value": i,
                "gate": str(gate) if gate is not None and i >= gate_from else None,
            },
        )
        for i in range(count)
    ]


def log_counts(log: Path) -> Counter[str]:
    """How many times each trial key was started, from the log the trial functions append to."""
    if not log.exists():
        return Counter()
    return Counter(line.split()[0] for line in log.read_text().splitlines() if line.strip())


def logged_pids(log: Path) -> dict[str, list[int]]:
    """Trial key -> the ids of the processes that started it."""
    pids: dict[str, list[int]] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            key, pid = line.split()
            pids.setdefault(key, []).append(int(pid))
    return pids


def record_keys(results_dir: Path) -> set[str]:
    """Keys of the records in ``results_dir``."""
    return {path.stem for path in results_dir.glob("*.json")}
