"""The spatio-temporal sequential Markov game (STMG) of any PettingZoo ``ParallelEnv``."""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from stmg_envs.wrappers.action_codec import ActionCodec, InvalidActionError
from stmg_envs.wrappers.priority_order import InvalidOrderError, OrderSpec, PriorityOrder

__all__ = ["STMGEnv", "stmg_v0", "OBSERVATION_KEYS", "skip_dead_steps"]

#: Keys of the ``Dict`` observation, in order (``"action_mask"`` follows when the parallel env has one).
OBSERVATION_KEYS = ("observation", "prior_actions", "prior_mask", "rank")


class _HotAgent(NamedTuple):
    """What ``step()`` needs of one agent, in one lookup: :class:`~stmg_envs.wrappers.action_codec.FastPath`'s
    fields, then the agent's index in ``prior_mask``."""

    int_low: int
    int_high: int
    one_hot_at: int
    check: Callable[[Any], Any]
    flat_slot: slice | None
    mask_index: int


class _FlatParts(NamedTuple):
    """Where each part of the observation lies in the flat vector of ``stmg_v0(flatten=True)``."""

    observation: slice
    prior_actions: slice
    prior_mask: slice
    rank_at: int  # the one-hot rank starts here


class _Phase(enum.Enum):
    """Where the episode stands: the one state value behind every fast path of :class:`STMGEnv`.

    The invariant, written once: the phase is ``RUNNING`` exactly when the env has been
    reset, some agent is left, and no agent waits for its dead step (every agent in
    ``agents`` is neither terminated nor truncated). While it holds, ``step()`` skips the
    reset, end-of-episode and dead-step checks, ``last()`` returns the acting agent's
    observation without the lookups that establish it, and a time step in which nobody
    finishes takes the short path. Only :meth:`STMGEnv._settle` (after ``reset()``, a time
    step's general path and a dead step) and a failing order callable change the phase;
    every other method reads it.
    """

    NEEDS_RESET = "needs reset"  # never reset, or stopped (``_broken`` says why)
    RUNNING = "running"  # the fast paths hold
    DEAD_STEPS = "dead steps"  # some agent in ``agents`` is terminated or truncated and must step None
    OVER = "over"  # no agent left: the episode ended


_RUNNING = _Phase.RUNNING
_NEEDS_RESET_PHASE = _Phase.NEEDS_RESET


def skip_dead_steps(env: AECEnv) -> int:
    """Play ``None`` for the selected agent while it is terminated or truncated, as the AEC API asks.

    Stops at the first live agent or when no agent is left; returns how many dead steps it played.
    The one home of this loop: the Gymnasium view, STEP's vectorised env and the benchmarks call it.

    Examples:
        >>> from stmg_envs import stmg_v0
        >>> from stmg_envs.matrix import penalty
        >>> env = stmg_v0(penalty(episode_length=1))
        >>> env.reset(seed=0)
        >>> for agent in ("agent_0", "agent_1"):
        ...     env.step(0)
        >>> skip_dead_steps(env), env.agents
        (2, [])
    """
    played = 0
    while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
        env.step(None)
        played += 1
    return played


_NEEDS_RESET = "call reset() before step(), observe(), last(), state(), render() or agent_iter()"


