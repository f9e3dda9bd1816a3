"""stmg_bench.suites.replies: backward-induction replies in every context, and an algorithm's replies against them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stmg_bench.suites.matrix import game_spec, make_env_factory
from stmg_bench.suites.replies import backward_induction_replies, contexts, reply_errors
from stmg_envs.equilibria import stackelberg_equilibrium
from stmg_envs.matrix.generators import generate


def reference_replies(payoffs: np.ndarray, order: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    """Backward induction written out by recursion (strict games only: no tie rule needed)."""
    n = payoffs.shape[0]
    replies: dict[tuple[int, ...], int] = {}

    def outcome(prefix: tuple[int, ...]) -> np.ndarray:
        if len(prefix) == n:
            joint = [0] * n
            for player, action in zip(order, prefix):
                joint[player] = action
            return payoffs[(slice(None), *joint)]
        mover = order[len(prefix)]
        values = [outcome((*prefix, a)) for a in range(payoffs.shape[1 + mover])]
        best = int(np.argmax([v[mover] for v in values]))
        replies[prefix] = best
        return values[best]

    outcome(())
    return replies


@pytest.mark.parametrize("game", ["general-sum:3:1", "general-sum:4:0"])
@pytest.mark.parametrize("order", ["forward", "reversed", "mixed"])
def test_replies_are_backward_induction_in_every_context_and_chain_to_the_se(game, order):
    """Every context of every rank gets the reply of a recursive backward induction, and following the replies
    from the leader gives the solver's SE of that order."""
    payoffs = generate(game).payoffs
    n = payoffs.shape[0]
    priority = {"forward": tuple(range(n)), "reversed": tuple(reversed(range(n))), "mixed": (1, 0, *range(2, n))}[order]
    replies = backward_induction_replies(payoffs, priority)
    assert replies == reference_replies(payoffs, priority)
    assert len(replies) == sum(3**k for k in range(n))
    path: tuple[int, ...] = ()
    for _ in range(n):
        path = (*path, replies[path])
    joint = [0] * n
    for player, action in zip(priority, path):
        joint[player] = action
    assert tuple(joint) == stackelberg_equilibrium(payoffs, order=priority).joint_action


def test_ties_follow_the_solvers_rule():
    """In a team game with tied replies (Penalty k=0 has two optima), the replies chain to the solver's SE."""
    from stmg_envs.equilibria import common_payoff_tensor

    payoffs = common_payoff_tensor([[0, 0, 10], [0, 2, 0], [10, 0, 0]])
    replies = backward_induction_replies(payoffs)
    assert (replies[()], replies[(replies[()],)]) == stackelberg_equilibrium(payoffs).joint_action


def test_contexts_come_rank_by_rank_in_row_major_order():
    """The leader's empty context first, then each rank's contexts in row-major order of the actions above."""
    assert list(contexts((2, 3, 2), (1, 0, 2))) == [(), (0,), (1,), (2,), *itertools.product(range(3), range(2))]


class PlaysTable:
    """A sequential-form algorithm that plays a given reply table, read from the STMG's observation."""

    form = "sequential"

    def __init__(self, make_env, table, order, n_actions=3):
        self.table, self.order, self.n_actions = table, order, n_actions

    def act(self, agent, observation):
        rank = int(observation["rank"])
        slots = np.asarray(observation["prior_actions"]).reshape(-1, self.n_actions)
        context = tuple(int(np.argmax(slots[player])) for player in self.order[:rank])
        return self.table[context]

    def action_probabilities(self, agent, observation):
        return np.eye(self.n_actions)[self.act(agent, observation)] * 0.7 + 0.1


def _general_sum_3_1(order):
    """general-sum:3:1 in the STMG of ``order``: its factory, payoffs, a reset env, the priority and the BI replies."""
    task_id, kwargs = game_spec("general-sum:3:1")
    make_env = make_env_factory("sequential", task_id, kwargs, order)
    payoffs = generate("general-sum:3:1").payoffs
    env = make_env()
    env.reset(seed=0)
    priority = [env.possible_agents.index(a) for a in env.order]
    return make_env, payoffs, env, priority, backward_induction_replies(payoffs, priority)


