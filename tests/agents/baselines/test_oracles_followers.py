"""Oracles & Followers (``oaf``) and its Q-learning baseline (``oaf-tabularq``): updates, regret, limits, save/load."""

from __future__ import annotations

import itertools
import zipfile

import numpy as np
import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents.baselines.oracles_followers import (
    OAFConfig,
    OraclesAndFollowers,
    QLearningFollower,
    _FollowerNet,
    _LeaderTable,
    follower_regrets,
    simulate,
)
from stmg_bench.contract import check_algorithm, check_instance
from stmg_bench.suites.matrix import joint_policy
from stmg_envs.equilibria.iterated import follower_best_response, iterated_game, leader_policies, play
from stmg_envs.matrix.iterated import IteratedMatrixGame
from stmg_envs.wrappers import stmg_v0

from .conftest import DyingAgentEnv

pytestmark = pytest.mark.agents


def maker(game="smipd", **kwargs):
    return lambda: pettingzoo.make("parallel", "stmg/IteratedMatrix-v0", game=game, **kwargs)


def observation(n, m):
    out = np.zeros(n, dtype=np.float32)
    out[m] = 1.0
    return out


def greedy_everywhere(model):
    n = model.n_states
    return [model.act(agent, observation(n, m)) for agent in model.agents for m in range(n)]


@pytest.mark.parametrize("name", ["ipd", "smipd"])
def test_simulate_plays_the_environment(name):
    """simulate() gives the rewards and memory states stmg/IteratedMatrix-v0 gives, for the same actions."""
    rng = np.random.default_rng(0)
    game = iterated_game(name)
    n = len(leader_policies(game)[0])
    leader = rng.integers(2, size=(6, n))
    follower_actions = rng.integers(2, size=(6, game.episode_length))
    seen = []

    def follower(t, memory):
        seen.append(memory.copy())
        return follower_actions[:, t]

    states, actions, r0, r1 = simulate(game, leader, follower)
    np.testing.assert_array_equal(actions, follower_actions)
    for b in range(6):
        env = IteratedMatrixGame(game)
        _, infos = env.reset(seed=0)
        for t in range(game.episode_length):
            assert infos["agent_1"]["memory_state"] == seen[t][b]
            assert env.state().argmax() == states[b, t]
            a0 = int(leader[b, infos["agent_0"]["memory_state"]])
            _, rewards, _, _, infos = env.step({"agent_0": a0, "agent_1": int(follower_actions[b, t])})
            assert (rewards["agent_0"], rewards["agent_1"]) == (r0[b, t], r1[b, t])


def test_follower_regrets_match_brute_force():
    """The regret against each leader is the best memory-1 reply's value (by enumeration) minus the reply's value."""
    game = iterated_game("smipd")
    rng = np.random.default_rng(1)
    replies = rng.integers(2, size=(8, 3))
    regrets = follower_regrets(game, replies)
    for k, leader in enumerate(leader_policies(game)):
        best = max(play(game, leader, f).follower_value for f in itertools.product((0, 1), repeat=3))
        assert regrets[k] == pytest.approx(best - play(game, leader, replies[k]).follower_value)
    assert (regrets >= 0).all() and regrets.max() > 0


def test_leader_update_moves_towards_the_better_policy():
    """One REINFORCE step raises the probability of the answers of the episodes that returned more."""
    table = _LeaderTable(2, lr=0.1)
    drawn = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
    table.update(drawn, returns=drawn[:, 0].astype(float))  # action 1 in state 0 pays; state 1 does not matter
    p = table.probabilities()
    assert p[0, 1] > 0.5 and p[1, 1] == pytest.approx(0.5)
    before = table.logits.copy()
    table.update(drawn, returns=np.ones(4))  # equal returns: no direction, nothing moves
    np.testing.assert_array_equal(table.logits, before)


def test_follower_gradient_matches_finite_differences():
    """The follower's backpropagated gradient (with the entropy bonus) is the loss's numerical gradient."""
    rng = np.random.default_rng(2)
    net = _FollowerNet(5, (4, 3), lr=0.1, rng=rng)
    for p in net.params:
        p[...] = rng.normal(0.0, 0.5, p.shape)
    x, actions, adv = rng.normal(size=(7, 5)), rng.integers(2, size=7), rng.normal(size=7)
    coef = 0.3

    def loss():
        logits = net.forward(x)[0]
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        entropy = -(np.exp(log_p) * log_p).sum(axis=1)
        return -(adv * log_p[np.arange(7), actions]).mean() - coef * entropy.mean()

    captured = []
    net.adam.step = lambda params, grads: captured.extend(g.copy() for g in grads)
    net.update(x, actions, adv, coef)
    for p, g in zip(net.params, captured):
        numeric = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            old = p[index]
            p[index] = old + 1e-6
            up = loss()
            p[index] = old - 1e-6
            numeric[index] = (up - loss()) / 2e-6
            p[index] = old
        np.testing.assert_allclose(g, numeric, atol=1e-6)


