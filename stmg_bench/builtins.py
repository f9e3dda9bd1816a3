"""The built-in algorithms that reach the contract through an adapter: STEP and seq-ppo.

STEP and seq-ppo have Stable-Baselines3's surface: ``cls(env, seed=..., **hp)``,
``learn(total_timesteps, callback)``, ``predict``, ``action_probabilities``,
``save``/``load``. :class:`SB3SurfaceAlgorithm` reaches the contract of
:mod:`stmg_bench.contract` from that surface; each built-in is a short
subclass naming its class and form, and :mod:`stmg_bench.registry` maps the
names to them (STEP's named variants, ``step-explore`` and the others, are STEP plus
settings there, not classes). Every other built-in (MAPPO, IPPO, HAPPO...) satisfies the
contract itself, in :mod:`stmg_agents.baselines`. Importing this module imports no torch: the
class behind an adapter is imported when the first one is built.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> make_env = lambda: pettingzoo.make("aec", "stmg/Penalty-v0", k=0)
    >>> algo = STEPAlgorithm(make_env, seed=0, n_envs=2)
    >>> _ = algo.learn(100)
    >>> env = make_env(); env.reset(seed=0)
    >>> algo.act("agent_0", env.observe("agent_0")) in (0, 1, 2)
    True
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from stmg_bench.contract import EnvFactory, ProgressCallback
from stmg_bench.registry import load_object

__all__ = [
    "SB3SurfaceAlgorithm",
    "STEPAlgorithm",
    "SeqPPOAlgorithm",
]


def _sb3_progress(callback: ProgressCallback) -> Any:
    """An SB3 ``BaseCallback`` that calls ``callback(num_timesteps)`` after every update (PPO's ``train()``).

    :class:`stmg_agents.callbacks.ProgressAfterUpdate`, the one implementation (MAPPO's and IPPO's ``learn`` use
    it too).
    """
    from stmg_agents.callbacks import ProgressAfterUpdate

    return ProgressAfterUpdate(callback)


class SB3SurfaceAlgorithm:
    """Adapter from an algorithm with SB3's surface to the benchmark contract.

    Subclasses set :attr:`target` (the class, as ``"module:Attribute"``), :attr:`form`
    and :attr:`name`. The model itself is :attr:`model`. (A variant's settings are not
    the adapter's: the registry's entry holds them, :class:`stmg_bench.registry.RegistryEntry`.)

    Args:
        make_env: Builds a fresh env in the algorithm's form (passed to the class as its env factory).
        seed: Seed of the run.
        **hyperparameters: Keyword arguments of the class (``n_envs``, ``gamma``, ``policy_kwargs``...).
    """

    target: ClassVar[str]
    form: ClassVar[str]
    name: ClassVar[str]

    def __init__(self, make_env: EnvFactory, seed: int, **hyperparameters: Any) -> None:
        cls = load_object(self.target)
        self.model = cls(make_env, seed=seed, **self.translate(hyperparameters))
        self.make_env = make_env

    @classmethod
    def translate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """The class's own keyword arguments for the given ones (default: unchanged)."""
        return hyperparameters

    def learn(self, total_timesteps: int, callback: ProgressCallback | None = None) -> SB3SurfaceAlgorithm:
        """Train for ``total_timesteps`` joint steps; ``callback(num_timesteps)`` after every update."""
        self.model.learn(total_timesteps, callback=self._callback(callback))
        return self

    def _callback(self, callback: ProgressCallback | None) -> Any:
        return None if callback is None else _sb3_progress(callback)

    @property
    def num_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    def act(self, agent: Any, observation: Any) -> Any:
        """The greedy action of ``agent`` (the sequential form: one agent's STMG observation)."""
        if self.form == "sequential":
            action, _ = self.model.predict(observation, deterministic=True)
            return _as_env_action(action)
        return self.model.predict({agent: observation}, deterministic=True)[agent]

    def action_probabilities(self, agent: Any, observation: Any) -> np.ndarray:
        """The probability of each action of ``agent`` (``Discrete`` actions)."""
        if self.form == "sequential":
            return np.asarray(self.model.action_probabilities(observation), dtype=np.float64)
        return np.asarray(self.model.action_probabilities({agent: observation})[agent], dtype=np.float64)

    def save(self, path: str | os.PathLike[str]) -> None:
        self.model.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: EnvFactory) -> SB3SurfaceAlgorithm:
        """Load a saved model of this adapter's class, attached to ``make_env``'s environments."""
        model_cls = load_object(cls.target)
        self = cls.__new__(cls)
        self.model = model_cls.load(path, env=make_env)
        self.make_env = make_env
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"


def _as_env_action(action: Any) -> Any:
    array = np.asarray(action)
    if array.ndim == 0 and np.issubdtype(array.dtype, np.integer):
        return int(array)
    return array


