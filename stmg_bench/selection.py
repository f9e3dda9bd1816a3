"""The algorithms of a run and what each is built with, for every suite.

:func:`resolve_algorithms` resolves the specs of ``--algos`` and gives each, in this
order: the suite's shared settings that its constructor takes (settings that are not
part of any method: environment copies, discount, a PPO preset), the suite's base
settings for it (``base``, e.g. :func:`stmg_bench.registry.suite_settings` of the control
benchmarks: STEP's lever there), then the user's ``--hyperparams`` for it, keyed by its
spec or its name. A registered variant's overrides lie under all of them
(:meth:`ResolvedAlgorithm.settings`): the settings given here are the user's, which
trial records keep, and the trial builds the algorithm with the overrides under them.

Examples:
    >>> algos, settings = resolve_algorithms(["mappo"], {"mappo": {"lr": 0.1}}, shared={"gamma": 0.0})
    >>> [a.name for a in algos], settings
    (['mappo'], {'mappo': {'gamma': 0.0, 'lr': 0.1}})
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stmg_bench.contract import accepted_hyperparameters, check_algorithm
from stmg_bench.registry import ResolvedAlgorithm, resolve

__all__ = ["resolve_algorithms", "settings_for", "check_construction"]


def settings_for(factory: Any, shared: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """What ``factory`` is built with: the ``shared`` settings its constructor takes, then ``own``."""
    names, var_kw = accepted_hyperparameters(factory)
    return {**{k: v for k, v in shared.items() if var_kw or k in names}, **dict(own)}


def resolve_algorithms(
    specs: Sequence[str],
    hyperparameters: Mapping[str, Mapping[str, Any]],
    shared: Mapping[str, Any],
    base: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[ResolvedAlgorithm], dict[str, dict[str, Any]]]:
    """Resolve ``specs`` and give each its settings (see the module docstring).

    Returns:
        The resolved algorithms, and ``{name: settings}``.

    Raises:
        UnknownAlgorithmError, ContractError: a spec that names nothing, or a class that does not fit
            (its settings included).
        ValueError: ``hyperparameters`` naming no algorithm of ``specs``, or two algorithms with one name.
    """
    base = base or {}
    algorithms, settings, used = [], {}, set()
    for spec in specs:
        algo = resolve(spec)
        keys = [k for k in (spec, algo.name) if k in hyperparameters]
        used.update(keys)
        own = {
            **(base.get(spec) or base.get(algo.name) or {}),
            **{k: v for key in keys for k, v in hyperparameters[key].items()},
        }
        factory = algo.load()
        hp = settings_for(factory, shared, own)
        check_algorithm(factory, algo.settings(hp))
        if algo.name in settings:
            raise ValueError(
                f"two algorithms of --algos are named {algo.name!r}; give one a `name` attribute of its own"
            )
        algorithms.append(algo)
        settings[algo.name] = hp
    if unknown := sorted(set(hyperparameters) - used):
        raise ValueError(
            f"--hyperparams names {unknown}, which match no algorithm of --algos (by spec or name): "
            f"{[a.name for a in algorithms]}"
        )
    return algorithms, settings


def check_construction(
    algorithms: Sequence[ResolvedAlgorithm],
    settings: Mapping[str, Mapping[str, Any]],
    make_env: Callable[[ResolvedAlgorithm], Callable[[], Any]],
) -> None:
    """Build each algorithm once, in this process, with its settings, before a sweep starts.

    :func:`resolve_algorithms` checks the names a constructor declares; a constructor that passes
    ``**kwargs`` on (seq-ppo's) or a configuration that checks values (``gamma`` in [0, 1]) is only
    checked by building it. Building here ends a bad ``--hyperparams`` with one message in the parent instead
    of a failure in every trial. Nothing is trained.

    Args:
        algorithms: The resolved algorithms.
        settings: What each is built with, by name (:func:`resolve_algorithms`).
        make_env: ``make_env(algorithm)``: the env factory a trial would give that algorithm (its form).

    Raises:
        ValueError: a constructor that raised ``TypeError`` or ``ValueError``: the algorithm, its settings and its
            own message.

    Examples:
        >>> algos, settings = resolve_algorithms(["mappo"], {"mappo": {"gamma": 2.0}}, shared={})
        >>> import pettingzoo, stmg_envs
        >>> check_construction(algos, settings, lambda algo: lambda: pettingzoo.make("parallel", "stmg/Mixing-v0"))
        Traceback (most recent call last):
        ...
        ValueError: mappo cannot be built with {"gamma": 2.0}: expected `gamma` in [0.0, 1.0], got 2.0.
    """
    for algo in algorithms:
        hp = dict(settings[algo.name])
        try:
            algo.build(make_env(algo), seed=0, **hp)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{algo.name} cannot be built with {json.dumps(hp, sort_keys=True, default=repr)}: {exc}"
            ) from None
