"""The exact solver of iterated 2x2 games with memory (stmg_envs.equilibria.iterated) against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stmg_envs.equilibria import TIE_BREAKS, stackelberg_equilibrium
from stmg_envs.equilibria.iterated import (
    ITERATED_GAMES,
    IteratedGame,
    follower_best_response,
    iterated_game,
    iterated_stackelberg,
    leader_policies,
    memory_view,
    play,
)

NAMES = sorted(ITERATED_GAMES)


def _reference_view(memory: str, agent: int, last: tuple[int, int] | None) -> int:
    """An agent's memory state, written out from O&F's MatrixGameEnv.step (independent of memory_view)."""
    if last is None or memory == "none":
        return 0
    if memory == "joint":
        return 1 + last[0] + 2 * last[1]
    return 1 + last[1 - agent]


def _sequence_values(game, leader) -> np.ndarray:
    """(leader, follower) returns of every open-loop follower action sequence, ``(2 ** T, 2)``.

    In a deterministic game against a fixed leader policy, every follower policy (however much it
    remembers) plays one action sequence, so the best of these is the best of all follower policies.
    """
    T = game.episode_length
    sequences = (np.arange(2**T)[:, None] >> np.arange(T - 1, -1, -1)) & 1  # row k: k's binary digits
    lead = np.array(leader)
    values = np.zeros((len(sequences), 2))
    memory = np.zeros(len(sequences), dtype=np.int64)  # leader's memory state, start = 0
    for t in range(T):
        a0 = lead[memory]
        a1 = sequences[:, t]
        values[:, 0] += game.payoffs[0, a0, a1] + game.reward_offset
        values[:, 1] += game.payoffs[1, a0, a1] + game.reward_offset
        if game.memory == "joint":
            memory = 1 + a0 + 2 * a1
        elif game.memory == "opponent":
            memory = 1 + a1
    return values


def _pick_brute(values: np.ndarray, tie_break: str) -> tuple[float, float]:
    """The follower's (leader value, follower value) among ``values`` rows, by the tie rule, done by sorting."""
    best_f = values[:, 1].max()
    tied = values[np.isclose(values[:, 1], best_f, rtol=0, atol=1e-9)]
    if tie_break == "optimistic":
        return float(tied[:, 0].max()), float(best_f)
    if tie_break == "leader_pessimistic":
        return float(tied[:, 0].min()), float(best_f)
    return float(tied[0, 0]), float(best_f)


@pytest.mark.parametrize("name", NAMES)
def test_markov_follower_matches_brute_force_on_every_named_game(name):
    """Backward induction gives, for every one of the 32 (8, 2) leaders, the follower's best value over all
    2**T action sequences and the leader's best (worst, for "leader_pessimistic") value among the follower's
    optima; the leader's optimum is the best over all leaders, and the reply table really plays those values."""
    game = ITERATED_GAMES[name]
    best_leader = dict.fromkeys(("optimistic", "leader_pessimistic"), -np.inf)
    for leader in leader_policies(game):
        sequences = _sequence_values(game, leader)
        for tie_break in best_leader:
            expected = _pick_brute(sequences, tie_break)
            response = follower_best_response(game, leader, tie_break=tie_break)
            assert (response.leader_value, response.follower_value) == pytest.approx(expected, abs=1e-9), leader
            best_leader[tie_break] = max(best_leader[tie_break], expected[0])
    for tie_break, value in best_leader.items():
        solution = iterated_stackelberg(game, tie_break=tie_break)
        assert solution.leader_value == pytest.approx(value, abs=1e-9)
        rollout = play(game, solution.leader_policy, solution.follower_policy)
        assert rollout == (solution.leader_value, solution.follower_value, solution.joint_actions)


def _memory1_brute(game, leader, tie_break: str) -> tuple[float, float]:
    """Every stationary follower policy played step by step in plain Python, then the tie rule."""
    rows = []
    for reply in itertools.product((0, 1), repeat=len(leader)):
        last, values = None, [0.0, 0.0]
        for _ in range(game.episode_length):
            a0 = leader[_reference_view(game.memory, 0, last)]
            a1 = reply[_reference_view(game.memory, 1, last)]
            values[0] += game.payoffs[0, a0, a1] + game.reward_offset
            values[1] += game.payoffs[1, a0, a1] + game.reward_offset
            last = (a0, a1)
        rows.append(values)
    return _pick_brute(np.array(rows), tie_break)


@pytest.mark.parametrize("name", NAMES)
def test_memory1_follower_matches_brute_force_on_every_named_game(name):
    """With the stationary (memory-1) follower of O&F, the solver matches a plain enumeration of follower
    policies for every leader, and its leader optimum is the best over all leaders."""
    game = ITERATED_GAMES[name]
    values = []
    for leader in leader_policies(game):
        expected = _memory1_brute(game, leader, "optimistic")
        response = follower_best_response(game, leader, follower="memory-1")
        assert (response.leader_value, response.follower_value) == pytest.approx(expected, abs=1e-9), leader
        values.append(expected[0])
    solution = iterated_stackelberg(game, follower="memory-1")
    assert solution.leader_value == pytest.approx(max(values), abs=1e-9)
    assert solution.leader_policy == leader_policies(game)[int(np.argmax(values))]  # the first best leader


def test_memory_views_follow_oaf_encoding():
    """memory_view agrees with O&F's observation rule (joint: 1 + a0 + 2 a1; opponent: 1 + the other's action)."""
    for memory in ("joint", "opponent", "none"):
        view = memory_view(memory)
        for a0, a1 in itertools.product((0, 1), repeat=2):
            for agent in (0, 1):
                assert view[agent, 1 + a0 + 2 * a1] == _reference_view(memory, agent, (a0, a1))
        assert (view[:, 0] == 0).all()


