"""Oracles & Followers (Gerstgrasser & Parkes 2023) on the iterated 2x2 games, and their Q-learning baseline.

Oracles & Followers (O&F; code: ``mgerstgrasser/oracles_and_followers``) learn a Stackelberg
equilibrium in which the leader commits to a *policy*, here an action for each of its memory
states of an iterated 2x2 game (``stmg/IteratedMatrix-v0``, :mod:`stmg_envs.equilibria.iterated`),
and the follower best-responds to that policy over the whole episode. Their contextual follower
(the "oracle") is told the leader's policy: its observation carries the leader's answers to
*queries*, the leader's action in each memory state. Training runs in three phases:

1. **Pre-training**: the follower trains while the leader's policy is redrawn every episode,
   until its regret against every deterministic memory-1 leader is below ``regret_tolerance``
   of the follower's payoff range (``episode_length * (max - min)`` of its stage payoffs), or
   until the phase's share of the budget is spent.
2. **Leader training**: the leader trains against the frozen follower, who answers each of the
   leader's committed policies greedily.
3. **Re-training**: the follower trains against the final leader, to check that it still
   best-responds (:attr:`OraclesAndFollowers.retrain_regret`).

Both learners are policy gradient, undiscounted (gamma 1) over complete episodes, as O&F's.

* The **follower** is a softmax policy of features of (its memory state, the leader's answers):
  a linear model by default (``follower_hidden_sizes=()``), or an MLP with tanh hidden layers.
  ``follower_features``: ``"concat"`` is O&F's input, the one-hot memory state beside the answers
  (a linear model of it cannot make the answers matter differently in different memory states);
  ``"outer"`` the one-hot memory state times ``[1, answers]`` (a linear model whose weights of
  the answers depend on the memory state); ``"onehot"`` (default) one-hot over (memory state,
  leader policy): a linear model of it is a table of the follower's reply to every leader
  policy, which does not generalise across leaders but can represent every best response. REINFORCE (O&F's RLlib ``PG``)
  with Adam, an entropy bonus and a baseline, the running mean of the return-to-go per (time step, joint state,
  leader policy). The follower is time-blind (it observes its memory state, not the time step),
  as O&F's: its regret is measured against the best *memory-1* reply
  (:func:`~stmg_envs.equilibria.iterated.follower_best_response` with ``follower="memory-1"``).
* The **leader** is a softmax table over its memory states (a linear model of the one-hot memory
  state, as O&F's). Each episode it draws a deterministic policy from it (an action per memory
  state; these are its answers to the queries) and plays that policy; REINFORCE over the episode
  return with the batch mean as baseline and normalised advantages, Adam. Its *committed* policy
  (what :meth:`act` plays) is the greedy one.

How this differs from the STMG setting: in the STMG a leader commits to one action per time step
and the follower sees it before answering; here the leader commits to a whole memory-1 policy
before the episode and the follower knows that policy (not the leader's current action; being
deterministic, it implies it). This is why the algorithm plays the simultaneous form (``form =
"simultaneous"``: each agent acts on its own one-hot memory state), and why the follower's
:meth:`act` reads the leader's committed policy. ``possible_agents[0]`` (``agent_0``, the row
player) is the leader, as in the solver; the harness's priority order is not used.

Where this differs from O&F's code: O&F's leader answers queries with samples of its stochastic
policy and samples its actions again during the episode; here the leader plays the answers it gave
(a deterministic commitment drawn per episode). Their pre-training redraws the leader's linear weights
uniformly in [-1, 1]; with one-hot inputs and independent answers that draws every deterministic
leader policy with equal probability, which is what is drawn here. O&F stop pre-training when the
summed regret is 0; here when the largest regret is below the tolerance. The episodes are simulated
in NumPy, many at once, with the dynamics of the environment ``make_env`` gives (the game is read
from it; :func:`simulate` plays exactly its rewards and memory states, which the tests check).

Steps. ``learn(total_timesteps)`` counts joint environment steps over all phases: pre-training
takes at most ``pretrain_share`` of them (less when the regret target is met early), re-training
``retrain_share``, the leader the rest. Each update plays whole episodes, so a phase may overrun its
share by less than one batch.

The baseline (:class:`QLearningFollower`, O&F's ``TabularQWrapper``): no pre-training; for every
leader episode the follower starts a fresh Q-table (entries drawn from N(0, ``q_init_std``)) and
runs ``q_episodes`` episodes of tabular Q-learning against the leader's committed policy
(epsilon-greedy, gamma 1, over its own memory state), then plays one more episode greedily; the
leader learns from that last episode's return (the same learner as above). Every step of the inner
Q-learning episodes counts towards ``total_timesteps``: the same cap means the same environment steps.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines.oracles_followers import OraclesAndFollowers
    >>> make_env = lambda: pettingzoo.make("parallel", "stmg/IteratedMatrix-v0", game="bots")
    >>> model = OraclesAndFollowers(make_env, seed=0).learn(4_000)
    >>> model.committed_policy(), model.follower_policy(model.committed_policy())
    ((0,), (0,))

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces

from stmg_agents.baselines.config import KeywordConfig, _expect_choice, _expect_float, _expect_int, check_hidden_sizes
from stmg_agents.baselines.persistence import read_archive, write_archive
from stmg_envs.equilibria.iterated import (
    IteratedGame,
    follower_best_response,
    leader_policies,
    memory_view,
    num_memory_states,
    play,
)

__all__ = [
    "LeaderConfig",
    "OAFConfig",
    "QLearningFollowerConfig",
    "OraclesAndFollowers",
    "QLearningFollower",
    "simulate",
    "follower_regrets",
]

FollowerFeatures = Literal["concat", "outer", "onehot"]
_FEATURES: tuple[str, ...] = ("concat", "outer", "onehot")


# ---------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class LeaderConfig(KeywordConfig):
    """What both algorithms share: the leader's learner.

    Attributes:
        leader_learning_rate: Adam step size of the leader's logits.
        leader_batch_episodes: Leader episodes per leader update (O&F: 1,000 steps = 100 episodes of 10).
    """

    leader_learning_rate: float = 0.05
    leader_batch_episodes: int = 100

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` naming the field, what it expects and what it got."""
        _expect_float("leader_learning_rate", self.leader_learning_rate, 0.0, math.inf, low_open=True)
        _expect_int("leader_batch_episodes", self.leader_batch_episodes, 1)


