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

Order-aware and centrally executed algorithms declare so, and the harness follows:

* ``uses_order = True`` (class attribute): the harness passes the run's priority order
  to the constructor as the keyword ``order``: a tuple of agent names, highest priority
  first (the order ``stmg_v0`` would use), or ``"random"`` (a fresh order per episode or
  update, the algorithm's business). A simultaneous-form algorithm that uses the order
  (HAPPO's update order, MAT's decoding order) is then trained once per order of the run,
  as a sequential one is. Without it the order reaches sequential-form algorithms only,
  through the STMG they are given.
* ``execution = "centralized"`` (class attribute; default ``"decentralized"``): the joint
  action needs every agent's observation, so the harness calls
  ``act_joint(observations) -> {agent: action}`` (required) and, where offered,
  ``joint_probabilities(observations) -> array of shape (A_1, ..., A_N)`` in
  ``possible_agents`` order (``Discrete`` actions), instead of ``act`` and
  ``action_probabilities`` one agent at a time. A decentralized algorithm's joint
  distribution is the product of its agents' (or, in the STMG, of each context's);
  a centralized one's need not be. Reports mark centrally executed algorithms.

What an algorithm returns is checked where the harness reads it
(:func:`checked_action`, :func:`checked_probabilities`): an action out of the space or
probabilities of the wrong length or sum raise :class:`ContractError` naming the method.

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
    "EXECUTIONS",
    "algorithm_execution",
    "uses_order",
    "has_joint_probabilities",
    "checked_action",
    "checked_probabilities",
    "checked_joint_probabilities",
    "form_label",
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

#: How an algorithm acts: each agent on its own observation, or the joint action from every agent's observation.
EXECUTIONS = ("decentralized", "centralized")

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


def _check_learn(cls: type) -> None:
    """Refuse a class whose ``learn`` cannot be called as ``learn(total_timesteps, callback=callback)``."""
    try:
        signature = inspect.signature(cls.learn)  # type: ignore[attr-defined]
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    bound = () if isinstance(inspect.getattr_static(cls, "learn"), (staticmethod, classmethod)) else ("self",)
    try:
        signature.bind(*bound, 1, callback=None)
    except TypeError as exc:
        raise ContractError(
            f"{_label(cls)}.learn{signature} cannot be called as learn(total_timesteps, callback=callback): {exc}. "
            "The harness passes `callback` by name (call callback(num_timesteps) after every update; False stops); "
            "expected learn(self, total_timesteps, callback=None)."
        ) from None


def check_algorithm(factory: Any, hyperparameters: Mapping[str, Any] | None = None) -> None:
    """Check, before anything is trained, that ``factory(make_env, seed=..., **hyperparameters)`` can work.

    Checks the ``form``, that a class has ``learn`` (taking ``total_timesteps`` and ``callback=``) and ``act``,
    and that it takes ``make_env``, ``seed`` and every one of ``hyperparameters``.

    Raises:
        ContractError: with what is missing and how to fix it.
    """
    if not callable(factory):
        raise ContractError(f"expected an algorithm class or factory, got {type(factory).__name__}: {factory!r}.")
    algorithm_form(factory)
    if inspect.isclass(factory):
        _check_methods(factory, "")
        _check_learn(factory)
    _check_declarations(factory)
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
    _check_declarations(algorithm)


def has_probabilities(algorithm: Any) -> bool:
    """Whether the algorithm offers the optional ``action_probabilities(agent, observation)``."""
    return callable(getattr(algorithm, "action_probabilities", None))


def algorithm_execution(obj: Any) -> str:
    """How an algorithm class or instance acts: its ``execution``, ``"decentralized"`` unless it says otherwise.

    Raises:
        ContractError: an ``execution`` that is not in :data:`EXECUTIONS`.
    """
    execution = getattr(obj, "execution", "decentralized")
    if execution not in EXECUTIONS:
        raise ContractError(f"{_label(obj)}.execution must be one of {EXECUTIONS}, got {execution!r}.")
    return str(execution)


def uses_order(obj: Any) -> bool:
    """Whether the algorithm takes the run's priority order as the constructor keyword ``order``.

    Raises:
        ContractError: a ``uses_order`` that is not a bool.
    """
    value = getattr(obj, "uses_order", False)
    if not isinstance(value, bool):
        raise ContractError(f"{_label(obj)}.uses_order must be True or False, got {value!r}.")
    return value


def has_joint_probabilities(algorithm: Any) -> bool:
    """Whether the algorithm offers the optional ``joint_probabilities(observations)`` of centralized execution."""
    return callable(getattr(algorithm, "joint_probabilities", None))


def _check_declarations(obj: Any) -> None:
    """``execution`` and ``uses_order`` are valid, and what they promise is there."""
    if algorithm_execution(obj) == "centralized" and not callable(getattr(obj, "act_joint", None)):
        raise ContractError(
            f"{_label(obj)} declares execution = 'centralized' but has no `act_joint`; the benchmark needs "
            "act_joint(self, observations) -> {agent: greedy action} (see stmg_bench.contract)."
        )
    if uses_order(obj) and inspect.isclass(obj):
        names, var_kw = accepted_hyperparameters(obj)
        if "order" not in names and not var_kw:
            raise ContractError(
                f"{_label(obj)} declares uses_order = True but its constructor takes no `order`; add "
                "order=None to __init__ (the harness passes the run's priority order there)."
            )