class STEPAlgorithm(SB3SurfaceAlgorithm):
    """STEP (:class:`stmg_agents.STEP`) on the STMG, with the paper's plain hypernetwork.

    Besides STEP's own arguments it takes the names the baselines use, so that a suite's
    shared PPO settings reach every algorithm alike: ``n_minibatches`` (per rank; becomes
    ``batch_size``), ``hidden_sizes`` (the state embedding's and the critic's widths; becomes
    ``policy_kwargs["net_arch"]``), and ``hyper_scale_by_width`` (STEP's own lever; becomes
    ``policy_kwargs["hyper_scale_by_width"]``).

    Greedy actions come from STEP's NumPy snapshot of the policy where it applies
    (:mod:`stmg_agents.step.inference`, tested equal to the torch policy; refreshed after
    every ``learn``), which is several times faster than ``predict`` for one observation.
    """

    target = "stmg_agents.step.algorithm:STEP"
    form = "sequential"
    name = "step"

    def __init__(self, make_env: EnvFactory, seed: int, **hyperparameters: Any) -> None:
        super().__init__(make_env, seed, **hyperparameters)
        self._snapshot: Any = None
        self._snapshot_at: int | None = None
        self._rng = np.random.default_rng(0)  # the snapshot's API asks for one; greedy actions draw nothing

    @classmethod
    def translate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """STEP's keyword arguments for the shared names (``n_minibatches``, ``hidden_sizes``, ``hyper_scale_by_width``).

        Examples:
            >>> STEPAlgorithm.translate({"n_envs": 2, "n_steps": 10, "n_minibatches": 4, "hidden_sizes": [32]})
            {'n_envs': 2, 'n_steps': 10, 'batch_size': 5, 'policy_kwargs': {'net_arch': {'pi': [32], 'vf': [32]}}}
        """
        hp = dict(hyperparameters)
        policy_kwargs = dict(hp.pop("policy_kwargs", None) or {})
        n_minibatches = hp.pop("n_minibatches", None)
        if n_minibatches is not None:
            rollout = int(hp.get("n_envs", 4)) * int(hp.get("n_steps", 25))
            hp["batch_size"] = max(2, rollout // int(n_minibatches))
        hidden = hp.pop("hidden_sizes", None)
        if hidden is not None:
            policy_kwargs["net_arch"] = {"pi": list(hidden), "vf": list(hidden)}
        scale = hp.pop("hyper_scale_by_width", None)
        if scale is not None:
            policy_kwargs["hyper_scale_by_width"] = scale
        if policy_kwargs:
            hp["policy_kwargs"] = policy_kwargs
        return hp

    def learn(self, total_timesteps: int, callback: ProgressCallback | None = None) -> STEPAlgorithm:
        self._snapshot_at = None
        super().learn(total_timesteps, callback)
        self._snapshot_at = None
        return self

    def act(self, agent: Any, observation: Any) -> Any:
        from stmg_agents.step.execution import env_action
        from stmg_agents.step.inference import snapshot_or_none

        if self._snapshot_at != self.model.num_timesteps:
            self._snapshot = snapshot_or_none(self.model.policy) if self.model.numpy_rollouts else None
            self._snapshot_at = self.model.num_timesteps
        if self._snapshot is None:
            return super().act(agent, observation)
        canonical = self.model._canonical_observation(observation)
        batch = {key: np.asarray(value)[None] for key, value in canonical.items()}
        return env_action(self.model, self._snapshot.act(batch, self._rng, deterministic=True)[0][0])

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: EnvFactory) -> STEPAlgorithm:
        self = super().load(path, make_env)
        assert isinstance(self, STEPAlgorithm)
        self._snapshot, self._snapshot_at, self._rng = None, None, np.random.default_rng(0)
        return self


class SeqPPOAlgorithm(STEPAlgorithm):
    """seq-ppo (:class:`stmg_agents.baselines.seq_ppo.SeqPPO`): PPO on the STMG with a plain MLP policy.

    STEP's sequential structure (rank and superiors' actions in the input, per-agent
    GAE) without the hypernetwork and the regulariser. The shared ``n_minibatches``
    splits all decisions of a rollout (every rank together, as PPO does), and
    ``hyper_scale_by_width`` (a hypernetwork lever) is refused.
    """

    target = "stmg_agents.baselines.seq_ppo:SeqPPO"
    name = "seq-ppo"

    @classmethod
    def translate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """SeqPPO's keyword arguments: ``hidden_sizes`` as for STEP; ``n_minibatches`` passed on as it is.

        Examples:
            >>> SeqPPOAlgorithm.translate({"n_envs": 2, "n_minibatches": 4, "hidden_sizes": [32]})
            {'n_envs': 2, 'policy_kwargs': {'net_arch': {'pi': [32], 'vf': [32]}}, 'n_minibatches': 4}
        """
        hp = dict(hyperparameters)
        if "hyper_scale_by_width" in hp:
            raise ValueError(
                "seq-ppo has no hypernetwork: expected no hyper_scale_by_width, got "
                f"hyper_scale_by_width={hp['hyper_scale_by_width']!r}."
            )
        n_minibatches = hp.pop("n_minibatches", None)
        hp = super().translate(hp)
        if n_minibatches is not None:
            hp["n_minibatches"] = n_minibatches
        return hp
