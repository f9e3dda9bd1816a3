"""Hyper-parameters of the IPPO and MAPPO baselines, as frozen dataclasses.

The defaults follow the MAPPO settings that the STEP authors' follow-up code
uses for the matrix games (4 rollout environments, 25-step rollouts, learning
rate 5e-4, 5 epochs, one mini-batch, entropy 0.05, two hidden layers of 64,
clip 0.2, gamma 0.99, GAE lambda 0.95, max gradient norm 10), so that both
baselines run on the same budget as STEP.

Examples:
    >>> from stmg_agents.baselines import MAPPOConfig
    >>> config = MAPPOConfig(ent_coef=0.01)
    >>> config.rollout_joint_steps
    100
    >>> MAPPOConfig.from_kwargs({"lr": 1e-3})
    Traceback (most recent call last):
    ...
    TypeError: unknown hyper-parameter 'lr' for MAPPOConfig; did you mean 'learning_rate'? ...
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from stmg_agents.schedules import check_ent_coef

__all__ = [
    "KeywordConfig",
    "PPOFields",
    "SharedPPOConfig",
    "IPPOConfig",
    "MAPPOConfig",
    "Activation",
    "CriticInput",
    "check_hidden_sizes",
    "check_bools",
]

Activation = Literal["relu", "tanh"]
CriticInput = Literal["state", "concat_obs"]

_ConfigT = TypeVar("_ConfigT", bound="KeywordConfig")

#: Names used by SB3 and by the MAPPO reference code, mapped to ours (for error hints).
_ALIASES = {
    "lr": "learning_rate",
    "critic_lr": "critic_learning_rate",
    "n_rollout_threads": "n_envs",
    "episode_length": "n_steps",
    "ppo_epoch": "n_epochs",
    "num_mini_batch": "n_minibatches",
    "batch_size": "n_minibatches",
    "entropy_coef": "ent_coef",
    "value_loss_coef": "vf_coef",
    "clip_param": "clip_range",
    "gae": "gae_lambda",
    "hidden_size": "hidden_sizes",
    "net_arch": "hidden_sizes",
    "use_valuenorm": "value_norm",
    "use_huber_loss": "huber_delta",
    "use_feature_normalization": "feature_norm",
    "use_clipped_value_loss": "clip_value_loss",
}


def _expect_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"expected `{name}` to be an int >= {minimum}, got {value!r}.")


def _expect_float(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected `{name}` to be a finite number, got {value!r}.")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"expected `{name}` in {bracket}{low}, {high}], got {value!r}.")


def _expect_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"expected `{name}` to be one of {choices}, got {value!r}.")


def check_hidden_sizes(value: Any) -> None:
    """``hidden_sizes`` is a non-empty tuple of positive ints (a config turns a list into a tuple first)."""
    if (
        not isinstance(value, tuple)
        or not value
        or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in value)
    ):
        raise ValueError(
            f"expected `hidden_sizes` to be a non-empty tuple of positive ints such as (64, 64), got {value!r}."
        )


def check_bools(config: Any, *names: str) -> None:
    """Each named field of ``config`` is a bool (not 0 or 1)."""
    for name in names:
        if not isinstance(getattr(config, name), bool):
            raise ValueError(f"expected `{name}` to be a bool, got {getattr(config, name)!r}.")


class KeywordConfig:
    """What every algorithm's frozen config dataclass shares: built from keyword arguments, read back as a dict.

    A subclass is a frozen dataclass whose fields are the algorithm's hyperparameters, checked in its
    ``__post_init__``. :meth:`from_kwargs` refuses an unknown name with a hint (SB3's and the reference codes'
    names, :data:`_ALIASES`, or the closest field), :meth:`to_dict` gives the fields back JSON-friendly, and
    :meth:`constructor_signature` tells the harness (:func:`stmg_bench.contract.accepted_hyperparameters`) which
    names an algorithm that takes ``**hyperparameters`` accepts, so a suite's shared settings it has no use for
    are not passed to it.

    Checks go in :meth:`validate` (each subclass calls ``super().validate()`` first); ``__post_init__`` runs it
    once, after turning a list given for a field named in :attr:`tuple_fields` into a tuple.
    """

    #: The algorithm's name in error messages (default: the config class's name).
    algorithm_label: ClassVar[str | None] = None
    #: Tuple-typed fields that also accept a list, stored as a tuple before :meth:`validate` runs.
    tuple_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self.tuple_fields:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    def validate(self) -> None:
        """Check every field (run once, on construction); raise ``ValueError`` saying what was expected and what
        was given. The base checks nothing."""

    @classmethod
    def from_kwargs(cls: type[_ConfigT], hyper_parameters: Mapping[str, Any]) -> _ConfigT:
        """Build the config from keyword arguments, rejecting unknown names clearly.

        Args:
            hyper_parameters: Field names and values; a list given for ``hidden_sizes`` becomes a tuple.

        Returns:
            The validated config.

        Raises:
            TypeError: If a name is not a field of this config.
        """
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        label = cls.algorithm_label or cls.__name__
        for key in hyper_parameters:
            if key not in names:
                alias = _ALIASES.get(key)
                close = [alias] if alias in names else difflib.get_close_matches(key, names, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise TypeError(f"unknown hyper-parameter {key!r} for {label}; {hint}expected one of {names}.")
        values = dict(hyper_parameters)
        if isinstance(values.get("hidden_sizes"), list):
            values["hidden_sizes"] = tuple(values["hidden_sizes"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-friendly dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def constructor_signature(cls, *keywords: str) -> inspect.Signature:
        """``(self, make_env, seed=0, <keywords>=None, *, <every field with its default>)``: the signature of an
        algorithm's ``__init__`` that takes ``**hyperparameters`` and builds this config from them (``keywords``:
        the constructor's own arguments besides them, such as ``order``)."""
        parameter = inspect.Parameter
        params = [
            parameter("self", parameter.POSITIONAL_OR_KEYWORD),
            parameter("make_env", parameter.POSITIONAL_OR_KEYWORD),
            parameter("seed", parameter.POSITIONAL_OR_KEYWORD, default=0),
            *(parameter(name, parameter.POSITIONAL_OR_KEYWORD, default=None) for name in keywords),
        ]
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        params += [parameter(f.name, parameter.KEYWORD_ONLY, default=f.default) for f in fields]
        return inspect.Signature(params)


