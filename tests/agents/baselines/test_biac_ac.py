"""Bi-AC's deep bi-level actor-critic (``biac-ac``): its updates, its choices, its limits, save/load and a sanity run."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [agents] extra")
pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

import pettingzoo  # noqa: E402
from gymnasium import spaces  # noqa: E402
from torch import nn  # noqa: E402

import stmg_envs  # noqa: E402  (registers the tasks)
from stmg_agents.baselines.biac_ac import BiACConfig, BiLevelActorCritic, _Batch  # noqa: E402
from stmg_envs.wrappers import stmg_v0  # noqa: E402

pytestmark = pytest.mark.agents

#: Maintain (Bi-AC Table 1b): the leader's best cell (a2, a1) = 30 is not its Stackelberg outcome,
#: because the follower answers a2 with a2; the SE is (a1, a1) = (20, 15).
MAINTAIN_LEADER = [[20.0, 0.0, 0.0], [30.0, 10.0, 0.0], [0.0, 0.0, 5.0]]
MAINTAIN_FOLLOWER = [[15.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 10.0]]
SMALL = {"hidden_sizes": (8,), "batch_size": 4, "buffer_size": 16, "learning_starts": 4}


def escape():
    return pettingzoo.make("aec", "stmg/Escape-v0")


class TableCritic(nn.Module):
    """A critic input ``[obs (1), onehot a_L (3), onehot a_F (3)]`` -> ``table[a_L, a_F]`` (no parameters)."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32))

    def forward(self, x):
        a_leader, a_follower = x[:, 1:4], x[:, 4:7]
        return torch.einsum("bi,ij,bj->b", a_leader, self.table, a_follower).unsqueeze(-1)


