"""Priority orders of an STMG: who acts first within a time step.

An order is given to :func:`stmg_envs.stmg_v0` as

* ``None``: the parallel env's ``possible_agents`` order;
* a sequence of agent names: that fixed order (agents not alive are skipped);
* ``"random"``: a fresh permutation each episode, drawn from the wrapper's seeded RNG;
* a callable ``order(parallel_env, rng) -> sequence of agents``: called before
  every time step; it must return each live agent exactly once.

:class:`PriorityOrder` turns any of these into a function of the live agents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

__all__ = ["OrderSpec", "PriorityOrder", "InvalidOrderError"]

OrderSpec = Union[None, str, Sequence[Any], Callable[[Any, np.random.Generator], Sequence[Any]]]  # noqa: UP007


class InvalidOrderError(ValueError):
    """An ``order`` that is not a permutation of the agents it must rank."""


def _check_permutation(order: Sequence[Any], agents: Sequence[Any], source: str) -> tuple[Any, ...]:
    """Return ``order`` as a tuple if it ranks every agent of ``agents`` exactly once, else raise."""
    try:
        ranked = tuple(order)
    except TypeError:
        raise InvalidOrderError(
            f"{source} expected a sequence of agent names, got {order!r} ({type(order).__name__})."
        ) from None
    expected = set(agents)
    seen: set[Any] = set()
    repeated = [a for a in ranked if a in seen or seen.add(a)]  # type: ignore[func-returns-value]
    unknown = [a for a in ranked if a not in expected]
    missing = [a for a in agents if a not in seen]
    if repeated or unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown agents {unknown}")
        if missing:
            problems.append(f"missing agents {missing}")
        if repeated:
            problems.append(f"repeated agents {repeated}")
        raise InvalidOrderError(
            f"{source} expected each of the agents {list(agents)} exactly once, got {list(ranked)}: "
            + "; ".join(problems)
            + "."
        )
    return ranked


class PriorityOrder:
    """Resolves an :data:`OrderSpec` into the order of the live agents.

    Args:
        spec: The ``order`` argument of :func:`stmg_envs.stmg_v0`.
        possible_agents: Every agent the parallel env may have.

    Raises:
        InvalidOrderError: a fixed order that is not a permutation of ``possible_agents``.
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
        if spec is None:
            self.kind = "fixed"
            self._fixed = self.possible_agents
        elif isinstance(spec, str):
            if spec != "random":
                raise TypeError(
                    f"stmg_v0 expected order=None, 'random', a sequence of agent names or a callable "
                    f"order(env, rng) -> list, got the string {spec!r}."
                )
            self.kind = "random"
            self._fixed = self.possible_agents
        elif callable(spec):
            self.kind = "callable"
            self._fixed = self.possible_agents
        elif isinstance(spec, Sequence):
            self.kind = "fixed"
            self._fixed = _check_permutation(spec, self.possible_agents, "stmg_v0(order=...)")
        else:
            raise TypeError(
                f"stmg_v0 expected order=None, 'random', a sequence of agent names or a callable "
                f"order(env, rng) -> list, got {spec!r} ({type(spec).__name__})."
            )

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