@pytest.mark.parametrize("order", ["possible_agents", "reversed"])
def test_an_algorithm_playing_the_replies_has_none_wrong_and_each_planted_error_is_found(order):
    """Each context's observation reaches the algorithm: playing backward induction gives no wrong reply and
    P(reply) 0.8 everywhere; replacing three replies (one on the SE path) is counted at exactly those contexts."""
    make_env, payoffs, env, priority, table = _general_sum_3_1(order)
    ranks = reply_errors(PlaysTable(make_env, table, priority), make_env, payoffs)
    assert [(r.rank, r.contexts, r.wrong) for r in ranks] == [(0, 1, 0), (1, 3, 0), (2, 9, 0)]
    assert [r.agent for r in ranks] == list(env.order)
    assert all(r.p_reply_se_path == pytest.approx(0.8) and r.p_reply_mean == pytest.approx(0.8) for r in ranks)

    se_path_context = ranks[2].se_context
    planted = {se_path_context, (0, 0), (2, 1)} if se_path_context not in ((0, 0), (2, 1)) else {(0, 0), (2, 1)}
    wrong_table = {c: (a + 1) % 3 if c in planted else a for c, a in table.items()}
    ranks = reply_errors(PlaysTable(make_env, wrong_table, priority), make_env, payoffs)
    assert set(ranks[2].wrong_contexts) == planted and ranks[2].wrong == len(planted)
    assert ranks[0].wrong == ranks[1].wrong == 0
    assert ranks[2].p_reply_se_path == pytest.approx(0.1)


class GreedyTable:
    """The reply table alone: ``act`` only, no probabilities (the ranks below count with their greedy replies)."""

    form = "sequential"

    def __init__(self, make_env, table, order, n_actions=3):
        self._plays = PlaysTable(make_env, table, order, n_actions)

    def act(self, agent, observation):
        return self._plays.act(agent, observation)


def test_each_movers_values_are_read_against_the_learned_ranks_below_and_against_the_se():
    """values_se is backward induction's value of each action on the SE path; values_learned equals it when the
    replies are the SE's, and a planted off-path reply of the last follower that favours the leader raises exactly
    that leader action's learned value, so best_learned names the action the leader learns to prefer. With
    probabilities, values_learned is the expectation over the ranks' distributions."""
    game = "general-sum:3:1"
    task_id, kwargs = game_spec(game)
    make_env = make_env_factory("sequential", task_id, kwargs)
    payoffs = generate(game).payoffs
    table = backward_induction_replies(payoffs, (0, 1, 2))
    se = stackelberg_equilibrium(payoffs).joint_action
    ranks = reply_errors(GreedyTable(make_env, table, (0, 1, 2)), make_env, payoffs)
    assert [r.values_learned for r in ranks] == [r.values_se for r in ranks]
    assert [r.best_learned for r in ranks] == [r.se_reply for r in ranks] == list(se)
    assert ranks[0].values_se[se[0]] == pytest.approx(payoffs[(0, *se)])
    # plant, under a leader action off the SE path, the last follower's reply that is best for the leader
    other = next(a for a in range(3) if a != se[0])
    middle = table[(other,)]
    favour = int(np.argmax(payoffs[0, other, middle, :]))
    planted = {**table, (other, middle): favour}
    ranks = reply_errors(GreedyTable(make_env, planted, (0, 1, 2)), make_env, payoffs)
    assert favour != table[(other, middle)]  # in this game the planted reply is a wrong one
    changed = [a for a in range(3) if ranks[0].values_learned[a] != ranks[0].values_se[a]]
    assert changed == [other]
    assert ranks[0].values_learned[other] == pytest.approx(payoffs[0, other, middle, favour])
    # with probabilities (0.8 on the table's reply, 0.1 on each other action): the expectation, by brute force
    mixed = reply_errors(PlaysTable(make_env, table, (0, 1, 2)), make_env, payoffs)
    weights = lambda reply: np.eye(3)[reply] * 0.7 + 0.1  # noqa: E731
    expected = [
        sum(
            weights(table[(a,)])[b] * weights(table[(a, b)])[c] * payoffs[0, a, b, c]
            for b in range(3)
            for c in range(3)
        )
        for a in range(3)
    ]
    np.testing.assert_allclose(mixed[0].values_learned, expected)