class TableActor(nn.Module):
    """An actor input ``[obs (1), onehot a_L (3)]`` -> logits ``table[a_L]`` (no parameters)."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32))

    def forward(self, x):
        return x[:, 1:4] @ self.table


def with_tables(model, *, online=True, target=True):
    """Install Maintain's tables as critics and a follower actor that answers Q_F's best reply."""
    nets = {
        "q_leader": TableCritic(MAINTAIN_LEADER),
        "q_follower": TableCritic(MAINTAIN_FOLLOWER),
        "actor": TableActor(MAINTAIN_FOLLOWER),  # logits = Q_F row: its argmax is the best reply
    }
    for name, net in nets.items():
        if online:
            setattr(model, name, net)
        if target:
            setattr(model, f"{name}_target", net)
    return model


def batch(n=3, r_leader=1.0, r_follower=2.0, done=(0.0, 1.0, 0.0)):
    ones = torch.ones(n, 1)
    return _Batch(
        ones,
        ones,
        torch.zeros(n, dtype=torch.int64),
        torch.zeros(n, dtype=torch.int64),
        torch.full((n,), r_leader),
        torch.full((n,), r_follower),
        ones,
        ones,
        torch.tensor(done),
        torch.tensor(done),
    )


def test_critic_targets_use_the_leaders_stackelberg_choice_and_the_followers_reply():
    """Eq. 14 by hand: the next joint action is the leader's SE choice (a1, a1), not the leader's best cell (a2, a1).

    Maintain's target networks give Q_L(s', a1, a1) = 20 and Q_F(s', a1, a1) = 15, so with gamma 0.5 the targets
    are r_L + 10 and r_F + 7.5, and a terminated row keeps only its reward.
    """
    model = with_tables(BiLevelActorCritic(escape, seed=0, gamma=0.5, **SMALL), online=False)
    target_l, target_f = model.critic_targets(batch())
    np.testing.assert_allclose(target_l.numpy(), [1.0 + 10.0, 1.0, 1.0 + 10.0])
    np.testing.assert_allclose(target_f.numpy(), [2.0 + 7.5, 2.0, 2.0 + 7.5])


def test_leader_picks_its_stackelberg_action_given_the_followers_replies():
    """With known Q_L and follower replies the leader plays a1 (20 against the reply a1), not a2 (10 against a2)."""
    model = with_tables(BiLevelActorCritic(escape, seed=0, **SMALL), target=False)
    env = escape()
    env.reset(seed=0)
    assert model.act("agent_0", env.observe("agent_0")) == 0
    np.testing.assert_array_equal(model.action_probabilities("agent_0", env.observe("agent_0")), [1.0, 0.0, 0.0])
    env.step(1)  # the leader plays a2: the follower's greedy reply is a2, its probabilities the actor's softmax
    observation = env.observe("agent_1")
    assert model.act("agent_1", observation) == 1
    np.testing.assert_allclose(
        model.action_probabilities("agent_1", observation), torch.softmax(torch.tensor([0.0, 5.0, 0.0]), 0).numpy()
    )


@pytest.mark.filterwarnings("ignore:`parameters` is an empty generator")  # the table critic has none
def test_actor_update_moves_the_follower_towards_its_best_reply():
    """Gradient steps on -sum_a pi(a|s,a_L) Q_F(s,a_L,a) (fixed Q_F) make the follower answer each a_L with argmax Q_F."""
    model = BiLevelActorCritic(escape, seed=0, target_update_interval=10**6, **{**SMALL, "learning_rate": 0.1})
    model.q_follower = TableCritic(MAINTAIN_FOLLOWER)  # not in the critic optimiser: it stays fixed
    rows = _Batch(
        torch.ones(3, 1),
        torch.ones(3, 1),
        torch.arange(3),
        torch.zeros(3, dtype=torch.int64),
        *(torch.zeros(3),) * 2,
        torch.ones(3, 1),
        torch.ones(3, 1),
        *(torch.ones(3),) * 2,
    )
    for _ in range(30):
        model.train_step(rows)
    logits = model._actor_logits(model.actor, torch.ones(3, 1), torch.arange(3))
    assert logits.argmax(dim=-1).tolist() == [0, 1, 2]
    assert torch.softmax(logits, -1).diagonal().min() > 0.8


def test_soft_target_update_every_interval():
    """Targets stay put between updates and move by tau toward the online networks every target_update_interval."""
    model = BiLevelActorCritic(escape, seed=0, tau=0.5, target_update_interval=2, **SMALL)
    before = [p.clone() for p in model.q_leader_target.parameters()]
    model.train_step(batch())
    for old, new in zip(before, model.q_leader_target.parameters()):
        torch.testing.assert_close(old, new)
    model.train_step(batch())
    for old, new, online in zip(before, model.q_leader_target.parameters(), model.q_leader.parameters()):
        torch.testing.assert_close(new, 0.5 * old + 0.5 * online)


def test_exploration_is_uniform_then_decays_by_steps():
    """Epsilon is 1 during learning_starts, then exploration_initial_eps, times exploration_decay every interval."""
    model = BiLevelActorCritic(escape, seed=0, learning_starts=100, exploration_decay_interval=50)
    assert [model.epsilon(t) for t in (0, 99, 100, 149, 150, 200)] == pytest.approx([1, 1, 0.3, 0.3, 0.27, 0.243])


def test_learning_starts_only_after_the_uniform_phase():
    """No gradient step during learning_starts; one per joint step afterwards; the callback sees every joint step."""
    model = BiLevelActorCritic(escape, seed=0, n_envs=2, **{**SMALL, "learning_starts": 10})
    seen = []
    model.learn(10, callback=seen.append)
    assert model.n_updates == 0 and seen == list(range(1, 11))
    model.learn(5)
    assert model.n_updates == 5 and model.num_timesteps == 15


@pytest.mark.parametrize(
    "hyperparameters, match",
    [
        ({"lr": 0.1}, "unknown hyper-parameter 'lr'.*expected one of"),
        ({"ent_coef": 0.1}, "unknown hyper-parameter 'ent_coef'"),
        ({"gamma": 1.5}, "expected `gamma` in"),
        ({"batch_size": 64, "buffer_size": 10}, "expected `batch_size` <= `buffer_size`"),
        ({"hidden_sizes": ()}, "expected `hidden_sizes`"),
    ],
)
def test_bad_hyperparameters_are_refused_clearly(hyperparameters, match):
    """Unknown names list the known ones; bad values say what is expected."""
    with pytest.raises((TypeError, ValueError), match=match):
        BiLevelActorCritic(escape, seed=0, **hyperparameters)


def test_config_fields_are_the_constructors_parameters():
    """The harness sees the config's fields as the constructor's hyper-parameters, so it passes no foreign setting."""
    from stmg_bench.contract import accepted_hyperparameters
    from stmg_bench.selection import settings_for

    names, var_kw = accepted_hyperparameters(BiLevelActorCritic)
    assert names == list(BiACConfig.__dataclass_fields__) and not var_kw
    assert settings_for(BiLevelActorCritic, {"n_envs": 2, "gamma": 0.0, "ent_coef": 0.1, "n_epochs": 5}, {}) == {
        "n_envs": 2,
        "gamma": 0.0,
    }


def test_more_than_two_agents_is_refused():
    """A three-agent game raises a ValueError saying biac-ac is for two agents."""

    def three():
        return pettingzoo.make("aec", "stmg/Matrix-v0", generator="team-trap:3:0")

    with pytest.raises(ValueError, match="two-agent games: expected 2 agents, got 3"):
        BiLevelActorCritic(three, seed=0)


def test_box_actions_are_refused():
    """Continuous (Box) actions raise a ValueError saying only Discrete actions are supported."""

    class BoxGame(pettingzoo.ParallelEnv):
        metadata = {"name": "box_game"}
        possible_agents = ["a", "b"]

        def observation_space(self, agent):
            return spaces.Box(0, 1, (1,))

        def action_space(self, agent):
            return spaces.Box(-1, 1, (2,))

    with pytest.raises(ValueError, match="supports Discrete actions only"):
        BiLevelActorCritic(lambda: stmg_v0(BoxGame()), seed=0)


def test_random_order_is_refused():
    """A 'random' priority order (the leader changes between episodes) stops learn() with a clear ValueError."""

    def random_order():
        return stmg_v0(stmg_envs.matrix.escape(episode_length=1), order="random")

    model = BiLevelActorCritic(random_order, seed=0, **SMALL)
    with pytest.raises(ValueError, match="fixed priority order.*'random'"):
        model.learn(50)


def test_reversed_order_makes_agent_1_the_leader():
    """The leader is the rank-0 agent of the env's fixed order, whichever agent that is."""
    model = BiLevelActorCritic(lambda: pettingzoo.make("aec", "stmg/Escape-v0", order=["agent_1", "agent_0"]), seed=0)
    assert (model.leader, model.follower) == ("agent_1", "agent_0")


def test_save_and_load_continue_training_exactly(tmp_path):
    """A loaded learner trains on exactly as the saved one (networks, optimisers, buffer, random streams).

    Escape's observation is constant, so where each env copy stands in its episode changes nothing.
    """
    model = BiLevelActorCritic(escape, seed=1, **SMALL).learn(20)
    model.save(tmp_path / "model.zip")
    loaded = BiLevelActorCritic.load(tmp_path / "model.zip", escape)
    assert (loaded.num_timesteps, loaded.n_updates) == (20, model.n_updates) and model.n_updates > 0
    model.learn(10)
    loaded.learn(10)
    for name, net in model._networks().items():
        for a, b in zip(net.parameters(), loaded._networks()[name].parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_loading_a_foreign_or_damaged_file_says_so(tmp_path):
    """A tabular biac save, or a truncated biac-ac save, raises ValueError naming what was expected."""
    (tmp_path / "biac.json").write_text(json.dumps({"format": "stmg_agents.BiLevelQLearning/1"}))
    with pytest.raises(ValueError, match="expected a saved BiLevelActorCritic"):
        BiLevelActorCritic.load(tmp_path / "biac.json", escape)
    BiLevelActorCritic(escape, seed=0, **SMALL).learn(8).save(tmp_path / "model.zip")
    data = (tmp_path / "model.zip").read_bytes()
    (tmp_path / "model.zip").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="expected a saved BiLevelActorCritic.*(unreadable|damaged)"):
        BiLevelActorCritic.load(tmp_path / "model.zip", escape)


@pytest.mark.parametrize(
    "task, kwargs, se",
    [("stmg/Escape-v0", {}, (2, 2)), ("stmg/Penalty-v0", {"k": 0.0}, (0, 2))],
    ids=["escape", "penalty-k0"],
)
def test_reaches_the_stackelberg_equilibrium_in_most_seeds(task, kwargs, se):
    """A short run (100 uniform steps, 200 learning) reaches the SE in at least 2 of 3 seeds.

    Escape's SE is (a3, a3) = 30, Penalty k=0's (a1, a3) = 10 (with (a1, a1) = 10 too, which is not an SE).
    """

    def make_env():
        return pettingzoo.make("aec", task, **kwargs)

    reached = 0
    for seed in range(3):
        model = BiLevelActorCritic(make_env, seed=seed, gamma=0.0, learning_starts=100).learn(300)
        env = make_env()
        env.reset(seed=0)
        leader = model.act("agent_0", env.observe("agent_0"))
        env.step(leader)
        reached += (leader, model.act("agent_1", env.observe("agent_1"))) == se
    assert reached >= 2


class LeaderTableCritic(nn.Module):
    """``TableCritic`` whose input starts with an observation of width ``obs_dim``."""

    def __init__(self, table, obs_dim):
        super().__init__()
        self.obs_dim = obs_dim
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32))

    def forward(self, x):
        a_leader, a_follower = x[:, self.obs_dim : self.obs_dim + 3], x[:, self.obs_dim + 3 : self.obs_dim + 6]
        return torch.einsum("bi,ij,bj->b", a_leader, self.table, a_follower).unsqueeze(-1)