@dataclass(frozen=True)
class OAFConfig(LeaderConfig):
    """Hyper-parameters of :class:`OraclesAndFollowers` (O&F's where they apply: follower ``PG``, lr 0.02,
    100-step batches; linear models).

    Attributes:
        n_envs: Follower episodes per follower update (O&F: 100 steps = 10 episodes of 10).
        follower_learning_rate: Adam step size of the follower (O&F: 0.02).
        follower_features: ``"onehot"``, ``"outer"`` or ``"concat"`` (see the module docstring; ``"outer"`` and O&F's
            ``"concat"`` stayed at regret 8 on the IPD on seeds >= 1000, ``"onehot"`` reached 0).
        follower_hidden_sizes: Hidden tanh layers of the follower; ``()`` is a linear model (O&F's).
        ent_coef: Entropy bonus of the follower's policy gradient (O&F's ``PG``: none; chosen on seeds >= 1000).
        baseline_rate: Step of the follower's running-mean baseline, in (0, 1].
        pretrain_share: Most of ``learn``'s steps that pre-training may take, in [0, 1).
        retrain_share: ``learn``'s steps of re-training against the final leader, in [0, 1).
        regret_tolerance: Pre-training stops once every regret is below this share of the payoff range.
        regret_check_interval: Follower updates between two regret checks.
    """

    n_envs: int = 10
    follower_learning_rate: float = 0.02
    follower_features: FollowerFeatures = "onehot"
    follower_hidden_sizes: tuple[int, ...] = ()
    ent_coef: float = 0.01
    baseline_rate: float = 0.1
    pretrain_share: float = 0.5
    retrain_share: float = 0.05
    regret_tolerance: float = 0.01
    regret_check_interval: int = 10

    tuple_fields = ("follower_hidden_sizes",)  # a list given for it is stored as a tuple (KeywordConfig)

    def validate(self) -> None:
        super().validate()
        _expect_int("n_envs", self.n_envs, 1)
        _expect_int("regret_check_interval", self.regret_check_interval, 1)
        _expect_float("follower_learning_rate", self.follower_learning_rate, 0.0, math.inf, low_open=True)
        _expect_choice("follower_features", self.follower_features, _FEATURES)
        if self.follower_hidden_sizes != ():
            check_hidden_sizes(self.follower_hidden_sizes)
        _expect_float("ent_coef", self.ent_coef, 0.0, math.inf)
        _expect_float("baseline_rate", self.baseline_rate, 0.0, 1.0, low_open=True)
        _expect_float("pretrain_share", self.pretrain_share, 0.0, 1.0)
        _expect_float("retrain_share", self.retrain_share, 0.0, 1.0)
        _expect_float("regret_tolerance", self.regret_tolerance, 0.0, 1.0)
        if self.pretrain_share + self.retrain_share >= 1.0:
            raise ValueError(
                f"expected `pretrain_share` + `retrain_share` < 1 (the rest trains the leader), got "
                f"{self.pretrain_share} + {self.retrain_share}."
            )


@dataclass(frozen=True)
class QLearningFollowerConfig(LeaderConfig):
    """Hyper-parameters of :class:`QLearningFollower` (O&F's ``ipd_allmatrices_ppo_tabularq``: 80 Q-learning
    episodes, alpha 0.01, epsilon 1, gamma 1, Q-table drawn from N(0, 0.01)).

    Attributes:
        leader_batch_episodes: Leader episodes per leader update, played at once, each with its own follower
            Q-table (O&F: 8,000 steps = 800 leader episodes of 10; here 10 by default, since every Q-learning
            step counts too: with 800, a 2M-step budget would give the leader 3 updates).
        q_episodes: Q-learning episodes of the follower inside each leader episode.
        q_learning_rate: The follower's Q-learning step size, in (0, 1].
        q_epsilon: The follower's exploration rate during Q-learning, in [0, 1].
        q_init_std: Standard deviation of the Q-table's initial entries (0: zeros).
    """

    leader_batch_episodes: int = 10
    q_episodes: int = 80
    q_learning_rate: float = 0.01
    q_epsilon: float = 1.0
    q_init_std: float = 0.01

    def validate(self) -> None:
        super().validate()
        _expect_int("q_episodes", self.q_episodes, 1)
        _expect_float("q_learning_rate", self.q_learning_rate, 0.0, 1.0, low_open=True)
        _expect_float("q_epsilon", self.q_epsilon, 0.0, 1.0)
        _expect_float("q_init_std", self.q_init_std, 0.0, math.inf)


