"""The one vocabulary of priority orders (stmg_envs/wrappers/priority_order.py): names, sequences and ``a+b``."""

from __future__ import annotations

import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_envs import stmg_v0
from stmg_envs.matrix import penalty
from stmg_envs.matrix.generators import generate
from stmg_envs.wrappers.priority_order import ORDER_NAMES, InvalidOrderError, parse_order

AGENTS = ["agent_0", "agent_1", "agent_2"]


def first_order(env) -> tuple:
    env.reset(seed=0)
    return tuple(env.order)


@pytest.mark.parametrize(
    "spec,expected",
    [
        (None, ("agent_0", "agent_1", "agent_2")),
        ("possible_agents", ("agent_0", "agent_1", "agent_2")),
        ("reversed", ("agent_2", "agent_1", "agent_0")),
        ("agent_1+agent_2+agent_0", ("agent_1", "agent_2", "agent_0")),
        (["agent_1", "agent_2", "agent_0"], ("agent_1", "agent_2", "agent_0")),
    ],
)
def test_every_spelling_of_a_fixed_order_reaches_the_stmg(spec, expected):
    """stmg_v0 and pettingzoo.make("aec", ..., order=) take the names, a sequence and the command line's ``a+b``:
    each gives the order parse_order gives (``stmg_v0(order="reversed")`` used to be refused)."""
    assert parse_order(spec, AGENTS) == expected
    payoffs = generate("team-trap:3:0").payoffs
    assert first_order(stmg_v0(pettingzoo.make("parallel", "stmg/Matrix-v0", payoffs=payoffs), order=spec)) == expected
    assert first_order(pettingzoo.make("aec", "stmg/Matrix-v0", payoffs=payoffs, order=spec)) == expected


def test_random_is_named_and_drawn_per_episode():
    """``random`` parses to itself and the STMG draws an order per episode from the seed."""
    assert ORDER_NAMES == ("possible_agents", "reversed", "random")
    assert parse_order("random", AGENTS) == "random"
    env = stmg_v0(penalty(), order="random")
    orders = set()
    for seed in range(20):
        env.reset(seed=seed)
        orders.add(tuple(env.order))
    assert orders == {("agent_0", "agent_1"), ("agent_1", "agent_0")}


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("reverse", "got 'reverse': neither an order's name nor agents"),
        ("agent_1+agent_0", "got 'agent_1+agent_0': missing agents ['agent_2']"),
        ("agent_0+agent_0+agent_1+agent_2", "repeated agents ['agent_0']"),
        ("agent_0+agent_1+agent_9", "unknown agents ['agent_9']; missing agents ['agent_2']"),
    ],
)
def test_a_bad_order_names_the_vocabulary_in_the_command_lines_spelling(spec, fragment):
    """A typo or a wrong set of agents raises InvalidOrderError saying what is accepted (names, agents joined by
    '+', with an example), what was given and what is wrong: never a "comma-separated" syntax."""
    with pytest.raises(InvalidOrderError) as info:
        parse_order(spec, AGENTS, "--orders")
    message = str(info.value)
    assert message.startswith("--orders expected an order: one of possible_agents, reversed, random")
    assert "joined by '+'" in message and "agent_2+agent_1+agent_0" in message and fragment in message
    assert "comma" not in message
    with pytest.raises(InvalidOrderError, match="stmg_v0"):
        stmg_v0(pettingzoo.make("parallel", "stmg/Matrix-v0", payoffs=generate("team-trap:3:0").payoffs), order=spec)


@pytest.mark.parametrize("spec", [3, {"agent_0": 0}, b"agent_0"])
def test_an_order_of_no_accepted_kind_is_a_type_error(spec):
    """A number, a mapping or bytes is no order: TypeError listing every accepted kind."""
    with pytest.raises(TypeError, match="expected an order: None, one of 'possible_agents', 'reversed', 'random'"):
        parse_order(spec, AGENTS)
