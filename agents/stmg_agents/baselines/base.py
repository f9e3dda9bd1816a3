"""What IPPO and MAPPO share: construction, acting, read-outs, seeding and save/load.

Both baselines train one actor shared by every agent of a simultaneous game
(a PettingZoo ``ParallelEnv``), with an SB3-like interface (``predict``,
``action_readout``, SB3 callbacks) that is also the benchmark contract
(:mod:`stmg_bench.contract`): ``cls(make_env, seed=..., **hyperparameters)``,
``learn(total_timesteps, callback)``, ``act(agent, observation)``,
``action_probabilities(agent, observation)``, ``save(path)`` and ``load(path, make_env)``.

Examples:
    >>> import io
    >>> from stmg_agents.baselines import MAPPO
    >>> agent = MAPPO("stmg/Penalty-v0", seed=0, env_kwargs={"k": -50})
    >>> agent = agent.learn(200)                      # joint (temporal) steps
    >>> obs = {"agent_0": [1.0], "agent_1": [1.0]}
    >>> sorted(agent.predict(obs))                    # {agent: action}
    ['agent_0', 'agent_1']
    >>> readout = agent.action_readout()              # greedy action + probabilities per agent
    >>> readout["agent_0"].greedy_action == agent.predict(obs)["agent_0"]
    True
    >>> one = agent.action_readout({"agent_0": [1.0]})["agent_0"]  # the contract's read-outs: one agent
    >>> agent.act("agent_0", [1.0]) == one.greedy_action
    True
    >>> agent.action_probabilities("agent_0", [1.0]).tolist() == one.probabilities.tolist()
    True
    >>> buffer = io.BytesIO(); agent.save(buffer)
    >>> MAPPO.load(buffer).num_timesteps
    200
"""

from __future__ import annotations

import io
import pickle
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.type_aliases import MaybeCallback

from stmg_agents.baselines.config import SharedPPOConfig
from stmg_agents.baselines.env_source import EnvSource, resolve_env_source, shared_action_space
from stmg_agents.baselines.observation_encoding import SharedObservationEncoder
from stmg_agents.baselines.persistence import PathOrFile, read_archive, write_archive
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.baselines.shared_policy_env import env_action_converter
from stmg_agents.callbacks import sb3_callback
from stmg_agents.threads import deprecated_threads, scoped_threads

__all__ = ["ActionReadout", "SharedPolicyAgent"]

_AgentT = TypeVar("_AgentT", bound="SharedPolicyAgent")


@dataclass(frozen=True)
class ActionReadout:
    """One agent's policy at one observation (discrete actions).

    Attributes:
        greedy_action: The most probable action (what ``predict(..., deterministic=True)`` plays).
        probabilities: Read-only float64 array, the probability of each action.
    """

    greedy_action: int
    probabilities: np.ndarray


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"expected `seed` to be an int in [0, 2**32), got {seed!r}.")
    return int(seed)