# ---------------------------------------------------------------------------------------------- the game
def _game_of(make_env: Callable[[], Any], who: str) -> tuple[IteratedGame, list[Any]]:
    """The iterated game behind ``make_env()`` and its agents, or a ``ValueError`` saying what is wrong."""
    from pettingzoo import AECEnv

    from stmg_envs.matrix.iterated import IteratedMatrixGame

    env = make_env()
    try:
        agents = list(env.possible_agents)
        if len(agents) != 2:
            raise ValueError(
                f"{who} is for two-agent games (a leader and a follower): expected 2 agents, got {len(agents)} "
                f"({agents}). Use stmg/IteratedMatrix-v0, or STEP / seq-ppo for more agents."
            )
        for agent in agents:
            space = env.action_space(agent)
            if not isinstance(space, spaces.Discrete) or int(space.n) != 2:
                raise ValueError(
                    f"{who} needs Discrete(2) actions (the iterated 2x2 games); expected Discrete(2) for agent "
                    f"{agent!r}, got {space}."
                )
        if isinstance(env, AECEnv):
            raise ValueError(
                f"{who} plays the simultaneous form: expected make_env() to return a ParallelEnv "
                f"(pettingzoo.make('parallel', 'stmg/IteratedMatrix-v0', ...)), got the AECEnv "
                f"{type(env).__name__}. Its form is 'simultaneous'; the harness builds that form for it."
            )
        game_env = getattr(env, "unwrapped", env)
        if not isinstance(game_env, IteratedMatrixGame):
            raise ValueError(
                f"{who} needs an iterated 2x2 game with memory (stmg/IteratedMatrix-v0): the leader commits to "
                f"an action per memory state, which needs the game's memory states; expected an "
                f"IteratedMatrixGame, got {type(game_env).__name__}. Use pettingzoo.make('parallel', "
                "'stmg/IteratedMatrix-v0', game=...) (or payoffs=...)."
            )
        return game_env.game, agents
    finally:
        env.close()


def _policy_index(bits: np.ndarray) -> np.ndarray:
    """Rows of 0/1 answers -> their index in :func:`~stmg_envs.equilibria.iterated.leader_policies` (lexicographic)."""
    n = bits.shape[-1]
    return bits @ (1 << np.arange(n - 1, -1, -1))


