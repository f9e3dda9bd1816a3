"""STEP's view of ``n`` STMG copies: Stable-Baselines3's ``VecEnv`` over a :class:`~stmg_envs.vector.BatchedSTMG`.

The copies are one :class:`~stmg_envs.vector.BatchedSTMG` (:mod:`stmg_envs.vector`, the env package's one
batched form of the STMG): every copy advances rank by rank, one policy call per rank for all copies,
on the native backend of the task where it has one (NumPy for the matrix games, ``mujoco.batch`` for
the Multi-Agent MuJoCo robots; ``backend="auto"``) and on the generic one elsewhere.
:class:`STMGVecEnv` steps nothing itself. It is the thin facade that Stable-Baselines3's machinery
(seeding, ``learn``, ``load``, ``set_env``, callbacks) needs, plus what STEP's rollouts read off the batch:

* :meth:`STMGVecEnv.decisions` and :meth:`STMGVecEnv.play`: the acting agents of the current rank in
  the copies that have one (:class:`Decisions`, observations in STEP's policy space), and their actions
  played on the batch; after the last rank, what the time step did (:class:`TickOutcome`, with the
  episode statistics in SB3's ``Monitor`` format);
* :meth:`STMGVecEnv.observe`, :meth:`STMGVecEnv.stack`, :meth:`STMGVecEnv.encode_action`: what
  bootstrapping a value at the start of a time step needs;
* its *SB3 view* (``reset``/``step``) is the batch one rank at a time: the observation of copy ``e`` is
  that of its agent at the current rank (zeros where it has none: a copy with fewer live agents idles
  at the higher ranks), the reward is the mean of the agents' rewards on the rank that completes a time
  step and 0 otherwise, and a copy resets by itself when its episode ends.

Orders may change between steps and agents may die or appear: a copy with fewer live agents has no
acting agent at the higher ranks of a time step, and :meth:`STMGVecEnv.decisions` leaves it out.

Agents must share one action space (STEP trains one policy). Their own observations may differ in length
if they are ``Box`` spaces: they are then flattened and zero-padded to the longest, as float32
(:attr:`STMGVecEnv.padded`).

Examples:
    >>> import numpy as np
    >>> venv = make_stmg_vec_env("stmg/Penalty-v0", 2, env_kwargs={"k": -25})
    >>> type(venv.batch.backend).__name__
    'MatrixBackend'
    >>> venv.reset()["rank"].tolist()
    [0, 0]
    >>> batch = venv.decisions()
    >>> batch.agents.tolist(), batch.ranks.tolist()
    ([0, 0], [0, 0])
    >>> venv.play(batch, np.array([0, 1])) is None      # the leaders' actions; the followers act next
    True
    >>> venv.play(venv.decisions(), np.array([2, 1])).rewards.tolist()   # the time step ran
    [[10.0, 10.0], [2.0, 2.0]]
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from stmg_agents.step._checks import check_int
from stmg_agents.step.networks import check_subgame_space
from stmg_envs.vector import BatchedSTMG, GenericBackend, RankObservation, TimeStep, batched_stmg
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS, STMGEnv

__all__ = [
    "STMGVecEnv",
    "Decisions",
    "TickOutcome",
    "BootstrapRequest",
    "check_stmg_env",
    "make_stmg_vec_env",
    "EnvSource",
    "stmg_action",
]

#: What STEP accepts as an environment: an STMG, a registered task id, a factory, or a ready STMGVecEnv.
EnvSource = Union[AECEnv, str, Callable[[], AECEnv], "STMGVecEnv"]


def stmg_action(space: spaces.Space, action: Any) -> Any:
    """The policy's action for one decision in the form an STMG accepts: an ``int`` for ``Discrete``, an array cast
    to the space's dtype and clipped to its bounds for ``Box``, the integer array for ``MultiDiscrete`` and
    ``MultiBinary``. STEP's one conversion: its rollouts, :meth:`STEP.act` and symmetric execution use it."""
    if isinstance(space, spaces.Discrete):
        return int(action)
    if isinstance(space, spaces.Box):
        return np.clip(np.asarray(action, dtype=space.dtype).reshape(space.shape), space.low, space.high)
    return np.asarray(action).reshape(space.shape)


class Decisions(NamedTuple):
    """The pending decisions of one rank: one row per env copy that has an agent at this rank."""

    envs: np.ndarray  #: copy index of each row, ``(B,)``
    agents: np.ndarray  #: index of the acting agent in ``possible_agents``, ``(B,)``
    ranks: np.ndarray  #: rank of the acting agent, ``(B,)``
    observations: dict[str, np.ndarray]  #: stacked subgame states in the policy's space, ``(B, ...)`` per key