@dataclass(frozen=True)
class PPOFields(KeywordConfig):
    """The PPO settings of every PPO-family config (MAPPO/IPPO, HAPPO, MAT): one name, doc and check for each.

    The nine fields below are declared here, in this order, and come first in every subclass (a subclass
    re-declares one only to change its default). The other shared settings are declared by the subclasses that
    have them, where each wants it in its field order, and are documented and checked here when declared:
    one name per setting across the algorithms.

    Attributes:
        n_envs: Copies of the environment stepped in lock-step per rollout (MAPPO's and HARL's
            ``n_rollout_threads``).
        n_steps: Joint steps per environment copy per rollout (MAPPO's and HARL's ``episode_length``); one
            update uses ``n_envs * n_steps`` joint steps.
        learning_rate: Adam step size.
        n_epochs: Passes over each rollout (MAPPO's ``ppo_epoch``).
        n_minibatches: Mini-batches per epoch.
        gamma: Discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO ratio clip.
        ent_coef: Entropy bonus coefficient, or ``(start, end)``: a bonus that moves linearly from ``start``
            at the start of ``learn`` to ``end`` at its end (:mod:`stmg_agents.schedules`; a list is
            stored as a tuple).
        vf_coef: Value-loss coefficient.
        max_grad_norm: Gradient-norm clip.
        hidden_sizes: Hidden layer widths of the actor(s) and of the critic.
        activation: ``"relu"`` (MAPPO's and HARL's default) or ``"tanh"`` (SB3's default).
        normalize_advantage: Standardise the advantages.
        adam_eps: Adam epsilon (MAPPO uses 1e-5).
        agent_indicator: Append a one-hot agent id to each agent's observation, so that a shared network can act
            differently per agent.
        feature_norm: LayerNorm on the network inputs (MAPPO's and HARL's ``use_feature_normalization``).
        value_norm: Normalise value targets with running statistics (MAPPO's ValueNorm, HARL's ``use_valuenorm``).
        huber_delta: Huber-loss threshold of the value loss; None uses squared error.
        clip_value_loss: Clip the value update around the rollout's values.
    """

    n_envs: int = 4
    n_steps: int = 25
    learning_rate: float = 5e-4
    n_epochs: int = 5
    n_minibatches: int = 1
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float | tuple[float, float] = 0.01

    def validate(self) -> None:
        """Check the PPO fields this config has (a list ``ent_coef`` becomes a tuple); subclasses add their own."""
        super().validate()
        for name in ("n_envs", "n_steps", "n_epochs", "n_minibatches"):
            _expect_int(name, getattr(self, name), 1)
        _expect_float("learning_rate", self.learning_rate, 0.0, math.inf, low_open=True)
        _expect_float("gamma", self.gamma, 0.0, 1.0)
        _expect_float("gae_lambda", self.gae_lambda, 0.0, 1.0)
        _expect_float("clip_range", self.clip_range, 0.0, math.inf, low_open=True)
        object.__setattr__(self, "ent_coef", check_ent_coef(self.ent_coef, "`ent_coef`", allow_callable=False))
        # the shared settings a subclass declares (in its own field order), checked here by name
        declared = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        if "vf_coef" in declared:
            _expect_float("vf_coef", declared["vf_coef"], 0.0, math.inf)
        for name, high in (("max_grad_norm", math.inf), ("adam_eps", 1.0)):
            if name in declared:
                _expect_float(name, declared[name], 0.0, high, low_open=True)
        if "hidden_sizes" in declared:
            check_hidden_sizes(declared["hidden_sizes"])
        if "activation" in declared:
            _expect_choice("activation", declared["activation"], ("relu", "tanh"))
        if declared.get("huber_delta") is not None:
            _expect_float("huber_delta", declared["huber_delta"], 0.0, math.inf, low_open=True)
        flags = ("normalize_advantage", "agent_indicator", "feature_norm", "value_norm", "clip_value_loss")
        check_bools(self, *(name for name in flags if name in declared))

    def check_minibatches_fit(self, what: str, hint: str = "") -> None:
        """Raise unless ``n_minibatches <= n_envs * n_steps`` (``what``: those samples; ``hint``: how to fix)."""
        if self.n_minibatches > self.n_envs * self.n_steps:
            raise ValueError(
                f"expected `n_minibatches` <= n_envs * n_steps = {self.n_envs * self.n_steps} ({what}), "
                f"got {self.n_minibatches}{hint}."
            )


