"""Tests of stmg_envs.mujoco.partitions: valid agent_confs and the joint partitions."""

from __future__ import annotations

import pytest

from stmg_envs.mujoco.partitions import (
    CUSTOM_PARTITIONS,
    SCENARIOS,
    agent_factorization,
    check_agent_conf,
    valid_agent_confs,
)


def test_the_papers_sub_scenarios_are_valid_with_the_paper_defaults_first():
    """Each robot accepts the paper's three agent_confs, and its default is the first listed."""
    assert valid_agent_confs("Ant")[:3] == ("2x4", "4x2", "8x1")
    assert valid_agent_confs("HalfCheetah") == ("2x3", "3x2", "6x1")
    assert valid_agent_confs("ManySegmentAnt") == ("2x3", "3x2", "6x1")
    for scenario, confs in SCENARIOS.items():
        for conf in confs:
            check_agent_conf(scenario, conf)


def test_an_invalid_agent_conf_is_refused_with_the_valid_ones_named():
    """A wrong agent_conf raises ValueError naming every valid value and the bad one."""
    with pytest.raises(ValueError) as info:
        check_agent_conf("HalfCheetah", "4x2")
    message = str(info.value)
    assert "'4x2'" in message
    for conf in ("2x3", "3x2", "6x1"):
        assert conf in message


@pytest.mark.parametrize("conf", ["2x", "x3", "0x3", "2x0", "2*3", "", None, 23])
def test_many_segment_ant_refuses_anything_but_positive_n_by_m(conf):
    """ManySegmentAnt takes any '<N>x<M>' with N, M >= 1 and explains the pattern otherwise."""
    with pytest.raises(ValueError, match="<agents>x<segments per agent>"):
        check_agent_conf("ManySegmentAnt", conf)


def test_many_segment_ant_accepts_other_grids():
    """Grids beyond the paper's three (e.g. 4x1, 12x1) are valid for ManySegmentAnt only."""
    check_agent_conf("ManySegmentAnt", "4x1")
    check_agent_conf("ManySegmentAnt", "12x1")
    with pytest.raises(ValueError):
        check_agent_conf("Ant", "4x1")


def test_an_unknown_scenario_is_refused_with_the_supported_ones_named():
    """An unsupported robot name raises ValueError listing the supported robots."""
    with pytest.raises(ValueError, match="'Hopper'") as info:
        valid_agent_confs("Hopper")
    for scenario in SCENARIOS:
        assert scenario in str(info.value)


def test_custom_partitions_assign_every_joint_exactly_once():
    """The partitions defined here (HalfCheetah 3x2, Ant 8x1) name each joint once and no other."""
    half_cheetah = CUSTOM_PARTITIONS[("HalfCheetah", "3x2")]
    assert half_cheetah == (("bfoot", "bshin"), ("bthigh", "ffoot"), ("fshin", "fthigh"))
    labels = [label for part in half_cheetah for label in part]
    assert sorted(labels) == sorted({"bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"})
    ant = CUSTOM_PARTITIONS[("Ant", "8x1")]
    assert all(len(part) == 1 for part in ant)
    assert sorted(label for (label,) in ant) == sorted(f"{j}{i}" for i in range(1, 5) for j in ("hip", "ankle"))


@pytest.mark.mujoco
@pytest.mark.parametrize(("scenario", "conf"), sorted(CUSTOM_PARTITIONS))
def test_custom_factorization_uses_the_library_graph_nodes(scenario, conf):
    """The factorization is built from the very Node objects of the library's edges (else obsk finds no neighbours)."""
    factorization = agent_factorization(scenario, conf)
    assert [tuple(node.label for node in part) for part in factorization["partition"]] == list(
        CUSTOM_PARTITIONS[(scenario, conf)]
    )
    edge_nodes = {id(node) for edge in factorization["edges"] for node in edge.nodes}
    for part in factorization["partition"]:
        for node in part:
            assert id(node) in edge_nodes, f"{node.label} is not the node the library's edges use"


@pytest.mark.mujoco
def test_library_partitions_are_left_to_the_library():
    """For partitions the library ships, no factorization is made here (None)."""
    assert agent_factorization("Ant", "2x4") is None
    assert agent_factorization("HalfCheetah", "6x1") is None
    assert agent_factorization("ManySegmentAnt", "3x2") is None


@pytest.mark.mujoco
def test_each_sub_scenario_partition_covers_every_actuator_exactly_once(sub_scenario):
    """In the built env, the agents' joints map onto the robot's actuators one to one."""
    from stmg_envs.mujoco import make_mamujoco

    _, scenario, conf, n_agents, per_agent = sub_scenario
    env = make_mamujoco(scenario, conf, episode_length=20)
    try:
        partitions = env.mamujoco.agent_action_partitions
        n_actuators = env.mamujoco.single_agent_env.action_space.shape[0]
        act_ids = [node.act_ids for part in partitions for node in part]
        assert len(partitions) == n_agents
        assert all(len(part) == per_agent for part in partitions)
        assert sorted(act_ids) == list(range(n_actuators)), "a joint is missing or controlled twice"
    finally:
        env.close()


@pytest.mark.mujoco
def test_half_cheetah_3x2_agents_observe_their_graph_neighbours():
    """With agent_obsk=1 each 3x2 agent sees exactly the joints adjacent to its own in the library graph."""
    from stmg_envs.mujoco import half_cheetah

    env = half_cheetah("3x2", agent_obsk=1, episode_length=20)
    try:
        first_agent_ring = [node.label for node in env.mamujoco.k_dicts[0][1]]
        assert first_agent_ring == ["bthigh"]
        third_agent_ring = [node.label for node in env.mamujoco.k_dicts[2][1]]
        assert third_agent_ring == ["bthigh", "ffoot"]
    finally:
        env.close()
