"""Agent partitions (``agent_conf``) of the Multi-Agent MuJoCo scenarios.

An *agent partition* assigns every actuated joint of a robot to exactly one
agent. Gymnasium-Robotics' MaMuJoCo ships most of the partitions the STEP paper
uses; the two it does not ship are defined here by joint name and turned into an
``agent_factorization`` (the library's documented way to add partitions):

* ``HalfCheetah`` ``"3x2"``: the classic split of the original multiagent_mujoco,
  ``(bfoot, bshin)``, ``(bthigh, ffoot)``, ``(fshin, fthigh)``.
* ``Ant`` ``"8x1"``: one joint per agent, legs in the order of the built-in
  ``"4x2"`` partition, so agents ``2i`` and ``2i + 1`` of ``"8x1"`` control the
  joints of agent ``i`` of ``"4x2"`` (hip first).

``ManySegmentAnt`` accepts any ``"<agents>x<segments per agent>"``; the robot has
``agents * segments`` segments of four joints each.

This module imports nothing heavy: the library is imported inside
:func:`agent_factorization` only.

Examples:
    >>> from stmg_envs.mujoco.partitions import valid_agent_confs
    >>> valid_agent_confs("HalfCheetah")
    ('2x3', '3x2', '6x1')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "SCENARIOS",
    "CUSTOM_PARTITIONS",
    "valid_agent_confs",
    "check_agent_conf",
    "agent_factorization",
]

#: The MaMuJoCo scenarios this package registers, with the ``agent_conf`` values
#: it accepts (first = default). ``ManySegmentAnt`` also accepts any other
#: ``"<N>x<M>"``. Ant's ``"2x4d"`` (diagonal legs) is the library's, not the paper's.
SCENARIOS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Ant": ("2x4", "4x2", "8x1", "2x4d"),
        "HalfCheetah": ("2x3", "3x2", "6x1"),
        "ManySegmentAnt": ("2x3", "3x2", "6x1"),
    }
)

#: Partitions defined by this package, as joint (node) labels per agent.
CUSTOM_PARTITIONS: Mapping[tuple[str, str], tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        ("HalfCheetah", "3x2"): (("bfoot", "bshin"), ("bthigh", "ffoot"), ("fshin", "fthigh")),
        ("Ant", "8x1"): (
            ("hip1",),
            ("ankle1",),
            ("hip2",),
            ("ankle2",),
            ("hip3",),
            ("ankle3",),
            ("hip4",),
            ("ankle4",),
        ),
    }
)

_GRID_CONF = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")


def valid_agent_confs(scenario: str) -> tuple[str, ...]:
    """The named ``agent_conf`` values of ``scenario`` (the first is the default).

    Args:
        scenario: One of ``SCENARIOS``.

    Returns:
        The accepted ``agent_conf`` strings.

    Raises:
        ValueError: If ``scenario`` is not supported.

    Examples:
        >>> valid_agent_confs("Ant")
        ('2x4', '4x2', '8x1', '2x4d')
    """
    try:
        return SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"expected scenario to be one of {tuple(SCENARIOS)}, got {scenario!r}") from None


def check_agent_conf(scenario: str, agent_conf: str) -> None:
    """Raise a ``ValueError`` naming the valid values if ``agent_conf`` is not one.

    Args:
        scenario: One of ``SCENARIOS``.
        agent_conf: The partition, e.g. ``"2x4"``.

    Raises:
        ValueError: If ``scenario`` or ``agent_conf`` is not supported.

    Examples:
        >>> check_agent_conf("ManySegmentAnt", "4x3")  # any NxM is fine here
        >>> check_agent_conf("Ant", "3x3")
        Traceback (most recent call last):
        ...
        ValueError: expected agent_conf for 'Ant' to be one of ('2x4', '4x2', '8x1', '2x4d'), got '3x3'
    """
    valid = valid_agent_confs(scenario)
    if agent_conf in valid:
        return
    if scenario == "ManySegmentAnt":
        if isinstance(agent_conf, str) and _GRID_CONF.match(agent_conf):
            return
        raise ValueError(
            f"expected agent_conf for 'ManySegmentAnt' to be '<agents>x<segments per agent>' "
            f"with positive integers, e.g. one of {valid}, got {agent_conf!r}"
        )
    raise ValueError(f"expected agent_conf for {scenario!r} to be one of {valid}, got {agent_conf!r}")


def agent_factorization(scenario: str, agent_conf: str) -> dict[str, Any] | None:
    """The MaMuJoCo ``agent_factorization`` of a partition this package defines.

    Args:
        scenario: One of ``SCENARIOS``.
        agent_conf: A valid ``agent_conf`` of ``scenario``.

    Returns:
        ``{"partition", "edges", "globals"}`` built from the library's joint graph
        (the same ``Node`` objects as its edges, as the library requires), or
        ``None`` when the library ships the partition itself.

    Examples:
        >>> factorization = agent_factorization("HalfCheetah", "3x2")
        >>> [[node.label for node in part] for part in factorization["partition"]]
        [['bfoot', 'bshin'], ['bthigh', 'ffoot'], ['fshin', 'fthigh']]
    """
    check_agent_conf(scenario, agent_conf)
    labels = CUSTOM_PARTITIONS.get((scenario, agent_conf))
    if labels is None:
        return None
    from gymnasium_robotics.envs.multiagent_mujoco.obsk import get_parts_and_edges

    (all_nodes,), edges, global_nodes = get_parts_and_edges(scenario, None)
    by_label = {node.label: node for node in all_nodes}
    partition = [tuple(by_label[label] for label in part) for part in labels]
    return {"partition": partition, "edges": edges, "globals": global_nodes}
