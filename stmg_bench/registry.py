"""Algorithm names and specs: one registry maps a name to the class behind it, so nothing branches on a name.

An algorithm is given to the harness, the CLI and every benchmark script by a
*spec*: a registered name (``"step"``, ``"mappo"``...), an import path
``"package.module:Attribute"``, or a file ``"path/to/file.py:Attribute"``.
:func:`resolve` turns a spec into a :class:`ResolvedAlgorithm`; workers resolve
the same spec again, with the same ``search_path`` on ``sys.path``, so an
algorithm in a local module reaches every worker of the local pool and of Ray.

Examples:
    >>> sorted(registered())[:3]
    ['biac', 'biac-ac', 'happo']
    >>> resolve("step").form
    'sequential'
    >>> resolve("no-such-algo")
    Traceback (most recent call last):
    ...
    stmg_bench.registry.UnknownAlgorithmError: unknown algorithm 'no-such-algo'; expected a registered name (biac, biac-ac, happo, ippo, maddpg, mappo, mat, seq-ppo, step, step-backward, step-beta0, step-explore, step-scaled, step-timescales) or 'package.module:Attribute' / 'path/to/file.py:Attribute'.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stmg_bench.contract import ContractError, algorithm_form, check_algorithm

__all__ = ["register", "registered", "resolve", "load_object", "ResolvedAlgorithm", "UnknownAlgorithmError"]

_IDENT = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_MODULE_SPEC = re.compile(rf"(?P<module>{_IDENT}):(?P<attr>{_IDENT})")
_FILE_SPEC = re.compile(rf"(?P<file>.+\.py):(?P<attr>{_IDENT})")


class UnknownAlgorithmError(ValueError):
    """A spec that is neither a registered name nor an importable ``module:Attribute``."""


#: name -> ``"module:Attribute"`` of a class or factory satisfying :mod:`stmg_bench.contract`.
_REGISTRY: dict[str, str] = {
    "step": "stmg_bench.builtins:STEPAlgorithm",
    "step-scaled": "stmg_bench.builtins:STEPScaledAlgorithm",
    "step-beta0": "stmg_bench.builtins:STEPNoRegularizerAlgorithm",
    "step-timescales": "stmg_bench.builtins:STEPTwoTimescalesAlgorithm",
    "step-backward": "stmg_bench.builtins:STEPBackwardAlgorithm",
    "step-explore": "stmg_bench.builtins:STEPExploreAlgorithm",
    "mappo": "stmg_bench.builtins:MAPPOAlgorithm",
    "ippo": "stmg_bench.builtins:IPPOAlgorithm",
    "seq-ppo": "stmg_bench.builtins:SeqPPOAlgorithm",
    "biac": "stmg_agents.baselines.biac:BiLevelQLearning",
    "biac-ac": "stmg_agents.baselines.biac_ac:BiLevelActorCritic",
    "happo": "stmg_agents.baselines.happo:HAPPO",
    "maddpg": "stmg_agents.baselines.maddpg:MADDPG",
    "mat": "stmg_agents.baselines.mat:MAT",
}


def register(name: str, target: str, *, overwrite: bool = False) -> None:
    """Register ``target`` (``"module:Attribute"``) under ``name``, for this process.

    Workers resolve specs again in their own process, so a name registered at run
    time is known there only if the module that registers it is imported there too;
    pass the ``module:Attribute`` spec to a sweep instead.

    Raises:
        ValueError: ``name`` is taken (and ``overwrite`` is false) or ``target`` is malformed.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise ValueError(f"expected a lower-case name of letters, digits, '.', '_' or '-', got {name!r}.")
    if not _MODULE_SPEC.fullmatch(target):
        raise ValueError(f"expected target as 'package.module:Attribute', got {target!r}.")
    if name in _REGISTRY and not overwrite and _REGISTRY[name] != target:
        raise ValueError(f"algorithm {name!r} is registered already (as {_REGISTRY[name]!r}); pass overwrite=True.")
    _REGISTRY[name] = target


def registered() -> dict[str, str]:
    """A copy of the registry: name -> ``"module:Attribute"``."""
    return dict(_REGISTRY)


