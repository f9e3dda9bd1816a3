"""Algorithm names and specs: one table maps a name to the class behind it and its settings, so nothing branches on a name.

An algorithm is given to the harness, the CLI and every benchmark script by a
*spec*: a registered name (``"step"``, ``"mappo"``...), an import path
``"package.module:Attribute"``, or a file ``"path/to/file.py:Attribute"``.
:func:`resolve` turns a spec into a :class:`ResolvedAlgorithm`; workers resolve
the same spec again, with the same ``search_path`` on ``sys.path``, so an
algorithm in a local module reaches every worker of the local pool and of Ray.

A registered name is a :class:`RegistryEntry`: a class (``target``) plus the
settings it is built with (``overrides``). A *variant* is an entry whose
overrides are not empty: ``step-explore`` is STEP built with
``leader_start=0.5, leader_explore=0.25``, and its results are labelled
``step-explore``. The user's settings win over a variant's overrides
(:meth:`ResolvedAlgorithm.settings`), so ``--hyperparams '{"leader_explore": 0.5}'``
with ``step-explore`` trains with 0.5.

Examples:
    >>> sorted(registered())[:3]
    ['biac', 'biac-ac', 'biac-ac-actor']
    >>> resolve("step").form
    'sequential'
    >>> explore = resolve("step-explore")
    >>> explore.name, dict(explore.overrides)
    ('step-explore', {'leader_start': 0.5, 'leader_explore': 0.25})
    >>> explore.settings({"leader_explore": 0.5, "gamma": 0.0})
    {'leader_start': 0.5, 'leader_explore': 0.5, 'gamma': 0.0}
    >>> resolve("no-such-algo")
    Traceback (most recent call last):
    ...
    stmg_bench.registry.UnknownAlgorithmError: unknown algorithm 'no-such-algo'; expected a registered name (biac, biac-ac, biac-ac-actor, happo, ippo, maddpg, mappo, mat, oaf, oaf-tabularq, seq-ppo, step, step-backward, step-beta0, step-explore, step-scaled, step-timescales) or 'package.module:Attribute' / 'path/to/file.py:Attribute'.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stmg_bench.contract import ContractError, algorithm_form, check_algorithm

__all__ = [
    "register",
    "canonical_json",
    "LEGACY_TARGETS",
    "RENAMED_TARGETS",
    "registered",
    "resolve",
    "load_object",
    "merge_settings",
    "suite_settings",
    "RegistryEntry",
    "ResolvedAlgorithm",
    "UnknownAlgorithmError",
]

_IDENT = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_MODULE_SPEC = re.compile(rf"(?P<module>{_IDENT}):(?P<attr>{_IDENT})")
_FILE_SPEC = re.compile(rf"(?P<file>.+\.py):(?P<attr>{_IDENT})")


class UnknownAlgorithmError(ValueError):
    """A spec that is neither a registered name nor an importable ``module:Attribute``."""


def merge_settings(overrides: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` updated by ``given`` (``given`` wins), one level deep for dict values such as ``policy_kwargs``.

    Examples:
        >>> merge_settings({"beta": 0.0, "policy_kwargs": {"hyper_scale_by_width": True}},
        ...                {"beta": 0.5, "policy_kwargs": {"net_arch": [32]}})
        {'beta': 0.5, 'policy_kwargs': {'hyper_scale_by_width': True, 'net_arch': [32]}}
    """
    merged = dict(overrides)
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _frozen(settings: Mapping[str, Any] | None, what: str) -> Mapping[str, Any]:
    """A read-only copy of ``settings`` (a mapping with string keys), its dict values copied too."""
    if settings is None:
        return MappingProxyType({})
    if not isinstance(settings, Mapping) or not all(isinstance(k, str) for k in settings):
        raise ValueError(f"expected {what} as a mapping of setting names to values, got {settings!r}.")
    return MappingProxyType({k: dict(v) if isinstance(v, Mapping) else v for k, v in settings.items()})


