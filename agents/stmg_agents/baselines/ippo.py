"""IPPO: independent PPO with one parameter-shared policy, via SuperSuit and Stable-Baselines3.

Every agent of the simultaneous game becomes one sub-environment of an SB3
vector env (SuperSuit's ``MarkovVectorEnv``), so a single SB3 ``PPO`` with an
``MlpPolicy`` learns one actor and one critic that both see only the agent's
own observation plus a one-hot agent indicator.

The SuperSuit 3.11 pitfalls are handled here:

* ``concat_vec_envs_v1(..., base_class="stable_baselines3")`` crashes when
  SB3 seeds it (``PPO(seed=...)`` calls ``env.seed``, which the wrapped
  gymnasium vector env lacks). :class:`SeedableSB3VecEnv` implements
  ``seed`` (applied at the next reset, as SB3's own vector envs do). The
  copies are built from the factory by SuperSuit's ``ConcatVecEnv`` rather
  than cloned with cloudpickle as ``concat_vec_envs_v1`` does.
* ``pettingzoo_env_to_vec_env_v1`` takes identical spaces and no agent
  death only; ``black_death_v3`` never ends a truncated episode; and SB3
  never sees ``TimeLimit.truncated``. :class:`SharedPolicyParallelEnv`
  fixes all three below the vector env.

Examples:
    >>> from stmg_agents.baselines import IPPO
    >>> agent = IPPO("stmg/Penalty-v0", seed=0, env_kwargs={"k": 0}).learn(200)
    >>> agent.num_timesteps
    200
    >>> sorted(agent.predict({"agent_0": [1.0], "agent_1": [1.0]}))
    ['agent_0', 'agent_1']
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import Distribution
from supersuit import pettingzoo_env_to_vec_env_v1
from supersuit.vector import ConcatVecEnv
from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper

from stmg_agents.baselines.base import SharedPolicyAgent
from stmg_agents.baselines.config import IPPOConfig
from stmg_agents.baselines.shared_policy_env import SharedPolicyParallelEnv
from stmg_agents.distributions import unchecked
from stmg_agents.schedules import ent_coef_at

__all__ = ["IPPO", "ScheduledEntropyPPO", "SeedableSB3VecEnv"]

_ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
_SB3_ARCHIVE = "sb3_ppo.zip"


class SeedableSB3VecEnv(SB3VecEnvWrapper):
    """SuperSuit's SB3 adapter with a working ``seed``.

    ``seed(s)`` stores the seed; the next ``reset()`` resets copy ``i`` with
    ``s + i`` (SuperSuit's ``ConcatVecEnv`` convention). Without this,
    ``PPO(seed=...)`` fails with ``AttributeError: 'ConcatVecEnv' object has
    no attribute 'seed'``.
    """

    def __init__(self, venv: Any) -> None:
        super().__init__(venv)
        self._pending_seed: int | None = None

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._pending_seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def reset(self, seed: int | None = None, options: dict | None = None) -> np.ndarray:
        if seed is None:
            seed, self._pending_seed = self._pending_seed, None
        observations, self.reset_infos = self.venv.reset(seed=seed, options=options)
        return observations


class ScheduledEntropyPPO(PPO):
    """SB3's ``PPO`` whose entropy bonus may follow a schedule (:mod:`stmg_agents.schedules`).

    Differs from the parent in ``train`` only: before the parent's update it sets
    ``ent_coef`` (the number the parent's loss reads) to ``ent_coef_schedule`` at the
    progress remaining, as SB3 does for ``clip_range``, and logs it as
    ``train/ent_coef``. A number as the schedule trains exactly as the parent.

    Args:
        policy: The parent's.
        env: The parent's.
        ent_coef_schedule: A number or a ``(start, end)`` pair (linear over ``learn``).
        **kwargs: The parent's other arguments (``ent_coef`` is set from the schedule).
    """

    def __init__(self, policy: Any, env: Any, *, ent_coef_schedule: float | tuple[float, float], **kwargs: Any) -> None:
        self.ent_coef_schedule = ent_coef_schedule
        super().__init__(policy, env, ent_coef=ent_coef_at(ent_coef_schedule, 1.0), **kwargs)

    def train(self) -> None:
        self.ent_coef = ent_coef_at(self.ent_coef_schedule, self._current_progress_remaining)
        self.logger.record("train/ent_coef", self.ent_coef)
        super().train()


class _ForwardToUser(BaseCallback):
    """Forwards the inner PPO's callback events to the user's callback, with IPPO's joint-step count.

    The inner PPO steps one sub-environment per (copy, agent), so its ``num_timesteps``
    counts agent-steps; before every event IPPO's own count (joint steps) is synced,
    so the user's callback sees ``model`` = the IPPO agent, as in SB3.
    """

    def __init__(self, agent: IPPO, user_callback: BaseCallback) -> None:
        super().__init__(verbose=0)
        self._agent = agent
        self._user = user_callback

    def _sync(self) -> None:
        self._agent.num_timesteps = self.model.num_timesteps // self._agent.n_agents

    def _on_training_start(self) -> None:
        self._sync()
        self._user.on_training_start(self.locals, self.globals)

    def _on_rollout_start(self) -> None:
        self._sync()
        self._user.on_rollout_start()

    def _on_step(self) -> bool:
        self._sync()
        self._user.update_locals(self.locals)
        return self._user.on_step()

    def _on_rollout_end(self) -> None:
        self._sync()
        self._user.on_rollout_end()

    def _on_training_end(self) -> None:
        self._sync()
        self._user.on_training_end()


class IPPO(SharedPolicyAgent):
    """Independent PPO with parameter sharing and an agent indicator (SB3 ``PPO``).

    The loss is SB3's PPO loss: clipped surrogate, entropy bonus, unclipped
    squared-error value loss on raw returns, advantages standardised per
    mini-batch; actor and critic are separate MLPs (``hidden_sizes``) trained
    by one Adam. Unlike :class:`~stmg_agents.baselines.MAPPO`, the critic sees
    only the agent's own (encoded) observation.

    On the benchmark contract itself (registered as ``ippo``): the harness builds it as
    ``IPPO(make_env, seed=..., **hyperparameters)`` (see :class:`~stmg_agents.baselines.base.SharedPolicyAgent`).

    Args:
        env_or_id: A registered ``parallel`` id (``"stmg/Penalty-v0"``), a
            factory returning a ``ParallelEnv``, or a ``ParallelEnv`` instance.
        seed: Seeds the networks, the sampling and the environments.
        env_kwargs: Keyword arguments for the registry entry or the factory.
        **hyper_parameters: Fields of :class:`~stmg_agents.baselines.IPPOConfig`.

    Attributes:
        model: The SB3 ``PPO`` (a :class:`ScheduledEntropyPPO`; its ``num_timesteps``
            counts agent-steps, ``n_agents`` per joint step).

    Examples:
        >>> from stmg_envs.matrix import penalty
        >>> agent = IPPO(lambda: penalty(k=0), seed=1, n_envs=2)
        >>> readout = agent.action_readout()
        >>> readout["agent_0"].probabilities.shape
        (3,)
    """

    config_class = IPPOConfig
    algorithm_name = "IPPO"
    #: Its label in the benchmark's results (the contract's ``name``; ``form`` is the base's, ``"simultaneous"``).
    name: ClassVar[str] = "ippo"
    config: IPPOConfig

    def _make_vec_env(self) -> SeedableSB3VecEnv:
        def make_copy() -> Any:
            return pettingzoo_env_to_vec_env_v1(SharedPolicyParallelEnv(self._source.make(), self.encoder))

        return SeedableSB3VecEnv(ConcatVecEnv([make_copy] * self.config.n_envs))

    def _build(self) -> None:
        c = self.config
        self.model = ScheduledEntropyPPO(
            "MlpPolicy",
            self._make_vec_env(),
            learning_rate=c.learning_rate,
            n_steps=c.n_steps,
            batch_size=c.check_minibatches(self.n_agents),
            n_epochs=c.n_epochs,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda,
            clip_range=c.clip_range,
            normalize_advantage=c.normalize_advantage,
            ent_coef_schedule=c.ent_coef,
            vf_coef=c.vf_coef,
            max_grad_norm=c.max_grad_norm,
            policy_kwargs={
                "net_arch": {"pi": list(c.hidden_sizes), "vf": list(c.hidden_sizes)},
                "activation_fn": _ACTIVATIONS[c.activation],
                "optimizer_kwargs": {"eps": c.adam_eps},
            },
            seed=self.seed,
            device="cpu",
            verbose=0,
        )
        # SB3's policy with its action distribution unchecked: the same values, without torch's argument
        # validation on every rollout step and minibatch (the action head was built above and is kept).
        self.model.policy.action_dist = unchecked(self.model.policy.action_dist)

    def _actor_distribution(self, encoded: torch.Tensor) -> Distribution:
        return self.model.policy.get_distribution(encoded)

    def _learn(self, total_timesteps: int, callback: BaseCallback, reset_num_timesteps: bool) -> None:
        if reset_num_timesteps:
            self.num_timesteps = 0
        self.model.num_timesteps = self.num_timesteps * self.n_agents
        self.model.learn(
            total_timesteps * self.n_agents,
            callback=_ForwardToUser(self, callback),
            # SB3 skips its logging for None (its stub says int).
            log_interval=None,  # type: ignore[arg-type]
            reset_num_timesteps=reset_num_timesteps,
        )
        self.num_timesteps = self.model.num_timesteps // self.n_agents

    def _payload(self) -> dict[str, bytes]:
        buffer = io.BytesIO()
        self.model.save(buffer)
        return {_SB3_ARCHIVE: buffer.getvalue()}

    def _restore(self, payload: Mapping[str, bytes]) -> None:
        if _SB3_ARCHIVE not in payload:
            raise ValueError(f"expected {_SB3_ARCHIVE!r} in the saved IPPO archive, got {sorted(payload)}.")
        # SB3 reads a file-like object as well as a path (its stub says str).
        self.model.set_parameters(io.BytesIO(payload[_SB3_ARCHIVE]), exact_match=True, device="cpu")  # type: ignore[arg-type]