def test_a_simultaneous_algorithm_is_refused_with_the_reason():
    """A simultaneous policy has no contexts: a clear error, not a wrong count."""

    class Simultaneous:
        form = "simultaneous"

    task_id, kwargs = game_spec("penalty:0")
    with pytest.raises(ValueError, match="expected a sequential-form algorithm"):
        reply_errors(Simultaneous(), make_env_factory("sequential", task_id, kwargs), np.zeros((2, 3, 3)))


@pytest.mark.parametrize("order", ["possible_agents", "reversed"])
def test_reading_replies_from_the_joint_distribution_counts_what_the_live_policy_shows(order):
    """A saved run keeps only its joint distribution: read from it (`matrix.joint_policy`), the wrong replies per
    rank equal `reply_errors`' count on the live policy, for the backward-induction table (none) and with three
    planted errors (exactly three, at the last rank), in a game without ties."""
    from stmg_bench.suites.matrix import joint_policy
    from stmg_bench.suites.replies import joint_reply_errors

    make_env, payoffs, _, priority, table = _general_sum_3_1(order)
    planted = {(0, 0), (2, 1), (1, 2)}
    for replies in (table, {c: (a + 1) % 3 if c in planted else a for c, a in table.items()}):
        algorithm = PlaysTable(make_env, replies, priority)
        live = tuple(r.wrong for r in reply_errors(algorithm, make_env, payoffs))
        _, joint = joint_policy(algorithm, make_env, 0)
        read = joint_reply_errors(payoffs, joint, priority)
        assert read.wrong == live and read.contexts == (1, 3, 9) and read.unread == (0, 0, 0)
    assert live == (0, 0, 3)


def test_joint_replies_as_good_as_the_solvers_are_not_wrong_and_unreachable_contexts_are_unread():
    """In a team game a reply that ties with the solver's is not counted; a context with zero probability cannot
    be read and is counted apart; a distribution of the wrong shape is refused with both shapes."""
    from stmg_bench.suites.replies import joint_reply_errors
    from stmg_envs.equilibria import common_payoff_tensor

    team = common_payoff_tensor([[1.0, 1.0], [0.0, 2.0]])  # after a1 both follower replies pay 1
    tie = np.array([[0.05, 0.05], [0.0, 0.9]])  # after a1 the follower is indifferent: either reply is right
    assert joint_reply_errors(team, tie).wrong == (0, 0)
    assert joint_reply_errors(team, np.array([[0.0, 0.0], [0.1, 0.9]])) == ((0, 0), (1, 1), (0, 1), (0, 0))
    assert joint_reply_errors(team, np.array([[0.0, 0.0], [0.9, 0.1]])).wrong == (0, 1)  # 0 after a2: pays 0 < 2
    with pytest.raises(ValueError, match=r"expected a joint distribution of shape \(2, 2\).*got \(4,\)"):
        joint_reply_errors(team, np.full(4, 0.25))


def test_a_wrong_reply_off_the_se_path_leaves_the_path_right_and_one_on_it_is_marked_at_its_rank():
    """`wrong_on_path` marks the ranks whose reply in the SE-path context is wrong, so a report can tell a policy
    that plays the SE with wrong replies elsewhere (they do not change the outcome) from one that misses it."""
    from stmg_bench.suites.replies import joint_reply_errors
    from stmg_envs.equilibria import common_payoff_tensor

    team = common_payoff_tensor([[1.0, 0.0], [0.0, 2.0]])  # SE: a2, a2; after a1 the follower should play a1
    off_path = joint_reply_errors(team, np.array([[0.0, 0.1], [0.0, 0.9]]))  # after a1 it plays a2: pays 0 < 1
    assert off_path.wrong == (0, 1) and off_path.wrong_on_path == (0, 0) and off_path.right_on_path
    follower = joint_reply_errors(team, np.array([[0.0, 0.0], [0.9, 0.1]]))  # after a2 it plays a1: on the path
    assert follower.wrong_on_path == (0, 1) and not follower.right_on_path
    leader = joint_reply_errors(team, np.array([[0.1, 0.9], [0.0, 0.0]]))  # the leader plays a1; (a2,) unread
    assert leader.wrong == (1, 1) and leader.wrong_on_path == (1, 0) and not leader.right_on_path