@dataclass(frozen=True)
class RegistryEntry:
    """What a registered name stands for: a class (or factory) and the settings it is built with.

    Attributes:
        target: ``"module:Attribute"`` of a class or factory satisfying :mod:`stmg_bench.contract`.
        overrides: Settings the name builds it with, under the user's (:func:`merge_settings`: a user's
            setting wins; a dict-valued one such as ``policy_kwargs`` is merged key by key). Non-empty
            for a variant, which is then labelled by its registered name, not by the class's ``name``.
        doc: One paragraph on what the name is (``stmg-bench describe`` shows it); default: the class's summary.
        suite_settings: Settings a suite gives the name before the user's ``--hyperparams``, by suite
            (``"control"``: the MuJoCo and on-ramp benchmarks); unlike ``overrides`` they apply only there.
    """

    target: str
    overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)
    doc: str = ""
    suite_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not _MODULE_SPEC.fullmatch(self.target):
            raise ValueError(f"expected target as 'package.module:Attribute', got {self.target!r}.")
        object.__setattr__(self, "overrides", _frozen(self.overrides, "overrides"))
        if not isinstance(self.suite_settings, Mapping):
            raise ValueError(
                f"expected suite_settings as a mapping of suite names to settings, got {self.suite_settings!r}."
            )
        object.__setattr__(
            self,
            "suite_settings",
            MappingProxyType(
                {suite: _frozen(s, f"suite_settings[{suite!r}]") for suite, s in self.suite_settings.items()}
            ),
        )


#: The registered names: each a class plus the settings it is built with. The STEP variants are STEP with
#: research levers set (see :class:`stmg_agents.STEP` for each lever's meaning).
_REGISTRY: dict[str, RegistryEntry] = {
    "step": RegistryEntry(
        "stmg_agents.step.algorithm:STEP",
        # STEP's own lever in both control benchmarks: the hypernetwork output scaled by its width. With the
        # plain hypernetwork at these learning rates the KL of each of STEP's updates was 8 to 20 times the
        # baselines' on MuJoCo and about a third of its samples ended an on-ramp update beyond the PPO clip
        # (``benchmarks/results/update_size.md``); on the Ant robots STEP learned to fall within the first
        # 20,000 steps (best greedy return 1 to 397 on the six Ant-family sub-scenarios in ``mujoco_all.md``
        # at commit b899169; 861 to 983 with the scaling).
        suite_settings={"control": {"hyper_scale_by_width": True}},
    ),
    "step-scaled": RegistryEntry(
        "stmg_agents.step.algorithm:STEP",
        {"policy_kwargs": {"hyper_scale_by_width": True}},
        "STEP with the width-scaled hypernetwork (``policy_kwargs=dict(hyper_scale_by_width=True)``).",
    ),
    "step-beta0": RegistryEntry(
        "stmg_agents.step.algorithm:STEP",
        {"beta": 0.0},
        "STEP without the hypernetwork regulariser of Eq. 11 (``beta=0``).",
    ),
    "step-timescales": RegistryEntry(
        "stmg_agents.step.algorithm:STEP",
        {"rank_lr_ratio": 2.0},
        "STEP with two timescales: rank ``i`` learns at ``lr * 2**i`` (``rank_lr_ratio=2.0``; followers faster).",
    ),
    "step-backward": RegistryEntry(
        "stmg_agents.step.algorithm:STEP",
        {"leader_start": 0.5},
        "STEP with a backward-induction curriculum: the leader starts learning halfway (``leader_start=0.5``).\n\n"
        "Of ``N`` ranks, rank ``i`` starts at ``0.5 * (N - 1 - i) / (N - 1)`` of training: the last follower "
        "from the start, so each rank learns its replies to every context of the ranks above it.",
    ),
    "step-explore": RegistryEntry(
        "stmg_agents.step.algorithm:STEP",
        {"leader_start": 0.5, "leader_explore": 0.25},
        "``step-backward`` whose leaders keep exploring for their followers (``leader_explore=0.25``).\n\n"
        "The backward-induction curriculum (``leader_start=0.5``), and in rollouts each decision of a rank with ranks "
        "below it is a uniform action with probability 0.25 (left out of its own rank's update and of the ranks "
        "above it in that step), so the followers keep learning their replies to every context however sharp "
        "the leaders become. Discrete actions only.",
    ),
    "mappo": RegistryEntry("stmg_agents.baselines.mappo:MAPPO"),
    "ippo": RegistryEntry("stmg_agents.baselines.ippo:IPPO"),
    "seq-ppo": RegistryEntry("stmg_agents.baselines.seq_ppo:SeqPPO"),
    "biac": RegistryEntry("stmg_agents.baselines.biac:BiLevelQLearning"),
    "biac-ac": RegistryEntry("stmg_agents.baselines.biac_ac:BiLevelActorCritic"),
    "biac-ac-actor": RegistryEntry(
        "stmg_agents.baselines.biac_ac:BiLevelActorCritic",
        {"leader_actor": True},
        "Bi-AC's deep method as the authors' highway code runs it: the leader acts with an actor of its own "
        "(``leader_actor=True``), trained against the follower's replies read from the follower's observation.\n\n"
        "For games whose agents observe different things (the two-car merge: each car sees the other relative to "
        "itself), where ``biac-ac``'s leader, predicting replies on its own observation, is inexact.",
    ),
    "happo": RegistryEntry("stmg_agents.baselines.happo:HAPPO"),
    "maddpg": RegistryEntry("stmg_agents.baselines.maddpg:MADDPG"),
    "mat": RegistryEntry("stmg_agents.baselines.mat:MAT"),
    "oaf": RegistryEntry("stmg_agents.baselines.oracles_followers:OraclesAndFollowers"),
    "oaf-tabularq": RegistryEntry("stmg_agents.baselines.oracles_followers:QLearningFollower"),
}


