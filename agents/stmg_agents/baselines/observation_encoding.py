"""Encode every agent's observation into one shared vector layout for a shared policy.

A policy shared across agents needs one input space. The
:class:`SharedObservationEncoder` flattens each agent's observation to float32,
zero-pads it to the longest agent's length (what SuperSuit's
``pad_observations_v0`` does) and, optionally, appends a one-hot agent
indicator (what ``agent_indicator_v0`` does), in one pass and without the
wrapper layers. Agents missing from an observation dict (dead agents) get
zeros plus their indicator ("black death").

Examples:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> from stmg_agents.baselines.observation_encoding import SharedObservationEncoder
    >>> encoder = SharedObservationEncoder(
    ...     ["a", "b"], {"a": spaces.Box(0, 1, (1,)), "b": spaces.Discrete(2)}, agent_indicator=True
    ... )
    >>> encoder.encode({"a": np.array([0.5]), "b": 1})
    array([[0.5, 0. , 1. , 0. ],
           [0. , 1. , 0. , 1. ]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["SharedObservationEncoder", "flatten_observation_fn"]


def flatten_observation_fn(space: spaces.Space) -> tuple[int, Callable[[Any], np.ndarray]]:
    """Return ``(flat_dim, fn)`` where ``fn(obs)`` is the float32 flat vector of ``obs``.

    Args:
        space: An agent's observation space.

    Returns:
        The flat length and the flattening function (a fast path for ``Box``,
        ``gymnasium.spaces.flatten`` otherwise).

    Raises:
        ValueError: If the space cannot be flattened to a fixed-length vector.
    """
    if isinstance(space, spaces.Box):
        size = int(np.prod(space.shape))

        def flatten_box(obs: Any) -> np.ndarray:
            return np.asarray(obs, dtype=np.float32).reshape(-1)

        return size, flatten_box
    try:
        size = int(spaces.flatdim(space))
    except (ValueError, NotImplementedError, TypeError) as exc:
        raise ValueError(
            f"expected an observation space with a fixed flat size (Box, Discrete, MultiDiscrete, "
            f"MultiBinary, or a Dict/Tuple of those), got {space}: {exc}"
        ) from exc

    def flatten_any(obs: Any) -> np.ndarray:
        return np.asarray(spaces.flatten(space, obs), dtype=np.float32).reshape(-1)

    return size, flatten_any


class SharedObservationEncoder:
    """Flatten, pad and tag the observations of all agents into one layout.

    Args:
        possible_agents: Agent names; their order fixes the indicator index.
        observation_spaces: Each agent's observation space.
        agent_indicator: Append a one-hot of the agent's index.

    Attributes:
        agents: The agent names, in indicator order.
        obs_dim: Length of the padded flat observation part.
        dim: Length of an encoded vector (``obs_dim`` plus one slot per agent
            if the indicator is on).
        space: ``Box(-inf, inf, (dim,), float32)``, the shared policy's input space.
    """

    def __init__(
        self,
        possible_agents: Sequence[str],
        observation_spaces: Mapping[str, spaces.Space],
        *,
        agent_indicator: bool,
    ) -> None:
        self.agents: tuple[str, ...] = tuple(possible_agents)
        if not self.agents:
            raise ValueError("expected at least one possible agent, got none.")
        missing = [a for a in self.agents if a not in observation_spaces]
        if missing:
            raise ValueError(f"expected an observation space for every agent, missing {missing}.")
        flats = [flatten_observation_fn(observation_spaces[a]) for a in self.agents]
        self._boxes = tuple(isinstance(observation_spaces[a], spaces.Box) for a in self.agents)
        self._sizes = tuple(size for size, _ in flats)
        self._flatten = tuple(fn for _, fn in flats)
        self.agent_indicator = agent_indicator
        self.obs_dim = max(self._sizes)
        n = len(self.agents)
        self.dim = self.obs_dim + (n if agent_indicator else 0)
        self.space = spaces.Box(-np.inf, np.inf, shape=(self.dim,), dtype=np.float32)
        self._index = {a: i for i, a in enumerate(self.agents)}
        template = np.zeros((n, self.dim), dtype=np.float32)
        if agent_indicator:
            template[np.arange(n), self.obs_dim + np.arange(n)] = 1.0
        template.setflags(write=False)
        self._template = template

    def index(self, agent: str) -> int:
        """Position of ``agent`` in :attr:`agents`."""
        try:
            return self._index[agent]
        except KeyError:
            raise KeyError(f"unknown agent {agent!r}; expected one of {list(self.agents)}.") from None

    def encode(self, observations: Mapping[str, Any]) -> np.ndarray:
        """Encode an observation dict into an ``(n_agents, dim)`` float32 array.

        Args:
            observations: Observation per agent; agents missing from it get a
                zero observation (their indicator is still set).

        Returns:
            A new array, one row per possible agent in :attr:`agents` order.
        """
        out = self._template.copy()
        for i, agent in enumerate(self.agents):
            obs = observations.get(agent)
            if obs is not None:
                flat = self._flatten[i](obs)
                if flat.shape[0] != self._sizes[i]:
                    raise ValueError(
                        f"expected an observation of flat size {self._sizes[i]} for {agent!r}, "
                        f"got shape {np.shape(obs)}."
                    )
                out[i, : self._sizes[i]] = flat
        return out

    def encode_batch(self, observations: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Encode the observations of every copy and agent of a batched game at once.

        Args:
            observations: ``(K, N, ...)``, as :class:`stmg_envs.vector.BatchedParallel` gives them: agent ``i``'s
                own observation in row ``[k, i]`` (a ``Box`` observation possibly flattened and zero-padded).
            present: ``(K, N)`` bool: the rows that hold an observation; the others encode as a dead agent's
                (:meth:`zero_row`), as agents missing from :meth:`encode`'s dict do.

        Returns:
            A new ``(K, N, dim)`` float32 array; ``[k]`` equals :meth:`encode` of copy ``k``'s observation dict.
        """
        k, n = present.shape
        if n != len(self.agents) or observations.shape[:2] != (k, n):
            raise ValueError(
                f"expected observations of shape ({k}, {len(self.agents)}, ...) and present of shape "
                f"({k}, {len(self.agents)}), got {observations.shape} and {present.shape}."
            )
        out = np.broadcast_to(self._template, (k, n, self.dim)).copy()
        flat = observations.reshape(k, n, -1)
        if all(self._boxes) and flat.shape[2] == self.obs_dim:  # equal (or padded) Box rows: one copy
            out[:, :, : self.obs_dim] = flat
        else:
            for i, size in enumerate(self._sizes):
                if self._boxes[i]:
                    if flat.shape[2] < size:
                        raise ValueError(
                            f"expected rows of at least {size} values for {self.agents[i]!r}, got {flat.shape[2]}."
                        )
                    out[:, i, :size] = flat[:, i, :size]
                else:
                    for e in range(k):
                        out[e, i, :size] = self._flatten[i](observations[e, i])
        out[~present, : self.obs_dim] = 0.0
        return out

    def zero_row(self, agent: str) -> np.ndarray:
        """The encoded vector of a dead ``agent``: zeros plus its indicator."""
        return self._template[self.index(agent)].copy()