def _blank(space: spaces.Space) -> Any:
    """A fixed, valid element of ``space``: what an agent that has no observation yet observes."""
    if isinstance(space, spaces.Box):
        return np.clip(np.zeros(space.shape, dtype=space.dtype), space.low, space.high).astype(space.dtype)
    if isinstance(space, spaces.Discrete):
        return np.int64(space.start)
    if isinstance(space, spaces.MultiDiscrete):
        return np.asarray(space.start, dtype=space.dtype).copy()
    if isinstance(space, spaces.MultiBinary):
        return np.zeros(space.shape, dtype=space.dtype)
    if isinstance(space, spaces.Dict):
        return {key: _blank(sub) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(_blank(sub) for sub in space.spaces)
    sampler = copy.deepcopy(space)  # never disturb the caller's space RNG
    sampler.seed(0)
    return sampler.sample()


class _OrderEnforcingIterator(Iterator):
    """``agent_iter`` that, like PettingZoo's order enforcement, insists on a ``step`` per yielded agent."""

    __slots__ = ("env", "remaining")

    def __init__(self, env: STMGEnv, max_iter: int):
        self.env = env
        self.remaining = max_iter

    def __iter__(self) -> _OrderEnforcingIterator:
        return self

    def __next__(self) -> Any:
        env = self.env
        if not env.agents or self.remaining <= 0:
            raise StopIteration
        if not env._has_updated:
            raise RuntimeError("agent_iter(): call step() (or reset()) once for every agent it yields.")
        env._has_updated = False
        self.remaining -= 1
        return env.agent_selection


class STMGEnv(AECEnv):
    """The sequential game of a ``ParallelEnv``: agents act one at a time in priority order.

    Within each time step the live agents act in the order :attr:`order`. The
    acting agent observes its own observation from the parallel env, the
    actions that the agents ranked above it chose *this step*, which of those
    slots are filled, and its own rank. Only after the last agent of the order
    has acted is the parallel env stepped, once, with the joint action. This
    is the spatio-temporal sequential Markov game of Zhang et al. (STEP paper,
    Definition 1, Fig. 1-2).

    Build it with :func:`stmg_v0`.

    ## Observation space (per agent, fixed for the whole episode whatever the order)
    ``Dict`` with keys

    * ``"observation"``: the parallel env's observation of the agent (its own space;
      if that space is a ``Dict`` with ``"observation"`` and ``"action_mask"``,
      its ``"observation"``),
    * ``"prior_actions"``: ``Box(float32, (D,))``; one slot per possible agent in
      ``possible_agents`` order (:attr:`action_layout`), holding the encoded
      action of each agent ranked above this one that has acted this step
      (``Discrete``: one-hot; ``MultiDiscrete``: concatenated one-hots; ``Box``,
      ``MultiBinary``: values), zeros elsewhere,
    * ``"prior_mask"``: ``MultiBinary(N)``, 1 where a slot of ``prior_actions`` is filled,
    * ``"rank"``: ``Discrete(N)``, the agent's position in the current order (0 acts first),
    * ``"action_mask"`` (only when the parallel env's observation carries one).

    With ``flatten=True`` the observation is one float32 ``Box``: those parts
    concatenated in that order (the observation flattened, the rank one-hot),
    and an action mask travels in ``infos[agent]["action_mask"]``.

    ## Action space
    The parallel env's, unchanged. An action outside it (wrong type, shape,
    dtype, NaN, out of bounds) raises :class:`InvalidActionError` and changes
    nothing; ``None`` is the only action of a terminated or truncated agent.

    ## Rewards, terminations, truncations, infos
    Set once per time step, when the parallel env steps, following PettingZoo's
    AEC semantics: ``rewards`` holds the rewards of the last ``step()`` call (0
    on steps that did not complete a time step), ``last()`` returns the reward
    accumulated since the agent last acted. Terminated or truncated agents take
    one dead step (``None``) before they leave ``agents``; agents that the
    parallel env adds join the next time step. ``infos[agent]`` is the parallel
    env's info plus ``"rank"`` (the rank in the coming time step; for agents
    that just finished, the rank they last acted with) and ``"order"`` (the
    order as ``possible_agents`` indices, padded with -1 to length N, so that
    libraries which stack infos into arrays can; :attr:`order` gives the names).

    ## Arguments
    See :func:`stmg_v0`.

    ## Version history
    * v0: first version.
    """

    def __init__(self, env: ParallelEnv, order: OrderSpec = None, flatten: bool = False):
        super().__init__()
        if not isinstance(env, ParallelEnv):
            hint = ""
            if isinstance(env, AECEnv):
                hint = " It is an AECEnv: convert it with pettingzoo.utils.conversions.aec_to_parallel(env) first."
            elif isinstance(env, gymnasium.Env):
                hint = " It is a single-agent gymnasium.Env; the STMG needs several agents."
            raise TypeError(f"stmg_v0 expected a pettingzoo.ParallelEnv, got {type(env).__name__}.{hint}")
        if not isinstance(flatten, bool):
            raise TypeError(f"stmg_v0 expected flatten to be True or False, got {flatten!r}.")
        try:
            possible = list(env.possible_agents)
        except AttributeError:
            raise TypeError(
                f"stmg_v0 expected the parallel env to define possible_agents, got {type(env).__name__} without it. "
                "The STMG needs every agent up front to lay out the observation."
            ) from None
        if not possible:
            raise ValueError("stmg_v0 expected at least one agent in possible_agents, got none.")
        if len(set(possible)) != len(possible):
            raise ValueError(f"stmg_v0 expected distinct possible_agents, got {possible}.")

        self.parallel_env = env
        self.possible_agents = possible
        self.flatten = flatten
        self._priority = PriorityOrder(order, possible)
        self._dynamic_order = self._priority.is_dynamic
        self._index = {a: i for i, a in enumerate(possible)}
        n = len(possible)
        self._n = n

        # Action codecs and the layout of "prior_actions".
        self._action_spaces = {a: env.action_space(a) for a in possible}
        self._codecs: dict[Any, ActionCodec] = {}
        self._offsets: dict[Any, int] = {}
        self.action_layout: dict[Any, slice] = {}
        offset = 0
        for agent in possible:
            codec = ActionCodec(agent, self._action_spaces[agent])
            self._codecs[agent] = codec
            self._offsets[agent] = offset
            self.action_layout[agent] = slice(offset, offset + codec.size)
            offset += codec.size
        self._prior_size = offset
        # What step() needs of each agent, in one lookup on the hot path.
        self._hot: dict[Any, _HotAgent] = {
            agent: _HotAgent(*codec.fast_path(self._offsets[agent]), mask_index=self._index[agent])
            for agent, codec in self._codecs.items()
        }
        prior_low = np.concatenate([self._codecs[a].low for a in possible]).astype(np.float32)
        prior_high = np.concatenate([self._codecs[a].high for a in possible]).astype(np.float32)
        prior_space = spaces.Box(prior_low, prior_high, dtype=np.float32)
        mask_space = spaces.MultiBinary(n)
        rank_space = spaces.Discrete(n)

        # Observation spaces, built once (PettingZoo requires the same object on every call).
        self._inner_obs_spaces = {a: env.observation_space(a) for a in possible}
        self._mask_key: dict[Any, bool] = {}
        self._dict_spaces: dict[Any, spaces.Dict] = {}
        self._obs_spaces: dict[Any, spaces.Space] = {}
        self._flat_parts: dict[Any, _FlatParts] = {}
        for agent in possible:
            inner = self._inner_obs_spaces[agent]
            has_mask = (
                isinstance(inner, spaces.Dict) and "observation" in inner.spaces and "action_mask" in inner.spaces
            )
            self._mask_key[agent] = has_mask
            own = inner["observation"] if has_mask else inner
            parts = {"observation": own, "prior_actions": prior_space, "prior_mask": mask_space, "rank": rank_space}
            if has_mask:
                parts["action_mask"] = inner["action_mask"]
            dict_space = spaces.Dict(parts)
            self._dict_spaces[agent] = dict_space
            if flatten:
                own_flat = spaces.flatten_space(own)
                if not isinstance(own_flat, spaces.Box):
                    raise TypeError(
                        f"stmg_v0(flatten=True) cannot flatten the observation space of {agent!r} to a Box: {own}."
                    )
                k = int(np.prod(own_flat.shape))
                low = np.concatenate([own_flat.low.ravel().astype(np.float32), prior_low, np.zeros(2 * n, np.float32)])
                high = np.concatenate(
                    [own_flat.high.ravel().astype(np.float32), prior_high, np.ones(2 * n, np.float32)]
                )
                self._obs_spaces[agent] = spaces.Box(low, high, dtype=np.float32)
                d = self._prior_size
                self._flat_parts[agent] = _FlatParts(
                    observation=slice(0, k),
                    prior_actions=slice(k, k + d),
                    prior_mask=slice(k + d, k + d + n),
                    rank_at=k + d + n,
                )
            else:
                self._obs_spaces[agent] = dict_space
        self._own_obs_spaces = {a: self._dict_spaces[a]["observation"] for a in possible}
        # Agents whose observation is the plain Dict of four parts (no flattening, no action mask).
        self._plain_obs = {a: not flatten and not self._mask_key[a] for a in possible}
        self._mask_in_info = {a: flatten and self._mask_key[a] for a in possible}
        self._rank_values = [np.int64(r) for r in range(n)]

        self.metadata = {
            **getattr(env, "metadata", {}),
            "name": f"stmg_{getattr(env, 'metadata', {}).get('name', type(env).__name__)}",
            "is_parallelizable": False,
        }
        self.render_mode = getattr(env, "render_mode", None)
        if hasattr(env, "state_space"):
            self.state_space = env.state_space

        # Episode state; set by reset(). The phase decides which checks step()/last() run (see _Phase).
        self._phase = _Phase.NEEDS_RESET
        self._has_updated = False
        self._broken: str | None = None
        self._rng = np.random.default_rng()
        self.agents: list[Any] = []
        self._order: tuple[Any, ...] = ()
        self._order_info: tuple[int, ...] = (-1,) * n
        self._plain_infos: dict[Any, dict] = {}
        self._ranks: dict[Any, int] = {}
        self._last_ranks: dict[Any, int] = {}
        self._pos = 0
        self._actions: dict[Any, Any] = {}
        self._prior = np.zeros(self._prior_size, dtype=np.float32)
        self._mask = np.zeros(n, dtype=np.int8)
        self._observations: dict[Any, Any] = {}
        self._rewards_stale = False
        self._skip_agent_selection = None
        self.num_time_steps = 0

    # ----------------------------------------------------------------- spaces
    def observation_space(self, agent: Any) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: Any) -> spaces.Space:
        return self._action_spaces[agent]

    @property
    def observation_spaces(self) -> dict[Any, spaces.Space]:
        return dict(self._obs_spaces)

    @property
    def action_spaces(self) -> dict[Any, spaces.Space]:
        return dict(self._action_spaces)

    @property
    def unwrapped(self) -> STMGEnv:
        """The STMG itself: it is a game of its own, not a view of an AEC env (see :attr:`parallel_env`)."""
        return self

    @property
    def order(self) -> tuple[Any, ...]:
        """The priority order of the current time step (first acts first)."""
        self._require_reset()
        return self._order

    def rank(self, agent: Any) -> int:
        """Position of ``agent`` in the current order (0 acts first)."""
        self._require_reset()
        try:
            return self._ranks[agent]
        except KeyError:
            raise KeyError(f"agent {agent!r} has no rank this time step; live agents: {list(self._order)}.") from None

    def encode_action(self, agent: Any, action: Any) -> np.ndarray:
        """The content of ``agent``'s slot of ``prior_actions`` when it plays ``action``.

        Raises :class:`InvalidActionError` for an action outside the agent's space.
        """
        codec = self._codec_of(agent)
        return codec.encode(codec.check(action))

    def _codec_of(self, agent: Any) -> ActionCodec:
        try:
            return self._codecs[agent]
        except KeyError:
            raise KeyError(f"unknown agent {agent!r}; possible agents: {self.possible_agents}.") from None

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._phase = _Phase.NEEDS_RESET  # until the new episode is fully set up
        self._broken = None
        observations, infos = self.parallel_env.reset(seed=seed, options=options)
        agents = list(self.parallel_env.agents)
        self._priority.new_episode(self._rng)
        order = self._priority.for_step(self.parallel_env, agents, self._rng)
        self._observations = dict(observations)
        self.agents = agents
        self.rewards = dict.fromkeys(agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(agents, 0.0)
        self.terminations = dict.fromkeys(agents, False)
        self.truncations = dict.fromkeys(agents, False)
        self._start_time_step(order)
        self._last_ranks = dict(self._ranks)
        self.infos = self._make_infos(infos, agents)
        self._skip_agent_selection = None
        self._rewards_stale = False
        self.num_time_steps = 0
        self._settle()
        self._has_updated = True

    def _start_time_step(self, order: tuple[Any, ...]) -> None:
        if order is not self._order:  # fixed orders come back as the same tuple: nothing to redo
            self._order = order
            self._ranks = {a: r for r, a in enumerate(order)}
            # Fixed length, numeric: libraries that stack infos into arrays (TorchRL, Tianshou) need that.
            self._order_info = tuple(self._index[a] for a in order) + (-1,) * (self._n - len(order))
            self._plain_infos = {a: {"rank": r, "order": self._order_info} for r, a in enumerate(order)}
            self._last_ranks.update(self._ranks)
        self._pos = 0
        self._actions = {}
        self._prior.fill(0.0)
        self._mask.fill(0)
        if order:
            self.agent_selection = order[0]

    def _make_infos(self, infos: dict[Any, dict], agents: list[Any]) -> dict[Any, dict]:
        out = {}
        order = self._order_info
        plain = self._plain_infos
        for agent in agents:
            extra = infos.get(agent)
            mask_in_info = self._mask_in_info[agent]
            ranked = plain.get(agent)  # {"rank": r, "order": ...} of an agent in this time step's order
            if ranked is not None and not mask_in_info:
                out[agent] = {**extra, **ranked} if extra else ranked.copy()
                continue
            info = dict(extra) if extra else {}
            info["rank"] = self._last_ranks.get(agent, -1)
            info["order"] = order
            if mask_in_info and agent in self._observations:
                info["action_mask"] = self._observations[agent]["action_mask"]
            out[agent] = info
        return out

    # ------------------------------------------------------------------- step
    def _settle(self) -> None:
        """Set the phase from the episode's state (the one place that decides it; see :class:`_Phase`)."""
        agents, terminations, truncations = self.agents, self.terminations, self.truncations
        if not agents:
            self._phase = _Phase.OVER
        elif any(terminations[a] or truncations[a] for a in agents):
            self._phase = _Phase.DEAD_STEPS
        else:
            self._phase = _Phase.RUNNING

    def _require_reset(self) -> None:
        if self._phase is _NEEDS_RESET_PHASE:
            raise RuntimeError(f"{self}: {self._broken or 'the environment has not been reset'}; {_NEEDS_RESET}.")

    def step(self, action: Any) -> None:
        # The hot path runs only the checks that can fail while the phase is RUNNING (see _Phase);
        # everything else (not reset, episode over, dead steps) goes through the checks below first.
        if self._phase is not _RUNNING:
            self._require_reset()
            if not self.agents:
                raise RuntimeError(f"{self}: step() called after the episode ended (no agents left); call reset().")
            agent = self.agent_selection
            if self.terminations[agent] or self.truncations[agent]:
                if action is not None:
                    raise InvalidActionError(
                        f"invalid action for agent {agent!r}: it is terminated or truncated, so its only action is "
                        f"None, got {action!r}."
                    )
                self._dead_step(agent)
                self._has_updated = True
                return
        agent = self.agent_selection
        if action is None:
            raise InvalidActionError(
                f"invalid action for agent {agent!r}: None is only for terminated or truncated agents; "
                f"expected an element of {self._action_spaces[agent]}."
            )
        hot = self._hot[agent]
        one_hot = type(action) is int and hot.int_low <= action < hot.int_high
        if not one_hot:
            action = hot.check(action)  # raises before anything changes
        if self._rewards_stale:
            rewards = self.rewards
            for a in rewards:
                rewards[a] = 0.0
            self._rewards_stale = False
        self._cumulative_rewards[agent] = 0.0
        self._actions[agent] = action
        pos = self._pos = self._pos + 1
        if pos < len(self._order):
            if one_hot:
                self._prior[hot.one_hot_at + action] = 1.0
            elif hot.flat_slot is not None:
                self._prior[hot.flat_slot] = action
            else:
                self._codecs[agent].encode_into(self._prior, self._offsets[agent], action)
            self._mask[hot.mask_index] = 1
            self.agent_selection = self._order[pos]
        else:
            self._time_step()
        self._has_updated = True

    def _time_step(self) -> None:
        """Step the parallel env with the joint action and update the AEC bookkeeping."""
        env = self.parallel_env
        observations, rewards, terminations, truncations, infos = env.step(self._actions)
        self.num_time_steps += 1
        self._observations.update(observations)
        agents = self.agents
        if (
            self._phase is _RUNNING
            and env.agents == agents
            and not any(terminations.values())
            and not any(truncations.values())
        ):
            # The common case: the same agents play on and none finished, so terminations and truncations
            # stay all False, every agent acted (its cumulative reward is 0) and a non-dynamic order stays.
            own_rewards, cumulative = self.rewards, self._cumulative_rewards
            for agent in agents:
                reward = rewards.get(agent, 0.0)
                own_rewards[agent] = reward
                cumulative[agent] += reward
            self._rewards_stale = True
            self._start_time_step(self._next_order(agents) if self._dynamic_order else self._order)
            self.infos = self._make_infos(infos, agents)
            return
        live = list(env.agents)
        same_agents = live == agents
        if not same_agents:
            known = set(agents)
            for agent in live:
                if agent not in known:  # an agent that appears joins now
                    agents.append(agent)
                    self._cumulative_rewards[agent] = 0.0
                    known.add(agent)
            live_set = set(live)
        own_rewards, cumulative = self.rewards, self._cumulative_rewards
        own_terms, own_truncs = self.terminations, self.truncations
        any_done = False
        for agent in agents:
            reward = rewards.get(agent, 0.0)
            own_rewards[agent] = reward
            cumulative[agent] += reward
            term = bool(terminations.get(agent))
            trunc = bool(truncations.get(agent))
            if not same_agents and agent not in live_set and not (term or trunc):
                # Gone from the parallel env without a flag: it is over for it all the same.
                term = True
            own_terms[agent] = term
            own_truncs[agent] = trunc
            any_done = any_done or term or trunc
        self._rewards_stale = True
        order = self._next_order(live) if live else ()
        self._start_time_step(order)
        self.infos = self._make_infos(infos, agents)
        self._settle()
        if any_done:
            self._deads_step_first()

    def _next_order(self, live: list[Any]) -> tuple[Any, ...]:
        try:
            return self._priority.for_step(self.parallel_env, live, self._rng)
        except InvalidOrderError as exc:
            self._phase = _Phase.NEEDS_RESET
            self._broken = f"the episode was stopped because the order callable failed ({exc})"
            raise

    def _dead_step(self, agent: Any) -> None:
        for store in (self.terminations, self.truncations, self.rewards, self._cumulative_rewards, self.infos):
            del store[agent]
        self.agents.remove(agent)
        dead = [a for a in self.agents if self.terminations[a] or self.truncations[a]]
        if dead:
            if self._skip_agent_selection is None:
                self._skip_agent_selection = self.agent_selection
            self.agent_selection = dead[0]
        else:
            if self._skip_agent_selection is not None:
                self.agent_selection = self._skip_agent_selection
            self._skip_agent_selection = None
            if self._order and self.agent_selection not in self._ranks:
                self.agent_selection = self._order[self._pos]
            self._settle()
        for a in self.rewards:
            self.rewards[a] = 0.0

    # ---------------------------------------------------------------- observe
    def observe(self, agent: Any) -> Any:
        rank = self._ranks.get(agent)
        if rank is not None and rank >= self._pos and self._phase is not _NEEDS_RESET_PHASE and self._plain_obs[agent]:
            own = self._observations.get(agent)
            if type(own) is np.ndarray:
                return self._plain_observation(own, rank)
        if self._phase is _NEEDS_RESET_PHASE:
            self._require_reset()
        try:
            own = self._observations[agent]
        except KeyError:
            if agent not in self._index:
                raise KeyError(f"unknown agent {agent!r}; possible agents: {self.possible_agents}.") from None
            own = self._observations[agent] = _blank(self._inner_obs_spaces[agent])
        rank = self._ranks.get(agent)
        if rank is None:  # not in this time step (dead, or not spawned): sees no prior actions
            rank = self._last_ranks.get(agent, 0)
            prior = np.zeros(self._prior_size, dtype=np.float32)
            mask = np.zeros(self._n, dtype=np.int8)
        elif rank >= self._pos:  # everyone who has acted is above it
            prior = self._prior.copy()
            mask = self._mask.copy()
        else:  # it has acted already: hide the agents that acted after it
            prior = self._prior.copy()
            mask = self._mask.copy()
            for later in self._order[rank : self._pos]:
                prior[self.action_layout[later]] = 0.0
                mask[self._index[later]] = 0
        has_mask = self._mask_key[agent]
        # A fresh copy: callers keep observations, and parallel envs may reuse their arrays.
        own = own.copy() if type(own) is np.ndarray else copy.deepcopy(own)
        if self.flatten:
            obs_part, prior_part, mask_part, rank_at = self._flat_parts[agent]
            out = np.zeros(self._obs_spaces[agent].shape or (), dtype=np.float32)
            inner = own["observation"] if has_mask else own
            space = self._own_obs_spaces[agent]
            out[obs_part] = inner.ravel() if isinstance(space, spaces.Box) else spaces.flatten(space, inner)  # type: ignore[assignment]
            out[prior_part] = prior
            out[mask_part] = mask
            out[rank_at + rank] = 1.0
            return out
        if has_mask:
            return {
                "observation": own["observation"],
                "prior_actions": prior,
                "prior_mask": mask,
                "rank": self._rank_values[rank],
                "action_mask": own["action_mask"],
            }
        return {"observation": own, "prior_actions": prior, "prior_mask": mask, "rank": self._rank_values[rank]}

    def _plain_observation(self, own: np.ndarray, rank: int) -> dict[str, Any]:
        """observe() in the usual case, spelled out (it is most of the time of last()): an agent whose own
        observation is an array and that has not acted yet this step, so that it sees every action taken."""
        return {
            "observation": own.copy(),
            "prior_actions": self._prior.copy(),
            "prior_mask": self._mask.copy(),
            "rank": self._rank_values[rank],
        }

    def last(self, observe: bool = True):
        if self._phase is _RUNNING and observe:
            # The acting agent of a running time step (rank == _pos, not finished): observe()'s usual case, without
            # the lookups that establish it.
            agent = self.agent_selection
            own = self._observations.get(agent)
            if type(own) is np.ndarray and self._plain_obs[agent]:
                observation = self._plain_observation(own, self._pos)
                return observation, self._cumulative_rewards[agent], False, False, self.infos[agent]
        if self._phase is _NEEDS_RESET_PHASE:
            self._require_reset()
        agent = self.agent_selection
        return (
            self.observe(agent) if observe else None,
            self._cumulative_rewards[agent],
            self.terminations[agent],
            self.truncations[agent],
            self.infos[agent],
        )

    def agent_iter(self, max_iter: int = 2**63) -> Iterator[Any]:
        self._require_reset()
        return _OrderEnforcingIterator(self, max_iter)

    # ------------------------------------------------------------ pass-through
    def state(self) -> np.ndarray:
        self._require_reset()
        return self.parallel_env.state()

    def render(self) -> Any:
        self._require_reset()
        return self.parallel_env.render()

    def close(self) -> None:
        self.parallel_env.close()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes STMGEnv does not have: forward public ones to the parallel env,
        # as PettingZoo's wrappers do (e.g. ``env.payoffs``).
        if name.startswith("_") or name == "parallel_env":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if name in ("agent_selection", "rewards", "terminations", "truncations", "infos", "_cumulative_rewards"):
            raise AttributeError(f"{name} cannot be accessed before reset(); {_NEEDS_RESET}.")
        return getattr(self.parallel_env, name)

    def __str__(self) -> str:
        return self.metadata["name"]

    def __repr__(self) -> str:
        return f"stmg_v0({self.parallel_env!r}, order={self._priority.spec!r}, flatten={self.flatten})"


def stmg_v0(env: ParallelEnv, order: OrderSpec = None, flatten: bool = False) -> STMGEnv:
    """Turn a PettingZoo ``ParallelEnv`` into its spatio-temporal sequential Markov game.

    Args:
        env: Any PettingZoo ``ParallelEnv`` (heterogeneous spaces, agents that
            die or appear, ``Box``/``Discrete``/``MultiDiscrete`` actions,
            ``Dict`` observations with an ``action_mask`` are all fine).
        order: The priority order within each time step. ``None`` (default) or
            ``"possible_agents"``: ``env.possible_agents`` order. ``"reversed"``: that
            order reversed. A sequence of agent names, or the names joined by ``+``
            (``"agent_1+agent_0"``, as the benchmarks' ``--orders`` writes it): that
            fixed order. ``"random"``: a new order each episode, drawn from the
            RNG seeded by ``reset(seed=...)`` (the names: :data:`~stmg_envs.wrappers.priority_order.ORDER_NAMES`;
            one parser, :func:`~stmg_envs.wrappers.priority_order.parse_order`). A callable
            ``order(parallel_env, rng) -> list``: asked before every time step
            for an order of the live agents (e.g. a safety priority in traffic).
        flatten: ``False`` (default) gives ``Dict`` observations; ``True`` one
            float32 ``Box`` per agent, for libraries that need flat arrays.

    Returns:
        The sequential game as a PettingZoo ``AECEnv`` (order enforcement built in).

    Raises:
        TypeError: ``env`` is not a ``ParallelEnv``, or ``order``/``flatten`` of the wrong kind.
        InvalidOrderError: an order that does not rank every agent exactly once.

    Examples:
        >>> from stmg_envs import stmg_v0
        >>> from stmg_envs.matrix import penalty
        >>> env = stmg_v0(penalty(k=-50))
        >>> env.reset(seed=0)
        >>> env.step(0)                           # the leader, agent_0, plays a1
        >>> obs, reward, terminated, truncated, info = env.last()
        >>> env.agent_selection, obs["prior_actions"], int(obs["rank"])
        ('agent_1', array([1., 0., 0., 0., 0., 0.], dtype=float32), 1)
        >>> env.step(2)                           # the follower answers a3: payoff 10
        >>> env.rewards
        {'agent_0': 10.0, 'agent_1': 10.0}
    """
    return STMGEnv(env, order=order, flatten=flatten)