#: Removed *variant* classes that old trial records name as their target, each with the name whose entry it is now:
#: the class held its settings, so a record made with it reads back as that entry, the entry's class and overrides
#: (the variant classes that existed before variants became registry entries).
LEGACY_TARGETS: Mapping[str, str] = MappingProxyType(
    {
        "stmg_bench.builtins:STEPScaledAlgorithm": "step-scaled",
        "stmg_bench.builtins:STEPNoRegularizerAlgorithm": "step-beta0",
        "stmg_bench.builtins:STEPTwoTimescalesAlgorithm": "step-timescales",
        "stmg_bench.builtins:STEPBackwardAlgorithm": "step-backward",
        "stmg_bench.builtins:STEPExploreAlgorithm": "step-explore",
    }
)

#: Removed targets of the *same* algorithm under another name, each with its target today: the adapters of the
#: built-ins that now satisfy the contract themselves. An adapter held no settings (a variant's were the record's own
#: ``overrides``: a ``step-explore`` record names ``STEPAlgorithm`` with ``leader_start`` and ``leader_explore``), so
#: a record made with one reads back as the class with the record's own overrides.
RENAMED_TARGETS: Mapping[str, str] = MappingProxyType(
    {
        "stmg_bench.builtins:STEPAlgorithm": "stmg_agents.step.algorithm:STEP",
        "stmg_bench.builtins:SeqPPOAlgorithm": "stmg_agents.baselines.seq_ppo:SeqPPO",
        "stmg_bench.builtins:MAPPOAlgorithm": "stmg_agents.baselines.mappo:MAPPO",
        "stmg_bench.builtins:IPPOAlgorithm": "stmg_agents.baselines.ippo:IPPO",
    }
)