class BootstrapRequest(NamedTuple):
    """One agent whose value STEP bootstraps: its copy, its index in ``possible_agents``, its observation."""

    copy: int
    agent: int
    observation: dict[str, Any]


class TickOutcome(NamedTuple):
    """What happened in every copy during one time step (indexed ``[copy, agent]``)."""

    acted: np.ndarray  #: bool, the agent took a decision this step
    rewards: np.ndarray  #: float32, reward of the step (0 where the agent did not act)
    terminated: np.ndarray  #: bool (only where the agent acted)
    truncated: np.ndarray  #: bool (only where the agent acted)
    final_observations: list[BootstrapRequest]  #: truncated (not terminated) agents, in the order STEP bootstraps them
    episode_over: np.ndarray  #: bool per copy: the episode ended (the copy has been reset)
    infos: list[dict[str, Any]]  #: per copy; ``"episode"`` (SB3 Monitor format) when it ended


def check_stmg_env(env: Any) -> STMGEnv:
    """Return ``env`` if it is an STMG with ``Dict`` observations, else raise a ``TypeError`` that says what to pass."""
    if isinstance(env, gym.Env):
        raise TypeError(
            f"STEP expected an STMG AECEnv (stmg_envs.stmg_v0(parallel_env) or pettingzoo.make('aec', id)), "
            f"got the Gymnasium env {type(env).__name__}; pass the AEC form or the registered id instead."
        )
    if not isinstance(env, AECEnv):
        raise TypeError(
            "STEP expected an STMG AECEnv built by stmg_envs.stmg_v0(parallel_env), a registered task id such "
            f"as 'stmg/Penalty-v0', or a factory returning one; got {type(env).__name__}."
        )
    if not isinstance(env, STMGEnv):
        raise TypeError(
            f"STEP expected an STMG AECEnv from stmg_envs.stmg_v0 (it steps that STMG's parallel env in a batch), "
            f"got the AECEnv {type(env).__name__}; wrap its parallel form with stmg_v0."
        )
    for agent in env.possible_agents:
        space = env.observation_space(agent)
        if not isinstance(space, spaces.Dict) or not all(k in space.spaces for k in OBSERVATION_KEYS):
            raise TypeError(
                f"STEP expected Dict subgame-state observations with keys {OBSERVATION_KEYS}, got {space} for "
                f"{agent!r}; build the env with stmg_v0(..., flatten=False)."
            )
    return env


def _canonical_spaces(env: AECEnv) -> tuple[spaces.Dict, spaces.Space, bool]:
    """The shared observation space (padded if needed), the shared action space, and whether padding is on."""
    agents = list(env.possible_agents)
    action_spaces = [env.action_space(a) for a in agents]
    if any(s != action_spaces[0] for s in action_spaces[1:]):
        raise ValueError(
            "STEP trains one policy shared by all agents and needs identical action spaces, got "
            + ", ".join(f"{a!r}: {s}" for a, s in zip(agents, action_spaces))
            + "."
        )
    obs_spaces = [env.observation_space(a) for a in agents]
    first = obs_spaces[0]
    if all(s == first for s in obs_spaces[1:]):
        check_subgame_space(first)
        return first, action_spaces[0], False
    others = {k: first[k] for k in first.spaces if k != "observation"}
    if any({k: s[k] for k in s.spaces if k != "observation"} != others for s in obs_spaces[1:]):
        raise ValueError("STEP expected the agents' subgame-state spaces to differ at most in 'observation'.")
    own = [s["observation"] for s in obs_spaces]
    if not all(isinstance(s, spaces.Box) for s in own):
        raise ValueError(
            "STEP shares one policy, so the agents' own observations must share a space, or all be Box spaces "
            f"(then they are zero-padded); got {own}."
        )
    width = max(int(np.prod(s.shape)) for s in own)
    padded_own = spaces.Box(-np.inf, np.inf, shape=(width,), dtype=np.float32)
    canonical = spaces.Dict({k: (padded_own if k == "observation" else first[k]) for k in first.spaces})
    check_subgame_space(canonical)
    return canonical, action_spaces[0], True


