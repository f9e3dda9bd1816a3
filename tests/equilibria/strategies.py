"""Hypothesis strategies for random normal-form games with frequent ties."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .reference import count_profiles

#: Settings shared by the property tests: reproducible runs, no per-example deadline.
GAME_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)

#: Payoffs are small integers so that ties (the hard cases for tie rules) are common.
SMALL_INTS = st.integers(min_value=-2, max_value=2)


@st.composite
def games(draw, min_players: int = 2, max_players: int = 4, max_actions: int = 4) -> np.ndarray:
    """A general-sum game: int64 payoffs of shape (N, A_1, ..., A_N)."""
    n = draw(st.integers(min_players, max_players))
    shape = tuple(draw(st.lists(st.integers(1, max_actions), min_size=n, max_size=n)))
    return draw(hnp.arrays(np.int64, (n, *shape), elements=SMALL_INTS))


@st.composite
def games_with_order(draw, min_players: int = 2, max_players: int = 4, max_actions: int = 4):
    """A general-sum game and a priority order of its players."""
    payoffs = draw(games(min_players, max_players, max_actions))
    order = tuple(draw(st.permutations(range(payoffs.shape[0]))))
    return payoffs, order


@st.composite
def small_extensive_games(draw, max_profiles: int = 1600):
    """A 2- or 3-player game and an order whose extensive form has at most ``max_profiles`` pure profiles."""
    n = draw(st.integers(2, 3))
    max_actions = 4 if n == 2 else 3
    sizes_in_order = draw(
        st.lists(st.integers(1, max_actions), min_size=n, max_size=n).filter(
            lambda sizes: count_profiles(sizes) <= max_profiles
        )
    )
    order = tuple(draw(st.permutations(range(n))))
    shape = [0] * n
    for rank, player in enumerate(order):
        shape[player] = sizes_in_order[rank]
    payoffs = draw(hnp.arrays(np.int64, (n, *shape), elements=SMALL_INTS))
    return payoffs, order