def canonical_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """:meth:`ResolvedAlgorithm.to_json`'s form of ``data``, which may come from an older record.

    A target of :data:`LEGACY_TARGETS` (a removed variant class) becomes its entry's class and overrides; a target of
    :data:`RENAMED_TARGETS` (a removed adapter) becomes its target today, the record's own overrides kept. Empty
    ``overrides`` are dropped. A resumed or re-rendered sweep compares saved records' arguments in this form.

    Examples:
        >>> old = {"name": "step-explore", "spec": "step-explore", "target": "stmg_bench.builtins:STEPExploreAlgorithm",
        ...        "form": "sequential", "search_path": []}
        >>> canonical_json(old) == resolve("step-explore").to_json()
        True
        >>> adapter = {**old, "target": "stmg_bench.builtins:STEPAlgorithm",
        ...            "overrides": {"leader_start": 0.5, "leader_explore": 0.25}}
        >>> canonical_json(adapter) == resolve("step-explore").to_json()
        True
        >>> step = {"name": "step", "spec": "step", "target": "stmg_bench.builtins:STEPAlgorithm",
        ...         "form": "sequential", "search_path": []}
        >>> canonical_json(step) == resolve("step").to_json(), canonical_json(step)["target"]
        (True, 'stmg_agents.step.algorithm:STEP')
        >>> mappo = {"name": "mappo", "spec": "mappo", "target": "stmg_bench.builtins:MAPPOAlgorithm",
        ...          "form": "simultaneous", "search_path": []}
        >>> canonical_json(mappo) == resolve("mappo").to_json()
        True
    """
    out = dict(data)
    target = out.get("target", "")
    if (name := LEGACY_TARGETS.get(target)) is not None:
        entry = _REGISTRY[name]
        out["target"] = entry.target
        out["overrides"] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in entry.overrides.items()}
    elif target in RENAMED_TARGETS:
        out["target"] = RENAMED_TARGETS[target]
    if not out.get("overrides", True):
        del out["overrides"]
    return out


