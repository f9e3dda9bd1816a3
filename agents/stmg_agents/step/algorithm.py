"""STEP: Spatio-Temporal sequence Equilibrium Policy optimisation, on Stable-Baselines3's PPO.

STEP (Zhang et al., main paper, Section 3 and Algorithm 1) trains one
N-level policy, shared by all agents, on the spatio-temporal sequential
Markov game (STMG) of a multi-agent task: within each time step the agents
act one after another in priority order, each seeing the actions chosen by
the agents ranked above it, so that each learns a best response to its
superiors and the joint policy is driven to a Stackelberg equilibrium.

Examples:
    >>> from stmg_agents import STEP
    >>> model = STEP("stmg/Penalty-v0", seed=0, env_kwargs={"k": -25})
    >>> _ = model.learn(200)
    >>> model.num_timesteps
    200
    >>> type(model.get_env().batch.backend).__name__   # the copies: one batched STMG, in NumPy for a matrix game
    'MatrixBackend'
    >>> env = model.get_env().make_stmg()                # a new STMG of the task, to act on
    >>> env.reset(seed=0)
    >>> obs = env.observe(env.agent_selection)
    >>> action, _ = model.predict(obs, deterministic=True)
    >>> int(action) in (0, 1, 2)
    True
    >>> model.act(env.agent_selection, obs) == int(action)  # the benchmark contract's read-outs
    True
    >>> model.action_probabilities(env.agent_selection, obs).shape
    (3,)
"""

from __future__ import annotations

import io
import math
import pathlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule, TensorDict
from stable_baselines3.common.utils import explained_variance, safe_mean
from stable_baselines3.common.vec_env import VecEnv

from stmg_agents.callbacks import sb3_callback
from stmg_agents.losses import clipped_surrogate_loss, clipped_value_loss
from stmg_agents.schedules import EntCoef, check_ent_coef, ent_coef_at
from stmg_agents.step._checks import check_int
from stmg_agents.step.buffer import STMGRolloutBuffer
from stmg_agents.step.inference import NumpyPolicySnapshot, snapshot_or_none
from stmg_agents.step.losses import hypernetwork_regularizer
from stmg_agents.step.policy import NLevelPolicy
from stmg_agents.step.vec_env import BootstrapRequest, EnvSource, STMGVecEnv, make_stmg_vec_env
from stmg_agents.threads import deprecated_threads, scoped_threads

__all__ = ["STEP", "DEFAULT_BETA"]

#: What :meth:`STEP.act` keeps between calls (its NumPy snapshot of the policy), never saved.
_ACT_SNAPSHOT_ATTRIBUTES = ("_act_snapshot", "_act_snapshot_at", "_act_rng")

SelfSTEP = TypeVar("SelfSTEP", bound="STEP")

#: Default number of env copies (the authors' matrix-game setting).
DEFAULT_N_ENVS = 4

#: Default coefficient of the hypernetwork regulariser (Eq. 11). The paper does
#: not publish its value; its Fig. 7 shows larger values helping with more
#: agents. At 1.0 the regulariser is felt but does not dominate: on 3-agent
#: matrix games its gradient on the hypernetwork is about 40% of the total
#: (measured with the matrix-game defaults). Tune it per task.
DEFAULT_BETA = 1.0


def _check_beta(beta: Any) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)):
        raise ValueError(f"expected beta (the hypernetwork regulariser coefficient) to be a number >= 0, got {beta!r}.")
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(
            f"expected beta (the hypernetwork regulariser coefficient) to be a finite number >= 0, got {beta!r}; "
            "use 0 to switch the regulariser off."
        )
    return beta


def _check_ratio(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"expected {name} to be a number > 0, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected {name} to be a finite number > 0 (1: the same for every rank), got {value!r}.")
    return value


def _check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"expected {name} to be a number in [0, 1), got {value!r}.")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"expected {name} to be a fraction of training in [0, 1) (0: every rank from the start), got {value!r}."
        )
    return value


def _describe_zip(path: Any) -> str:
    """What a zip without SB3 data holds: a baselines save, a damaged file, or something else."""
    import zipfile

    start = path.tell() if isinstance(path, io.BufferedIOBase) else None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"an unreadable (damaged or truncated) zip file: {exc}"
    finally:
        if start is not None:
            path.seek(start)
    if "meta.json" in names:
        return "an IPPO or MAPPO save: load it with IPPO.load or MAPPO.load"
    return f"a zip file without Stable-Baselines3 data (damaged, truncated, or not a save; it holds {names[:4]})"


def _read_step_save(path: Any, custom_objects: dict[str, Any] | None) -> dict[str, Any]:
    """The data of a STEP save, or a ValueError that says what the file is instead (the stream is rewound)."""
    start = path.tell() if isinstance(path, io.BufferedIOBase) else None
    try:
        data, _, _ = load_from_zip_file(path, custom_objects=custom_objects, device="cpu")
    except ValueError as exc:  # SB3: "the file ... wasn't a zip-file"
        raise ValueError(
            f"expected a STEP save (the zip file STEP.save writes), got an unreadable file: {exc}"
        ) from None
    finally:
        if start is not None:
            path.seek(start)
    if data is None:
        raise ValueError(f"expected a STEP save (the zip file STEP.save writes), got {_describe_zip(path)}")
    if "beta" not in data or "_rng_states" not in data:
        raise ValueError(
            f"expected a STEP save, got the save of another Stable-Baselines3 algorithm "
            f"(policy {data.get('policy_class')!r}); load it with that algorithm's class."
        )
    return data


