"""The single-lane highway with an on-ramp, and the quantities measured on it.

Both highway tasks drive on the road of highway-env's ``merge`` scenario cut
down to one main lane, as in Chen et al. (2021) and Bi-AC (Zhang et al. 2020)::

    main lane   a ------------------------ b ======== c ------------ d
    ramp        j ------------ k ~~~~~~~~~ b ======== c |  (obstacle: ramp closed, optional)
                  before         converging    merge       after

The lane segments are ``("a", "b", 0)``, ``("b", "c", 0)``, ``("c", "d", 0)``
(main lane, at ``y = main_y``) and ``("j", "k", 0)``, ``("k", "b", 0)``,
``("b", "c", 1)`` (ramp; the last one is the merge lane, next to the main lane).
``ends = (before, converging, merge, after)`` are the segment lengths in metres.

This module imports ``highway-env``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from stmg_envs.highway._checks import check_real
from stmg_envs.highway._deps import require_highway_env

require_highway_env()

from highway_env.road.lane import LineType, SineLane, StraightLane  # noqa: E402
from highway_env.road.road import Road, RoadNetwork  # noqa: E402
from highway_env.vehicle.kinematics import Vehicle  # noqa: E402
from highway_env.vehicle.objects import Obstacle  # noqa: E402

__all__ = [
    "MERGE_LANE",
    "RAMP_LANES",
    "RoadName",
    "headway_distance",
    "lane_at",
    "make_merge_road",
    "priority_score",
]

LaneIndex = tuple[str, str, int]
RoadName = Literal["main", "ramp"]

#: The lane along the main lane where ramp vehicles merge.
MERGE_LANE: LaneIndex = ("b", "c", 1)
#: Every ramp lane segment.
RAMP_LANES: frozenset[LaneIndex] = frozenset({("j", "k", 0), ("k", "b", 0), MERGE_LANE})

#: Lateral distance between the main lane and the straight part of the ramp.
_RAMP_OFFSET = 6.5 + 4.0
_AMPLITUDE = 3.25


def make_merge_road(
    ends: Sequence[float],
    *,
    main_y: float,
    obstacle: bool,
    np_random: np.random.Generator,
    record_history: bool = False,
    neighbour_vehicles_connected_lanes: bool = False,
) -> Road:
    """Build the one-lane highway with an on-ramp (no vehicles).

    Args:
        ends: Lengths of the (before, converging, merge, after) sections in metres.
        main_y: Lateral position of the main lane.
        obstacle: Close the end of the merge lane with an obstacle (Chen et al.) or not (Bi-AC).
        np_random: Random generator of the road (used by highway-env's vehicle behaviours).
        record_history: Record vehicle trajectories for display.
        neighbour_vehicles_connected_lanes: highway-env 1.12's neighbour search across lane segments.

    Returns:
        The road.
    """
    before, converging, merge, after = (float(e) for e in ends)
    net = RoadNetwork()
    c, s, n = LineType.CONTINUOUS_LINE, LineType.STRIPED, LineType.NONE
    x_b, x_c, x_d = before + converging, before + converging + merge, before + converging + merge + after
    net.add_lane("a", "b", StraightLane([0.0, main_y], [x_b, main_y], line_types=[c, c]))
    net.add_lane("b", "c", StraightLane([x_b, main_y], [x_c, main_y], line_types=[c, s]))
    net.add_lane("c", "d", StraightLane([x_c, main_y], [x_d, main_y], line_types=[c, c]))

    ramp_y = main_y + _RAMP_OFFSET
    ljk = StraightLane([0.0, ramp_y], [before, ramp_y], line_types=[c, c], forbidden=True)
    lkb = SineLane(
        ljk.position(before, -_AMPLITUDE),
        ljk.position(before + converging, -_AMPLITUDE),
        _AMPLITUDE,
        2 * np.pi / (2 * converging),
        np.pi / 2,
        line_types=[c, c],
        forbidden=True,
    )
    lbc = StraightLane(
        lkb.position(converging, 0.0),
        lkb.position(converging, 0.0) + [merge, 0.0],  # noqa: RUF005  (an array plus an offset, not a list)
        line_types=[n, c],
        forbidden=True,
    )
    net.add_lane("j", "k", ljk)
    net.add_lane("k", "b", lkb)
    net.add_lane("b", "c", lbc)
    road = Road(
        network=net,
        np_random=np_random,
        record_history=record_history,
        neighbour_vehicles_connected_lanes=neighbour_vehicles_connected_lanes,
    )
    if obstacle:
        road.objects.append(Obstacle(road, lbc.position(merge, 0.0)))
    return road


def lane_at(ends: Sequence[float], road: str, x: float) -> tuple[LaneIndex, float]:
    """The lane segment and longitudinal coordinate of the point at distance ``x`` along ``road``.

    Args:
        ends: Section lengths, as for :func:`make_merge_road`.
        road: ``"main"`` or ``"ramp"``.
        x: Position along the road in metres (the global x coordinate), ``>= 0``;
            on the ramp at most the end of the merge lane.

    Returns:
        ``(lane_index, longitudinal)``.

    Raises:
        ValueError: an unknown road or a position off it.
        TypeError: ``x`` is not a number.

    Examples:
        >>> lane_at((220, 100, 100, 100), "ramp", 350.0)
        (('b', 'c', 1), 30.0)
    """
    before, converging, merge, _ = (float(e) for e in ends)
    if road not in ("main", "ramp"):
        raise ValueError(f"expected road 'main' or 'ramp', got {road!r}.")
    x = check_real("lane_at", "x", x)
    if x < 0:
        raise ValueError(f"expected a position x >= 0 along the {road} road, got {x}.")
    x_b, x_c = before + converging, before + converging + merge
    if road == "main":
        if x < x_b:
            return ("a", "b", 0), x
        if x < x_c:
            return ("b", "c", 0), x - x_b
        return ("c", "d", 0), x - x_c
    if x < before:
        return ("j", "k", 0), x
    if x < x_b:
        return ("k", "b", 0), x - before
    if x <= x_c:
        return MERGE_LANE, x - x_b
    raise ValueError(f"expected a position x <= {x_c} on the ramp (it ends there), got {x}.")


def headway_distance(vehicle: Vehicle, road: Road, horizon: float) -> float:
    """Distance to the nearest vehicle ahead, as Chen et al. (2021) measure it.

    Vehicles count when they are ahead (larger x) in the same lane segment, or,
    unless ``vehicle`` is on the merge lane, in the segment its lane leads to.
    Obstacles are ignored. ``horizon`` is returned when nothing is closer.
    """
    lane = vehicle.lane_index
    x = vehicle.position[0]
    next_lane = None if lane == MERGE_LANE else road.network.next_lane(lane, position=vehicle.position)
    best = horizon
    for other in road.vehicles:
        gap = other.position[0] - x
        if 0 < gap < best and (other.lane_index in (lane, next_lane)):
            best = gap
    return float(best)


def priority_score(
    vehicle: Vehicle, road: Road, ends: Sequence[float], *, headway_time: float, horizon: float
) -> float:
    """Priority of a controlled vehicle in Chen et al.'s safety supervisor: lower acts first.

    On the merge lane the score starts at ``-0.5`` and falls by the fraction of
    the merge lane already driven (so the vehicle closest to the ramp's end
    comes first); every vehicle then adds ``0.5 * log(d / (headway_time * v))``
    for its headway ``d`` at speed ``v > 0`` (short headways come first).
    """
    score = 0.0
    if vehicle.lane_index == MERGE_LANE:
        before, converging, merge, _ = (float(e) for e in ends)
        distance_to_end = before + converging + merge - vehicle.position[0]
        score = -0.5 - (merge - distance_to_end) / merge
    if vehicle.speed > 0:
        score += 0.5 * math.log(headway_distance(vehicle, road, horizon) / (headway_time * vehicle.speed))
    return score
