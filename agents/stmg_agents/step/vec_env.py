"""Several copies of an STMG, stepped one priority rank at a time for STEP.

:class:`STMGVecEnv` holds ``n`` copies of an STMG (:func:`stmg_envs.stmg_v0`,
``flatten=False``). It is an SB3 ``VecEnv`` so that Stable-Baselines3's
machinery (seeding, ``learn``, ``load``, callbacks, ``evaluate_policy``)
accepts it:

* its *SB3 view* (``reset``/``step``) is the STMG one decision at a time:
  the observation of copy ``e`` is the subgame state of the agent acting
  there now, the action is that agent's action, the reward is the mean of the
  agents' rewards on the decision that completes a time step and 0 otherwise,
  and a copy resets by itself when its episode ends;
* its *rank-by-rank API* (:meth:`begin_tick`, :meth:`next_decisions`,
  :meth:`apply`, :meth:`outcome`) lets STEP advance every copy by one time
  step with one policy call per priority rank: each call of
  :meth:`next_decisions` gathers the acting agent of every copy whose time
  step is still running, and :meth:`apply` plays their actions.

Orders may change between steps and agents may die or appear: the copies
simply finish their time steps after different numbers of decisions.

Agents must share one action space (STEP trains one policy). Their own
observations may differ in length if they are ``Box`` spaces: they are then
flattened and zero-padded to the longest (:attr:`STMGVecEnv.padded`).

Examples:
    >>> from stmg_envs import stmg_v0
    >>> from stmg_envs.matrix import penalty
    >>> venv = STMGVecEnv([stmg_v0(penalty()) for _ in range(2)])
    >>> venv.reset()["rank"].tolist()
    [0, 0]
    >>> venv.begin_tick()
    >>> batch = venv.next_decisions()
    >>> batch.agents.tolist(), batch.ranks.tolist()
    ([0, 0], [0, 0])
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from stmg_agents.step._checks import check_int
from stmg_agents.step.networks import check_subgame_space
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS, skip_dead_steps

__all__ = ["STMGVecEnv", "Decisions", "TickOutcome", "check_stmg_env", "make_stmg_vec_env", "EnvSource"]

#: What STEP accepts as an environment: an STMG, a registered task id, a factory, or a ready STMGVecEnv.
EnvSource = Union[AECEnv, str, Callable[[], AECEnv], "STMGVecEnv"]


class Decisions(NamedTuple):
    """The pending decisions of one rank round: one row per env copy still inside its time step."""

    envs: np.ndarray  #: copy index of each row, ``(B,)``
    agents: np.ndarray  #: index of the acting agent in ``possible_agents``, ``(B,)``
    ranks: np.ndarray  #: rank of the acting agent, ``(B,)``
    observations: dict[str, np.ndarray]  #: stacked subgame states, ``(B, ...)`` per key


class TickOutcome(NamedTuple):
    """What happened in every copy during one time step (indexed ``[copy, agent]``)."""

    acted: np.ndarray  #: bool, the agent took a decision this step
    rewards: np.ndarray  #: float32, reward of the step
    terminated: np.ndarray  #: bool
    truncated: np.ndarray  #: bool
    final_observations: list[tuple[int, int, dict[str, np.ndarray]]]  #: (copy, agent, obs) of truncated agents
    episode_over: np.ndarray  #: bool per copy: the episode ended (the copy has been reset)
    infos: list[dict[str, Any]]  #: per copy; ``"episode"`` (SB3 Monitor format) when it ended


def check_stmg_env(env: Any) -> AECEnv:
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
    if not hasattr(env, "action_layout") or not hasattr(env, "encode_action"):
        raise TypeError(
            f"STEP expected an STMG AECEnv from stmg_envs.stmg_v0 (with action_layout and encode_action), "
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
    """``n`` copies of one STMG (see the module docstring).

    Args:
        envs: The copies: STMG ``AECEnv`` objects with ``Dict`` observations
            and identical agents and spaces. They are reset by :meth:`reset`.

    Raises:
        TypeError: a copy that is not an STMG with ``Dict`` observations.
        ValueError: no copies, copies that differ, or agents with different action spaces.
    """

    def __init__(self, envs: Sequence[AECEnv]):
        envs = list(envs)
        if not envs:
            raise ValueError("STMGVecEnv expected at least one env copy, got none.")
        for env in envs:
            check_stmg_env(env)
        if len({id(e) for e in envs}) != len(envs):
            raise ValueError("STMGVecEnv expected distinct env copies, got the same object more than once.")
        self.envs = envs
        self.possible_agents: tuple[Any, ...] = tuple(envs[0].possible_agents)
        for env in envs[1:]:
            if tuple(env.possible_agents) != self.possible_agents:
                raise ValueError(
                    f"STMGVecEnv expected copies with the same possible_agents, got {self.possible_agents} "
                    f"and {tuple(env.possible_agents)}."
                )
        self.n_agents = len(self.possible_agents)
        self.agent_index = {a: i for i, a in enumerate(self.possible_agents)}
        observation_space, action_space, self.padded = _canonical_spaces(envs[0])
        self.action_layout: tuple[slice, ...] = tuple(envs[0].action_layout[a] for a in self.possible_agents)
        self._keys = tuple(observation_space.spaces)
        self._own_width = int(np.prod(observation_space["observation"].shape or ()))
        self._discrete = isinstance(action_space, spaces.Discrete)
        self._box = isinstance(action_space, spaces.Box)
        super().__init__(len(envs), observation_space, action_space)
        n, k = self.num_envs, self.n_agents
        self._acted = np.zeros((n, k), dtype=bool)
        self._rewards = np.zeros((n, k), dtype=np.float32)
        self._terminated = np.zeros((n, k), dtype=bool)
        self._truncated = np.zeros((n, k), dtype=bool)
        self._episode_over = np.zeros(n, dtype=bool)
        self._final_obs: list[tuple[int, int, dict[str, np.ndarray]]] = []
        self._infos: list[dict[str, Any]] = [{} for _ in range(n)]
        self._open: list[int] = []
        self._ep_returns = np.zeros((n, k), dtype=np.float64)
        self._ep_present = np.zeros((n, k), dtype=bool)
        self._ep_length = np.zeros(n, dtype=np.int64)
        self._ep_start = [time.time()] * n
        self._actions: np.ndarray | None = None
        self._has_reset = False

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
        for key in self._keys:
            if key == "rank":
                out[key] = np.fromiter((o[key] for o in observations), dtype=np.int64, count=len(observations))
            else:
                out[key] = np.stack([o[key] for o in observations])
        return out

    def observe(self, env_index: int, agent: int) -> dict[str, Any]:
        """Canonical observation of agent ``agent`` (index) in copy ``env_index`` now."""
        return self.canonical(agent, self.envs[env_index].observe(self.possible_agents[agent]))

    def live_agents(self, env_index: int) -> list[int]:
        """Indices of the agents alive in copy ``env_index`` (those that will act next step)."""
        return [self.agent_index[a] for a in self.envs[env_index].agents]

    def encode_action(self, agent: int, action: Any) -> np.ndarray:
        """Content of agent ``agent``'s ``prior_actions`` slot when it plays ``action`` (the STMG's encoding)."""
        return self.envs[0].encode_action(self.possible_agents[agent], self.to_env_action(action))

    def to_env_action(self, action: Any) -> Any:
        """A policy output in the form the STMG accepts (``int`` for Discrete, clipped array for Box)."""
        if self._discrete:
            return int(action)
        if self._box:
            space = self.action_space
            return np.clip(np.asarray(action, dtype=space.dtype).reshape(space.shape), space.low, space.high)  # type: ignore[attr-defined]
        return action

    # ------------------------------------------------------------------ rank-by-rank API
    def begin_tick(self) -> None:
        """Start one time step in every copy (they must all be at the start of one)."""
        if not self._has_reset:
            raise RuntimeError("STMGVecEnv: call reset() before begin_tick().")
        if self._open:
            raise RuntimeError("STMGVecEnv: begin_tick() called while a time step is still running.")
        self._acted.fill(False)
        self._rewards.fill(0.0)
        self._terminated.fill(False)
        self._truncated.fill(False)
        self._episode_over.fill(False)
        self._final_obs = []
        self._infos = [{} for _ in range(self.num_envs)]
        self._open = list(range(self.num_envs))

    def next_decisions(self) -> Decisions | None:
        """The acting agents of the copies whose time step is still running (``None`` when all are done)."""
        if not self._open:
            return None
        envs = np.asarray(self._open, dtype=np.int64)
        agents = np.empty(len(envs), dtype=np.int64)
        observations = []
        for row, e in enumerate(self._open):
            env = self.envs[e]
            agent = env.agent_selection
            k = self.agent_index[agent]
            agents[row] = k
            observations.append(self.canonical(k, env.observe(agent)))
        batch = self.stack(observations)
        return Decisions(envs, agents, batch["rank"], batch)

    def apply(self, decisions: Decisions, actions: np.ndarray) -> None:
        """Play one action per row of ``decisions`` (policy outputs; converted by :meth:`to_env_action`)."""
        still_open = []
        for row, e in enumerate(decisions.envs):
            e = int(e)  # noqa: PLW2901
            if self._step_copy(e, actions[row], int(decisions.agents[row]), int(decisions.ranks[row])):
                continue
            still_open.append(e)
        self._open = still_open

    def outcome(self) -> TickOutcome:
        """The results of the time step just finished in every copy."""
        if self._open:
            raise RuntimeError("STMGVecEnv: outcome() called while a time step is still running.")
        return TickOutcome(
            self._acted.copy(),
            self._rewards.copy(),
            self._terminated.copy(),
            self._truncated.copy(),
            list(self._final_obs),
            self._episode_over.copy(),
            self._infos,
        )

    def _step_copy(self, e: int, action: Any, k: int, rank: int) -> bool:
        """Step copy ``e``'s acting agent ``k``; True when that completed the copy's time step."""
        env = self.envs[e]
        completes = rank == len(env.order) - 1
        env.step(self.to_env_action(action))
        self._acted[e, k] = True
        if completes:
            self._finish_time_step(e)
        return completes

    def _finish_time_step(self, e: int) -> None:
        env = self.envs[e]
        index = self.agent_index
        acted = self._acted[e]
        for agent, reward in env.rewards.items():
            k = index[agent]
            if not acted[k]:
                continue
            self._rewards[e, k] = reward
            term = bool(env.terminations[agent])
            trunc = bool(env.truncations[agent])
            self._terminated[e, k] = term
            self._truncated[e, k] = trunc
            if trunc and not term:
                self._final_obs.append((e, k, self.canonical(k, env.observe(agent))))
        self._ep_returns[e] += self._rewards[e]
        self._ep_present[e] |= acted
        self._ep_length[e] += 1
        skip_dead_steps(env)
        if not env.agents:
            present = self._ep_present[e]
            agent_returns = {self.possible_agents[i]: float(self._ep_returns[e, i]) for i in np.flatnonzero(present)}
            self._infos[e]["episode"] = {
                "r": float(np.mean(list(agent_returns.values()))) if agent_returns else 0.0,
                "l": int(self._ep_length[e]),
                "t": round(time.time() - self._ep_start[e], 6),
                "agent_returns": agent_returns,
            }
            self._episode_over[e] = True
            self._reset_copy(e, seed=None, options=None)

    def _reset_copy(self, e: int, seed: int | None, options: dict | None) -> None:
        env = self.envs[e]
        env.reset(seed=seed, options=options or None)
        self._ep_returns[e] = 0.0
        self._ep_present[e] = False
        self._ep_length[e] = 0
        self._ep_start[e] = time.time()
        skip_dead_steps(env)
        if not env.agents:
            raise RuntimeError(f"STMGVecEnv: copy {e} has no live agent right after reset(); nothing can act.")

    # ------------------------------------------------------------------ SB3 VecEnv view
    def _acting_batch(self) -> dict[str, np.ndarray]:
        obs = []
        for env in self.envs:
            agent = env.agent_selection
            obs.append(self.canonical(self.agent_index[agent], env.observe(agent)))
        return self.stack(obs)

    def reset(self) -> VecEnvObs:
        """Reset every copy (with the seeds/options set by ``seed``/``set_options``); observations of the acting agents."""
        self._open = []
        for e in range(self.num_envs):
            self._reset_copy(e, self._seeds[e], self._options[e])
        self._reset_seeds()
        self._reset_options()
        self._has_reset = True
        return self._acting_batch()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """One decision per copy (the SB3 view described in the module docstring)."""
        if self._actions is None:
            raise RuntimeError("STMGVecEnv: step_wait() called without step_async().")
        if self._open:
            raise RuntimeError("STMGVecEnv: the SB3 view cannot be used while a rank-by-rank time step is running.")
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        for e, env in enumerate(self.envs):
            agent = env.agent_selection
            k = self.agent_index[agent]
            rank = env.rank(agent)
            if rank == 0:
                self._clear_copy(e)
            info: dict[str, Any] = {"agent": agent}
            if self._step_copy(e, self._actions[e], k, rank):
                acted = self._acted[e]
                rewards[e] = float(self._rewards[e][acted].mean()) if acted.any() else 0.0
                info["agent_rewards"] = {
                    self.possible_agents[i]: float(self._rewards[e, i]) for i in np.flatnonzero(acted)
                }
                info.update(self._infos[e])
                if self._episode_over[e]:
                    dones[e] = True
                    truncated = bool(self._truncated[e][acted].any()) and not bool(self._terminated[e][acted].any())
                    info["TimeLimit.truncated"] = truncated
            infos.append(info)
        self._actions = None
        obs = self._acting_batch()
        return obs, rewards, dones, infos

    def _clear_copy(self, e: int) -> None:
        self._acted[e] = False
        self._rewards[e] = 0.0
        self._terminated[e] = False
        self._truncated[e] = False
        self._episode_over[e] = False
        self._infos[e] = {}
        self._final_obs = [f for f in self._final_obs if f[0] != e]

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def _targets(self, indices: VecEnvIndices) -> list[AECEnv]:
        return [self.envs[i] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "render_mode":
            return [getattr(env, "render_mode", None) for env in self._targets(indices)]
        return [getattr(env, attr_name) for env in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for env in self._targets(indices):
            setattr(env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [getattr(env, method_name)(*method_args, **method_kwargs) for env in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._targets(indices)]


def make_stmg_vec_env(env: EnvSource, n_envs: int, env_kwargs: dict[str, Any] | None = None) -> STMGVecEnv:
    """Build ``n_envs`` copies of an STMG as an :class:`STMGVecEnv`.

    Args:
        env: An STMG ``AECEnv`` (copied with ``copy.deepcopy``; it is used as
            the first copy), a registered id (``pettingzoo.make("aec", id, **env_kwargs)``
            after ``import stmg_envs``), a zero-argument factory returning an
            STMG, or an :class:`STMGVecEnv` (returned as it is; it must have ``n_envs`` copies).
        n_envs: Number of copies.
        env_kwargs: Keyword arguments for a registered id (e.g. ``{"k": -50}``).

    Raises:
        TypeError: ``env`` is none of the above, or not an STMG with ``Dict`` observations.
        ValueError: a bad ``n_envs``, ``env_kwargs`` with something other than an id,
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
    if isinstance(env, str):
        import pettingzoo

        import stmg_envs  # noqa: F401  (registers the stmg tasks)

        return STMGVecEnv([pettingzoo.make("aec", env, **(env_kwargs or {})) for _ in range(n_envs)])
    if isinstance(env, AECEnv):
        check_stmg_env(env)
        copies = [env]
        for _ in range(n_envs - 1):
            try:
                copies.append(copy.deepcopy(env))
            except Exception as exc:  # simulators holding native handles may refuse to be copied
                raise ValueError(
                    f"could not copy the env to make {n_envs} copies ({exc}); pass a factory such as "
                    "lambda: stmg_v0(make_parallel_env()) or a registered id instead."
                ) from exc
        return STMGVecEnv(copies)
    if callable(env) and not isinstance(env, (gym.Env, type)):
        return STMGVecEnv([check_stmg_env(env()) for _ in range(n_envs)])
    check_stmg_env(env)  # raises the right TypeError
    raise AssertionError("unreachable")