class STMGVecEnv(VecEnv):
    """``n`` copies of one STMG as one :class:`~stmg_envs.vector.BatchedSTMG` (see the module docstring).

    Build it with :func:`make_stmg_vec_env` (what STEP does with the env it is given).

    Args:
        batch: The copies, stepped rank by rank (:func:`stmg_envs.vector.batched_stmg`).
        template: An STMG of the same task and order (:func:`stmg_envs.stmg_v0`, ``flatten=False``): it gives
            the policy's spaces and the action encoding, and :meth:`make_stmg` copies it for read-outs. It is
            not stepped here.

    Raises:
        TypeError: ``batch`` is no ``BatchedSTMG`` or ``template`` no STMG with ``Dict`` observations.
        ValueError: agents with different action spaces, or a template whose agents or spaces differ from the batch's.

    Attributes:
        batch: The :class:`~stmg_envs.vector.BatchedSTMG` (its ``backend`` says which backend runs the copies).
        template: The STMG given.
        possible_agents: The agents; ``n_agents`` their number, ``agent_index`` each one's index.
        padded: Whether the agents' own observations are zero-padded (float32) to one width.
        action_layout: Each agent's slot of ``prior_actions`` (a ``slice``).
    """

    def __init__(self, batch: BatchedSTMG, template: STMGEnv | None = None):
        if not isinstance(batch, BatchedSTMG):
            if isinstance(batch, Sequence) and batch and all(isinstance(e, AECEnv) for e in batch):
                warnings.warn(
                    "STMGVecEnv(list of STMG copies) is deprecated: STEP's copies are one stmg_envs.vector."
                    "BatchedSTMG now. Use make_stmg_vec_env(env, n_envs) (or STMGVecEnv(batched_stmg(...), "
                    "template)); the copies' parallel envs are stepped by the generic backend.",
                    DeprecationWarning,
                    stacklevel=2,
                )
                batch, template = _batch_of_copies(list(batch))
            else:
                raise TypeError(
                    f"STMGVecEnv expected a stmg_envs.vector.BatchedSTMG and its template STMG, got "
                    f"{type(batch).__name__}; build one with make_stmg_vec_env(env, n_envs)."
                )
        if template is None:
            raise TypeError("STMGVecEnv expected a template STMG (stmg_v0 of the batch's task and order), got None.")
        template = check_stmg_env(template)
        self.batch = batch
        self.template = template
        self.possible_agents: tuple[Any, ...] = tuple(template.possible_agents)
        if tuple(batch.possible_agents) != self.possible_agents:
            raise ValueError(
                f"STMGVecEnv expected the template's agents {self.possible_agents} in the batch, got "
                f"{tuple(batch.possible_agents)}."
            )
        self.n_agents = len(self.possible_agents)
        self.agent_index = {a: i for i, a in enumerate(self.possible_agents)}
        observation_space, action_space, self.padded = _canonical_spaces(template)
        own_shape = tuple(observation_space["observation"].shape or ())
        if own_shape != tuple(batch.layout.observation_shape):
            raise ValueError(
                f"STMGVecEnv expected the batch's own observations of shape {own_shape} (the template's), got "
                f"{tuple(batch.layout.observation_shape)}."
            )
        self.action_layout: tuple[slice, ...] = tuple(template.action_layout[a] for a in self.possible_agents)
        self._own_width = int(np.prod(own_shape))
        self._discrete = isinstance(action_space, spaces.Discrete)
        self._box = isinstance(action_space, spaces.Box)
        super().__init__(batch.num_copies, observation_space, action_space)
        n, k = self.num_envs, self.n_agents
        self._all_rows = np.arange(n)
        self._actions_buffer = np.zeros((n, *batch.layout.action_shape), dtype=batch.layout.action_dtype)
        self._observation: RankObservation | None = None
        self._ep_returns = np.zeros((n, k), dtype=np.float64)
        self._ep_present = np.zeros((n, k), dtype=bool)
        self._ep_length = np.zeros(n, dtype=np.int64)
        self._ep_start = [time.time()] * n
        self._actions: np.ndarray | None = None

    # ------------------------------------------------------------------ observations
    def canonical(self, agent: int, obs: dict[str, Any]) -> dict[str, Any]:
        """An agent's STMG observation in the shared space (padded own observation when needed)."""
        if not self.padded:
            return obs
        out = dict(obs)
        own = np.asarray(obs["observation"], dtype=np.float32).reshape(-1)
        padded = np.zeros(self._own_width, dtype=np.float32)
        padded[: own.shape[0]] = own
        out["observation"] = padded
        return out

    def stack(self, observations: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
        """Stack canonical observations into a batch, one array per key."""
        out = {}
        for key in OBSERVATION_KEYS:
            if key == "rank":
                out[key] = np.fromiter((o[key] for o in observations), dtype=np.int64, count=len(observations))
            else:
                out[key] = np.stack([o[key] for o in observations])
        return out

    def _policy_batch(self, obs: RankObservation) -> dict[str, np.ndarray]:
        """A rank's observations as the policy's ``Dict`` batch (the padded own part as float32)."""
        out = obs.as_dict()
        if self.padded:
            out["observation"] = out["observation"].astype(np.float32, copy=False)
        return out

    def _start_observation(self, e: int, k: int, own: np.ndarray, rank: int) -> dict[str, Any]:
        """Agent ``k``'s canonical observation outside a running time step: ``own``, no prior action, ``rank``."""
        layout = self.batch.layout
        return self.canonical(
            k,
            {
                "observation": own.copy(),
                "prior_actions": np.zeros(layout.prior_size, dtype=np.float32),
                "prior_mask": np.zeros(self.n_agents, dtype=np.int8),
                "rank": np.int64(rank),
            },
        )

    def observe(self, env_index: int, agent: int) -> dict[str, Any]:
        """Canonical observation of live agent ``agent`` (index) in copy ``env_index`` at the start of a time step."""
        rank = int(self.batch.ranks[env_index, agent])
        if rank < 0:
            raise ValueError(
                f"expected a live agent of copy {env_index}, got {self.possible_agents[agent]!r}, which has no rank now."
            )
        return self._start_observation(env_index, agent, self.batch.backend.observations[env_index, agent], rank)

    def live_agents(self, env_index: int) -> list[int]:
        """Indices of the agents alive in copy ``env_index`` (those that act in the current time step)."""
        return np.flatnonzero(self.batch.live[env_index]).tolist()

    def encode_action(self, agent: int, action: Any) -> np.ndarray:
        """Content of agent ``agent``'s ``prior_actions`` slot when it plays ``action`` (the STMG's encoding)."""
        return self.template.encode_action(self.possible_agents[agent], self.to_env_action(action))

    def to_env_action(self, action: Any) -> Any:
        """A policy output in the form the STMG accepts (:func:`stmg_action`)."""
        return stmg_action(self.action_space, action)

    def batch_actions(self, rows: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Policy outputs for the copies ``rows`` as the batch's actions array (``Box``: clipped into bounds).

        Rows of other copies hold zeros (the batch does not read them). The array is reused between calls.
        """
        out = self._actions_buffer
        if len(rows) != self.num_envs:
            out[...] = 0
        if self._discrete:
            out[rows] = np.asarray(actions).reshape(len(rows))
        else:
            space = self.action_space
            values = np.asarray(actions, dtype=space.dtype).reshape(len(rows), *space.shape)  # type: ignore[misc]
            out[rows] = np.clip(values, space.low, space.high)  # type: ignore[attr-defined]
        return out

    def make_stmg(self) -> STMGEnv:
        """A new STMG of the task (a deep copy of :attr:`template`), e.g. for read-outs; reset it before use."""
        return copy.deepcopy(self.template)

    # ------------------------------------------------------------------ rank by rank
    def _current(self) -> RankObservation:
        if self._observation is None:
            raise RuntimeError("STMGVecEnv: call reset() before stepping.")
        return self._observation

    def decisions(self) -> Decisions:
        """The decisions of the current rank: the copies that have an agent at it, and its observations."""
        obs = self._current()
        if obs.active.all():
            return Decisions(self._all_rows, obs.agent, obs.rank, self._policy_batch(obs))
        rows = np.flatnonzero(obs.active)
        batch = {key: value[rows] for key, value in self._policy_batch(obs).items()}
        return Decisions(rows, obs.agent[rows], obs.rank[rows], batch)

    def play(self, decisions: Decisions, actions: np.ndarray) -> TickOutcome | None:
        """Play one action per row of ``decisions`` (policy outputs) on the batch; after the last rank, the outcome."""
        out = self.batch.step(self.batch_actions(decisions.envs, actions))
        self._observation = out.observation
        return None if out.time_step is None else self._outcome(out.time_step)

    def _outcome(self, step: TimeStep) -> TickOutcome:
        """A time step's arrays as STEP reads them, and the episode statistics of the copies."""
        acted = step.acted
        rewards = np.where(acted, step.rewards, 0.0).astype(np.float32)
        terminated = step.terminations & acted
        truncated = step.truncations & acted
        finals = []
        bootstrap = truncated & ~terminated
        if bootstrap.any():
            # in the order the copies finished their time steps: by number of ranks, then copy
            copies = np.flatnonzero(bootstrap.any(axis=1))
            for e in copies[np.argsort(acted[copies].sum(axis=1), kind="stable")].tolist():
                for k in np.flatnonzero(bootstrap[e]).tolist():
                    own = step.final_observation[e, k]
                    finals.append(BootstrapRequest(e, k, self._start_observation(e, k, own, int(step.ranks[e, k]))))
        self._ep_returns += rewards
        self._ep_present |= acted
        self._ep_length += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for e in np.flatnonzero(step.episode_over).tolist():
            present = self._ep_present[e]
            agent_returns = {self.possible_agents[i]: float(self._ep_returns[e, i]) for i in np.flatnonzero(present)}
            infos[e]["episode"] = {
                "r": float(np.mean(list(agent_returns.values()))) if agent_returns else 0.0,
                "l": int(self._ep_length[e]),
                "t": round(time.time() - self._ep_start[e], 6),
                "agent_returns": agent_returns,
            }
            self._new_episode(e)
        return TickOutcome(acted, rewards, terminated, truncated, finals, step.episode_over, infos)

    def _new_episode(self, e: int) -> None:
        self._ep_returns[e] = 0.0
        self._ep_present[e] = False
        self._ep_length[e] = 0
        self._ep_start[e] = time.time()

    # ------------------------------------------------------------------ SB3 VecEnv view
    def reset(self) -> VecEnvObs:
        """Reset every copy (with the seeds/options set by ``seed``/``set_options``); observations of rank 0."""
        options = self._options[0] or None
        if any((o or None) != options for o in self._options[1:]):
            raise ValueError(
                f"STMGVecEnv resets its copies together with one options dict, got different ones: {self._options}."
            )
        self._observation, _ = self.batch.reset(seed=list(self._seeds), options=options)
        for e in range(self.num_envs):
            self._new_episode(e)
        self._reset_seeds()
        self._reset_options()
        return self._policy_batch(self._observation)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """One rank of every copy (the SB3 view described in the module docstring)."""
        if self._actions is None:
            raise RuntimeError("STMGVecEnv: step_wait() called without step_async().")
        obs = self._current()
        agents = [self.possible_agents[k] if k >= 0 else None for k in obs.agent.tolist()]
        outcome = self.play(Decisions(self._all_rows, obs.agent, obs.rank, {}), self._actions)
        self._actions = None
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = [{"agent": agent} for agent in agents]
        if outcome is not None:
            for e, info in enumerate(infos):
                acted = outcome.acted[e]
                rewards[e] = float(outcome.rewards[e][acted].mean()) if acted.any() else 0.0
                info["agent_rewards"] = {
                    self.possible_agents[i]: float(outcome.rewards[e, i]) for i in np.flatnonzero(acted)
                }
                info.update(outcome.infos[e])
                if outcome.episode_over[e]:
                    dones[e] = True
                    over_by_time = bool(outcome.truncated[e][acted].any())
                    info["TimeLimit.truncated"] = over_by_time and not bool(outcome.terminated[e][acted].any())
        return self._policy_batch(self._current()), rewards, dones, infos

    def close(self) -> None:
        self.batch.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The template STMG's attribute, once per index (the copies share the task; their state is in :attr:`batch`)."""
        if attr_name == "render_mode":
            value = getattr(self.template, "render_mode", None)
        else:
            value = getattr(self.template, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise NotImplementedError(
            "STMGVecEnv's copies are one stmg_envs.vector.BatchedSTMG (STMGVecEnv.batch), not separate envs whose "
            f"attributes can be set; got set_attr({attr_name!r})."
        )

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        raise NotImplementedError(
            "STMGVecEnv's copies are one stmg_envs.vector.BatchedSTMG (STMGVecEnv.batch), not separate envs whose "
            f"methods can be called; got env_method({method_name!r})."
        )

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def __repr__(self) -> str:
        return f"STMGVecEnv({self.batch!r})"


def _stmg_factory(env: EnvSource, env_kwargs: dict[str, Any] | None, n_envs: int) -> Callable[[], STMGEnv]:
    """A zero-argument factory of the STMG copies of ``env`` (its first call returns ``env`` itself for an STMG)."""
    if isinstance(env, str):
        import pettingzoo

        import stmg_envs  # noqa: F401  (registers the stmg tasks)

        task_id, kwargs = env, dict(env_kwargs or {})
        return lambda: check_stmg_env(pettingzoo.make("aec", task_id, **kwargs))
    if isinstance(env, AECEnv):
        original = check_stmg_env(env)
        handed = [False]

        def copies() -> STMGEnv:
            if not handed[0]:
                handed[0] = True
                return original
            try:
                return copy.deepcopy(original)
            except Exception as exc:  # simulators holding native handles may refuse to be copied
                raise ValueError(
                    f"could not copy the env to make {n_envs} copies ({exc}); pass a factory such as "
                    "lambda: stmg_v0(make_parallel_env()) or a registered id instead."
                ) from exc

        return copies
    if callable(env) and not isinstance(env, (gym.Env, type)):
        factory = env
        return lambda: check_stmg_env(factory())
    check_stmg_env(env)  # raises the right TypeError
    raise AssertionError("unreachable")


def _batch_of_copies(envs: list[AECEnv]) -> tuple[BatchedSTMG, STMGEnv]:
    """The batch of ready STMG copies' parallel envs on the generic backend (the deprecated ``STMGVecEnv(list)``)."""
    if len({id(e) for e in envs}) != len(envs):
        raise ValueError("STMGVecEnv expected distinct env copies, got the same object more than once.")
    stmgs = [check_stmg_env(e) for e in envs]
    parallel = iter([e.parallel_env for e in stmgs])
    backend = GenericBackend(lambda: next(parallel), len(stmgs))
    return BatchedSTMG(backend, order=stmgs[0]._priority.spec), stmgs[0]


def make_stmg_vec_env(
    env: EnvSource, n_envs: int, env_kwargs: dict[str, Any] | None = None, backend: str = "auto"
) -> STMGVecEnv:
    """Build ``n_envs`` copies of an STMG as an :class:`STMGVecEnv` over one :class:`~stmg_envs.vector.BatchedSTMG`.

    The batch steps the STMGs' parallel envs under the STMG's priority order (``batched_stmg(parallel factory,
    n_envs, order=...)``): the STMG objects themselves are not stepped.

    Args:
        env: An STMG ``AECEnv`` from :func:`stmg_envs.stmg_v0` (its parallel env is the first copy; the others
            are ``copy.deepcopy`` of it), a registered id (``pettingzoo.make("aec", id, **env_kwargs)`` after
            ``import stmg_envs``), a zero-argument factory returning an STMG (called once per copy on the generic
            backend, once on a native one), or an :class:`STMGVecEnv` (returned as it is; it must have ``n_envs``
            copies).
        n_envs: Number of copies.
        env_kwargs: Keyword arguments for a registered id (e.g. ``{"k": -50}``).
        backend: The batch's backend (:func:`stmg_envs.vector.make_backend`): ``"auto"`` (default) runs the task
            on its native backend where it has one (the matrix games in NumPy, the MuJoCo robots on
            ``mujoco.batch``), else on the generic one; with an order callable, ``"auto"`` is ``"generic"``, so
            that the callable gets each copy's parallel env as under ``stmg_v0``.

    Raises:
        TypeError: ``env`` is none of the above, or not an STMG with ``Dict`` observations.
        ValueError: a bad ``n_envs`` or ``backend``, ``env_kwargs`` with something other than an id,
            or a copy that cannot be made.

    Examples:
        >>> make_stmg_vec_env("stmg/Penalty-v0", 3, env_kwargs={"k": -25}).num_envs
        3
    """
    n_envs = check_int(n_envs, "n_envs")
    if env_kwargs and not isinstance(env, str):
        raise ValueError(
            f"env_kwargs configure a registered task id; got env_kwargs={env_kwargs!r} with a {type(env).__name__}. "
            "Pass the keyword arguments to the env's constructor instead."
        )
    if isinstance(env, STMGVecEnv):
        if env.num_envs != n_envs:
            raise ValueError(f"expected an STMGVecEnv with n_envs={n_envs} copies, got {env.num_envs}.")
        return env
    make_stmg = _stmg_factory(env, env_kwargs, n_envs)
    template = make_stmg()
    order = template._priority.spec
    handed = [False]

    def parallel_env() -> ParallelEnv:
        if not handed[0]:
            handed[0] = True
            return template.parallel_env
        return make_stmg().parallel_env

    if backend == "auto" and callable(order):
        backend = "generic"
    return STMGVecEnv(batched_stmg(parallel_env, n_envs, order=order, backend=backend), template)