def test_pretrained_follower_best_responds_to_every_leader():
    """After a short run the follower's reply to every leader of the one-shot and single-memory games is a best
    response (Battle of the Sexes: exactly follower_best_response's policy), and pre-training stopped early."""
    bots = OraclesAndFollowers(maker("bots"), seed=0).learn(6_000)
    for leader in leader_policies("bots"):
        assert bots.follower_policy(leader) == tuple(follower_best_response("bots", leader, follower="memory-1").policy)
    smipd = OraclesAndFollowers(maker("smipd"), seed=0).learn(100_000)
    assert smipd.pretrained and smipd.pretrain_timesteps < 50_000
    np.testing.assert_array_equal(smipd.regrets(), 0.0)
    assert smipd.retrain_regret == 0.0


def test_leader_finds_the_committed_optimum_of_the_single_memory_ipd():
    """With the pre-trained follower, the leader's committed policy earns the solver's memory-1 optimum."""
    from stmg_envs.equilibria.iterated import iterated_stackelberg

    model = OraclesAndFollowers(maker("smipd"), seed=1).learn(200_000)
    optimum = iterated_stackelberg("smipd", follower="memory-1").leader_value
    assert play("smipd", model.committed_policy(), model.follower_policy()).leader_value == optimum
    assert model.num_timesteps >= 200_000 and model.leader_timesteps > 0 and model.retrain_timesteps > 0


def test_q_learning_follower_learns_its_reply_inside_the_episode():
    """The baseline's inner Q-learning finds the follower's best reply to a fixed leader of Battle of the Sexes."""
    model = QLearningFollower(maker("bots"), seed=0, q_learning_rate=0.5)
    replies, steps = model.q_learning(np.array([[0], [1]] * 3))
    np.testing.assert_array_equal(replies[:, 0], [0, 1] * 3)
    assert steps == 6 * 80


def test_q_learning_baseline_counts_every_step_and_reports_its_reply():
    """Every inner Q-learning step counts towards the budget; the final reply to the committed leader is kept."""
    calls = []
    model = QLearningFollower(maker("smipd"), seed=0, leader_batch_episodes=4, q_episodes=5).learn(
        2_000, callback=calls.append
    )
    per_leader_episode = (5 + 1) * 5
    assert calls == sorted(calls) and calls[-1] == model.num_timesteps >= 2_000
    assert model.leader_timesteps == model.leader_episodes * 5
    assert model.num_timesteps == model.leader_episodes * per_leader_episode + 5 * 5
    assert model.final_reply is not None and model.follower_policy() == model.final_reply
    assert model.retrain_regret >= 0.0


@pytest.mark.parametrize("cls", [OraclesAndFollowers, QLearningFollower])
def test_contract_learn_act_callbacks(cls):
    """The contract: the class checks out, learn reports growing counts, False stops, act/probabilities read right."""
    small = {"leader_batch_episodes": 4} if cls is QLearningFollower else {}
    check_algorithm(cls, small)
    model = cls(maker("ipd"), seed=0, **small)
    check_instance(model)
    seen = []
    model.learn(3_000, callback=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] >= 3_000
    greedy, joint = joint_policy(model, maker("ipd"), seed=0)
    assert greedy == (model.committed_policy()[0], model.follower_policy()[0])
    assert joint.shape == (2, 2) and joint.sum() == pytest.approx(1.0)
    stopped = cls(maker("ipd"), seed=0, **small)
    calls = []
    stopped.learn(10**6, callback=lambda n: calls.append(n) or False)
    assert len(calls) == 1 and stopped.num_timesteps < 10**5


@pytest.mark.parametrize("cls", [OraclesAndFollowers, QLearningFollower])
def test_same_seed_same_result_other_seed_elsewhere(cls):
    """Two runs with one seed end identically (policies, probabilities, counters); another seed does not."""
    small = {"leader_batch_episodes": 4, "q_episodes": 4} if cls is QLearningFollower else {}

    def run(seed):
        model = cls(maker("ipd"), seed=seed, **small).learn(4_000)
        probs = [model.action_probabilities("agent_0", observation(5, m)) for m in range(5)]
        if cls is OraclesAndFollowers:
            probs += [model.action_probabilities("agent_1", observation(5, m)) for m in range(5)]
        return np.concatenate(probs), greedy_everywhere(model), model.num_timesteps

    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("cls", [OraclesAndFollowers, QLearningFollower])