@dataclass(frozen=True)
class SharedPPOConfig(PPOFields):
    """PPO hyper-parameters shared by :class:`IPPOConfig` and :class:`MAPPOConfig` (besides :class:`PPOFields`').

    Attributes:
        learning_rate: Adam step size (actor and critic).
        n_minibatches: Mini-batches per epoch; must divide the number of
            agent-samples of a rollout.
        hidden_sizes: Hidden layer widths of the actor and of the critic.
        normalize_advantage: Standardise advantages per mini-batch.
        torch_num_threads: Deprecated (removed in the next release): torch's thread count is the
            caller's setting (:mod:`stmg_agents.threads`; the benchmark harness runs every trial with
            one thread). A number warns when the agent is built and sets that many threads during
            ``learn`` only (restored afterwards); ``None``, the default, leaves the count alone.
    """

    ent_coef: float | tuple[float, float] = 0.05
    vf_coef: float = 1.0
    max_grad_norm: float = 10.0
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: Activation = "relu"
    normalize_advantage: bool = True
    adam_eps: float = 1e-5
    agent_indicator: bool = True
    torch_num_threads: int | None = None

    def validate(self) -> None:
        super().validate()
        if self.torch_num_threads is not None:
            _expect_int("torch_num_threads", self.torch_num_threads, 1)

    @property
    def rollout_joint_steps(self) -> int:
        """Joint (temporal) steps collected per update: ``n_envs * n_steps``."""
        return self.n_envs * self.n_steps

    def check_minibatches(self, n_agents: int) -> int:
        """Return the mini-batch size for ``n_agents`` agents, or raise if it is not whole.

        Args:
            n_agents: Number of agents sharing the policy.

        Returns:
            Agent-samples per mini-batch.

        Raises:
            ValueError: If ``n_minibatches`` does not divide ``n_envs * n_steps * n_agents``.
        """
        samples = self.rollout_joint_steps * n_agents
        if samples % self.n_minibatches:
            raise ValueError(
                f"expected `n_minibatches` to divide the {samples} agent-samples of a rollout "
                f"(n_envs * n_steps * n_agents = {self.n_envs} * {self.n_steps} * {n_agents}), "
                f"got n_minibatches={self.n_minibatches}."
            )
        return samples // self.n_minibatches


@dataclass(frozen=True)
class IPPOConfig(SharedPPOConfig):
    """Hyper-parameters of :class:`~stmg_agents.baselines.IPPO` (see :class:`SharedPPOConfig`).

    IPPO trains one SB3 ``PPO`` whose actor and critic both see only the
    agent's own observation (plus the agent indicator), shared by all agents.

    Examples:
        >>> IPPOConfig(n_envs=2).rollout_joint_steps
        50
    """


@dataclass(frozen=True)
class MAPPOConfig(SharedPPOConfig):
    """Hyper-parameters of :class:`~stmg_agents.baselines.MAPPO`.

    ``clip_value_loss``, ``value_norm``, ``huber_delta`` and ``feature_norm`` are documented by :class:`PPOFields`.

    Attributes (besides those of :class:`SharedPPOConfig`):
        critic_learning_rate: Critic step size; None uses ``learning_rate``.
        critic_input: ``"state"`` feeds ``parallel_env.state()`` to the critic;
            ``"concat_obs"`` feeds the concatenation of every agent's encoded
            observation (for environments without ``state()``).

    Examples:
        >>> MAPPOConfig(critic_input="concat_obs").critic_input
        'concat_obs'
    """

    critic_learning_rate: float | None = None
    critic_input: CriticInput = "state"
    clip_value_loss: bool = True
    value_norm: bool = True
    huber_delta: float | None = 10.0
    feature_norm: bool = True

    def validate(self) -> None:
        super().validate()
        if self.critic_learning_rate is not None:
            _expect_float("critic_learning_rate", self.critic_learning_rate, 0.0, math.inf, low_open=True)
        _expect_choice("critic_input", self.critic_input, ("state", "concat_obs"))