class ObservationActor(nn.Module):
    """A follower actor whose reply depends on its observation: replies a3 when ``obs[0] > 0``, else the table's."""

    def forward(self, x):
        table = torch.as_tensor(MAINTAIN_FOLLOWER, dtype=torch.float32)
        logits = x[:, 1:4] @ table
        return torch.where(x[:, :1] > 0, torch.tensor([0.0, 0.0, 100.0]), logits)


@pytest.mark.filterwarnings("ignore:`parameters` is an empty generator")
def test_leader_actor_learns_against_replies_read_from_the_followers_observation():
    """With ``leader_actor`` the leader's actor is trained on Q_L(o_L, a, r_F(a)) where the follower's replies r_F
    come from the follower's own observation: Maintain's tables with a follower who, seeing obs 1, answers every
    action with a3, make a3 (5 for the leader) better than a1 (0 against a3): the leader learns a3, where the
    Eq. 12 rule on the leader's own observation (obs -1: the table replies) would pick a1."""
    model = BiLevelActorCritic(escape, seed=0, leader_actor=True, target_update_interval=10**6,
                               **{**SMALL, "learning_rate": 0.1})  # fmt: skip
    assert model.leader_policy is not None and "leader_actor" in model._networks()
    model.q_leader = LeaderTableCritic(MAINTAIN_LEADER, obs_dim=1)
    model.actor = ObservationActor()
    n = 8
    rows = _Batch(
        -torch.ones(n, 1), torch.ones(n, 1), torch.zeros(n, dtype=torch.int64), torch.zeros(n, dtype=torch.int64),
        *(torch.zeros(n),) * 2, -torch.ones(n, 1), torch.ones(n, 1), *(torch.ones(n),) * 2,
    )  # fmt: skip
    for _ in range(40):
        model._train_leader_actor(rows)
    assert int(model.leader_policy(-torch.ones(1, 1)).argmax()) == 2
    assert int(model._leader_choice(model.q_leader, model.actor, -torch.ones(1, 1))[0]) == 0


def test_leader_actor_acts_saves_and_loads(tmp_path):
    """The leader's actor plays its greedy action, gives a softmax, trains, and survives save/load exactly;
    without the option the model has no leader actor (the default's networks and trajectory are unchanged)."""
    model = BiLevelActorCritic(escape, seed=2, leader_actor=True, **SMALL).learn(20)
    env = escape()
    env.reset(seed=0)
    observation = env.observe("agent_0")
    probs = model.action_probabilities("agent_0", observation)
    assert probs.sum() == pytest.approx(1.0) and model.act("agent_0", observation) == int(np.argmax(probs))
    model.save(tmp_path / "model.zip")
    loaded = BiLevelActorCritic.load(tmp_path / "model.zip", escape)
    model.learn(10)
    loaded.learn(10)
    for a, b in zip(model.leader_policy.parameters(), loaded.leader_policy.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    plain = BiLevelActorCritic(escape, seed=2, **SMALL)
    assert plain.leader_policy is None and "leader_actor" not in plain._networks()
    with pytest.raises(ValueError, match="expected `leader_actor` to be a bool"):
        BiLevelActorCritic(escape, seed=0, leader_actor=1)
