"""Priority orders of an STMG: who acts first within a time step.

An order is given to :func:`stmg_envs.stmg_v0` as

* ``None`` or ``"possible_agents"``: the parallel env's ``possible_agents`` order;
* ``"reversed"``: that order reversed;
* a sequence of agent names, or the names joined by ``+`` (``"agent_1+agent_0"``):
  that fixed order (agents not alive are skipped);
* ``"random"``: a fresh permutation each episode, drawn from the wrapper's seeded RNG;
* a callable ``order(parallel_env, rng) -> sequence of agents``: called before
  every time step; it must return each live agent exactly once.

The names and the ``+`` spelling are one vocabulary (:data:`ORDER_NAMES`, :func:`parse_order`):
the benchmark harness and its command line (``--orders reversed,agent_1+agent_0``) read
orders with the same parser. :class:`PriorityOrder` turns any of these into a function of the
live agents.

Examples:
    >>> parse_order("reversed", ["agent_0", "agent_1", "agent_2"])
    ('agent_2', 'agent_1', 'agent_0')
    >>> parse_order("agent_1+agent_0", ["agent_0", "agent_1"])
    ('agent_1', 'agent_0')
    >>> parse_order("random", ["agent_0", "agent_1"])
    'random'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

__all__ = ["OrderSpec", "PriorityOrder", "InvalidOrderError", "ORDER_NAMES", "parse_order"]

OrderSpec = Union[None, str, Sequence[Any], Callable[[Any, np.random.Generator], Sequence[Any]]]  # noqa: UP007


#: The named priority orders: ``possible_agents``, ``reversed`` (both fixed) and ``random`` (drawn each episode).
#: Any other order is a sequence of agent names, or the names joined by ``+``.
ORDER_NAMES = ("possible_agents", "reversed", "random")


class InvalidOrderError(ValueError):
    """An ``order`` that is not a permutation of the agents it must rank."""


def _vocabulary(agents: Sequence[Any]) -> str:
    """What an order may be, for error messages (in the command line's spelling: names joined by ``+``)."""
    example = "+".join(str(a) for a in reversed(agents))
    return (
        f"expected an order: one of {', '.join(ORDER_NAMES)}, or the agents {[str(a) for a in agents]} joined by "
        f"'+' in priority order (e.g. {example})"
    )


def parse_order(spec: Any, possible_agents: Sequence[Any], source: str = "order") -> tuple[Any, ...] | str:
    """An order of the one vocabulary (:data:`ORDER_NAMES`, a sequence of agents, ``"a+b"``) as a fixed order or
    ``"random"``.

    Args:
        spec: ``None`` or ``"possible_agents"``, ``"reversed"``, ``"random"``, a sequence of agent names,
            or a string of agent names joined by ``+`` (a one-agent game: the name alone).
        possible_agents: The agents to rank.
        source: What gave the order, to start error messages with (``"--orders"``, ``"stmg_v0(order=...)"``).

    Returns:
        The agents in priority order (highest first), or ``"random"``.

    Raises:
        InvalidOrderError: an unknown name, or agents that are not each of ``possible_agents`` exactly once
            (the message says which, and what is accepted).
        TypeError: a ``spec`` of none of these kinds (e.g. a number).

    Examples:
        >>> parse_order("reverse", ["agent_0", "agent_1"], "--orders")
        Traceback (most recent call last):
        ...
        stmg_envs.wrappers.priority_order.InvalidOrderError: --orders expected an order: one of possible_agents, reversed, random, or the agents ['agent_0', 'agent_1'] joined by '+' in priority order (e.g. agent_1+agent_0), got 'reverse': neither an order's name nor agents.
    """
    agents = tuple(possible_agents)
    if spec is None or spec == "possible_agents":
        return agents
    if spec == "reversed":
        return agents[::-1]
    if spec == "random":
        return "random"
    if isinstance(spec, str):
        by_name = {str(a): a for a in agents}
        ranked = tuple(by_name.get(name.strip(), name.strip()) for name in spec.split("+"))
        if "+" not in spec and spec not in by_name and len(agents) > 1:
            raise InvalidOrderError(
                f"{source} {_vocabulary(agents)}, got {spec!r}: neither an order's name nor agents."
            )
        if problems := _permutation_problems(ranked, agents):
            raise InvalidOrderError(f"{source} {_vocabulary(agents)}, got {spec!r}: {problems}.")
        return ranked
    if isinstance(spec, Sequence) and not isinstance(spec, (bytes, bytearray)):
        return _check_permutation(spec, agents, source)
    raise TypeError(
        f"{source} expected an order: None, one of {', '.join(repr(n) for n in ORDER_NAMES)}, a sequence of agent "
        f"names, agent names joined by '+' or a callable order(env, rng) -> list, got {spec!r} ({type(spec).__name__})."
    )


def _check_permutation(order: Sequence[Any], agents: Sequence[Any], source: str) -> tuple[Any, ...]:
    """Return ``order`` as a tuple if it ranks every agent of ``agents`` exactly once, else raise."""
    try:
        ranked = tuple(order)
    except TypeError:
        raise InvalidOrderError(
            f"{source} expected a sequence of agent names, got {order!r} ({type(order).__name__})."
        ) from None
    problems = _permutation_problems(ranked, agents)
    if problems:
        raise InvalidOrderError(
            f"{source} expected each of the agents {list(agents)} exactly once, got {list(ranked)}: {problems}."
        )
    return ranked


def _permutation_problems(ranked: Sequence[Any], agents: Sequence[Any]) -> str:
    """What keeps ``ranked`` from ranking each of ``agents`` exactly once (unknown, missing, repeated agents), or ''."""
    expected = set(agents)
    seen: set[Any] = set()
    repeated = [a for a in ranked if a in seen or seen.add(a)]  # type: ignore[func-returns-value]
    unknown = [a for a in ranked if a not in expected]
    missing = [a for a in agents if a not in seen]
    problems = []
    if unknown:
        problems.append(f"unknown agents {unknown}")
    if missing:
        problems.append(f"missing agents {missing}")
    if repeated:
        problems.append(f"repeated agents {repeated}")
    return "; ".join(problems)


class PriorityOrder:
    """Resolves an :data:`OrderSpec` into the order of the live agents.

    Args:
        spec: The ``order`` argument of :func:`stmg_envs.stmg_v0`.
        possible_agents: Every agent the parallel env may have.

    Raises:
        InvalidOrderError: an unknown order name, or a fixed order that is not a permutation of ``possible_agents``
            (see :func:`parse_order`).
        TypeError: a spec of none of the accepted kinds.

    Examples:
        >>> import numpy as np
        >>> order = PriorityOrder(["b", "a"], ["a", "b"])
        >>> order.for_step(None, ["a", "b"], np.random.default_rng(0))
        ('b', 'a')
    """

    def __init__(self, spec: OrderSpec, possible_agents: Sequence[Any]):
        self.spec = spec
        self.possible_agents = tuple(possible_agents)
        self._episode_order: tuple[Any, ...] | None = None
        self._cache_key: tuple[Any, ...] | None = None
        self._cache_value: tuple[Any, ...] = ()
        if callable(spec):
            self.kind = "callable"
            self._fixed = self.possible_agents
            return
        parsed = parse_order(spec, self.possible_agents, "stmg_v0(order=...)")
        if parsed == "random":
            self.kind = "random"
            self._fixed = self.possible_agents
        else:
            self.kind = "fixed"
            self._fixed = tuple(parsed)

    @property
    def is_dynamic(self) -> bool:
        """True when the order may change from one time step to the next (a callable)."""
        return self.kind == "callable"

    def new_episode(self, rng: np.random.Generator) -> None:
        """Draw the episode's order (``"random"``); other kinds need nothing."""
        if self.kind == "random":
            perm = rng.permutation(len(self.possible_agents))
            self._episode_order = tuple(self.possible_agents[i] for i in perm)
        else:
            self._episode_order = self._fixed
        self._cache_key = None

    def for_step(self, env: Any, live_agents: Sequence[Any], rng: np.random.Generator) -> tuple[Any, ...]:
        """The order of ``live_agents`` for the coming time step."""
        if self.kind == "callable":
            try:
                proposed = self.spec(env, rng)  # type: ignore[misc,operator]
            except Exception as exc:
                raise InvalidOrderError(f"the order callable {self.spec!r} raised {type(exc).__name__}: {exc}") from exc
            return _check_permutation(proposed, live_agents, f"the order callable {self.spec!r}")
        base = self._episode_order if self._episode_order is not None else self._fixed
        key = tuple(live_agents)
        if key != self._cache_key:
            live = set(key)
            extra = [a for a in key if a not in base]
            self._cache_value = tuple(a for a in base if a in live) + tuple(extra)
            self._cache_key = key
        return self._cache_value
