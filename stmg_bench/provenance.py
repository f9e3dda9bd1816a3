"""What produced a trial record: a fingerprint that a resumed sweep compares before reusing the record.

The fingerprint holds the package version, a hash of the source code the trial
runs (the environments; the harness's contract, registry, evaluation and
trial execution, and the suite module that holds the trial function; the
algorithm's own package or file), and the algorithm with its settings (a registered
variant's overrides too). Reports, planning and command lines are not part of it: editing
them reuses the trials. A resumed sweep reruns the trials whose record carries another fingerprint, and says how many, instead
of silently reusing results of other code or settings. The git commit is
recorded beside it for the reader, but not compared: committing results or
editing a README does not make trials stale.

Examples:
    >>> from stmg_bench.registry import resolve
    >>> stamp = fingerprint(resolve("mappo"), {"gamma": 0.0}, "stmg_bench.suites.matrix")
    >>> sorted(stamp)
    ['algorithm', 'code', 'hyperparameters', 'version']
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stmg_bench.registry import ResolvedAlgorithm

__all__ = ["fingerprint", "git_commit", "source_hash"]

_HERE = Path(__file__).resolve().parent


@functools.cache
def source_hash(*roots: str) -> str:
    """A short SHA-256 of every ``.py`` file under ``roots`` (folders or files), in a stable order."""
    digest = hashlib.sha256()
    for root in roots:
        path = Path(root)
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _module_root(target: str) -> str:
    """The folder of the top-level package (or the file) that ``module:Attribute`` / ``file.py:Attribute`` lives in."""
    module = target.rpartition(":")[0]
    if module.endswith(".py"):
        return str(Path(module).resolve())
    top = module.split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return ""
    origin = Path(spec.origin)
    return str(origin.parent if origin.name == "__init__.py" else origin)


#: The harness's files that every trial executes (relative to the package folder).
TRIAL_CODE = ("contract.py", "registry.py", "deterministic_evaluation.py", "sweep/execution.py")


def fingerprint(algorithm: ResolvedAlgorithm, hyperparameters: Mapping[str, Any], trial_module: str) -> dict[str, Any]:
    """The fingerprint of a trial of ``algorithm`` with ``hyperparameters`` whose function is in ``trial_module``."""
    import importlib

    import stmg_envs

    roots = [
        str(Path(stmg_envs.__file__).resolve().parent),
        *(str(_HERE / f) for f in TRIAL_CODE),
        str(Path(str(importlib.import_module(trial_module).__file__)).resolve()),
    ]
    saved = sys.path[:]
    sys.path[:0] = [p for p in algorithm.search_path if p not in sys.path]
    try:
        root = _module_root(algorithm.target)  # a built-in's: the stmg_agents package
    finally:
        sys.path[:] = saved
    if root:
        roots.append(root)
    stamp = {
        "version": stmg_envs.__version__,
        "code": source_hash(*roots),
        "algorithm": algorithm.target,
        "hyperparameters": dict(hyperparameters),
    }
    if algorithm.overrides:  # a registered variant: the class alone does not say what it is built with
        stamp["overrides"] = algorithm.to_json()["overrides"]
    return stamp


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout the harness runs from, or None.

    ``+dirty`` marks uncommitted changes to tracked files outside :data:`RESULTS_DIR`: a study
    rewrites its own report there while it runs, which changes no code.
    """
    return _commit_of(_HERE)


#: Where the benchmark scripts write (relative to the repository root); changes there do not make a checkout dirty.
RESULTS_DIR = "benchmarks/results"


def _commit_of(folder: Path) -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", f":(top,exclude){RESULTS_DIR}"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
