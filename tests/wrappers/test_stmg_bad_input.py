"""Bad input to the STMG wrapper raises a clear error and leaves the environment usable and unchanged."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test.example_envs import generated_agents_parallel_v0
from pettingzoo.utils.conversions import parallel_to_aec

from stmg_envs import InvalidActionError, InvalidOrderError, stmg_v0
from stmg_envs.matrix import MatrixGame, penalty
from tests.wrappers.toy_env import ToyParallelEnv, mixed_specs


def snapshot(env) -> dict:
    """Everything observable about an STMG at this moment."""
    return copy.deepcopy(
        {
            "agent_selection": env.agent_selection,
            "agents": list(env.agents),
            "rewards": env.rewards,
            "cumulative": env._cumulative_rewards,
            "terminations": env.terminations,
            "truncations": env.truncations,
            "infos": env.infos,
            "order": env.order,
            "time_steps": env.num_time_steps,
            "observations": {a: env.observe(a) for a in env.possible_agents},
        }
    )


def assert_same_snapshot(a: dict, b: dict) -> None:
    from stmg_envs.testing import assert_same

    assert_same(a, b, "snapshot")


def toy_env_at(agent: str):
    env = stmg_v0(ToyParallelEnv(mixed_specs()), order=[agent, *[a for a in mixed_specs() if a != agent]])
    env.reset(seed=0)
    return env


VALID = {"disc_0": 1, "box_1": np.array([0.5, 1.5], np.float32), "multi_2": np.array([1, 2])}
BAD_ACTIONS = [
    ("disc_0", 3, "Discrete"),
    ("disc_0", -1, "Discrete"),
    ("disc_0", 1.0, "an integer"),
    ("disc_0", True, "an integer"),
    ("disc_0", "1", "an integer"),
    ("disc_0", np.array([1]), "an integer"),
    ("box_1", np.array([np.nan, 0.0], np.float32), "finite"),
    ("box_1", np.array([0.0, np.inf]), "finite"),
    ("box_1", np.array([0.0, 2.5], np.float32), "bounds"),
    ("box_1", np.array([0.0, 0.0, 0.0], np.float32), "shape"),
    ("box_1", np.array(["a", "b"]), "real-valued"),
    ("box_1", np.array([1 + 1j, 0]), "real-valued"),
    ("box_1", None, "None is only for"),
    ("multi_2", np.array([2, 0]), "MultiDiscrete"),
    ("multi_2", np.array([0.0, 1.0]), "integer array"),
    ("multi_2", 1, "integer array"),
]


@pytest.mark.parametrize("agent,action,fragment", BAD_ACTIONS, ids=[f"{a}-{v!r}" for a, v, _ in BAD_ACTIONS])
def test_invalid_action_raises_and_changes_nothing(agent, action, fragment):
    """An action outside the acting agent's space raises InvalidActionError naming agent and value; state is unchanged."""
    env = toy_env_at(agent)
    before = snapshot(env)
    with pytest.raises(InvalidActionError) as info:
        env.step(action)
    message = str(info.value)
    assert repr(agent) in message and fragment in message
    assert_same_snapshot(before, snapshot(env))
    env.step(VALID[agent])  # the environment is still usable
    assert env.agent_selection != agent


def test_invalid_action_on_the_last_agent_does_not_step_the_parallel_env():
    """A bad action by the agent that would complete the time step leaves the parallel env untouched."""
    toy = ToyParallelEnv(mixed_specs())
    env = stmg_v0(toy)
    env.reset(seed=0)
    env.step(VALID["disc_0"])
    env.step(VALID["box_1"])
    before = snapshot(env)
    with pytest.raises(InvalidActionError):
        env.step(np.array([5, 5]))
    assert toy.log == [] and env.num_time_steps == 0
    assert_same_snapshot(before, snapshot(env))
    env.step(VALID["multi_2"])
    assert len(toy.log) == 1


def test_use_before_reset_raises():
    """step, observe, last, state, render, agent_iter and per-episode attributes before reset() raise clearly."""
    env = stmg_v0(penalty())
    for call in (lambda: env.step(0), lambda: env.observe("agent_0"), env.last, env.state, env.render, env.agent_iter):
        with pytest.raises(RuntimeError, match="call reset"):
            call()
    with pytest.raises(AttributeError, match="before reset"):
        env.agent_selection  # noqa: B018
    with pytest.raises(RuntimeError, match="call reset"):
        env.order  # noqa: B018


def test_step_after_the_episode_ended_raises_and_reset_recovers():
    """Stepping once every agent is gone raises; reset() starts a new episode."""
    env = stmg_v0(penalty(episode_length=1))
    env.reset(seed=0)
    for agent in env.agent_iter():  # noqa: B007
        _, _, term, trunc, _ = env.last()
        env.step(None if term or trunc else 0)
    with pytest.raises(RuntimeError, match="episode ended"):
        env.step(0)
    env.reset()
    env.step(0)