def checked_action(algorithm: Any, method: str, agent: Any, action: Any, space: Any) -> Any:
    """``action``, as ``algorithm.<method>`` returned it for ``agent``, checked against the agent's action ``space``.

    Returns:
        The action as the environment takes it (an ``int`` for ``Discrete``).

    Raises:
        ContractError: not an action of ``space``; the message names the method and the agent.

    Examples:
        >>> from gymnasium.spaces import Discrete
        >>> checked_action(object(), "act", "agent_0", 2, Discrete(3))
        2
        >>> checked_action(object(), "act", "agent_0", 3, Discrete(3))
        Traceback (most recent call last):
        ...
        stmg_bench.contract.ContractError: object.act returned 3 for 'agent_0'; expected an action of Discrete(3), an int in [0, 3).
    """
    import numpy as np
    from gymnasium import spaces

    where = f"{type(algorithm).__qualname__}.{method} returned {action!r} for {agent!r}"
    if isinstance(space, spaces.Discrete):
        array = np.asarray(action)
        integral = array.shape == () and (
            np.issubdtype(array.dtype, np.integer)
            or (np.issubdtype(array.dtype, np.floating) and float(array).is_integer())
        )
        low, high = int(space.start), int(space.start + space.n)
        if isinstance(action, bool) or not integral or not low <= int(array) < high:
            raise ContractError(f"{where}; expected an action of {space}, an int in [{low}, {high}).")
        return int(array)
    if isinstance(space, spaces.Box):
        array = np.asarray(action, dtype=np.float64)
        if array.shape != space.shape or not np.all(np.isfinite(array)):
            raise ContractError(f"{where}; expected a finite array of shape {space.shape} ({space}).")
        if np.any(array < space.low) or np.any(array > space.high):
            raise ContractError(f"{where}; expected values within the bounds of {space}.")
        return np.asarray(action)
    return action


def _probability_problem(values: Any, shape: tuple[int, ...]) -> tuple[str, str] | None:
    """(what was returned, what was expected) for values that are not a distribution of ``shape``, or None."""
    import numpy as np

    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{type(values).__name__} {values!r}", f"an array of shape {shape}"
    if array.shape != shape:
        return f"an array of shape {array.shape}", f"shape {shape}"
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        return "negative or non-finite values", "probabilities in [0, 1]"
    if abs(float(array.sum()) - 1.0) > 1e-6:
        return f"values summing to {float(array.sum()):.6g}", "a sum of 1"
    return None


def checked_probabilities(algorithm: Any, agent: Any, probabilities: Any, n_actions: int) -> Any:
    """What ``algorithm.action_probabilities`` returned for ``agent``, checked: ``n_actions`` values summing to 1.

    Returns:
        The probabilities as a float64 array.

    Raises:
        ContractError: the wrong length, negative values or a sum other than 1; the message names the method.

    Examples:
        >>> checked_probabilities(object(), "agent_1", [0.5, 0.5], 3)
        Traceback (most recent call last):
        ...
        stmg_bench.contract.ContractError: object.action_probabilities returned an array of shape (2,) for 'agent_1'; expected shape (3,) (one probability per action).
    """
    import numpy as np

    problem = _probability_problem(probabilities, (int(n_actions),))
    if problem is not None:
        raise ContractError(
            f"{type(algorithm).__qualname__}.action_probabilities returned {problem[0]} for {agent!r}; expected "
            f"{problem[1]} (one probability per action)."
        )
    return np.asarray(probabilities, dtype=np.float64)


def checked_joint_probabilities(algorithm: Any, probabilities: Any, shape: tuple[int, ...]) -> Any:
    """What ``algorithm.joint_probabilities`` returned, checked: an array of ``shape`` (one axis per agent) summing to 1.

    Raises:
        ContractError: the wrong shape, negative values or a sum other than 1; the message names the method.
    """
    import numpy as np

    problem = _probability_problem(probabilities, tuple(int(n) for n in shape))
    if problem is not None:
        raise ContractError(
            f"{type(algorithm).__qualname__}.joint_probabilities returned {problem[0]}; expected {problem[1]} "
            "(one axis per agent, in possible_agents order)."
        )
    return np.asarray(probabilities, dtype=np.float64)


def form_label(obj: Any) -> str:
    """How a report describes an algorithm's form, execution and use of the priority order.

    Examples:
        >>> class Joint:
        ...     form, execution, uses_order = "simultaneous", "centralized", True
        >>> form_label(Joint)
        'simultaneous form, centralized execution, uses the priority order'
    """
    parts = [f"{algorithm_form(obj)} form"]
    if algorithm_execution(obj) == "centralized":
        parts.append("centralized execution")
    if uses_order(obj) and algorithm_form(obj) == "simultaneous":
        parts.append("uses the priority order")
    return ", ".join(parts)
