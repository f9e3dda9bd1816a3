"""Configuration of the highway tasks: traffic densities and reward weights.

Everything here is a frozen dataclass or a read-only mapping and imports
nothing heavy, so it can be used without ``highway-env`` installed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stmg_envs.highway._checks import check_int, check_real

__all__ = [
    "ACTIONS",
    "DIFFICULTIES",
    "OnRampReward",
    "TrafficDensity",
    "TrafficMergeReward",
]

#: The 5 meta-actions of every controlled vehicle (highway-env's ``DiscreteMetaAction`` indices).
ACTIONS: Mapping[int, str] = MappingProxyType({0: "LANE_LEFT", 1: "IDLE", 2: "LANE_RIGHT", 3: "FASTER", 4: "SLOWER"})


@dataclass(frozen=True)
class TrafficDensity:
    """How many vehicles an on-ramp episode starts with (inclusive ranges, drawn uniformly per episode).

    Attributes:
        controlled: ``(min, max)`` number of controlled vehicles (the agents).
        human: ``(min, max)`` number of human-driven (IDM) vehicles.

    Examples:
        >>> TrafficDensity(controlled=(2, 4), human=(2, 4)).controlled
        (2, 4)
    """

    controlled: tuple[int, int]
    human: tuple[int, int]

    def __post_init__(self) -> None:
        for name, (low, high), minimum in (("controlled", self.controlled, 1), ("human", self.human, 0)):
            check_int("TrafficDensity", f"{name}[0]", low, minimum)
            check_int("TrafficDensity", f"{name}[1]", high, low)


#: Traffic density of each difficulty, as in Chen et al. (2021): easy 1-3 controlled + 1-3
#: human-driven vehicles, medium 2-4 + 2-4, hard 4-6 + 3-5.
DIFFICULTIES: Mapping[str, TrafficDensity] = MappingProxyType(
    {
        "easy": TrafficDensity(controlled=(1, 3), human=(1, 3)),
        "medium": TrafficDensity(controlled=(2, 4), human=(2, 4)),
        "hard": TrafficDensity(controlled=(4, 6), human=(3, 5)),
    }
)


@dataclass(frozen=True)
class OnRampReward:
    """Weights of the per-agent on-ramp reward of Chen et al. (2021).

    The reward of a controlled vehicle after each decision is the sum of four terms::

        collision    = -collision * crashed
        high_speed   =  high_speed * clip(lmap(v, speed_range, [0, 1]), 0, 1)
        merging_lane =  merging_lane * -exp(-(x - x_end)**2 / (10 * L_merge))   (on the merge lane only)
        headway      =  headway * min(0, log(d / (headway_time * v)))           (v > 0, else 0)

    where ``x_end`` is the end of the merge lane, ``L_merge`` its length and ``d``
    the distance to the vehicle ahead in the same lane (or the next lane
    segment), ``headway_horizon`` when there is none.

    Attributes:
        collision: Penalty for crashing (positive number, subtracted).
        high_speed: Weight of the speed term.
        merging_lane: Weight of the cost of lingering on the merge lane.
        headway: Weight of the time-headway cost.
        headway_time: Desired time headway in seconds.
        speed_range: Speeds mapped to 0 and 1 in the speed term, in m/s.
        headway_horizon: Headway used when nothing is ahead, in metres.

    Examples:
        >>> OnRampReward().collision
        200.0
        >>> OnRampReward(headway=0.0).headway
        0.0
    """

    collision: float = 200.0
    high_speed: float = 1.0
    merging_lane: float = 4.0
    headway: float = 4.0
    headway_time: float = 1.2
    speed_range: tuple[float, float] = (10.0, 30.0)
    headway_horizon: float = 60.0

    def __post_init__(self) -> None:
        for name in ("collision", "high_speed", "merging_lane", "headway"):
            object.__setattr__(self, name, check_real("OnRampReward", name, getattr(self, name)))
        for name in ("headway_time", "headway_horizon"):
            object.__setattr__(self, name, check_real("OnRampReward", name, getattr(self, name), positive=True))
        try:
            low, high = self.speed_range
        except (TypeError, ValueError):
            raise ValueError(
                f"OnRampReward expected `speed_range` to be a pair (low, high), got {self.speed_range!r}."
            ) from None
        low = check_real("OnRampReward", "speed_range[0]", low)
        high = check_real("OnRampReward", "speed_range[1]", high)
        if not low < high:
            raise ValueError(f"OnRampReward expected `speed_range` with low < high, got {self.speed_range!r}.")
        object.__setattr__(self, "speed_range", (low, high))


@dataclass(frozen=True)
class TrafficMergeReward:
    """Rewards of Bi-AC's two-car merge (Zhang et al. 2020, "Bi-level Actor-Critic").

    Nothing is paid until the episode ends. When one car passes the end of the
    merge zone, the car that is ahead gets ``first`` and the other ``second``.
    When the cars crash, both get the same penalty, which depends on how far the
    main-lane car had driven: the first threshold ``x`` it has not reached gives
    the penalty paired with it, ``late_crash_penalty`` if it passed them all
    (so an early crash costs more).

    Attributes:
        first: Paid to the car that passes the merge first.
        second: Paid to the other car.
        crash_penalties: ``((x, penalty), ...)`` with increasing ``x`` (metres).
        late_crash_penalty: Penalty of a crash beyond the last threshold.

    Examples:
        >>> TrafficMergeReward().crash_penalty(250.0)
        -25.0
        >>> TrafficMergeReward().crash_penalty(280.0)
        -5.0
    """

    first: float = 50.0
    second: float = 10.0
    crash_penalties: tuple[tuple[float, float], ...] = ((260.0, -25.0), (265.0, -20.0), (270.0, -15.0), (275.0, -10.0))
    late_crash_penalty: float = -5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "first", check_real("TrafficMergeReward", "first", self.first))
        object.__setattr__(self, "second", check_real("TrafficMergeReward", "second", self.second))
        object.__setattr__(
            self, "late_crash_penalty", check_real("TrafficMergeReward", "late_crash_penalty", self.late_crash_penalty)
        )
        pairs = []
        try:
            for x, penalty in self.crash_penalties:
                pairs.append(
                    (
                        check_real("TrafficMergeReward", "crash_penalties[i][0]", x),
                        check_real("TrafficMergeReward", "crash_penalties[i][1]", penalty),
                    )
                )
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "TrafficMergeReward expected `crash_penalties` as ((x, penalty), ...) with finite numbers, "
                f"got {self.crash_penalties!r} ({exc})."
            ) from None
        if any(a[0] >= b[0] for a, b in itertools.pairwise(pairs)):
            raise ValueError(
                f"TrafficMergeReward expected `crash_penalties` sorted by increasing x, got {self.crash_penalties!r}."
            )
        object.__setattr__(self, "crash_penalties", tuple(pairs))

    def crash_penalty(self, leader_x: float) -> float:
        """The penalty both cars get when they crash while the main-lane car is at ``leader_x``."""
        for x, penalty in self.crash_penalties:
            if leader_x < x:
                return penalty
        return self.late_crash_penalty