class SharedPolicyAgent(ABC):
    """Base of the shared-actor baselines; see :class:`~stmg_agents.baselines.IPPO` and
    :class:`~stmg_agents.baselines.MAPPO`.

    A subclass satisfies the benchmark contract (:mod:`stmg_bench.contract`) itself: ``form`` is
    ``"simultaneous"``, the harness builds it as ``cls(make_env, seed=seed, **hyperparameters)`` and calls
    :meth:`learn`, :meth:`act`, :meth:`action_probabilities`, :meth:`save` and :meth:`load` as they are.

    Args:
        env_or_id: A registered ``parallel`` id (``"stmg/Penalty-v0"``), a
            factory returning a ``ParallelEnv`` (the contract's ``make_env``), or a ``ParallelEnv`` instance.
        seed: Seeds the networks, the sampling and the environments; the
            same seed gives the same run.
        env_kwargs: Keyword arguments for the registry entry or the factory
            (e.g. ``{"k": -50}``).
        **hyper_parameters: Fields of the algorithm's config class.

    Attributes:
        config: The validated hyper-parameters.
        seed: The seed.
        possible_agents: Agent names, in the order of the agent indicator.
        action_space: The action space all agents share.
        encoder: How observation dicts become policy inputs.
        num_timesteps: Joint (temporal) environment steps trained on so far.
    """

    config_class: ClassVar[type[SharedPPOConfig]] = SharedPPOConfig
    #: The name in saved files (``load`` refuses another algorithm's).
    algorithm_name: ClassVar[str] = "base"
    #: The benchmark contract's form: it trains and acts on the simultaneous game (a ``ParallelEnv``).
    form: ClassVar[str] = "simultaneous"

    def __init__(
        self,
        env_or_id: Any,
        seed: int = 0,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        **hyper_parameters: Any,
    ) -> None:
        self.seed = _check_seed(seed)
        self.config = self.config_class.from_kwargs(hyper_parameters)
        deprecated_threads(self.config.torch_num_threads, "torch_num_threads", type(self).__name__)
        self._source: EnvSource = resolve_env_source(env_or_id, env_kwargs)
        probe = self._source.make()
        self.possible_agents: tuple[str, ...] = tuple(probe.possible_agents)
        self.n_agents = len(self.possible_agents)
        self.action_space: spaces.Space = shared_action_space(probe)
        self.encoder = SharedObservationEncoder(
            self.possible_agents,
            {a: probe.observation_space(a) for a in self.possible_agents},
            agent_indicator=self.config.agent_indicator,
        )
        self.config.check_minibatches(self.n_agents)
        self._to_env_action = env_action_converter(self.action_space)
        self._probe_env = probe
        self._rng = GlobalRngScope(self.seed)
        self.num_timesteps = 0
        with self._rng:
            self._build()

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build(self) -> None:
        """Create networks, optimisers and rollout environments (inside the RNG scope)."""

    @abstractmethod
    def _actor_distribution(self, encoded: torch.Tensor) -> Distribution:
        """The shared actor's SB3 distribution for a batch of encoded observations."""

    @abstractmethod
    def _learn(self, total_timesteps: int, callback: BaseCallback, reset_num_timesteps: bool) -> None:
        """Train for ``total_timesteps`` more joint steps (inside the RNG scope), firing ``callback``'s events."""

    @abstractmethod
    def _payload(self) -> dict[str, bytes]:
        """Files that :meth:`_restore` needs to restore the trained state."""

    @abstractmethod
    def _restore(self, payload: Mapping[str, bytes]) -> None:
        """Restore the trained state from :meth:`_payload`'s files."""

    # ---------------------------------------------------------------- training
    def learn(
        self: _AgentT,
        total_timesteps: int,
        callback: MaybeCallback | Callable[[int], Any] = None,
        reset_num_timesteps: bool = True,
    ) -> _AgentT:
        """Train for ``total_timesteps`` joint (temporal) steps.

        One joint step is one step of the simultaneous game, in which every
        agent acts once; the steps of all ``n_envs`` copies count. Training
        runs whole rollouts, so it stops at the first multiple of
        ``config.rollout_joint_steps`` at or above the budget.

        Args:
            total_timesteps: Joint steps to train for (> 0).
            callback: The benchmark contract's ``callback(num_timesteps)``, called after every
                update, or one of Stable-Baselines3's: a ``BaseCallback``, a list of them, or a callable
                ``callback(locals, globals) -> bool`` called at every step
                (:func:`stmg_agents.callbacks.sb3_callback` tells them apart). An SB3 callback's
                ``model`` is this agent; ``on_step`` runs after every joint step of all copies
                (``num_timesteps`` has grown by ``n_envs``). ``False`` from either stops training
                at the next step (that rollout is not trained on, as in SB3).
            reset_num_timesteps: Start counting from zero and restart the
                episodes (SB3's convention); ``False`` continues both.

        Returns:
            The agent itself.

        Raises:
            ValueError: If ``total_timesteps`` is not a positive int.
            TypeError: If ``callback`` is none of the above.
        """
        if (
            isinstance(total_timesteps, bool)
            or not isinstance(total_timesteps, (int, np.integer))
            or total_timesteps < 1
        ):
            raise ValueError(f"expected `total_timesteps` to be an int >= 1, got {total_timesteps!r}.")
        hook = self._init_callback(callback)
        with self._rng, scoped_threads(self.config.torch_num_threads):  # the deprecated keyword's effect only
            self._learn(int(total_timesteps), hook, reset_num_timesteps)
        return self

    def _init_callback(self, callback: MaybeCallback | Callable[[int], Any]) -> BaseCallback:
        """``callback`` as an SB3 callback (:func:`~stmg_agents.callbacks.sb3_callback`), bound to this agent."""
        hook = sb3_callback(callback)
        hook.init_callback(self)  # type: ignore[arg-type]  # SB3 reads model.get_env() and model.logger
        return hook

    def get_env(self) -> None:
        """SB3's hook for callbacks (``callback.training_env``): the baselines step their own copies, so ``None``."""
        return None

    @property
    def logger(self) -> Logger:
        """A Stable-Baselines3 ``Logger`` without outputs, for callbacks that record values."""
        if getattr(self, "_logger", None) is None:
            self._logger = Logger(folder=None, output_formats=[])
        return self._logger

    # ------------------------------------------------------------------ acting
    def _encode_subset(self, observations: Mapping[str, Any]) -> tuple[list[str], torch.Tensor]:
        if not isinstance(observations, Mapping):
            raise TypeError(f"expected a dict of observations keyed by agent name, got {type(observations).__name__}.")
        unknown = [a for a in observations if a not in self.encoder.agents]
        if unknown:
            raise KeyError(f"unknown agents {unknown}; expected a subset of {list(self.possible_agents)}.")
        agents = list(observations)
        encoded = self.encoder.encode(observations)
        rows = [self.encoder.index(a) for a in agents]
        return agents, torch.as_tensor(encoded[rows])

    def predict(self, observations: Mapping[str, Any], deterministic: bool = True) -> dict[str, Any]:
        """Actions of the agents in ``observations``.

        Args:
            observations: Observation per agent, as the ``ParallelEnv`` returns them
                (a subset of the agents is fine).
            deterministic: Play the most likely action; otherwise sample
                (from the agent's own seeded stream).

        Returns:
            Action per agent, ready for ``parallel_env.step`` (``int`` for
            ``Discrete``; clipped array for ``Box``). Unlike SB3 there is no
            second (recurrent state) return value.
        """
        agents, x = self._encode_subset(observations)
        if not agents:
            return {}
        with torch.no_grad():
            distribution = self._actor_distribution(x)
            if deterministic:
                actions = distribution.mode()
            else:
                with self._rng:
                    actions = distribution.sample()
        actions_np = actions.cpu().numpy()
        return {a: self._to_env_action(actions_np[i]) for i, a in enumerate(agents)}

    def action_readout(self, observations: Mapping[str, Any] | None = None) -> dict[str, ActionReadout]:
        """Each agent's greedy action and action probabilities (discrete actions).

        Made for the constant-observation matrix games: with no argument the
        observations of a fresh ``reset(seed=self.seed)`` are used.

        Args:
            observations: Observation per agent; None uses a fresh reset.

        Returns:
            :class:`ActionReadout` per agent.

        Raises:
            TypeError: If the action space is not ``Discrete``.
        """
        if not isinstance(self.action_space, spaces.Discrete):
            raise TypeError(f"action_readout expects a Discrete action space, got {self.action_space}.")
        if observations is None:
            observations, _ = self._probe_env.reset(seed=self.seed)
        agents, x = self._encode_subset(observations)
        with torch.no_grad():
            probs = self._actor_distribution(x).distribution.probs.double().cpu().numpy()  # type: ignore[union-attr]
        readouts = {}
        for i, agent in enumerate(agents):
            p = probs[i].copy()
            p.setflags(write=False)
            readouts[agent] = ActionReadout(greedy_action=int(np.argmax(p)), probabilities=p)
        return readouts

    def act(self, agent: str, observation: Any) -> Any:
        """The greedy action of ``agent`` for its own observation (the benchmark contract's read-out).

        The same as ``predict({agent: observation})[agent]``; :meth:`predict` reads several agents at once.
        """
        return self.predict({agent: observation}, deterministic=True)[agent]

    def action_probabilities(self, agent: str, observation: Any) -> np.ndarray:
        """The probability of each action of ``agent`` for its own observation (``Discrete`` actions), float64.

        The benchmark contract's read-out of one agent; :meth:`action_readout` reads several agents at once
        (``action_readout(observations)[agent].probabilities`` is the same read-only array).

        Raises:
            TypeError: If the action space is not ``Discrete``.
        """
        return self.action_readout({agent: observation})[agent].probabilities

    # ------------------------------------------------------------ persistence
    def save(self, path: PathOrFile) -> None:
        """Save config, seed, step count and trained state to one zip file.

        If the agent was built from a registered id, the id and its kwargs are
        saved too, so that :meth:`load` needs no environment.
        """
        meta = {
            "algorithm": self.algorithm_name,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "num_timesteps": self.num_timesteps,
            "possible_agents": list(self.possible_agents),
            "encoded_dim": self.encoder.dim,
            "env": self._source.describe(),
        }
        write_archive(path, meta, self._payload())

    @classmethod
    def load(
        cls: type[_AgentT],
        path: PathOrFile,
        env: Any = None,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> _AgentT:
        """Load an agent saved by :meth:`save` (the benchmark contract's ``load(path, make_env)`` too).

        Args:
            path: The zip file (a path, a binary file object or its bytes).
            env: Environment to attach (id, factory or instance; the contract's ``make_env``); None
                rebuilds the saved registered id.
            env_kwargs: Keyword arguments for ``env``.

        Returns:
            The agent, ready to ``predict`` or to continue ``learn``.

        Raises:
            ValueError: If the file is not a save of this algorithm (another algorithm's, or no
                baselines archive), it is damaged or lacks what this version reads, ``env`` does not
                match the saved agents, or no environment is known.
        """
        if isinstance(path, (bytes, bytearray)):
            path = io.BytesIO(path)
        meta, payload = read_archive(path)
        if meta.get("algorithm") != cls.algorithm_name:
            raise ValueError(
                f"expected a saved {cls.algorithm_name} agent, got {meta.get('algorithm')!r}; "
                f"load it with that class instead."
            )
        missing = [k for k in ("config", "seed", "num_timesteps", "possible_agents", "encoded_dim") if k not in meta]
        if missing or not isinstance(meta["config"], Mapping):
            raise ValueError(
                f"expected a saved {cls.algorithm_name} agent with config, seed, num_timesteps, possible_agents and "
                f"encoded_dim in its meta.json, got a damaged save or one of another version (missing {missing})."
            )
        if env is None:
            saved_env = meta.get("env")
            if saved_env is None:
                raise ValueError(
                    f"this {cls.algorithm_name} agent was trained on an environment given as a factory or "
                    "instance, which cannot be saved; pass it as `env=` to load()."
                )
            env, env_kwargs = saved_env["env_id"], saved_env["env_kwargs"]
        # files saved before torch_num_threads was deprecated hold 1 there: the thread count is the caller's now
        config = cls.config_class.from_kwargs({k: v for k, v in meta["config"].items() if k != "torch_num_threads"})
        agent = cls(env, seed=meta["seed"], env_kwargs=env_kwargs, **vars(config))
        if list(agent.possible_agents) != meta["possible_agents"] or agent.encoder.dim != meta["encoded_dim"]:
            raise ValueError(
                f"expected an environment with agents {meta['possible_agents']} and encoded observation size "
                f"{meta['encoded_dim']}, got agents {list(agent.possible_agents)} and size {agent.encoder.dim}."
            )
        try:
            agent._restore(payload)
        except (
            RuntimeError,
            KeyError,
            ValueError,
            TypeError,
            EOFError,
            pickle.UnpicklingError,
            zipfile.BadZipFile,
        ) as exc:
            raise ValueError(f"expected a loadable {cls.algorithm_name} save, got a damaged one: {exc}") from exc
        agent.num_timesteps = int(meta["num_timesteps"])
        return agent

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(agents={list(self.possible_agents)}, seed={self.seed}, "
            f"num_timesteps={self.num_timesteps})"
        )
