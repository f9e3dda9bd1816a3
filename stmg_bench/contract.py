"""The one contract every benchmarked algorithm satisfies, and a checker that says what a class lacks.

An algorithm for the benchmark is any class (or factory) of this shape; the
harness builds it as ``cls(make_env, seed=seed, **hyperparameters)``::

    class MyAlgorithm:
        form = "sequential"      # trains and acts on the STMG (a PettingZoo AECEnv); or "simultaneous" (ParallelEnv)
        name = "my-algo"         # optional: its label in results (default: the spec it was given by)

        def __init__(self, make_env, seed, **hyperparameters): ...
            # make_env() -> a fresh env in that form (for "sequential": the STMG with the run's priority order)
        def learn(self, total_timesteps, callback=None): ...
            # total_timesteps: joint (temporal) steps; callback(num_timesteps) after every update, False stops
        def act(self, agent, observation): ...
            # the greedy action of `agent` for its observation in that form

Two optional methods unlock more of the report:

* ``action_probabilities(agent, observation)``: the probability of each action
  (``Discrete`` actions); the matrix suite then reports P(SE) and the
  probability curves, not only the greedy outcome;
* ``save(path)`` and a classmethod ``load(path, make_env)``: the shared
  contract test then checks that a saved algorithm acts the same after loading.

The harness evaluates the greedy policy **through the same form** as training:
in the sequential form each agent acts on the observation the STMG gives it,
which holds the greedy actions of the agents ranked above it.

This module imports neither torch nor any algorithm.

Examples:
    >>> class Constant:
    ...     form = "simultaneous"
    ...     def __init__(self, make_env, seed, action=0):
    ...         self.action = action
    ...     def learn(self, total_timesteps, callback=None):
    ...         return self
    ...     def act(self, agent, observation):
    ...         return self.action
    >>> check_algorithm(Constant, {"action": 1})
    >>> check_algorithm(Constant, {"lr": 0.1})
    Traceback (most recent call last):
    ...
    stmg_bench.contract.ContractError: Constant does not take the hyperparameter(s) ['lr']; it takes ['action'].
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "FORMS",
    "Algorithm",
    "ProgressCallback",
    "EnvFactory",
    "ContractError",
    "check_algorithm",
    "check_instance",
    "algorithm_form",
    "has_probabilities",
    "accepted_hyperparameters",
]

#: The forms an algorithm trains and acts in: the STMG (``AECEnv``) or the simultaneous game (``ParallelEnv``).
FORMS = ("sequential", "simultaneous")

#: ``callback(num_timesteps)`` after every update; returning ``False`` stops ``learn``.
ProgressCallback = Callable[[int], "bool | None"]

#: ``make_env()``: a fresh environment in the algorithm's form.
EnvFactory = Callable[[], Any]


@runtime_checkable
class Algorithm(Protocol):
    """What the harness calls. See the module docstring for the meaning of each member."""

    form: str

    def learn(self, total_timesteps: int, callback: ProgressCallback | None = None) -> Any: ...

    def act(self, agent: Any, observation: Any) -> Any: ...


class ContractError(TypeError):
    """An algorithm does not have the shape the harness needs; the message says what is missing and how to fix it."""


def _label(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def algorithm_form(obj: Any) -> str:
    """The ``form`` an algorithm class, factory or instance declares.

    Raises:
        ContractError: no ``form`` attribute, or one that is not in :data:`FORMS`.
    """
    form = getattr(obj, "form", None)
    if form is None:
        raise ContractError(
            f"{_label(obj)} has no `form` attribute; expected form = 'sequential' (it trains on the STMG, a "
            "PettingZoo AECEnv) or form = 'simultaneous' (a ParallelEnv), as a class attribute."
        )
    if form not in FORMS:
        raise ContractError(f"{_label(obj)}.form must be one of {FORMS}, got {form!r}.")
    return str(form)


def _check_methods(obj: Any, where: str) -> None:
    missing = [name for name in ("learn", "act") if not callable(getattr(obj, name, None))]
    if missing:
        signatures = {
            "learn": "learn(self, total_timesteps, callback=None)",
            "act": "act(self, agent, observation) -> the greedy action",
        }
        raise ContractError(
            f"{_label(obj)} lacks {', '.join(f'`{m}`' for m in missing)}{where}; the benchmark needs "
            + " and ".join(signatures[m] for m in missing)
            + " (see stmg_bench.contract)."
        )


def accepted_hyperparameters(factory: Callable[..., Any]) -> tuple[list[str], bool]:
    """The names the factory takes besides (make_env, seed), and whether it takes ``**kwargs``."""
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return [], True
    params = list(signature.parameters.values())
    if inspect.isclass(factory) and params and params[0].name in ("self", "cls"):
        params = params[1:]
    names, var_kw = [], False
    for index, p in enumerate(params):
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif index >= 1 and p.name != "seed":  # the first is make_env
            names.append(p.name)
    return names, var_kw


def check_algorithm(factory: Any, hyperparameters: Mapping[str, Any] | None = None) -> None:
    """Check, before anything is trained, that ``factory(make_env, seed=..., **hyperparameters)`` can work.

    Checks the ``form``, that a class has ``learn`` and ``act``, and that it takes
    ``make_env``, ``seed`` and every one of ``hyperparameters``.

    Raises:
        ContractError: with what is missing and how to fix it.
    """
    if not callable(factory):
        raise ContractError(f"expected an algorithm class or factory, got {type(factory).__name__}: {factory!r}.")
    algorithm_form(factory)
    if inspect.isclass(factory):
        _check_methods(factory, "")
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    try:
        signature = inspect.signature(target)
        bound_args = ["self"] if inspect.isclass(factory) else []
        signature.bind(*bound_args, lambda: None, seed=0, **dict(hyperparameters or {}))
    except (TypeError, ValueError) as exc:
        names, var_kw = accepted_hyperparameters(factory)
        unknown = [k for k in (hyperparameters or {}) if k not in names] if not var_kw else []
        if unknown:
            raise ContractError(
                f"{_label(factory)} does not take the hyperparameter(s) {unknown}; it takes {names}."
            ) from None
        if isinstance(exc, TypeError):
            raise ContractError(
                f"{_label(factory)} cannot be called as {_label(factory)}(make_env, seed=seed, **hyperparameters): "
                f"{exc}. Its constructor must take the env factory first and `seed` by name."
            ) from None


def check_instance(algorithm: Any) -> None:
    """Check a constructed algorithm: a valid ``form`` and callable ``learn`` and ``act``.

    Raises:
        ContractError: with what is missing.
    """
    algorithm_form(algorithm)
    _check_methods(algorithm, " on the object its factory returned")


def has_probabilities(algorithm: Any) -> bool:
    """Whether the algorithm offers the optional ``action_probabilities(agent, observation)``."""
    return callable(getattr(algorithm, "action_probabilities", None))