def test_two_step_ipd_by_hand():
    """Two-step IPD without offset: the follower defects at the last step whatever happens, so the leader
    defects first and rewards cooperation (leader's policy D; after (D,C): C; after (D,D): D): the follower
    cooperates first (1 + 4 = 5 > 2 + 2) and the leader gets 4 + 1 = 5; starting with C gets it at most 4."""
    solution = iterated_stackelberg(iterated_game("ipd", episode_length=2, reward_offset=0.0))
    assert solution.leader_policy == (1, 0, 0, 0, 1)  # unreachable states 1 and 3 go to action 0
    assert solution.joint_actions == ((1, 0), (0, 1))
    assert (solution.leader_value, solution.follower_value) == (5.0, 5.0)


def test_tit_for_tat_separates_the_follower_models():
    """Against tit-for-tat in the 10-step IPD a time-aware follower cooperates and defects at the last step
    (3 * 9 + 4 = 31 before the offset); a memory-1 follower cannot count, and cooperates throughout (30)."""
    tit_for_tat = (0, 0, 0, 1, 1)
    markov = follower_best_response("ipd", tit_for_tat)
    assert markov.joint_actions == ((0, 0),) * 9 + ((0, 1),)
    assert markov.follower_value == pytest.approx(31 - 25)
    memory1 = follower_best_response("ipd", tit_for_tat, follower="memory-1")
    assert memory1.joint_actions == ((0, 0),) * 10 and memory1.follower_value == pytest.approx(30 - 25)


def test_ipd_memory1_optimum_is_oaf_success_threshold():
    """O&F count a 10-step IPD run a success when the leader earns >= 6.0 (their 'ipd_allmatrices_*'
    success_condition); that is exactly the leader's optimum against their (memory-1) follower, while a
    time-aware follower holds the leader to 4.0."""
    assert iterated_stackelberg("ipd", follower="memory-1").leader_value == pytest.approx(6.0)
    assert iterated_stackelberg("ipd").leader_value == pytest.approx(4.0)


@pytest.mark.parametrize("name", NAMES)
def test_markov_follower_does_at_least_as_well_as_memory1(name):
    """A time-aware follower can play any stationary policy, so its best value is never lower."""
    game = ITERATED_GAMES[name]
    for leader in leader_policies(game):
        markov = follower_best_response(game, leader).follower_value
        assert markov >= follower_best_response(game, leader, follower="memory-1").follower_value - 1e-9


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tie_break", TIE_BREAKS)
def test_one_shot_without_memory_is_the_stage_game_se(name, tie_break):
    """One step without memory is the stage game: the solver's joint action is stackelberg_equilibrium's,
    under the same tie rule, for both follower models."""
    game = iterated_game(name, memory="none", episode_length=1)
    expected = stackelberg_equilibrium(game.payoffs, tie_break=tie_break).joint_action
    for follower in ("markov", "memory-1"):
        solution = iterated_stackelberg(game, follower=follower, tie_break=tie_break)
        assert solution.joint_actions == (expected,)


def test_battle_of_the_sexes_by_hand():
    """O&F's one-shot Battle of the Sexes: the leader picks its favourite (0), the follower follows: (1, 0.5)."""
    solution = iterated_stackelberg("bots")
    assert solution.leader_policy == (0,) and solution.joint_actions == ((0, 0),)
    assert (solution.leader_value, solution.follower_value) == (1.0, 0.5)


@pytest.mark.parametrize(
    "tie_break,leader_action,follower_action,value",
    [("optimistic", 0, 1, 5.0), ("leader_pessimistic", 1, 0, 1.0), ("first", 1, 0, 1.0)],
)
def test_tie_rules_when_the_follower_is_indifferent(tie_break, leader_action, follower_action, value):
    """An indifferent follower (all payoffs 0) helps the leader (optimistic), hurts it (pessimistic) or plays
    action 0 (first); the leader chooses knowing that."""
    payoffs = [[[0, 5], [1, 2]], [[0, 0], [0, 0]]]
    game = iterated_game(payoffs=payoffs, memory="none", episode_length=3)
    for follower in ("markov", "memory-1"):
        solution = iterated_stackelberg(game, follower=follower, tie_break=tie_break)
        assert solution.joint_actions == ((leader_action, follower_action),) * 3
        assert solution.leader_value == 3 * value


def test_solver_rejects_bad_arguments():
    """Unknown follower models, tie rules, tolerances, policies and games are refused with what was expected."""
    with pytest.raises(ValueError, match="follower"):
        iterated_stackelberg("ipd", follower="recurrent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tie_break"):
        iterated_stackelberg("ipd", tie_break="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="atol"):
        iterated_stackelberg("ipd", atol=-1)
    with pytest.raises(ValueError, match="5 actions"):
        follower_best_response("ipd", (0, 1, 0))
    with pytest.raises(ValueError, match="shape"):
        play("ipd", (0,) * 5, np.zeros((3, 5), dtype=int))
    with pytest.raises(TypeError, match="IteratedGame"):
        iterated_stackelberg(np.zeros((2, 2, 2)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one of"):
        iterated_stackelberg("ipd2")


def test_games_built_directly_are_checked():
    """IteratedGame checks its fields on construction, not only through iterated_game."""
    with pytest.raises(ValueError, match="`memory` to be one of"):
        IteratedGame(np.zeros((2, 2, 2)), "full", 3, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="integer >= 1"):
        IteratedGame(np.zeros((2, 2, 2)), "joint", 2.5, 0.0)  # type: ignore[arg-type]
    game = IteratedGame([[[1, 0], [0, 1]], [[1, 0], [0, 1]]], "none", 2, -1)
    assert game.payoffs.flags.writeable is False and game.reward_offset == -1.0