def test_save_load_roundtrip_continues_exactly(cls, tmp_path):
    """A saved model loads with the same policies and counters, and trains on exactly as the original."""
    small = {"leader_batch_episodes": 4, "q_episodes": 4} if cls is QLearningFollower else {}
    model = cls(maker("smipd"), seed=0, **small).learn(3_000)
    model.save(tmp_path / "model.zip")
    loaded = cls.load(tmp_path / "model.zip", maker("smipd"))
    assert greedy_everywhere(loaded) == greedy_everywhere(model)
    assert loaded.num_timesteps == model.num_timesteps and loaded.config == model.config
    for m in range(3):
        np.testing.assert_array_equal(
            loaded.action_probabilities("agent_1", observation(3, m)),
            model.action_probabilities("agent_1", observation(3, m)),
        )
    model.learn(2_000)
    loaded.learn(2_000)
    assert greedy_everywhere(loaded) == greedy_everywhere(model)
    np.testing.assert_array_equal(loaded._leader.logits, model._leader.logits)


def test_load_refuses_foreign_damaged_and_other_game_files(tmp_path):
    """Loading another algorithm's save, a truncated file or a save of another game raises a clear ValueError."""
    OraclesAndFollowers(maker("smipd"), seed=0).save(tmp_path / "oaf.zip")
    with pytest.raises(ValueError, match="expected a saved QLearningFollower, got a save of 'OraclesAndFollowers'"):
        QLearningFollower.load(tmp_path / "oaf.zip", maker("smipd"))
    data = (tmp_path / "oaf.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="unreadable or damaged"):
        OraclesAndFollowers.load(tmp_path / "cut.zip", maker("smipd"))
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="unreadable or damaged"):
        OraclesAndFollowers.load(tmp_path / "text.zip", maker("smipd"))
    with pytest.raises(ValueError, match="for another game"):
        OraclesAndFollowers.load(tmp_path / "oaf.zip", maker("smipd", episode_length=4))
    with zipfile.ZipFile(tmp_path / "oaf.zip") as archive, zipfile.ZipFile(tmp_path / "bad.zip", "w") as bad:
        bad.writestr("meta.json", archive.read("meta.json"))
        bad.writestr("arrays.npz", b"garbage")
    with pytest.raises(ValueError, match="damaged"):
        OraclesAndFollowers.load(tmp_path / "bad.zip", maker("smipd"))


@pytest.mark.parametrize(
    "make_env, match",
    [
        (
            lambda: pettingzoo.make("parallel", "stmg/Matrix-v0", payoffs=np.zeros((3, 2, 2, 2))),
            r"expected 2 agents, got 3",
        ),
        (lambda: pettingzoo.make("parallel", "stmg/Penalty-v0"), r"expected Discrete\(2\)"),
        (lambda: DyingAgentEnv(box_actions=True), r"expected Discrete\(2\) for agent 'agent_0', got Box"),
        (
            lambda: pettingzoo.make("parallel", "stmg/Matrix-v0", payoffs=np.zeros((2, 2, 2))),
            r"expected an IteratedMatrixGame, got MatrixGame",
        ),
        (lambda: pettingzoo.make("aec", "stmg/IteratedMatrix-v0"), r"expected make_env\(\) to return a ParallelEnv"),
        (lambda: stmg_v0(pettingzoo.make("parallel", "stmg/IteratedMatrix-v0")), r"ParallelEnv"),
    ],
)
@pytest.mark.parametrize("cls", [OraclesAndFollowers, QLearningFollower])
def test_unsupported_games_are_refused_with_what_to_use(cls, make_env, match):
    """More than two agents, other than two actions, Box actions, non-iterated games and the AEC form: ValueError."""
    with pytest.raises(ValueError, match=match):
        cls(make_env, seed=0)


def test_bad_settings_are_refused():
    """Unknown names, out-of-range values and shares that leave the leader nothing are refused, naming the field."""
    with pytest.raises(TypeError, match="unknown hyper-parameter 'lr'.*learning_rate"):
        OraclesAndFollowers(maker(), seed=0, lr=0.1)
    for bad, match in (
        ({"follower_features": "deep"}, "follower_features"),
        ({"follower_hidden_sizes": (0,)}, "hidden_sizes"),
        ({"pretrain_share": 0.7, "retrain_share": 0.3}, "pretrain_share"),
        ({"regret_tolerance": -0.1}, "regret_tolerance"),
        ({"n_envs": 0}, "n_envs"),
        ({"leader_learning_rate": 0.0}, "leader_learning_rate"),
    ):
        with pytest.raises(ValueError, match=match):
            OAFConfig(**bad)
    with pytest.raises(ValueError, match="q_epsilon"):
        QLearningFollower(maker(), seed=0, q_epsilon=1.5)
    model = OraclesAndFollowers(maker(), seed=0)
    with pytest.raises(ValueError, match="total_timesteps"):
        model.learn(-1)
    with pytest.raises(ValueError, match="leader policy of 3 actions"):
        model.follower_policy((0, 1))
    with pytest.raises(ValueError, match="expected an agent of"):
        model.act("agent_7", observation(3, 0))
    assert OAFConfig(follower_hidden_sizes=[8]).follower_hidden_sizes == (8,)