def load_object(spec: str, search_path: Sequence[str] = ()) -> Any:
    """Import ``"package.module:Attribute"`` or ``"path/to/file.py:Attribute"`` and return the attribute.

    ``search_path`` folders go first on ``sys.path`` (once each) before the import.

    Raises:
        UnknownAlgorithmError: malformed, unimportable, or no such attribute (the message says which).
    """
    for folder in reversed(list(search_path)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    if match := _FILE_SPEC.fullmatch(spec):
        path = Path(match["file"]).expanduser().resolve()
        if not path.is_file():
            raise UnknownAlgorithmError(f"algorithm {spec!r}: no file {str(path)!r}.")
        module_name = f"_stmg_bench_user_{path.stem}_{abs(hash(str(path))):x}"
        module = sys.modules.get(module_name)
        if module is None:
            file_spec = importlib.util.spec_from_file_location(module_name, path)
            assert file_spec is not None and file_spec.loader is not None
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[module_name] = module  # dataclasses and pickling look the module up there
            try:
                file_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
        attr = match["attr"]
    elif match := _MODULE_SPEC.fullmatch(spec):
        try:
            module = importlib.import_module(match["module"])
        except ImportError as exc:
            raise UnknownAlgorithmError(
                f"algorithm {spec!r}: cannot import module {match['module']!r} ({exc}). The module must be "
                "importable in every worker: installed, in the current folder, or on PYTHONPATH."
            ) from exc
        attr = match["attr"]
    else:
        raise UnknownAlgorithmError(
            f"unknown algorithm {spec!r}; expected a registered name ({', '.join(sorted(_REGISTRY))}) or "
            "'package.module:Attribute' / 'path/to/file.py:Attribute'."
        )
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UnknownAlgorithmError(f"algorithm {spec!r}: {module.__name__!r} has no attribute {attr!r}.") from None
    return target


@dataclass(frozen=True)
class ResolvedAlgorithm:
    """An algorithm spec, resolved.

    Attributes:
        name: Its label in results: the class's ``name`` attribute, else the registered name or the spec.
        spec: What it was given by (a registered name or an import spec).
        target: The ``module:Attribute`` or ``file.py:Attribute`` it resolves to.
        form: ``"sequential"`` or ``"simultaneous"``.
        search_path: Folders put first on ``sys.path`` before importing it (in every worker too).
    """

    name: str
    spec: str
    target: str
    form: str
    search_path: tuple[str, ...] = ()

    def load(self) -> Any:
        """The class or factory (imported in this process)."""
        return load_object(self.target, self.search_path)

    def to_json(self) -> dict[str, Any]:
        """A JSON form for trial arguments; :meth:`from_json` rebuilds it in a worker."""
        return {
            "name": self.name,
            "spec": self.spec,
            "target": self.target,
            "form": self.form,
            "search_path": list(self.search_path),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResolvedAlgorithm:
        return cls(data["name"], data["spec"], data["target"], data["form"], tuple(data.get("search_path", ())))


def resolve(
    spec: str, search_path: Sequence[str] | None = None, hyperparameters: dict[str, Any] | None = None
) -> ResolvedAlgorithm:
    """Resolve a spec and check it against the contract (with ``hyperparameters``, if given).

    Args:
        spec: A registered name, ``"package.module:Attribute"`` or ``"path/to/file.py:Attribute"``.
        search_path: Folders to import from first; default: the current folder, as ``python -m`` does.
        hyperparameters: If given, checked to be accepted by the algorithm's constructor.

    Raises:
        UnknownAlgorithmError: the spec names nothing importable.
        ContractError: the class does not satisfy the contract (the message says what it lacks).
    """
    if not isinstance(spec, str) or not spec:
        raise UnknownAlgorithmError(f"expected an algorithm spec as a non-empty string, got {spec!r}.")
    folders = tuple(search_path) if search_path is not None else (os.getcwd(),)
    target = _REGISTRY.get(spec, spec)
    if spec in _REGISTRY:
        folders = ()
    if _FILE_SPEC.fullmatch(target):
        file, _, attr = target.rpartition(":")
        target = f"{Path(file).expanduser().resolve()}:{attr}"
    factory = load_object(target, folders)
    check_algorithm(factory, hyperparameters)
    name = getattr(factory, "name", None)
    if not isinstance(name, str) or not name:
        name = spec
    return ResolvedAlgorithm(name=name, spec=spec, target=target, form=algorithm_form(factory), search_path=folders)


__all__ += ["ContractError"]