def test_agent_iter_requires_a_step_per_agent():
    """Like PettingZoo's order enforcement: iterating agent_iter without stepping is an error."""
    env = stmg_v0(penalty())
    env.reset(seed=0)
    it = env.agent_iter()
    next(it)
    with pytest.raises(RuntimeError, match="call step"):
        next(it)


@pytest.mark.parametrize(
    "order,fragment",
    [
        (["agent_0", "agent_9"], "unknown agents ['agent_9']"),
        (["agent_0"], "missing agents ['agent_1']"),
        (["agent_0", "agent_1", "agent_0"], "repeated agents ['agent_0']"),
    ],
)
def test_bad_fixed_order_rejected_at_construction(order, fragment):
    """A fixed order with unknown, missing or repeated agents raises InvalidOrderError naming them."""
    with pytest.raises(InvalidOrderError) as info:
        stmg_v0(penalty(), order=order)
    assert fragment in str(info.value)


@pytest.mark.parametrize("order", ["sorted", 3, {"agent_0": 0}])
def test_order_of_the_wrong_kind_rejected(order):
    """order must be None, 'random', a sequence or a callable."""
    with pytest.raises((TypeError, InvalidOrderError), match="expected"):
        stmg_v0(penalty(), order=order)


@pytest.mark.parametrize(
    "bad",
    [
        lambda env, rng: ["agent_0"],
        lambda env, rng: ["agent_0", "agent_0"],
        lambda env, rng: ["agent_0", "nobody"],
        lambda env, rng: None,
        lambda env, rng: 1 / 0,
    ],
    ids=["missing", "repeated", "unknown", "none", "raises"],
)
def test_order_callable_returning_nonsense(bad):
    """A callable order that returns nonsense (or raises) gives InvalidOrderError; reset recovers."""
    calls = {"n": 0}

    def order(env, rng):
        calls["n"] += 1
        return bad(env, rng) if calls["n"] > 1 else list(env.agents)

    game = penalty()
    env = stmg_v0(game, order=order)
    env.reset(seed=0)  # first call fine
    env.step(0)
    with pytest.raises(InvalidOrderError, match="order callable"):
        env.step(0)  # the time step happens, then the order for the next one is nonsense
    with pytest.raises(RuntimeError, match="order callable failed"):
        env.step(0)
    calls["n"] = 0
    env.reset(seed=1)
    env.step(0)


def test_order_callable_nonsense_at_reset():
    """A callable that fails at reset() raises and the env stays un-reset (no half-started episode)."""
    env = stmg_v0(penalty(), order=lambda env, rng: ["agent_1"])
    with pytest.raises(InvalidOrderError, match="missing agents"):
        env.reset(seed=0)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


@pytest.mark.parametrize(
    "env,fragment",
    [
        (parallel_to_aec(penalty()), "convert it with"),
        ("stmg/Penalty-v0", "expected a pettingzoo.ParallelEnv"),
        (generated_agents_parallel_v0.parallel_env(), "possible_agents"),
    ],
    ids=["aec-env", "string", "no-possible-agents"],
)
def test_wrong_env_type(env, fragment):
    """stmg_v0 needs a ParallelEnv with possible_agents; anything else is a TypeError that says so."""
    with pytest.raises(TypeError, match=fragment):
        stmg_v0(env)


def test_bad_flatten_and_unknown_agents():
    """flatten must be a bool; observe/encode_action of unknown agents raise KeyError naming the agent."""
    with pytest.raises(TypeError, match="flatten"):
        stmg_v0(penalty(), flatten="yes")
    env = stmg_v0(penalty())
    env.reset(seed=0)
    with pytest.raises(KeyError, match="nobody"):
        env.observe("nobody")
    with pytest.raises(KeyError, match="nobody"):
        env.encode_action("nobody", 0)
    with pytest.raises(InvalidActionError):
        env.encode_action("agent_0", 5)


def test_dead_step_errors():
    """None for a live agent and an action for a dead one are both rejected without side effects."""
    game = MatrixGame(np.zeros((2, 2, 2)), episode_length=1)
    env = stmg_v0(game)
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="None is only for"):
        env.step(None)
    env.step(0)
    env.step(1)
    before = snapshot(env)
    with pytest.raises(InvalidActionError, match="only action is None"):
        env.step(0)
    assert_same_snapshot(before, snapshot(env))
    env.step(None)
    env.step(None)
    assert env.agents == []


def test_box_action_with_int_or_float64_values_is_accepted_and_cast():
    """Real arrays of another numeric dtype within bounds are valid and reach the env in the space's dtype."""
    toy = ToyParallelEnv({"b_0": ToyParallelEnv(mixed_specs()).specs["box_1"], "d_1": mixed_specs()["disc_0"]})
    env = stmg_v0(toy)
    env.reset(seed=0)
    env.step(np.array([1, 2]))  # int64 within [-1, 2]
    env.step(np.int64(2))
    assert toy.log[-1]["b_0"].dtype == np.float32 and toy.log[-1]["d_1"] == 2
    assert isinstance(env.observation_space("b_0"), spaces.Dict)