class STEP(PPO):
    """STEP on an STMG: a shared N-level policy trained agent by agent with PPO.

    The defaults are the hyper-parameters the authors' follow-up code uses for
    the repeated matrix games (4 env copies, 25-step rollouts, lr 5e-4,
    5 epochs, one minibatch, entropy 0.05, two hidden layers of 64 (the
    policy's default), clip 0.2, gamma 0.99, GAE lambda 0.95, max grad norm
    10), with MAPPO's choices where those are silent (critic loss weight 1,
    value clipping with the same epsilon, normalised value targets); tune
    ``n_steps``, ``learning_rate`` and friends for larger tasks. On them, also
    consider ``policy_kwargs=dict(hyper_scale_by_width=True)``: with the plain
    hypernetwork one Adam step moves the generated policy weights tens of
    times further than an ordinary layer's, so at a learning rate chosen for
    an ordinary policy STEP's updates are that much larger (see
    :class:`~stmg_agents.step.policy.NLevelPolicy`; the control-task presets of
    :mod:`stmg_bench.suites.control` turn it on).

    Choices the paper leaves open: the critics ``V^i`` are one network
    conditioned on the rank (like the policy, its size does not grow with the
    number of agents); truncated episodes (time limits) are bootstrapped with
    ``V^i`` of the final state, the superiors' actions there sampled from
    the policy; ``beta`` defaults to :data:`DEFAULT_BETA`.

    STEP satisfies the benchmark contract (:mod:`stmg_bench.contract`) itself, besides SB3's surface:
    ``form = "sequential"`` (it trains and acts on the STMG), ``name = "step"``, the harness builds it as
    ``STEP(make_env, seed=seed, **hyperparameters)`` (``make_env`` is a factory, one of the ``env`` forms) and
    calls :meth:`learn` with the contract's ``callback(num_timesteps)``, :meth:`act`,
    :meth:`action_probabilities` (both ``(agent, observation)``), :meth:`save` and ``load(path, make_env)`` as they
    are. ``n_minibatches``, ``hidden_sizes`` and ``hyper_scale_by_width`` are the names the baselines and the
    suites' shared settings use, so that a setting reaches every algorithm with one meaning.

    Args:
        env: The STMG to learn on: an ``AECEnv`` from :func:`stmg_envs.stmg_v0`
            (``flatten=False``; deep-copied into ``n_envs`` copies), a registered
            id such as ``"stmg/Penalty-v0"`` (with ``env_kwargs``), a factory
            returning an STMG, or an :class:`STMGVecEnv`. ``None`` only when loading.
        policy: ``"NLevelPolicy"`` (alias ``"MultiInputPolicy"``) or a subclass of
            :class:`NLevelPolicy`.
        learning_rate: Adam learning rate (or schedule) for actor and critic.
        n_steps: Temporal (joint) steps per env copy per rollout.
        n_envs: Number of env copies stepped together; default 4 (for an
            :class:`STMGVecEnv`, its number of copies).
        batch_size: Minibatch size within one rank's decisions; ``None``: one minibatch (or ``n_minibatches``).
        n_epochs: Epochs over each rank's decisions per update.
        gamma: Discount factor.
        gae_lambda: GAE lambda (GAE is computed per agent, on its own trajectory and rewards).
        clip_range: PPO ratio clip ``epsilon`` (or schedule).
        clip_range_vf: Value clip of Eq. 12 (in normalised value units when the
            policy normalises values); ``None`` for a plain squared error.
        normalize_advantage: Normalise advantages per minibatch.
        ent_coef: Entropy bonus ``eta``, or a schedule of it (:mod:`stmg_agents.schedules`): a pair
            ``(start, end)``, linear from ``start`` at the start of ``learn`` to ``end`` at its end (strong
            exploration early, fading; the form MAPPO and IPPO take too), or a callable of the progress remaining
            (1 at the start of ``learn``, 0 at the end), as SB3's ``learning_rate`` takes. Read at every update
            and logged as ``train/ent_coef``.
        vf_coef: Weight of the critic loss.
        max_grad_norm: Gradient-norm clip.
        beta: Coefficient of the hypernetwork regulariser ``L_h`` (Eq. 11), ``>= 0``.
        rank_lr_ratio: Two timescales: rank ``i``'s update runs at ``learning_rate * rank_lr_ratio**i``
            (``> 1``: followers adapt faster than their leaders, the classic condition for learning
            dynamics to reach a Stackelberg equilibrium); 1 (default): one step size for all.
        rank_ent_ratio: Rank ``i``'s entropy bonus is ``ent_coef * rank_ent_ratio**i`` (``< 1``: leaders
            keep exploring longer than their followers); 1 (default): one bonus for all.
        leader_start: A backward-induction curriculum, in ``[0, 1)``: of ``N`` ranks, rank ``i`` is
            first updated once a fraction ``leader_start * (N - 1 - i) / (N - 1)`` of ``learn``'s
            ``total_timesteps`` has passed. The last follower learns from the first update and the
            leader from ``leader_start`` on, so each rank learns its replies while the ranks above it
            still play their near-uniform initial policies and so visit every one of its contexts
            (a rank not yet started is not updated, but shares ``E`` and ``H`` with those that are).
            0 (default): every rank from the start.
        ent_stagger: Backward sharpening, in ``[0, 1)``: each rank runs the ``ent_coef`` schedule over its own
            window of ``1 - ent_stagger`` of training instead of the whole, rank ``i``'s window starting at
            ``ent_stagger * (N - 1 - i) / (N - 1)`` (the thresholds of ``leader_start``); before its window a
            rank keeps the schedule's start, after it the end. With ``ent_coef=(start, end)`` and a large
            ``start`` the last follower sharpens first while every rank above it still explores, then the
            next rank up against settled followers, the leader last: each leader keeps exploring until the
            ranks below it have learned their replies. 0 (default): one schedule for every rank. No effect
            when ``ent_coef`` is a number.
        leader_explore: Exploration for the followers' sake, in ``[0, 1)``: in rollouts, each decision of a rank
            with ranks below it (``rank < N - 1``) is replaced, with this probability, by an action drawn
            uniformly from the allowed ones (``action_mask``). The ranks below see it as they see any context,
            so they keep learning their replies to every action of the ranks above however sharp those become.
            The replaced decision, and the decisions of the ranks above it in the same time step (their reward
            depends on it), are left out of their ranks' updates (``STMGRolloutBuffer.off_policy``), so every
            rank learns its values under its followers' policies, not under their exploration. The decisions
            stay in their agents' trajectories (their rewards enter the returns of those agents' earlier
            decisions when ``gamma > 0``; exact at ``gamma = 0``). A leader keeps about ``(1 - leader_explore)**
            (N - 1)`` of its decisions. Discrete actions only. 0 (default): off.
        target_kl: Stop a rank's epochs early when the approximate KL exceeds ``1.5 * target_kl``.
        stats_window_size: Episodes averaged in the rollout logs.
        tensorboard_log: TensorBoard log folder.
        policy_kwargs: Keyword arguments of the policy (see :class:`NLevelPolicy`).
        env_kwargs: Keyword arguments for a registered ``env`` id.
        torch_threads: Deprecated (removed in the next release): torch's thread count is the caller's setting
            (:mod:`stmg_agents.threads`; the benchmark harness runs every trial with one thread). A number warns
            and sets that many intra-op threads during ``learn`` only (restored afterwards); ``None``, the
            default, leaves the count alone.
        numpy_rollouts: Sample rollouts from a NumPy snapshot of the policy
            (:mod:`stmg_agents.step.inference`; same mathematics, much faster for
            small batches; used on CPU when the configuration allows, else torch).
        verbose: 0 silent, 1 info, 2 debug.
        seed: Seed of everything random (network initialisation, env resets,
            action sampling, minibatch order): runs with the same seed are identical.
        device: Torch device (``"cpu"`` by default: the networks are tiny).
        n_minibatches: Instead of ``batch_size``: minibatches per epoch over one rank's decisions (the suites'
            shared PPO setting, per rank here); ``batch_size`` becomes ``max(2, n_envs * n_steps // n_minibatches)``.
        hidden_sizes: Hidden widths of the state embedding and of the critic, the suites' shared name for
            ``policy_kwargs["net_arch"] = {"pi": hidden_sizes, "vf": hidden_sizes}`` (over a ``net_arch`` given
            in ``policy_kwargs``).
        hyper_scale_by_width: STEP's own lever under the suites' name: ``policy_kwargs["hyper_scale_by_width"]``
            (over one given in ``policy_kwargs``; see :class:`NLevelPolicy`); ``None``: the policy's default.

    Raises:
        TypeError: ``env`` is not an STMG (or id, factory) with ``Dict`` observations.
        ValueError: an unknown ``policy``, ``beta < 0``, ``batch_size`` and ``n_minibatches`` both given, or
            another bad argument.
    """

    #: The benchmark contract's form: it trains and acts on the STMG (a PettingZoo ``AECEnv``).
    form: ClassVar[str] = "sequential"
    #: Its label in benchmark results.
    name: ClassVar[str] = "step"

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "NLevelPolicy": NLevelPolicy,
        "MultiInputPolicy": NLevelPolicy,
    }
    policy: NLevelPolicy
    # class defaults, so that saves made before these arguments existed load with STEP's plain update
    rank_lr_ratio: float = 1.0
    rank_ent_ratio: float = 1.0
    leader_start: float = 0.0
    ent_stagger: float = 0.0
    leader_explore: float = 0.0
    rollout_buffer: STMGRolloutBuffer
    # act()'s NumPy snapshot of the policy, the num_timesteps it was taken at, and the generator its API asks for
    _act_snapshot: NumpyPolicySnapshot | None
    _act_snapshot_at: int | None
    _act_rng: np.random.Generator

    def __init__(
        self,
        env: EnvSource | None,
        policy: str | type[NLevelPolicy] = "NLevelPolicy",
        learning_rate: float | Schedule = 5e-4,
        n_steps: int = 25,
        n_envs: int | None = None,
        batch_size: int | None = None,
        n_epochs: int = 5,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = 0.2,
        normalize_advantage: bool = True,
        ent_coef: EntCoef = 0.05,
        vf_coef: float = 1.0,
        max_grad_norm: float = 10.0,
        beta: float = DEFAULT_BETA,
        rank_lr_ratio: float = 1.0,
        rank_ent_ratio: float = 1.0,
        leader_start: float = 0.0,
        ent_stagger: float = 0.0,
        leader_explore: float = 0.0,
        target_kl: float | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        env_kwargs: dict[str, Any] | None = None,
        torch_threads: int | None = None,
        numpy_rollouts: bool = True,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "cpu",
        n_minibatches: int | None = None,
        hidden_sizes: Sequence[int] | None = None,
        hyper_scale_by_width: bool | None = None,
        _init_setup_model: bool = True,
    ):
        if env is None and _init_setup_model:
            raise ValueError(
                "STEP needs an env (an STMG, a registered id or a factory); env=None is only for STEP.load."
            )
        if isinstance(policy, str):
            if policy not in self.policy_aliases:
                raise ValueError(
                    f"unknown policy {policy!r}; expected one of {sorted(self.policy_aliases)} or a subclass of NLevelPolicy."
                )
        elif not (isinstance(policy, type) and issubclass(policy, NLevelPolicy)):
            raise ValueError(f"expected policy to be 'NLevelPolicy' or a subclass of NLevelPolicy, got {policy!r}.")
        ent_coef = check_ent_coef(ent_coef)
        self.beta = _check_beta(beta)
        self.rank_lr_ratio = _check_ratio(rank_lr_ratio, "rank_lr_ratio")
        self.rank_ent_ratio = _check_ratio(rank_ent_ratio, "rank_ent_ratio")
        self.leader_start = _check_fraction(leader_start, "leader_start")
        self.ent_stagger = _check_fraction(ent_stagger, "ent_stagger")
        self.leader_explore = _check_fraction(leader_explore, "leader_explore")
        n_steps = check_int(n_steps, "n_steps", 1)
        n_epochs = check_int(n_epochs, "n_epochs", 1)
        if n_envs is None:
            n_envs = env.num_envs if isinstance(env, STMGVecEnv) else DEFAULT_N_ENVS
        n_envs = check_int(n_envs, "n_envs", 1)
        if n_minibatches is not None:
            if batch_size is not None:
                raise ValueError(
                    f"expected batch_size or n_minibatches, not both; got batch_size={batch_size}, "
                    f"n_minibatches={n_minibatches}."
                )
            batch_size = max(2, n_envs * n_steps // check_int(n_minibatches, "n_minibatches", 1))
        if batch_size is not None:
            batch_size = check_int(batch_size, "batch_size", 2 if normalize_advantage else 1)
        policy_kwargs = dict(policy_kwargs or {})
        if hidden_sizes is not None:
            policy_kwargs["net_arch"] = {"pi": list(hidden_sizes), "vf": list(hidden_sizes)}
        if hyper_scale_by_width is not None:
            policy_kwargs["hyper_scale_by_width"] = hyper_scale_by_width
        torch_threads = deprecated_threads(torch_threads, "torch_threads", type(self).__name__)
        vec_env = None if env is None else make_stmg_vec_env(env, n_envs, env_kwargs)
        self.torch_threads = torch_threads
        self.numpy_rollouts = bool(numpy_rollouts)
        if vec_env is not None:
            self.n_agents = vec_env.n_agents
            self.possible_agents = vec_env.possible_agents
            self.action_layout = tuple((s.start, s.stop) for s in vec_env.action_layout)
            self.padded_observation = vec_env.padded
        super().__init__(
            policy,
            vec_env,  # type: ignore[arg-type]
            learning_rate=learning_rate,
            n_steps=n_steps,
            # PPO's own checks are about its buffer layout; STEP minibatches per rank (see train()).
            batch_size=max(2, n_steps * (vec_env.num_envs if vec_env is not None else 1)),
            n_epochs=n_epochs,
            gamma=gamma,
            gae_lambda=gae_lambda,
            clip_range=clip_range,
            clip_range_vf=clip_range_vf,
            normalize_advantage=False,
            ent_coef=ent_coef,  # type: ignore[arg-type]  # a schedule too: STEP reads it in _rank_coefficients
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            target_kl=target_kl,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs or None,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.batch_size = batch_size  # type: ignore[assignment]
        self.normalize_advantage = normalize_advantage
        if self.leader_explore > 0.0 and vec_env is not None and not isinstance(vec_env.action_space, spaces.Discrete):
            raise ValueError(
                f"leader_explore draws uniform actions, so it needs Discrete actions; got {vec_env.action_space}. "
                "Use leader_explore=0 (the default) for this task."
            )
        if _init_setup_model:
            self._setup_model()

    # ------------------------------------------------------------------ setup
    def _setup_model(self) -> None:
        """PPO's setup with the per-agent buffer; plus STEP's own seeded RNGs (restored after ``load``)."""
        self.rollout_buffer_class = STMGRolloutBuffer
        self.rollout_buffer_kwargs = {"n_agents": self.n_agents}
        super()._setup_model()
        if not isinstance(self.policy, NLevelPolicy):
            raise ValueError(f"expected the policy to be an NLevelPolicy, got {type(self.policy).__name__}.")
        seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        self._torch_rng = th.Generator(device=self.device)
        self._torch_rng.manual_seed(int(seed))
        self._np_rng = np.random.default_rng(seed)
        states = self.__dict__.pop("_rng_states", None)  # present right after load()
        if states is not None:
            self._torch_rng.set_state(states["torch"])
            self._np_rng.bit_generator.state = states["numpy"]
        if (
            getattr(self, "_last_lane_starts", None) is None
            or len(self._last_lane_starts) != self.n_envs * self.n_agents  # type: ignore[has-type]
        ):
            self._last_lane_starts = np.ones(self.n_envs * self.n_agents, dtype=np.float32)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_torch_rng", "_np_rng", *_ACT_SNAPSHOT_ATTRIBUTES]

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        if reset_num_timesteps or self._last_obs is None:
            self._last_lane_starts = np.ones(self.n_envs * self.n_agents, dtype=np.float32)
        return super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)

    # ------------------------------------------------------------------ env handling
    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        if not isinstance(env, STMGVecEnv):
            raise TypeError(
                f"STEP runs on an STMGVecEnv (built for you from an STMG, an id or a factory); got {type(env).__name__}."
            )
        return env

    def set_env(self, env: EnvSource, force_reset: bool = True, env_kwargs: dict[str, Any] | None = None) -> None:  # type: ignore[override]
        """Train on another STMG with the same spaces (an STMG, id, factory or :class:`STMGVecEnv` of ``n_envs`` copies)."""
        vec_env = make_stmg_vec_env(env, self.n_envs, env_kwargs)
        if vec_env.possible_agents != tuple(self.possible_agents):
            raise ValueError(f"expected an env with agents {self.possible_agents}, got {vec_env.possible_agents}.")
        super().set_env(vec_env, force_reset=force_reset)  # type: ignore[arg-type]
        if force_reset:
            self._last_lane_starts = np.ones(self.n_envs * self.n_agents, dtype=np.float32)

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfSTEP],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: EnvSource | None = None,
        device: th.device | str = "cpu",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        env_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SelfSTEP:
        """Load a saved STEP model; ``env`` may be an STMG, id, factory or :class:`STMGVecEnv` (``n_envs`` as saved).

        The benchmark contract's ``load(path, make_env)`` too: ``make_env``, the second positional argument, is
        ``env`` (a factory). Parameters, optimiser state, value statistics, hyper-parameters,
        ``num_timesteps`` and STEP's RNG states are restored, so continuing
        training from a save matches continuing the original model whenever the
        env copies are in the same state (e.g. saved between episodes of a
        deterministic game).

        Raises:
            ValueError: the file is not a STEP save (damaged, truncated, or another algorithm's), saying which.
        """
        data = _read_step_save(path, custom_objects)
        if env is not None and not isinstance(env, STMGVecEnv):
            env = make_stmg_vec_env(env, int(data["n_envs"]), env_kwargs)
        return super().load(  # type: ignore[return-value]
            path,
            env=env,  # type: ignore[arg-type]
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )

    def save(self, path: str | pathlib.Path | io.BufferedIOBase, exclude: Any = None, include: Any = None) -> None:
        """Save like SB3 (zip), plus the states of STEP's sampling and shuffling RNGs."""
        self._rng_states = {"torch": self._torch_rng.get_state(), "numpy": self._np_rng.bit_generator.state}
        try:
            super().save(path, exclude=exclude, include=include)
        finally:
            del self._rng_states

    def set_parameters(
        self,
        load_path_or_dict: str | TensorDict,
        exact_match: bool = True,
        device: th.device | str = "auto",
    ) -> None:
        """SB3's ``set_parameters``; the greedy snapshot of :meth:`act` is taken again afterwards."""
        super().set_parameters(load_path_or_dict, exact_match=exact_match, device=device)
        self._act_snapshot_at = None

    # ------------------------------------------------------------------ learning
    def learn(
        self: SelfSTEP,
        total_timesteps: int,
        callback: MaybeCallback | Callable[[int], Any] = None,
        log_interval: int = 1,
        tb_log_name: str = "STEP",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfSTEP:
        """Train for ``total_timesteps`` temporal (joint) time steps, summed over the env copies.

        Args:
            total_timesteps: Joint steps to train for; training runs whole rollouts.
            callback: The benchmark contract's ``callback(num_timesteps)``, called after every update, or one of
                Stable-Baselines3's: a ``BaseCallback``, a list of them, or a callable ``callback(locals, globals)``
                called at every step (:meth:`_init_callback` tells them apart). ``False`` from either stops
                training.
            log_interval: SB3's: log every ``log_interval`` rollouts.
            tb_log_name: SB3's: the TensorBoard run name.
            reset_num_timesteps: SB3's: count from zero and restart the episodes; ``False`` continues both.
            progress_bar: SB3's: show a progress bar.

        Returns:
            The model itself.
        """
        self._act_snapshot_at = None
        try:
            with scoped_threads(getattr(self, "torch_threads", None)):  # the deprecated keyword's effect only
                return super().learn(
                    total_timesteps=total_timesteps,
                    callback=callback,
                    log_interval=log_interval,
                    tb_log_name=tb_log_name,
                    reset_num_timesteps=reset_num_timesteps,
                    progress_bar=progress_bar,
                )
        finally:
            self._act_snapshot_at = None

    def _init_callback(
        self, callback: MaybeCallback | Callable[[int], Any], progress_bar: bool = False
    ) -> BaseCallback:
        """SB3's hook that turns ``learn``'s ``callback`` into the ``BaseCallback`` training fires.

        Differences from the parent (why it is overridden): the parent takes SB3's forms only and would call a
        one-argument callable as ``callback(locals, globals)`` at every step. Here ``callback`` first goes through
        :func:`stmg_agents.callbacks.sb3_callback`, the one place that tells the forms apart, so that the benchmark
        contract's ``callback(num_timesteps)`` is called after every update (as MAPPO's and IPPO's) and SB3's
        forms run as SB3 runs them; the parent then adds the progress bar and binds the callback to this model.
        """
        return super()._init_callback(sb3_callback(callback), progress_bar)

    def _obs_tensors(self, observations: dict[str, np.ndarray]) -> dict[str, th.Tensor]:
        return {k: th.as_tensor(v, device=self.device) for k, v in observations.items()}

    def collect_rollouts(  # type: ignore[override]
        self,
        env: STMGVecEnv,
        callback: BaseCallback,
        rollout_buffer: STMGRolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """Collect ``n_rollout_steps`` time steps in every env copy, agent by agent in priority order.

        Differences from the parent (why it is overridden): the parent asks the
        policy once per env step for every copy; an STMG time step is a
        sequence of decisions in which each agent sees the actions of those
        ranked above it. Here the copies are one :class:`~stmg_envs.vector.BatchedSTMG`
        (``env.batch``, on the task's native backend where it has one) and each
        time step is a loop over priority ranks with ONE batched policy call per
        rank (the acting agents of all copies that have an agent at that rank:
        :meth:`STMGVecEnv.decisions`), whose actions the batch passes down the
        order (:meth:`STMGVecEnv.play`). Each decision is stored in its agent's
        own lane (one trajectory and reward stream per agent and copy). The
        bootstrap value of a truncated or unfinished trajectory,
        ``V^i(s, a^1..a^{i-1})``, needs the actions of the agents above, which are
        sampled from the current policy (:meth:`_bootstrap_values`); a truncated
        one is bootstrapped from the batch's final observation, before its copy
        resets. Callbacks see one ``on_step`` per time step.
        """
        assert self._last_obs is not None, "No previous observation was provided"
        if env.batch.rank != 0:
            raise RuntimeError(
                f"STEP collects whole time steps: expected the copies at rank 0, got rank {env.batch.rank} "
                "(the SB3 view was stepped in the middle of a time step)."
            )
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()
        n_agents = self.n_agents
        act = self._rollout_actor()
        lane_starts = self._last_lane_starts
        for step in range(n_rollout_steps):
            rollout_buffer.begin_step(step, lane_starts)
            outcome = None
            while outcome is None:
                batch = env.decisions()
                actions, values, log_probs = act(batch.observations)
                explored = self._explore_for_followers(batch.observations, batch.ranks, actions)
                rollout_buffer.add_decisions(
                    step,
                    batch.envs * n_agents + batch.agents,
                    batch.observations,
                    actions,
                    values,
                    log_probs,
                    batch.ranks,
                    explored,
                )
                outcome = env.play(batch, actions)
            rewards = outcome.rewards.reshape(-1).copy()
            if outcome.final_observations:
                for lane, value in self._bootstrap_values(env, outcome.final_observations, act).items():
                    rewards[lane] += self.gamma * value
            rollout_buffer.end_step(step, rewards)
            finished = (outcome.terminated | outcome.truncated).reshape(-1)
            lane_starts = np.where(outcome.acted.reshape(-1), finished, True).astype(np.float32)
            self.num_timesteps += env.num_envs
            infos, dones = outcome.infos, outcome.episode_over
            callback.update_locals(locals())
            if not callback.on_step():
                self._last_lane_starts = lane_starts
                return False
            self._update_info_buffer(infos, dones)

        # Bootstrap the trajectories that continue into the next rollout.
        continuing = lane_starts == 0.0
        last_values = np.zeros(env.num_envs * n_agents, dtype=np.float32)
        if continuing.any():
            requests = []
            for lane in np.flatnonzero(continuing).tolist():
                e, k = divmod(int(lane), n_agents)
                requests.append(BootstrapRequest(e, k, env.observe(e, k)))
            for lane, value in self._bootstrap_values(env, requests, act).items():
                last_values[lane] = value
        rollout_buffer.compute_returns_and_advantage(
            last_values=th.as_tensor(last_values), dones=(~continuing).astype(np.float32)
        )
        self._last_lane_starts = lane_starts
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def _explore_for_followers(
        self, observations: dict[str, np.ndarray], ranks: np.ndarray, actions: np.ndarray
    ) -> np.ndarray | None:
        """Under ``leader_explore``, replace (in place) some decisions of ranks with followers by uniform actions.

        Returns the mask of replaced decisions (left out of their rank's update), or None when off.
        """
        if self.leader_explore == 0.0:
            return None
        rng = self._np_rng
        explored = (np.asarray(ranks) < self.n_agents - 1) & (rng.random(len(actions)) < self.leader_explore)
        rows = np.flatnonzero(explored)
        if len(rows):
            n = int(self.action_space.n)  # type: ignore[attr-defined]
            mask = observations.get("action_mask")
            allowed = np.ones((len(rows), n), dtype=bool) if mask is None else np.asarray(mask)[rows].astype(bool)
            # one uniform draw per row among its allowed actions
            choice = (rng.random(len(rows)) * allowed.sum(axis=1)).astype(np.int64)
            drawn = np.argmax(np.cumsum(allowed, axis=1) > choice[:, None], axis=1)
            if actions.ndim == 1:
                actions[rows] = drawn
            else:
                actions[rows, 0] = drawn
        return explored

    def _rollout_actor(self) -> Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``obs batch -> (actions, values, log_probs)`` (NumPy) sampling from the current policy.

        Uses a :class:`~stmg_agents.step.inference.NumpyPolicySnapshot` (same
        mathematics, several times faster for small batches) when the policy's
        configuration allows it and ``numpy_rollouts`` is on, else the torch
        path with each rank's hypernetwork output computed once.
        """
        snapshot = snapshot_or_none(self.policy) if self.numpy_rollouts else None
        if snapshot is not None:
            rng = self._np_rng
            return lambda obs: snapshot.act(obs, rng)
        head_params = None
        if self.policy.has_hypernetwork:
            with th.no_grad():
                head_params = self.policy.target_parameters(self.n_agents)

        def act(obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            ranks = obs["rank"]
            rank = int(ranks[0]) if (ranks == ranks[0]).all() else None
            with th.no_grad():
                out = self.policy.act(
                    self._obs_tensors(obs), rank=rank, generator=self._torch_rng, head_params=head_params
                )
            return out.actions.cpu().numpy(), out.values.cpu().numpy(), out.log_probs.cpu().numpy()

        return act

    def _bootstrap_values(
        self,
        env: STMGVecEnv,
        requests: Sequence[BootstrapRequest],
        act: Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray, np.ndarray]],
    ) -> dict[int, float]:
        """``V^i(s, a^1..a^{i-1})`` for agents at the start of a time step, superiors' actions sampled.

        Args:
            env: The env copies (for the action encoding).
            act: The rollout actor (:meth:`_rollout_actor`).
            requests: :class:`~stmg_agents.step.vec_env.BootstrapRequest` s (copy, agent, observation); observations show
                no prior actions yet. Within a copy the agents are processed in
                the order of their ``rank``, each seeing the sampled actions of
                the requested agents ranked above it (one policy call per rank).

        Returns:
            ``{lane: value}`` with ``lane = copy * n_agents + agent``.
        """
        groups: dict[int, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)
        for e, k, obs in requests:
            groups[e].append((int(obs["rank"]), k, obs))
        for group in groups.values():
            group.sort(key=lambda item: item[0])
        chosen: dict[int, list[tuple[int, np.ndarray]]] = {e: [] for e in groups}
        values: dict[int, float] = {}
        depth = max(len(g) for g in groups.values())
        for level in range(depth):
            rows = [(e, g[level]) for e, g in groups.items() if len(g) > level]
            observations = []
            for e, (_, k, obs) in rows:  # noqa: B007
                obs = dict(obs)  # noqa: PLW2901
                if chosen[e]:
                    prior = np.array(obs["prior_actions"], dtype=np.float32, copy=True)
                    mask = np.array(obs["prior_mask"], copy=True)
                    for other, encoded in chosen[e]:
                        start, stop = self.action_layout[other]
                        prior[start:stop] = encoded
                        mask[other] = 1
                    obs["prior_actions"], obs["prior_mask"] = prior, mask
                observations.append(obs)
            actions, level_values, _ = act(env.stack(observations))
            for (e, (_, k, _)), action, value in zip(rows, actions, level_values):
                values[e * self.n_agents + k] = float(value)
                chosen[e].append((k, env.encode_action(k, action)))
        return values

    def _rank_coefficients(self, rank: int | None) -> tuple[float, float]:
        """``(learning-rate multiplier, entropy bonus)`` of ``rank``'s update: ``rank_lr_ratio**rank`` and
        ``ent_coef * rank_ent_ratio**rank`` (two timescales, per-rank exploration; ``ent_coef`` at this update when
        it is a schedule, read at the rank's own progress under ``ent_stagger``); at ratio 1, or for a group of
        mixed ranks (``None``), the plain ``(1.0, ent_coef)``."""
        if rank is None:
            return 1.0, self._ent_coef_now()
        return self.rank_lr_ratio**rank, self._ent_coef_now(rank) * self.rank_ent_ratio**rank

    def _ent_coef_now(self, rank: int | None = None) -> float:
        """The entropy bonus of this update: ``ent_coef``, or its schedule at the progress remaining (``rank``'s
        own progress in its window under ``ent_stagger``)."""
        return ent_coef_at(self.ent_coef, self._rank_progress_remaining(rank))

    def _rank_progress_remaining(self, rank: int | None) -> float:
        """The progress remaining of ``rank``'s entropy schedule: the run's, or under ``ent_stagger`` its window's.

        Rank ``i`` of ``N`` runs its schedule over ``[d_i, d_i + 1 - ent_stagger]`` of training, with
        ``d_i = ent_stagger * (N - 1 - i) / (N - 1)``: 1 before the window, 0 after it.
        """
        progress = float(self._current_progress_remaining)
        if rank is None or self.ent_stagger == 0.0 or self.n_agents < 2:
            return progress
        start = self.ent_stagger * (self.n_agents - 1 - rank) / (self.n_agents - 1)
        elapsed = (1.0 - progress - start) / (1.0 - self.ent_stagger)
        return 1.0 - min(1.0, max(0.0, elapsed))

    def _rank_started(self, rank: int | None) -> bool:
        """Whether ``rank`` is updated now under ``leader_start`` (always at 0, and for a mixed group ``None``).

        Rank ``i`` of ``N`` starts once ``1 - progress_remaining >= leader_start * (N - 1 - i) / (N - 1)``.
        """
        if rank is None or self.leader_start == 0.0 or self.n_agents < 2:
            return True
        threshold = self.leader_start * (self.n_agents - 1 - rank) / (self.n_agents - 1)
        return 1.0 - float(self._current_progress_remaining) >= threshold

    def _update_groups(self, buffer: STMGRolloutBuffer) -> Iterator[tuple[int | None, Any]]:
        """The groups of decisions :meth:`train` updates on, one after another, as ``(rank, samples)``.

        STEP: one group per priority rank, in rank order (Algorithm 1). A subclass may return
        other groups; ``rank=None`` marks a group of mixed ranks (each row then uses its own
        rank, and the hypernetwork regulariser, which needs one rank, is not applied).
        """
        for rank in buffer.ranks_present():
            yield rank, buffer.rank_samples(rank)

    def train(self) -> None:
        """Update the shared policy and critic rank by rank (Algorithm 1, lines 15-18).

        Differences from the parent (why it is overridden): PPO makes one pass
        over all samples; STEP loops over priority ranks ``i = 0..N-1`` in order
        and, for each, runs ``n_epochs`` of PPO on that rank's decisions only:
        the clipped objective with entropy bonus (advantages normalised per
        rank), the clipped critic loss of Eq. 12 for ``V^i``, and the
        hypernetwork regulariser of Eq. 11, ``beta / i`` times the summed
        squared change of ``H(e^j)``, ``j < i``, since the start of rank ``i``'s
        update, so that training rank ``i`` does not overwrite the target
        policies of the ranks above it. Value targets are normalised by the
        policy's running return statistics (updated once per call). Under
        ``leader_start`` a rank that has not started yet is skipped.
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        param_groups = self.policy.optimizer.param_groups
        base_lrs = [group["lr"] for group in param_groups]
        clip_range = float(self.clip_range(self._current_progress_remaining))  # type: ignore[operator]
        clip_range_vf = None
        if self.clip_range_vf is not None:
            clip_range_vf = float(self.clip_range_vf(self._current_progress_remaining))  # type: ignore[operator]
        buffer = self.rollout_buffer
        normalizer = self.policy.value_normalizer
        normalizer.update(th.as_tensor(buffer.valid_returns(), device=self.device))

        parameters = list(self.policy.parameters())
        entropy_losses, pg_losses, value_losses, reg_losses, clip_fractions, approx_kls = [], [], [], [], [], []
        losses = []
        hyper = self.policy.has_hypernetwork
        for rank, data in self._update_groups(buffer):
            if not self._rank_started(rank) or len(data) == 0:  # empty: every decision explored (leader_explore)
                continue
            lr_scale, ent_coef = self._rank_coefficients(rank)
            for group, lr in zip(param_groups, base_lrs):
                group["lr"] = lr * lr_scale
            n = len(data)
            batch_size = n if self.batch_size is None else min(int(self.batch_size), n)
            advantages = data.advantages
            if batch_size == n and self.normalize_advantage and n > 1:  # one minibatch: normalise once
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            returns = normalizer.normalize(data.returns)
            old_values = normalizer.normalize(data.old_values)
            parts = self.policy.observation_parts(data.observations)
            action_mask = data.observations.get("action_mask")
            use_reg = hyper and rank is not None and rank > 0 and self.beta > 0
            if use_reg:
                assert rank is not None
                with th.no_grad():
                    old_params = self.policy.target_parameters(rank)  # H(e^j; theta_h_old), j < rank
            for epoch in range(self.n_epochs):
                last_epoch = epoch == self.n_epochs - 1
                stop_rank = False
                for index in self._minibatches(n, batch_size):
                    if index is None:
                        mb_parts, mb_mask, mb_actions = parts, action_mask, data.actions
                        mb_old_log_prob, mb_adv = data.old_log_prob, advantages
                        mb_returns, mb_old_values = returns, old_values
                    else:
                        mb_parts = tuple(p[index] for p in parts)  # type: ignore[assignment]
                        mb_mask = None if action_mask is None else action_mask[index]
                        mb_actions, mb_old_log_prob, mb_adv = (
                            data.actions[index],
                            data.old_log_prob[index],
                            advantages[index],
                        )
                        mb_returns, mb_old_values = returns[index], old_values[index]
                        if self.normalize_advantage and len(mb_adv) > 1:
                            mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                    # ranks 0..rank, shared with L_h; None: each row's own rank
                    head_params = self.policy.target_parameters(rank + 1) if hyper and rank is not None else None
                    ev = self.policy.evaluate_parts(
                        mb_parts, mb_actions, rank=rank, head_params=head_params, action_mask=mb_mask
                    )
                    policy_loss, ratio = clipped_surrogate_loss(ev.log_probs, mb_old_log_prob, mb_adv, clip_range)
                    value_loss = clipped_value_loss(ev.normalized_values, mb_old_values, mb_returns, clip_range_vf)
                    entropy_loss = -ev.entropy.mean()
                    loss = policy_loss + ent_coef * entropy_loss + self.vf_coef * value_loss
                    if use_reg:
                        assert head_params is not None and rank is not None
                        reg = hypernetwork_regularizer(head_params[:rank], old_params, self.beta)
                        loss = loss + reg
                        reg_losses.append(reg.item())
                    pg_losses.append(policy_loss.item())
                    value_losses.append(value_loss.item())
                    entropy_losses.append(entropy_loss.item())
                    if self.target_kl is not None or last_epoch:
                        with th.no_grad():
                            log_ratio = ev.log_probs - mb_old_log_prob
                            approx_kl = float(th.mean((th.exp(log_ratio) - 1) - log_ratio))
                            clip_fractions.append(float(th.mean((th.abs(ratio - 1) > clip_range).float())))
                        approx_kls.append(approx_kl)
                        if self.target_kl is not None and approx_kl > 1.5 * self.target_kl:
                            stop_rank = True
                            if self.verbose >= 1:
                                print(f"Rank {rank}: early stopping at epoch {epoch} (approx. KL {approx_kl:.3f})")
                            break
                    self._gradient_step(loss, parameters)
                    losses.append(loss.item())
                self._n_updates += 1
                if stop_rank:
                    break

        valid = buffer.valid
        explained_var = explained_variance(buffer.values[valid], buffer.returns[valid]) if valid.any() else float("nan")
        self.logger.record("train/entropy_loss", safe_mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", safe_mean(pg_losses))
        self.logger.record("train/value_loss", safe_mean(value_losses))
        self.logger.record("train/hypernetwork_regularizer", safe_mean(reg_losses) if reg_losses else 0.0)
        self.logger.record("train/approx_kl", safe_mean(approx_kls))
        self.logger.record("train/clip_fraction", safe_mean(clip_fractions))
        self.logger.record("train/loss", safe_mean(losses) if losses else 0.0)
        self.logger.record("train/explained_variance", explained_var)
        self.logger.record("train/value_mean", float(normalizer.mean))  # type: ignore[arg-type]
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        self.logger.record("train/ent_coef", self._ent_coef_now())
        if clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)

    def _minibatches(self, n: int, batch_size: int) -> Iterator[th.Tensor | None]:
        """Index tensors of shuffled minibatches (``None``: the whole batch, in order)."""
        if batch_size >= n:
            yield None
            return
        order = th.as_tensor(self._np_rng.permutation(n), device=self.device)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]

    def _gradient_step(self, loss: th.Tensor, parameters: list[th.nn.Parameter]) -> None:
        self.policy.optimizer.zero_grad()
        loss.backward()
        th.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm, foreach=True)
        self.policy.optimizer.step()

    def dump_logs(self, iteration: int = 0) -> None:
        """SB3's rollout logs plus each agent's mean episode return (``rollout/ep_rew_mean/<agent>``)."""
        if self.ep_info_buffer:
            per_agent: dict[str, list[float]] = defaultdict(list)
            for info in self.ep_info_buffer:
                for agent, ret in info.get("agent_returns", {}).items():
                    per_agent[str(agent)].append(ret)
            for agent, rets in per_agent.items():
                self.logger.record(f"rollout/ep_rew_mean/{agent}", safe_mean(rets))
        super().dump_logs(iteration)

    # ------------------------------------------------------------------ execution
    def canonical_observation(self, observation: Any) -> Any:
        """``observation`` (one STMG observation, or a batch of them) as the policy takes it.

        Where the agents' own observations differ in width (:attr:`STMGVecEnv.padded`), the own observation is
        zero-padded to the widest; otherwise it is returned as it is. :meth:`predict`, :meth:`act` and
        :meth:`action_probabilities` call it; so may code that feeds ``self.policy`` directly.

        Raises:
            ValueError: an own observation wider than the policy's.
        """
        if not getattr(self, "padded_observation", False) or not isinstance(observation, dict):
            return observation
        width = int(np.prod(self.observation_space["observation"].shape))  # type: ignore[index]
        own = np.asarray(observation["observation"], dtype=np.float32)
        batched = own.ndim == 2 and np.asarray(observation["rank"]).ndim == 1
        rows = own.reshape(own.shape[0] if batched else 1, -1)
        if rows.shape[1] > width:
            raise ValueError(f"expected an own observation of at most {width} values, got {rows.shape[1]}.")
        padded = np.zeros((rows.shape[0], width), dtype=np.float32)
        padded[:, : rows.shape[1]] = rows
        out = dict(observation)
        out["observation"] = padded if batched else padded[0]
        return out

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Action of one agent (or a batch) from its subgame-state observation, as SB3's ``predict``.

        The observation is what the STMG shows the acting agent: its own
        observation, the actions received from the agents ranked above it, and
        its rank. For decentralised execution without receiving those actions
        see :meth:`predict_symmetric`.
        """
        return super().predict(self.canonical_observation(observation), state, episode_start, deterministic)

    def act(self, agent: Any, observation: dict[str, Any]) -> Any:
        """The greedy action of the acting agent for its STMG observation (the benchmark contract's read-out).

        The action ``predict(observation, deterministic=True)`` plays, in the form the STMG takes (an ``int`` for
        ``Discrete`` actions). ``agent`` is not read: the observation's ``rank`` says where the agent stands.
        Where the policy allows, it comes from a NumPy snapshot of the policy
        (:mod:`stmg_agents.step.inference`, tested equal to the torch policy), several times faster than
        ``predict`` for one observation; the snapshot is taken again whenever ``num_timesteps`` has changed,
        after every :meth:`learn` and after :meth:`set_parameters`.
        """
        from stmg_agents.step.execution import env_action

        snapshot = self._greedy_snapshot()
        if snapshot is None:
            action, _ = self.predict(observation, deterministic=True)
            return env_action(self, action)
        canonical = self.canonical_observation(observation)
        batch = {key: np.asarray(value)[None] for key, value in canonical.items()}
        return env_action(self, snapshot.act(batch, self._act_rng, deterministic=True)[0][0])

    def _greedy_snapshot(self) -> NumpyPolicySnapshot | None:
        """:meth:`act`'s NumPy snapshot of the policy at this ``num_timesteps`` (None where it does not apply)."""
        if getattr(self, "_act_snapshot_at", None) != self.num_timesteps:
            self._act_snapshot = snapshot_or_none(self.policy) if self.numpy_rollouts else None
            self._act_snapshot_at = self.num_timesteps
            self._act_rng = np.random.default_rng(0)  # the snapshot's API asks for one; greedy actions draw none
        return self._act_snapshot

    def action_probabilities(self, agent: Any, observation: dict[str, Any]) -> np.ndarray:
        """The probability of each action of the acting agent, for its STMG observation (``Discrete`` actions).

        The benchmark contract's read-out, which :func:`~stmg_agents.step.evaluation.joint_policy_readout`
        shares: ``pi(a | s, superiors' actions, rank)`` as float64. ``agent`` is not read: the observation's
        ``rank`` says where the agent stands.

        Raises:
            TypeError: the action space is not ``Discrete``.
        """
        if not isinstance(self.action_space, spaces.Discrete):
            raise TypeError(f"action_probabilities needs a Discrete action space, got {self.action_space}.")
        tensors, _ = self.policy.obs_to_tensor(self.canonical_observation(observation))
        with th.no_grad():
            probabilities = self.policy.action_probabilities(tensors)
        return probabilities.cpu().numpy().astype(np.float64)[0]

    def predict_symmetric(
        self, observation: dict[str, Any], order: Sequence[Any], deterministic: bool = True
    ) -> tuple[Any, dict[Any, Any]]:
        """Symmetric (decentralised) execution: recompute the superiors' greedy actions instead of receiving them.

        See :func:`stmg_agents.step.execution.symmetric_action`.
        """
        from stmg_agents.step.execution import symmetric_action

        return symmetric_action(self, observation, order, deterministic=deterministic)

    def slot_encoding(self, agent: int, action: Any) -> np.ndarray:
        """The ``prior_actions`` slot content of agent index ``agent`` playing ``action`` (the STMG's encoding)."""
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            out = np.zeros(int(space.n), dtype=np.float32)
            out[int(action) - int(space.start)] = 1.0
            return out
        clipped = np.clip(np.asarray(action, dtype=np.float32).reshape(space.shape), space.low, space.high)  # type: ignore[attr-defined]
        return clipped.astype(np.float32).reshape(-1)