def simulate(
    game: IteratedGame,
    leader: np.ndarray,
    follower: Callable[[int, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Play one episode of ``len(leader)`` copies of ``game`` at once, as ``stmg/IteratedMatrix-v0`` does.

    Args:
        game: the game.
        leader: int array ``(B, n)``: each copy's leader policy (an action per leader memory state).
        follower: ``follower(t, memory_states) -> actions``, both ``(B,)``: the follower's action per copy.

    Returns:
        ``(joint_states, follower_actions, rewards_leader, rewards_follower)``, each ``(B, T)``: the joint
        state each step starts in, the follower's action and both rewards (offset included).
    """
    view, rewards = memory_view(game.memory), game.rewards
    batch, steps = leader.shape[0], game.episode_length
    rows = np.arange(batch)
    state = np.zeros(batch, dtype=np.int64)
    out_s = np.empty((batch, steps), dtype=np.int64)
    out_a = np.empty((batch, steps), dtype=np.int64)
    out_r = np.empty((2, batch, steps))
    for t in range(steps):
        out_s[:, t] = state
        a0 = leader[rows, view[0, state]]
        a1 = follower(t, view[1, state])
        out_a[:, t] = a1
        out_r[0, :, t] = rewards[0, a0, a1]
        out_r[1, :, t] = rewards[1, a0, a1]
        state = 1 + a0 + 2 * a1
    return out_s, out_a, out_r[0], out_r[1]


def follower_regrets(game: IteratedGame, replies: np.ndarray, best_values: np.ndarray | None = None) -> np.ndarray:
    """The follower's regret against every deterministic memory-1 leader, with the exact solver.

    ``replies[k]``: the follower's (deterministic, memory-1) reply to ``leader_policies(game)[k]``.
    Regret = the best memory-1 reply's value (:func:`follower_best_response`) minus the value of
    ``replies[k]`` (:func:`play`). ``best_values`` may pass the first term, precomputed.

    Examples:
        >>> from stmg_envs.equilibria.iterated import iterated_game
        >>> game = iterated_game("bots")  # one shot: the follower should match the leader's action
        >>> follower_regrets(game, np.array([[0], [0]])).tolist()  # right against 0, wrong against 1
        [0.0, 1.0]
    """
    policies = leader_policies(game)
    if best_values is None:
        best_values = np.array([follower_best_response(game, p, follower="memory-1").follower_value for p in policies])
    achieved = np.array([play(game, p, replies[k]).follower_value for k, p in enumerate(policies)])
    return np.asarray(best_values - achieved)


# ---------------------------------------------------------------------------------------------- learners
class _Adam:
    """Adam over a list of arrays (in place); ``step`` *descends* the given gradients."""

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.lr, self.betas, self.eps = lr, betas, 1e-8
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        scale = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for param, grad, mean, square in zip(params, grads, self.m, self.v):
            mean *= b1  # noqa: PLW2901  (in place: the moment arrays are updated, not rebound)
            mean += (1 - b1) * grad  # noqa: PLW2901
            square *= b2  # noqa: PLW2901
            square += (1 - b2) * grad * grad  # noqa: PLW2901
            param -= scale * mean / (np.sqrt(square) + self.eps)  # noqa: PLW2901

    def arrays(self) -> list[np.ndarray]:
        return [*self.m, *self.v, np.array([self.t])]

    def load(self, arrays: list[np.ndarray]) -> None:
        n = len(self.m)
        for target, source in zip(self.m + self.v, arrays[: 2 * n]):
            target[...] = source
        self.t = int(arrays[2 * n][0])


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


class _LeaderTable:
    """The leader: logits ``(n, 2)`` over its memory states, REINFORCE on episode returns, Adam."""

    def __init__(self, n_states: int, lr: float) -> None:
        self.logits = np.zeros((n_states, 2))
        self.adam = _Adam([self.logits], lr)

    def probabilities(self) -> np.ndarray:
        return _softmax(self.logits)

    def draw(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """``(batch, n)`` deterministic policies drawn from the table (one answer per memory state)."""
        p1 = self.probabilities()[:, 1]
        return (rng.random((batch, p1.size)) < p1).astype(np.int64)

    def greedy(self) -> np.ndarray:
        return np.asarray(self.logits.argmax(axis=1), dtype=np.int64)  # ties to action 0

    def update(self, drawn: np.ndarray, returns: np.ndarray) -> None:
        """One REINFORCE step: advantages ``returns - mean``, normalised; ascent on ``mean(A * log pi(drawn))``."""
        advantages = returns - returns.mean()
        std = advantages.std()
        if std < 1e-8:
            return  # every drawn policy did equally well: no direction
        advantages /= std
        onehot = np.stack([1 - drawn, drawn], axis=-1)  # (B, n, 2)
        grad = (advantages[:, None, None] * (onehot - self.probabilities())).mean(axis=0)
        self.adam.step([self.logits], [-grad])


class _FollowerNet:
    """The contextual follower: an MLP (tanh hidden layers, none = linear) from features to 2 logits."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], lr: float, rng: np.random.Generator) -> None:
        self.params: list[np.ndarray] = []
        widths = [in_dim, *hidden]
        for a, b in itertools.pairwise(widths):
            self.params += [rng.normal(0.0, 1.0 / math.sqrt(a), (a, b)), np.zeros(b)]
        self.params += [np.zeros((widths[-1], 2)), np.zeros(2)]  # a uniform policy at the start
        self.adam = _Adam(self.params, lr)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        activations = [x]
        for i in range(0, len(self.params) - 2, 2):
            x = np.tanh(x @ self.params[i] + self.params[i + 1])
            activations.append(x)
        return x @ self.params[-2] + self.params[-1], activations

    def update(self, x: np.ndarray, actions: np.ndarray, advantages: np.ndarray, ent_coef: float = 0.0) -> None:
        """One REINFORCE step: ascent on ``mean(A * log pi(a | x)) + ent_coef * mean(entropy(pi(. | x)))``."""
        logits, activations = self.forward(x)
        onehot = np.eye(2)[actions]
        probs = _softmax(logits)
        delta = -(advantages[:, None] * (onehot - probs)) / len(actions)  # d(loss)/d(logits)
        if ent_coef:
            log_p = np.log(np.clip(probs, 1e-12, None))
            entropy = -(probs * log_p).sum(axis=1, keepdims=True)
            delta += ent_coef * probs * (log_p + entropy) / len(actions)  # minus d(entropy)/d(logits)
        grads: list[np.ndarray] = []
        n_layers = len(self.params) // 2
        for layer in reversed(range(n_layers)):
            h = activations[layer]
            grads = [h.T @ delta, delta.sum(axis=0), *grads]
            if layer > 0:
                delta = (delta @ self.params[2 * layer].T) * (1 - h * h)
        self.adam.step(self.params, grads)


# ---------------------------------------------------------------------------------------------- the algorithms
class _CommittedLeaderAlgorithm:
    """What both algorithms share: the game, the leader's learner, the contract's ``act``, save/load."""

    form: ClassVar[str] = "simultaneous"
    name: ClassVar[str] = ""
    config_class: ClassVar[type[LeaderConfig]] = LeaderConfig
    _ALGORITHM: ClassVar[str] = ""

    def __init__(self, make_env: Callable[[], Any], seed: int = 0, **hyperparameters: Any) -> None:
        self.config = self.config_class.from_kwargs(hyperparameters)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"expected seed to be an int, got {seed!r}.")
        self.seed = int(seed)
        self.make_env = make_env
        self.game, self.agents = _game_of(make_env, type(self).__name__)
        self.leader, self.follower = self.agents
        self.n_states = num_memory_states(self.game.memory)
        self.policies = np.array(leader_policies(self.game), dtype=np.int64)  # (2**n, n), lexicographic
        #: The best memory-1 reply's value against each deterministic leader (the regret's reference).
        self.best_values = np.array(
            [follower_best_response(self.game, p, follower="memory-1").follower_value for p in self.policies]
        )
        stage = self.game.rewards[1]
        #: The follower's payoff range over an episode: what ``regret_tolerance`` is a share of.
        self.payoff_range = float(self.game.episode_length * (stage.max() - stage.min()))
        self._rng = np.random.default_rng(self.seed)
        self._leader = _LeaderTable(self.n_states, self.config.leader_learning_rate)
        self.num_timesteps = 0
        self.leader_timesteps = 0
        self.leader_episodes = 0

    # ------------------------------------------------------------------ reading the policies
    def committed_policy(self) -> tuple[int, ...]:
        """The leader's committed (greedy) policy: an action per leader memory state."""
        return tuple(int(a) for a in self._leader.greedy())

    def follower_policy(self, leader_policy: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """The follower's greedy reply (an action per follower memory state) to ``leader_policy`` (default: the
        committed one)."""
        raise NotImplementedError

    def _follower_probabilities(self, memory_state: int) -> np.ndarray:
        out = np.zeros(2)
        out[self.follower_policy()[memory_state]] = 1.0
        return out

    def _memory_state(self, agent: Any, observation: Any) -> int:
        if agent not in self.agents:
            raise ValueError(f"expected an agent of {self.agents}, got {agent!r}.")
        values = np.asarray(observation, dtype=np.float64).ravel()
        if values.size < self.n_states:
            raise ValueError(
                f"expected the game's observation, a one-hot memory state of length {self.n_states}, got shape "
                f"{np.shape(observation)}."
            )
        return int(values[: self.n_states].argmax())

    def act(self, agent: Any, observation: Any) -> int:
        """The greedy action: the leader's committed answer in its memory state; the follower's reply to it."""
        m = self._memory_state(agent, observation)
        if agent == self.leader:
            return self.committed_policy()[m]
        return self.follower_policy()[m]

    def action_probabilities(self, agent: Any, observation: Any) -> np.ndarray:
        """The leader's table in its memory state; the follower's policy given the leader's committed policy."""
        m = self._memory_state(agent, observation)
        if agent == self.leader:
            return np.asarray(self._leader.probabilities()[m], dtype=np.float64)
        return self._follower_probabilities(m)

    # ------------------------------------------------------------------ the leader's phase
    def _leader_returns(self, drawn: np.ndarray) -> np.ndarray:
        """Play one leader episode per drawn policy; the leader's returns (and count the steps)."""
        raise NotImplementedError

    def _leader_phase(self, budget: int, callback: Callable[[int], Any] | None) -> bool:
        """Train the leader for ``budget`` more steps (whole batches); ``False`` if the callback stopped."""
        start = self.num_timesteps
        while self.num_timesteps - start < budget:
            drawn = self._leader.draw(self._rng, self.config.leader_batch_episodes)
            returns = self._leader_returns(drawn)
            self.leader_episodes += len(drawn)
            self._leader.update(drawn, returns)
            if callback is not None and callback(self.num_timesteps) is False:
                return False
        return True

    # ------------------------------------------------------------------ the contract's learn
    @staticmethod
    def _check_budget(total_timesteps: Any) -> int:
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        if total_timesteps < 0:
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        return int(total_timesteps)

    # ------------------------------------------------------------------ save / load
    def _arrays(self) -> dict[str, np.ndarray]:
        out = {"leader_logits": self._leader.logits}
        out.update({f"leader_adam_{i}": a for i, a in enumerate(self._leader.adam.arrays())})
        return out

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self._leader.logits[...] = arrays["leader_logits"]
        self._leader.adam.load([arrays[f"leader_adam_{i}"] for i in range(3)])

    def _counters(self) -> dict[str, Any]:
        return {
            "num_timesteps": self.num_timesteps,
            "leader_timesteps": self.leader_timesteps,
            "leader_episodes": self.leader_episodes,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the learners, their optimiser states, settings, counters and random state (``load`` reads them)."""
        arrays = io.BytesIO()
        np.savez(arrays, **self._arrays())  # type: ignore[arg-type]  # numpy's stub mistakes the arrays for allow_pickle
        meta = {
            "algorithm": self._ALGORITHM,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "agents": [str(a) for a in self.agents],
            "game": {
                "payoffs": self.game.payoffs.tolist(),
                "memory": self.game.memory,
                "episode_length": self.game.episode_length,
                "reward_offset": self.game.reward_offset,
            },
            "counters": self._counters(),
            "rng": self._rng.bit_generator.state,
        }
        write_archive(path, meta, {"arrays.npz": arrays.getvalue()})

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: Callable[[], Any]) -> Any:
        """A model saved by :meth:`save`, attached to ``make_env``'s game (training continues exactly).

        Raises:
            ValueError: the file is not a save of this algorithm, is damaged, or is for another game.
        """
        try:
            meta, payload = read_archive(path)
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"expected a saved {cls._ALGORITHM}, got an unreadable or damaged file {path}: {exc}"
            ) from None
        if meta.get("algorithm") != cls._ALGORITHM or "arrays.npz" not in payload:
            raise ValueError(f"expected a saved {cls._ALGORITHM}, got a save of {meta.get('algorithm')!r}: {path}.")
        self = cls(make_env, seed=meta["seed"], **meta["config"])
        game = meta["game"]
        same = (
            np.array_equal(np.asarray(game["payoffs"]), self.game.payoffs)
            and game["memory"] == self.game.memory
            and game["episode_length"] == self.game.episode_length
            and game["reward_offset"] == self.game.reward_offset
        )
        if not same or [str(a) for a in self.agents] != meta["agents"]:
            raise ValueError(
                f"the save {path} is for another game ({game['memory']} memory, {game['episode_length']} steps, "
                f"agents {meta['agents']}); make_env() gives {self.game.name!r} with agents {self.agents}."
            )
        try:
            with np.load(io.BytesIO(payload["arrays.npz"])) as stored:
                self._load_arrays({k: stored[k] for k in stored.files})
        except (KeyError, ValueError, OSError, EOFError) as exc:
            raise ValueError(f"expected a saved {cls._ALGORITHM}, got a damaged file {path}: {exc}") from None
        for key, value in meta["counters"].items():
            setattr(self, key, value)
        self._rng.bit_generator.state = meta["rng"]
        return self

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(game={self.game.name!r}, committed={self.committed_policy()}, "
            f"num_timesteps={self.num_timesteps})"
        )


class OraclesAndFollowers(_CommittedLeaderAlgorithm):
    """Oracles & Followers: a pre-trained contextual follower, then the leader, then the follower re-trained.

    Written against :mod:`stmg_bench.contract` (``form = "simultaneous"``): the harness builds it as
    ``OraclesAndFollowers(make_env, seed=..., **hyperparameters)``; see the module docstring.

    Args:
        make_env: Returns a fresh ``stmg/IteratedMatrix-v0`` (a ``ParallelEnv``); ``agent_0`` leads.
        seed: Seed of the follower's initialisation, the leader draws and the follower's actions.
        **hyperparameters: The fields of :class:`OAFConfig`.

    Raises:
        TypeError: an unknown hyper-parameter (the message lists the known ones).
        ValueError: a bad value, a game that is not an iterated 2x2 game of two agents, an ``AECEnv``,
            actions that are not ``Discrete(2)``.

    Attributes:
        config: The :class:`OAFConfig`.
        pretrain_regret: The follower's largest regret over every deterministic leader at the last check
            (``nan`` before the first).
        pretrained: Whether pre-training met its target (every regret below the tolerance).
        retrain_regret: The follower's regret against the final leader after re-training (``nan`` before).
        num_timesteps, pretrain_timesteps, leader_timesteps, retrain_timesteps: Joint steps played, in all and
            per phase.
    """

    name: ClassVar[str] = "oaf"
    config_class: ClassVar[type[LeaderConfig]] = OAFConfig
    _ALGORITHM: ClassVar[str] = "OraclesAndFollowers"
    config: OAFConfig

    def __init__(self, make_env: Callable[[], Any], seed: int = 0, **hyperparameters: Any) -> None:
        super().__init__(make_env, seed, **hyperparameters)
        cfg = self.config
        self._features = self._feature_table(cfg.follower_features)  # (2**n, n, F)
        self._net = _FollowerNet(
            self._features.shape[-1], cfg.follower_hidden_sizes, cfg.follower_learning_rate, self._rng
        )
        #: Running mean of the follower's return-to-go per (time step, joint state, leader policy).
        self.baseline = np.zeros((self.game.episode_length, 5, len(self.policies)))
        self.tolerance = cfg.regret_tolerance * self.payoff_range
        self.pretrain_regret = math.nan
        self.pretrained = False
        self.retrain_regret = math.nan
        self.pretrain_timesteps = 0
        self.retrain_timesteps = 0
        self.n_updates = 0

    def _feature_table(self, kind: str) -> np.ndarray:
        """``table[k, m]``: the follower's input in memory state ``m`` when the leader plays policy ``k``."""
        n, k = self.n_states, len(self.policies)
        eye = np.eye(n)
        if kind == "onehot":
            return np.eye(k * n).reshape(k, n, k * n)
        answers = self.policies.astype(np.float64)
        if kind == "concat":
            return np.concatenate(
                [np.broadcast_to(eye, (k, n, n)), np.broadcast_to(answers[:, None, :], (k, n, n))], axis=-1
            )
        context = np.concatenate([np.ones((k, 1)), answers], axis=1)  # (k, n + 1)
        return (eye[None, :, :, None] * context[:, None, None, :]).reshape(k, n, n * (n + 1))

    # ------------------------------------------------------------------ the follower
    def _follower_logits(self, policy_index: np.ndarray, memory_state: np.ndarray) -> np.ndarray:
        return self._net.forward(self._features[policy_index, memory_state])[0]

    def greedy_replies(self) -> np.ndarray:
        """``(2**n, n)``: the follower's greedy reply to every deterministic leader (ties to action 0)."""
        k, n = self.policies.shape
        logits = self._net.forward(self._features.reshape(k * n, -1))[0]
        return np.asarray(logits.argmax(axis=1).reshape(k, n), dtype=np.int64)

    def follower_policy(self, leader_policy: tuple[int, ...] | None = None) -> tuple[int, ...]:
        bits = np.asarray(self.committed_policy() if leader_policy is None else leader_policy, dtype=np.int64)
        if bits.shape != (self.n_states,) or not set(bits.tolist()) <= {0, 1}:
            raise ValueError(f"expected a leader policy of {self.n_states} actions in {{0, 1}}, got {leader_policy!r}.")
        k = int(_policy_index(bits))
        logits = self._follower_logits(np.full(self.n_states, k), np.arange(self.n_states))
        return tuple(int(a) for a in logits.argmax(axis=1))

    def _follower_probabilities(self, memory_state: int) -> np.ndarray:
        k = int(_policy_index(np.asarray(self.committed_policy())))
        logits = self._follower_logits(np.array([k]), np.array([memory_state]))
        return np.asarray(_softmax(logits)[0], dtype=np.float64)

    def regrets(self) -> np.ndarray:
        """The follower's regret against every deterministic leader (:func:`follower_regrets`)."""
        return follower_regrets(self.game, self.greedy_replies(), self.best_values)

    def _follower_update(self, policy_index: np.ndarray) -> None:
        """Play one episode per leader policy index (the follower sampling its actions) and take a PG step."""
        rng, cfg = self._rng, self.config
        leader = self.policies[policy_index]
        contexts: list[np.ndarray] = []

        def follower(t: int, memory_state: np.ndarray) -> np.ndarray:
            contexts.append(memory_state)
            p1 = _softmax(self._follower_logits(policy_index, memory_state))[:, 1]
            return (rng.random(p1.size) < p1).astype(np.int64)

        states, actions, _, rewards = simulate(self.game, leader, follower)
        batch, steps = states.shape
        self.num_timesteps += batch * steps
        to_go = np.cumsum(rewards[:, ::-1], axis=1)[:, ::-1]  # gamma 1
        times = np.broadcast_to(np.arange(steps), (batch, steps))
        cells = np.ravel_multi_index((times, states, np.broadcast_to(policy_index[:, None], (batch, steps))),
                                     self.baseline.shape)  # fmt: skip
        flat = self.baseline.reshape(-1)
        advantages = (to_go - flat[cells]).reshape(-1)
        sums = np.bincount(cells.ravel(), weights=to_go.ravel(), minlength=flat.size)
        counts = np.bincount(cells.ravel(), minlength=flat.size)
        seen = counts > 0
        flat[seen] += cfg.baseline_rate * (sums[seen] / counts[seen] - flat[seen])
        memory = np.stack(contexts, axis=1)  # (B, T)
        x = self._features[np.broadcast_to(policy_index[:, None], (batch, steps)).ravel(), memory.ravel()]
        self._net.update(x, actions.ravel(), advantages, cfg.ent_coef)
        self.n_updates += 1

    # ------------------------------------------------------------------ the phases
    def _check_regret(self) -> bool:
        self.pretrain_regret = float(self.regrets().max())
        self.pretrained = self.pretrain_regret < self.tolerance or self.pretrain_regret == 0.0
        return self.pretrained

    def _pretrain(self, budget: int, callback: Callable[[int], Any] | None) -> bool:
        cfg = self.config
        start = self.num_timesteps
        if self._check_regret():
            return True
        updates = 0
        while self.num_timesteps - start < budget:
            self._follower_update(self._rng.integers(len(self.policies), size=cfg.n_envs))
            updates += 1
            self.pretrain_timesteps += self.game.episode_length * cfg.n_envs
            if updates % cfg.regret_check_interval == 0 and self._check_regret():
                break
            if callback is not None and callback(self.num_timesteps) is False:
                return False
        self._check_regret()
        return True

    def _leader_returns(self, drawn: np.ndarray) -> np.ndarray:
        replies = self.greedy_replies()  # the frozen follower answers every policy greedily
        index = _policy_index(drawn)
        _, _, rewards, _ = simulate(self.game, drawn, lambda t, m: replies[index, m])
        steps = rewards.size
        self.num_timesteps += steps
        self.leader_timesteps += steps
        return np.asarray(rewards.sum(axis=1))

    def _retrain(self, budget: int, callback: Callable[[int], Any] | None) -> bool:
        cfg = self.config
        start = self.num_timesteps
        k = int(_policy_index(np.asarray(self.committed_policy())))
        stopped = False
        while self.num_timesteps - start < budget:
            self._follower_update(np.full(cfg.n_envs, k))
            self.retrain_timesteps += self.game.episode_length * cfg.n_envs
            if callback is not None and callback(self.num_timesteps) is False:
                stopped = True
                break
        reply = np.array(self.follower_policy())
        self.retrain_regret = float(
            self.best_values[k] - play(self.game, self.committed_policy(), reply).follower_value
        )
        return not stopped

    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> OraclesAndFollowers:
        """Play ``total_timesteps`` more joint steps: pre-training, the leader, re-training (module docstring).

        ``callback(num_timesteps)`` runs after every update (of the follower or the leader); returning
        ``False`` stops.
        """
        total = self._check_budget(total_timesteps)
        cfg = self.config
        start = self.num_timesteps
        retrain = round(cfg.retrain_share * total)
        if not self._pretrain(round(cfg.pretrain_share * total), callback):
            return self
        if not self._leader_phase(total - retrain - (self.num_timesteps - start), callback):
            return self
        self._retrain(retrain, callback)
        return self

    # ------------------------------------------------------------------ save / load
    def _arrays(self) -> dict[str, np.ndarray]:
        out = super()._arrays()
        out.update({f"follower_{i}": p for i, p in enumerate(self._net.params)})
        out.update({f"follower_adam_{i}": a for i, a in enumerate(self._net.adam.arrays())})
        out["baseline"] = self.baseline
        return out

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._load_arrays(arrays)
        for i, p in enumerate(self._net.params):
            if arrays[f"follower_{i}"].shape != p.shape:
                raise ValueError(f"follower layer {i} has shape {arrays[f'follower_{i}'].shape}, expected {p.shape}")
            p[...] = arrays[f"follower_{i}"]
        self._net.adam.load([arrays[f"follower_adam_{i}"] for i in range(2 * len(self._net.params) + 1)])
        self.baseline[...] = arrays["baseline"]

    def _counters(self) -> dict[str, Any]:
        return {
            **super()._counters(),
            "pretrain_timesteps": self.pretrain_timesteps,
            "retrain_timesteps": self.retrain_timesteps,
            "n_updates": self.n_updates,
            "pretrained": self.pretrained,
            "pretrain_regret": None if math.isnan(self.pretrain_regret) else self.pretrain_regret,
            "retrain_regret": None if math.isnan(self.retrain_regret) else self.retrain_regret,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: Callable[[], Any]) -> OraclesAndFollowers:
        self = super().load(path, make_env)
        for key in ("pretrain_regret", "retrain_regret"):
            if getattr(self, key) is None:
                setattr(self, key, math.nan)
        return self  # type: ignore[no-any-return]


class QLearningFollower(_CommittedLeaderAlgorithm):
    """O&F's baseline: the follower runs tabular Q-learning inside every leader episode; the leader as in O&F.

    Written against :mod:`stmg_bench.contract` (``form = "simultaneous"``); see the module docstring.
    After training, the follower's reply to the committed leader is one more Q-learning run against it
    (counted in the steps), which :meth:`act` plays greedily.

    Args:
        make_env: Returns a fresh ``stmg/IteratedMatrix-v0`` (a ``ParallelEnv``); ``agent_0`` leads.
        seed: Seed of the leader draws and of the follower's Q-learning.
        **hyperparameters: The fields of :class:`QLearningFollowerConfig`.

    Raises:
        TypeError: an unknown hyper-parameter.
        ValueError: as :class:`OraclesAndFollowers`.

    Attributes:
        final_reply: The follower's greedy reply to the committed policy (``None`` before ``learn``).
        retrain_regret: Its regret (``nan`` before ``learn``).
    """

    name: ClassVar[str] = "oaf-tabularq"
    config_class: ClassVar[type[LeaderConfig]] = QLearningFollowerConfig
    _ALGORITHM: ClassVar[str] = "QLearningFollower"
    config: QLearningFollowerConfig

    def __init__(self, make_env: Callable[[], Any], seed: int = 0, **hyperparameters: Any) -> None:
        super().__init__(make_env, seed, **hyperparameters)
        self.final_reply: tuple[int, ...] | None = None
        self.retrain_regret = math.nan

    def q_learning(self, leader: np.ndarray) -> tuple[np.ndarray, int]:
        """Run the follower's Q-learning against each row of ``leader`` (its own fresh table per row).

        Returns:
            ``(replies, steps)``: the greedy reply ``(B, n)`` of each table at the end, and the steps played.
        """
        cfg, rng, game = self.config, self._rng, self.game
        batch, rows = len(leader), np.arange(len(leader))
        q = (
            rng.normal(0.0, cfg.q_init_std, (batch, self.n_states, 2))
            if cfg.q_init_std
            else np.zeros((batch, self.n_states, 2))
        )
        view, rewards = memory_view(game.memory), game.rewards
        for _ in range(cfg.q_episodes):
            state = np.zeros(batch, dtype=np.int64)
            for t in range(game.episode_length):
                m1 = view[1, state]
                a1 = q[rows, m1].argmax(axis=1)
                explore = rng.random(batch) < cfg.q_epsilon
                a1 = np.where(explore, rng.integers(2, size=batch), a1)
                a0 = leader[rows, view[0, state]]
                state = 1 + a0 + 2 * a1
                target = rewards[1, a0, a1]
                if t < game.episode_length - 1:  # at the episode's end no value of the next state
                    target = target + q[rows, view[1, state]].max(axis=1)
                q[rows, m1, a1] += cfg.q_learning_rate * (target - q[rows, m1, a1])
        return np.asarray(q.argmax(axis=2), dtype=np.int64), batch * cfg.q_episodes * game.episode_length

    def _leader_returns(self, drawn: np.ndarray) -> np.ndarray:
        replies, q_steps = self.q_learning(drawn)
        rows = np.arange(len(drawn))
        _, _, rewards, _ = simulate(self.game, drawn, lambda t, m: replies[rows, m])
        self.num_timesteps += q_steps + rewards.size
        self.leader_timesteps += rewards.size
        return np.asarray(rewards.sum(axis=1))

    def follower_policy(self, leader_policy: tuple[int, ...] | None = None) -> tuple[int, ...]:
        if leader_policy is not None and tuple(leader_policy) != self.committed_policy():
            raise ValueError(
                "QLearningFollower's follower has a reply to the committed leader policy only (it learns one per "
                f"leader episode); expected {self.committed_policy()} or None, got {leader_policy!r}."
            )
        if self.final_reply is None:
            return (0,) * self.n_states
        return self.final_reply

    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> QLearningFollower:
        """Play ``total_timesteps`` more joint steps (Q-learning episodes included), then the final reply.

        ``callback(num_timesteps)`` runs after every leader update and after the final reply; returning
        ``False`` stops (a stop during the leader's training skips the final reply).
        """
        total = self._check_budget(total_timesteps)
        final_steps = self.config.q_episodes * self.game.episode_length
        if not self._leader_phase(max(0, total - final_steps), callback):
            return self  # stopped: no final reply either
        committed = np.array([self.committed_policy()], dtype=np.int64)
        replies, steps = self.q_learning(committed)
        self.num_timesteps += steps
        self.final_reply = tuple(int(a) for a in replies[0])
        k = int(_policy_index(committed[0]))
        self.retrain_regret = float(
            self.best_values[k] - play(self.game, self.committed_policy(), self.final_reply).follower_value
        )
        if callback is not None:
            callback(self.num_timesteps)
        return self

    def _arrays(self) -> dict[str, np.ndarray]:
        out = super()._arrays()
        if self.final_reply is not None:
            out["final_reply"] = np.asarray(self.final_reply, dtype=np.int64)
        return out

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._load_arrays(arrays)
        if "final_reply" in arrays:
            self.final_reply = tuple(int(a) for a in arrays["final_reply"])

    def _counters(self) -> dict[str, Any]:
        regret = None if math.isnan(self.retrain_regret) else self.retrain_regret
        return {**super()._counters(), "retrain_regret": regret}

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: Callable[[], Any]) -> QLearningFollower:
        self = super().load(path, make_env)
        if self.retrain_regret is None:
            self.retrain_regret = math.nan
        return self  # type: ignore[no-any-return]


OraclesAndFollowers.__init__.__signature__ = OAFConfig.constructor_signature()  # type: ignore[attr-defined]
QLearningFollower.__init__.__signature__ = QLearningFollowerConfig.constructor_signature()  # type: ignore[attr-defined]
