"""Turn what the user passes as an environment into a factory of ``ParallelEnv`` copies.

The baselines step several copies of the simultaneous game in lock-step, so
they need a way to build fresh copies. :func:`resolve_env_source` accepts a
registered ID (``"stmg/Penalty-v0"``), a zero-argument factory, or a
``ParallelEnv`` instance (deep-copied), and rejects everything else with a
message that says what to pass instead.

Examples:
    >>> from stmg_agents.baselines.env_source import resolve_env_source
    >>> source = resolve_env_source("stmg/Penalty-v0", {"k": -50})
    >>> env = source.make()
    >>> env.possible_agents
    ['agent_0', 'agent_1']
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pettingzoo
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

__all__ = ["EnvSource", "resolve_env_source", "shared_action_space"]


@dataclass(frozen=True)
class EnvSource:
    """How to build copies of one simultaneous game.

    Attributes:
        factory: Zero-argument callable returning a new ``ParallelEnv``.
        env_id: The registry ID it came from, if any (saved with the model so
            that ``load`` can rebuild the environment).
        env_kwargs: Keyword arguments given with ``env_id``.
    """

    factory: Callable[[], Any]
    env_id: str | None = None
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def make(self) -> ParallelEnv:
        """Build one copy and check that it is a ``ParallelEnv``."""
        env = self.factory()
        if isinstance(env, AECEnv):
            raise TypeError(
                "expected the environment factory to return a PettingZoo ParallelEnv, got an AECEnv "
                f"({type(env).__name__}); the baselines play the simultaneous game. Convert it with "
                "pettingzoo.utils.conversions.aec_to_parallel or use pettingzoo.make('parallel', id)."
            )
        if not isinstance(env, ParallelEnv):
            raise TypeError(
                f"expected the environment factory to return a PettingZoo ParallelEnv, got {type(env).__name__}."
            )
        return env

    def describe(self) -> dict[str, Any] | None:
        """A JSON-serialisable description that :func:`resolve_env_source` can rebuild, or None."""
        if self.env_id is None:
            return None
        try:
            json.dumps(dict(self.env_kwargs))
        except TypeError:
            return None
        return {"env_id": self.env_id, "env_kwargs": dict(self.env_kwargs)}


def _make_registered(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    try:  # noqa: SIM105
        import stmg_envs  # noqa: F401  (registers the stmg/ tasks)
    except ImportError:  # pragma: no cover - stmg_envs is this project's own package
        pass
    return pettingzoo.make("parallel", env_id, **env_kwargs)


def resolve_env_source(env_or_id: Any, env_kwargs: Mapping[str, Any] | None = None) -> EnvSource:
    """Build an :class:`EnvSource` from a registered ID, a factory or a ``ParallelEnv``.

    Args:
        env_or_id: A PettingZoo ``parallel`` registry ID such as
            ``"stmg/Penalty-v0"``, a callable returning a ``ParallelEnv``, or a
            ``ParallelEnv`` instance (deep-copied for each rollout copy; pass a
            factory if the environment cannot be deep-copied).
        env_kwargs: Keyword arguments for the registry entry or the factory.

    Returns:
        The source; call ``make()`` for a copy.

    Raises:
        TypeError: If ``env_or_id`` is none of the accepted kinds, or if
            ``env_kwargs`` is given with an instance.
    """
    kwargs = dict(env_kwargs or {})
    if isinstance(env_or_id, str):
        env_id = env_or_id
        return EnvSource(lambda: _make_registered(env_id, kwargs), env_id=env_id, env_kwargs=kwargs)
    if isinstance(env_or_id, AECEnv):
        raise TypeError(
            f"expected a PettingZoo ParallelEnv, a factory of one or a registered id, got an AECEnv "
            f"({type(env_or_id).__name__}); the baselines play the simultaneous game. Pass "
            "pettingzoo.make('parallel', id, ...) or convert with pettingzoo.utils.conversions.aec_to_parallel."
        )
    if isinstance(env_or_id, ParallelEnv):
        if kwargs:
            raise TypeError(
                "env_kwargs only applies to a registered id or a factory, got an environment instance; "
                "build the instance with those arguments instead."
            )
        template = copy.deepcopy(env_or_id)
        return EnvSource(lambda: copy.deepcopy(template))
    if callable(env_or_id):
        factory = env_or_id
        return EnvSource(lambda: factory(**kwargs))
    raise TypeError(
        "expected a registered id (e.g. 'stmg/Penalty-v0'), a callable returning a PettingZoo ParallelEnv, "
        f"or a ParallelEnv instance, got {type(env_or_id).__name__}: {env_or_id!r}."
    )


def shared_action_space(env: ParallelEnv) -> spaces.Space:
    """Return the action space every agent shares, or raise if they differ.

    Args:
        env: The simultaneous game.

    Returns:
        The common action space.

    Raises:
        ValueError: If two agents have different action spaces, or the space
            is not one a policy distribution exists for.
    """
    agents = list(env.possible_agents)
    if not agents:
        raise ValueError("expected an environment with at least one possible agent, got none.")
    first = env.action_space(agents[0])
    others = {a: env.action_space(a) for a in agents if env.action_space(a) != first}
    if others:
        raise ValueError(
            "IPPO and MAPPO share one actor across agents, so every agent needs the same action space; "
            f"got {agents[0]!r}: {first} but {others}. Pad them first, e.g. pass a factory returning "
            "supersuit.pad_action_space_v0(env)."
        )
    if not isinstance(first, (spaces.Discrete, spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        raise ValueError(f"expected a Discrete, Box, MultiDiscrete or MultiBinary action space, got {first}.")
    if isinstance(first, spaces.Discrete) and first.start != 0:
        raise ValueError(f"expected a Discrete action space starting at 0, got {first}.")
    return first
