"""Semantics of the batched forms: bad input, copies whose live agents differ, autoreset, orders, seeds, spaces."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gymnasium import spaces

from stmg_envs import InvalidActionError, InvalidOrderError, stmg_v0
from stmg_envs.matrix import MatrixGame, mixing, penalty
from stmg_envs.vector import (
    BatchedParallel,
    BatchedSTMG,
    GenericBackend,
    RankObservation,
    batched_parallel,
    batched_stmg,
    make_backend,
)
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS
from tests.wrappers.toy_env import AgentSpec, ToyParallelEnv


def _toy_factory(specs_per_copy):
    """A factory whose n-th env gets the n-th specs (copies whose agents behave differently)."""
    counter = itertools.count()

    def make():
        return ToyParallelEnv(specs_per_copy[next(counter) % len(specs_per_copy)], episode_length=4)

    return make


def _three_agents(**agent_1):
    return {
        "agent_0": AgentSpec(spaces.Discrete(3)),
        "agent_1": AgentSpec(spaces.Discrete(3), **agent_1),
        "agent_2": AgentSpec(spaces.Discrete(3)),
    }


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros(3, dtype=np.int64), "expected an array of shape (4,) (one action per copy) with an integer dtype"),
        (np.zeros((4, 1), dtype=np.int64), "got an array of shape (4, 1) and dtype int64"),
        (np.zeros(4, dtype=np.float32), "with an integer dtype, got an array of shape (4,) and dtype float32"),
        (np.zeros(4, dtype=bool), "with an integer dtype"),
        (
            np.array([0, 1, 3, 0]),
            "expected copy 2's action (agent 'agent_1', Discrete(3)) to be an integer in [0, 2], got 3",
        ),
        (np.array([0, -1, 0, 0]), "expected copy 1's action"),
        ("a", "expected an array of shape (4,)"),
    ],
)
def test_bad_actions_raise_and_change_nothing(actions, message):
    """A bad actions array raises InvalidActionError saying what was expected and what came; the batch is
    unchanged and goes on exactly as a batch that never saw the bad actions."""
    venv, twin = (batched_stmg(lambda: mixing(episode_length=3), 4) for _ in range(2))
    venv.reset(seed=3)
    twin.reset(seed=3)
    venv.step(np.array([0, 1, 2, 0]))
    twin.step(np.array([0, 1, 2, 0]))
    before = venv.observe()
    with pytest.raises(InvalidActionError) as info:
        venv.step(actions)
    assert message in str(info.value)
    assert venv.rank == 1
    for a, b in zip(venv.observe(), before):
        np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    for _ in range(7):
        actions = rng.integers(0, 3, size=4)
        (obs_a, done_a), (obs_b, done_b) = venv.step(actions), twin.step(actions)
        for a, b in zip(obs_a, obs_b):
            np.testing.assert_array_equal(a, b)
        assert (done_a is None) == (done_b is None)
        if done_a is not None:
            np.testing.assert_array_equal(done_a.rewards, done_b.rewards)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, "to hold finite values"),
        (np.inf, "to hold finite values"),
        (1.5, "to hold values within its bounds (actions are not clipped)"),
    ],
)
def test_bad_box_actions_raise(bad, message):
    """Box actions must be finite and within the acting agent's bounds; rows of inactive copies are not read."""
    specs = {f"agent_{i}": AgentSpec(spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)) for i in range(2)}
    venv = batched_stmg(lambda: ToyParallelEnv(specs), 3, backend="generic")
    venv.reset(seed=0)
    actions = np.zeros((3, 2), dtype=np.float32)
    actions[1, 0] = bad
    with pytest.raises(InvalidActionError, match="expected copy 1's action") as info:
        venv.step(actions)
    assert message in str(info.value)
    with pytest.raises(InvalidActionError, match=r"expected an array of shape \(3, 2\)"):
        venv.step(np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(InvalidActionError, match="with a real dtype"):
        venv.step(np.zeros((3, 2), dtype=bool))
    venv.step(np.zeros((3, 2), dtype=np.float64))  # real dtypes are cast


def test_bad_joint_actions_raise_and_change_nothing():
    """The simultaneous form checks the whole joint action before stepping any copy."""
    venv = batched_parallel(penalty, 2)
    venv.reset(seed=0)
    with pytest.raises(
        InvalidActionError, match=r"expected an array of shape \(2, 2\) \(one action per copy and agent"
    ):
        venv.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(InvalidActionError, match="expected copy 1's action \\(agent 'agent_1'"):
        venv.step(np.array([[0, 0], [0, 7]]))
    assert venv.backend._t.tolist() == [0, 0]
    out = venv.step(np.array([[0, 2], [2, 0]]))
    assert out.rewards.tolist() == [[10.0, 10.0], [8.0, 8.0]]


def test_use_before_reset_raises():
    """Stepping or observing before reset() is a RuntimeError that says to call reset()."""
    venv = batched_stmg(penalty, 2)
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        venv.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        venv.observe()
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        batched_parallel(penalty, 2).step(np.zeros((2, 2), dtype=np.int64))


@pytest.mark.parametrize("seed", [1.5, "0", [0], [0, 1, 2], True])
def test_bad_seeds_raise(seed):
    """reset(seed=...) takes None, an integer or one seed per copy; anything else is a TypeError."""
    with pytest.raises(TypeError, match="expected seed to be None, an integer"):
        batched_stmg(penalty, 2).reset(seed=seed)


def test_a_seed_per_copy():
    """reset(seed=[...]) seeds each copy with its own seed (and its order RNG): copy k of seed=s is seed=s+k."""
    venv_a = batched_stmg(mixing, 3, order="random")
    venv_b = batched_stmg(mixing, 3, order="random")
    venv_a.reset(seed=10)
    venv_b.reset(seed=[10, 11, 12])
    np.testing.assert_array_equal(venv_a.orders, venv_b.orders)
    reference = stmg_v0(mixing(), order="random")
    reference.reset(seed=12)
    assert venv_a.orders[2].tolist() == [reference.possible_agents.index(a) for a in reference.order]


@pytest.mark.parametrize(
    ("spaces_of", "message"),
    [
        (
            {"agent_0": spaces.Discrete(2), "agent_1": spaces.Box(-1, 1, (1,))},
            "expected every agent to have a Discrete action space, or every agent a Box of one shape",
        ),
        (
            {"agent_0": spaces.Box(-1, 1, (1,)), "agent_1": spaces.Box(-1, 1, (2,))},
            "expected Box action spaces of one shape and dtype",
        ),
    ],
)
def test_unstackable_action_spaces_are_refused(spaces_of, message):
    """Action spaces the batch cannot stack are refused at construction with what is accepted."""
    specs = {agent: AgentSpec(space) for agent, space in spaces_of.items()}
    with pytest.raises(TypeError, match=message):
        batched_stmg(lambda: ToyParallelEnv(specs), 2, backend="generic")


def test_dict_observations_are_refused():
    """Dict observations (an action mask) are refused with a clear message, not stacked wrongly."""
    specs = {"agent_0": AgentSpec(spaces.Discrete(2), with_action_mask=True), "agent_1": AgentSpec(spaces.Discrete(2))}
    with pytest.raises(TypeError, match="expected array observations"):
        batched_stmg(lambda: ToyParallelEnv(specs), 2)


def test_bad_constructor_arguments():
    """A bad number of copies, backend name, factory or order is refused when the batch is built."""
    with pytest.raises(ValueError, match="expected num_copies to be an integer >= 1, got 0"):
        batched_stmg(penalty, 0)
    with pytest.raises(ValueError, match="expected backend to be one of"):
        batched_stmg(penalty, 2, backend="fast")
    with pytest.raises(ValueError, match="the numpy backend runs the matrix games"):
        batched_stmg(lambda: ToyParallelEnv(_three_agents()), 2, backend="numpy")
    with pytest.raises(TypeError, match="expected a factory returning a pettingzoo.ParallelEnv"):
        batched_stmg(lambda: stmg_v0(penalty()), 2)
    with pytest.raises(InvalidOrderError):
        batched_stmg(penalty, 2, order="sideways")
    env = penalty()
    with pytest.raises(ValueError, match="a new env on each call"):
        batched_stmg(lambda: env, 2, backend="generic")


# ---------------------------------------------------------------------- spaces
def test_spaces_are_those_of_stmg_v0():
    """One row of a rank's observations is an element of stmg_v0's observation space (the same Dict when the
    agents' observations agree), keyed by OBSERVATION_KEYS."""
    venv = batched_stmg(mixing, 3)
    reference = stmg_v0(mixing())
    assert venv.single_observation_space == reference.observation_space("agent_0")
    assert venv.single_action_space == reference.action_space("agent_0")
    obs, _ = venv.reset(seed=0)
    assert isinstance(obs, RankObservation) and tuple(obs.as_dict()) == OBSERVATION_KEYS
    for k in range(3):
        row = {key: (value[k] if key != "rank" else np.int64(value[k])) for key, value in obs.as_dict().items()}
        assert venv.single_observation_space.contains(row)


def test_padded_observations():
    """Agents whose observations differ in length are zero-padded to the longest, in one Box."""
    specs = {"agent_0": AgentSpec(spaces.Discrete(2), obs_size=1), "agent_1": AgentSpec(spaces.Discrete(2), obs_size=3)}
    venv = batched_parallel(lambda: ToyParallelEnv(specs), 2)
    assert venv.layout.padded and venv.single_observation_space.shape == (3,)
    first, _ = venv.reset(seed=0)
    assert first.observation.shape == (2, 2, 3)
    np.testing.assert_array_equal(first.observation[:, 0, 1:], 0.0)
    np.testing.assert_array_equal(first.observation[:, 1], -0.5)


# ---------------------------------------------------------------------- live agents that differ
def test_copies_whose_live_agents_differ():
    """An agent that terminates early leaves its copy only: that copy plays on with fewer ranks (its row is
    inactive, zero, and its action is not read at the missing rank) while the other copies keep all agents."""
    venv = batched_stmg(_toy_factory([_three_agents(terminates_at=1), _three_agents()]), 2, backend="generic")
    obs, _ = venv.reset(seed=0)
    assert venv.num_ranks == 3
    for _ in range(3):
        obs, done = venv.step(np.array([1, 1]))
    assert done is not None
    assert done.terminations.tolist() == [[False, True, False], [False, False, False]]
    assert venv.live.tolist() == [[True, False, True], [True, True, True]]
    assert venv.orders.tolist() == [[0, 2, -1], [0, 1, 2]]
    assert venv.ranks.tolist() == [[0, -1, 1], [0, 1, 2]]
    assert venv.num_ranks == 3
    obs, _ = venv.step(np.array([2, 2]))
    assert obs.agent.tolist() == [2, 1] and obs.active.tolist() == [True, True]
    obs, done = venv.step(np.array([0, 0]))
    assert obs.agent.tolist() == [-1, 2] and obs.active.tolist() == [False, True]
    assert not obs.observation[0].any() and not obs.prior_actions[0].any() and not obs.prior_mask[0].any()
    assert obs.prior_mask[1].tolist() == [1, 1, 0]
    obs, done = venv.step(np.array([99, 1]))  # copy 0 has no agent at rank 2: its value is never read
    assert done is not None
    assert done.acted.tolist() == [[True, False, True], [True, True, True]]
    assert done.ranks.tolist() == [[0, -1, 1], [0, 1, 2]]
    log_0, log_1 = venv.backend.envs[0].log, venv.backend.envs[1].log
    assert log_0[-1] == {"agent_0": 2, "agent_2": 0} and log_1[-1] == {"agent_0": 2, "agent_1": 0, "agent_2": 1}


class _Vanishing(ToyParallelEnv):
    """agent_1 leaves after the first step without a termination or truncation flag."""

    def step(self, actions):
        out = super().step(actions)
        if self.t == 1:
            self.agents = [a for a in self.agents if a != "agent_1"]
        return out


def test_an_agent_gone_without_a_flag_counts_as_terminated():
    """An agent that the env drops without a flag is reported terminated (as stmg_v0 does) and acts no more."""
    venv = batched_stmg(lambda: _Vanishing(_three_agents(), episode_length=4), 2, backend="generic")
    venv.reset(seed=0)
    for _ in range(3):
        _, done = venv.step(np.zeros(2, dtype=np.int64))
    assert done.terminations[:, 1].all() and not done.truncations.any()
    assert venv.live[:, 1].tolist() == [False, False] and venv.num_ranks == 2
    reference = stmg_v0(_Vanishing(_three_agents(), episode_length=4))
    reference.reset(seed=0)
    for _ in range(3):
        reference.step(0)
    assert reference.terminations["agent_1"]


def test_agents_that_appear_join_the_next_time_step():
    """An agent the env adds after a step joins the order of the next time step of its copy."""
    specs = {"agent_0": AgentSpec(spaces.Discrete(2)), "agent_1": AgentSpec(spaces.Discrete(2), appears_at=1)}
    venv = batched_stmg(_toy_factory([specs, {**specs, "agent_1": AgentSpec(spaces.Discrete(2))}]), 2)
    obs, _ = venv.reset(seed=0)
    assert venv.orders.tolist() == [[0, -1], [0, 1]]
    obs, _ = venv.step(np.zeros(2, dtype=np.int64))
    assert obs.active.tolist() == [False, True]
    obs, done = venv.step(np.zeros(2, dtype=np.int64))
    assert done.acted.tolist() == [[True, False], [True, True]]
    assert venv.orders.tolist() == [[0, 1], [0, 1]]


# ---------------------------------------------------------------------- autoreset
def test_autoreset_same_step():
    """A copy whose episode ends is reset in the same call (Gymnasium's SAME_STEP): the observations returned
    are the new episode's first, the ended episode's last ones are in final_observation."""
    specs = {f"agent_{i}": AgentSpec(spaces.Discrete(2), obs_size=1) for i in range(2)}
    venv = batched_stmg(_toy_factory([specs]), 2)
    venv.reset(seed=0)
    for t in range(4):
        venv.step(np.zeros(2, dtype=np.int64))
        obs, done = venv.step(np.zeros(2, dtype=np.int64))
        assert done.episode_over.tolist() == [t == 3, t == 3]
    assert done.truncations.all()
    np.testing.assert_array_equal(done.final_observation[:, :, 0], [[4.0, 3.5], [4.0, 3.5]])  # t = 4
    np.testing.assert_array_equal(obs.observation[:, 0], 0.0)  # t = 0 of the new episode
    assert obs.rank.tolist() == [0, 0] and venv.live.all()
    assert done.reset_infos == {
        0: {"agent_0": {"t": 0}, "agent_1": {"t": 0}},
        1: {"agent_0": {"t": 0}, "agent_1": {"t": 0}},
    }
    assert done.infos[0]["agent_1"] == {"t": 4}
    assert [env.reset_count for env in venv.backend.envs] == [2, 2]


def test_random_orders_are_drawn_per_copy_and_episode():
    """With order="random" each copy draws its own order at every episode start and keeps it for the episode."""
    venv = batched_stmg(lambda: penalty(episode_length=2), 64, order="random")
    venv.reset(seed=5)
    first = venv.orders
    assert 0 < (first[:, 0] == 0).sum() < 64
    venv.step(np.zeros(64, dtype=np.int64))
    venv.step(np.zeros(64, dtype=np.int64))
    np.testing.assert_array_equal(venv.orders, first)  # same episode
    venv.step(np.zeros(64, dtype=np.int64))
    _, done = venv.step(np.zeros(64, dtype=np.int64))
    assert done.episode_over.all()
    assert not np.array_equal(venv.orders, first)  # new episodes, new draws


def test_a_failing_order_callable_stops_the_batch():
    """An order callable that returns a wrong order raises InvalidOrderError, and the batch must be reset."""
    calls = itertools.count()

    def order(env, rng):
        return ["agent_0", "agent_1"] if next(calls) < 2 else ["agent_0"]

    venv = batched_stmg(penalty, 2, order=order)
    venv.reset(seed=0)
    venv.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(InvalidOrderError, match="missing agents"):
        venv.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(RuntimeError, match="order callable failed in copy 0"):
        venv.observe()


def test_a_callable_order_in_a_native_backend_gets_a_copy_view():
    """With a native backend an order callable receives a CopyView of its copy (live agents, index) and the RNG."""
    seen = []

    def order(env, rng):
        seen.append((env.index, env.agents, isinstance(rng, np.random.Generator)))
        return env.agents[::-1]

    venv = batched_stmg(penalty, 2, order=order)
    assert type(venv.backend).__name__ == "MatrixBackend"
    venv.reset(seed=0)
    assert seen == [(0, ["agent_0", "agent_1"], True), (1, ["agent_0", "agent_1"], True)]
    assert venv.orders.tolist() == [[1, 0], [1, 0]]


def test_make_backend_by_task_id_and_repr():
    """A registered task id builds its copies (with its keyword arguments); the batches say what they hold."""
    assert make_backend("stmg/Penalty-v0", 2, env_kwargs={"k": -7.0}).game.payoffs[0, 0, 0] == -7.0
    with pytest.raises(ValueError, match="env_kwargs configure a registered task id"):
        make_backend(penalty, 2, env_kwargs={"k": -7.0})
    backend = make_backend("stmg/Mixing-v0", 3)
    venv = BatchedSTMG(backend, order="reversed")
    assert "num_copies=3" in repr(venv) and "MatrixBackend" in repr(venv)
    assert "GenericBackend" in repr(
        BatchedParallel(make_backend(lambda: MatrixGame(common_payoff=[[1]]), 2, "generic"))
    )
    assert isinstance(make_backend("stmg/IteratedMatrix-v0", 2), GenericBackend)


def test_global_state():
    """state() stacks every copy's global state; final_state keeps it from before an autoreset; a task without a
    state says so."""
    venv = batched_parallel(lambda: ToyParallelEnv(_three_agents(), episode_length=2), 2, backend="generic")
    assert venv.single_state_space.shape == (1,)
    venv.reset(seed=0)
    out = venv.step(np.zeros((2, 3), dtype=np.int64))
    assert out.final_state is None and venv.state().tolist() == [[1.0], [1.0]]
    out = venv.step(np.zeros((2, 3), dtype=np.int64))
    assert out.episode_over.all() and out.final_state.tolist() == [[2.0], [2.0]]
    assert venv.state().tolist() == [[0.0], [0.0]]

    class _Stateless(ToyParallelEnv):
        def __post_init__(self):
            super().__post_init__()
            del self.state_space

    stateless = batched_stmg(lambda: _Stateless(_three_agents()), 2)
    assert stateless.single_state_space is None
    stateless.reset(seed=0)
    with pytest.raises(NotImplementedError, match="the task has no global state"):
        stateless.state()
