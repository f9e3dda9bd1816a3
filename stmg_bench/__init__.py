"""stmg-bench: the benchmark harness of stmg-envs, for any algorithm, any task, any priority order.

What it holds:

* :mod:`stmg_bench.contract`: the one contract an algorithm satisfies (``form``,
  ``__init__(make_env, seed, **hp)``, ``learn``, ``act``) and its checker;
* :mod:`stmg_bench.registry`: algorithm names and specs (``"step"``,
  ``"package.module:Class"``, ``"path/to/file.py:Class"``); a name is a class plus settings
  (:class:`~stmg_bench.registry.RegistryEntry`: STEP's variants are STEP plus theirs); every built-in name is a
  class of :mod:`stmg_agents` that satisfies the contract itself (STEP, seq-ppo, MAPPO, IPPO, HAPPO...);
* :mod:`stmg_bench.suites`: the suites: ``matrix`` (trials) with ``matrix_study`` (report), ``control``
  (trials) with ``control_study`` (planning, calibration, tests, plots), ``mujoco_study`` and ``merge_study``;
* :mod:`stmg_bench.deterministic_evaluation`: greedy episodes through an algorithm's form, with task metrics;
* :mod:`stmg_bench.provenance`: the fingerprint a trial record carries;
* :mod:`stmg_bench.args`: command lines derived from frozen ``Args`` dataclasses;
* :mod:`stmg_bench.sweep`: resumable sweeps on a local process pool or Ray;
* :mod:`stmg_bench.cli`: the ``stmg-bench`` command.

The environments (:mod:`stmg_envs`) never import this package; importing it imports no torch.

Examples:
    >>> from stmg_bench import resolve
    >>> resolve("mappo").form
    'simultaneous'
"""

from stmg_bench.contract import FORMS, Algorithm, ContractError, check_algorithm
from stmg_bench.registry import (
    RegistryEntry,
    ResolvedAlgorithm,
    UnknownAlgorithmError,
    register,
    registered,
    resolve,
)

__all__ = [
    "FORMS",
    "Algorithm",
    "ContractError",
    "check_algorithm",
    "RegistryEntry",
    "ResolvedAlgorithm",
    "UnknownAlgorithmError",
    "register",
    "registered",
    "resolve",
]