def register(
    name: str,
    target: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    doc: str = "",
    suite_settings: Mapping[str, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
) -> None:
    """Register ``target`` (``"module:Attribute"``) under ``name``, built with ``overrides``, for this process.

    A variant is a name with ``overrides``: ``register("step-fast", "stmg_agents.step.algorithm:STEP",
    {"learning_rate": 1e-3})`` trains STEP with that learning rate wherever ``step-fast`` is given, and labels
    its results ``step-fast``; a user's own settings still win over the overrides (:func:`merge_settings`).

    Workers resolve specs again in their own process, so a name registered at run
    time is known there only if the module that registers it is imported there too;
    pass the ``module:Attribute`` spec to a sweep instead.

    Args:
        name: Lower-case letters, digits, ``.``, ``_`` or ``-``.
        target: The class or factory, as ``"package.module:Attribute"``.
        overrides: Settings it is built with, under the user's (see :class:`RegistryEntry`).
        doc: What the name is, for ``stmg-bench describe``.
        suite_settings: Settings a suite gives it before the user's, by suite name (see :class:`RegistryEntry`).
        overwrite: Replace an entry registered under ``name`` already.

    Raises:
        ValueError: ``name`` is taken by another entry (and ``overwrite`` is false), or ``target`` or
            ``overrides`` is malformed.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise ValueError(f"expected a lower-case name of letters, digits, '.', '_' or '-', got {name!r}.")
    entry = RegistryEntry(target, overrides or {}, doc, suite_settings or {})
    if name in _REGISTRY and not overwrite and _REGISTRY[name] != entry:
        raise ValueError(f"algorithm {name!r} is registered already (as {_REGISTRY[name]!r}); pass overwrite=True.")
    _REGISTRY[name] = entry


def registered() -> dict[str, RegistryEntry]:
    """A copy of the registry: name -> :class:`RegistryEntry` (its class and settings)."""
    return dict(_REGISTRY)


def suite_settings(suite: str) -> dict[str, dict[str, Any]]:
    """name -> the settings the suite ``suite`` gives it before the user's (:attr:`RegistryEntry.suite_settings`).

    Examples:
        >>> suite_settings("control")
        {'step': {'hyper_scale_by_width': True}}
    """
    return {
        name: dict(entry.suite_settings[suite]) for name, entry in _REGISTRY.items() if suite in entry.suite_settings
    }


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
            if spec in RENAMED_TARGETS or spec in LEGACY_TARGETS:
                now = RENAMED_TARGETS.get(spec) or f"the registered name {LEGACY_TARGETS[spec]!r}"
                raise UnknownAlgorithmError(f"algorithm {spec!r} was removed; use {now} instead.") from exc
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
        name: Its label in results: a variant's registered name; else the class's ``name`` attribute, else the
            registered name or the spec.
        spec: What it was given by (a registered name or an import spec).
        target: The ``module:Attribute`` or ``file.py:Attribute`` it resolves to.
        form: ``"sequential"`` or ``"simultaneous"``.
        search_path: Folders put first on ``sys.path`` before importing it (in every worker too).
        overrides: The registered name's settings under the user's (:class:`RegistryEntry`); empty for an import spec.
    """

    name: str
    spec: str
    target: str
    form: str
    search_path: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", _frozen(self.overrides, "overrides"))

    def load(self) -> Any:
        """The class or factory (imported in this process), without the overrides: build it with :meth:`build`."""
        return load_object(self.target, self.search_path)

    def settings(self, hyperparameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What it is built with for the user's ``hyperparameters``: the overrides, under them (:func:`merge_settings`)."""
        return merge_settings(self.overrides, hyperparameters or {})

    def build(self, make_env: Callable[[], Any], seed: int, **hyperparameters: Any) -> Any:
        """A new instance: ``load()(make_env, seed=seed, **settings(hyperparameters))``."""
        return self.load()(make_env, seed=seed, **self.settings(hyperparameters))

    def to_json(self) -> dict[str, Any]:
        """A JSON form for trial arguments; :meth:`from_json` rebuilds it in a worker.

        ``overrides`` is written only for a variant, so that the records of every other algorithm keep the form they
        had before variants became data (and a resumed or re-rendered sweep recognises them).
        """
        data: dict[str, Any] = {
            "name": self.name,
            "spec": self.spec,
            "target": self.target,
            "form": self.form,
            "search_path": list(self.search_path),
        }
        if self.overrides:
            data["overrides"] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.overrides.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResolvedAlgorithm:
        data = canonical_json(data)
        return cls(
            data["name"],
            data["spec"],
            data["target"],
            data["form"],
            tuple(data.get("search_path", ())),
            data.get("overrides") or {},
        )


def resolve(
    spec: str, search_path: Sequence[str] | None = None, hyperparameters: Mapping[str, Any] | None = None
) -> ResolvedAlgorithm:
    """Resolve a spec and check it against the contract (with ``hyperparameters``, if given).

    Args:
        spec: A registered name, ``"package.module:Attribute"`` or ``"path/to/file.py:Attribute"``.
        search_path: Folders to import from first; default: the current folder, as ``python -m`` does.
        hyperparameters: If given, checked to be accepted by the algorithm's constructor, together with a
            registered name's overrides (what it would be built with).

    Raises:
        UnknownAlgorithmError: the spec names nothing importable.
        ContractError: the class does not satisfy the contract (the message says what it lacks).
    """
    if not isinstance(spec, str) or not spec:
        raise UnknownAlgorithmError(f"expected an algorithm spec as a non-empty string, got {spec!r}.")
    folders = tuple(search_path) if search_path is not None else (os.getcwd(),)
    entry = _REGISTRY.get(spec)
    target = entry.target if entry is not None else spec
    overrides: Mapping[str, Any] = entry.overrides if entry is not None else {}
    if entry is not None:
        folders = ()
    if _FILE_SPEC.fullmatch(target):
        file, _, attr = target.rpartition(":")
        target = f"{Path(file).expanduser().resolve()}:{attr}"
    factory = load_object(target, folders)
    check_algorithm(factory, None if hyperparameters is None else merge_settings(overrides, hyperparameters))
    name = getattr(factory, "name", None)
    if overrides or not isinstance(name, str) or not name:
        name = spec  # a variant is labelled by its registered name, not by its class's
    return ResolvedAlgorithm(
        name=name, spec=spec, target=target, form=algorithm_form(factory), search_path=folders, overrides=overrides
    )


__all__ += ["ContractError"]
