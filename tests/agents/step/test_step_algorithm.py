"""STEP end to end: learning, determinism, save/load, SB3 integration, bad arguments, general STMGs."""

from __future__ import annotations

import csv

import gymnasium
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

import stmg_envs
from stmg_agents import STEP
from stmg_agents.step.evaluation import joint_policy_readout
from stmg_agents.step.policy import NLevelPolicy
from stmg_envs import stmg_v0
from stmg_envs.matrix import MIXING, penalty, penalty_payoff
from tests.agents.step.toy_games import CountdownGame, rotating_order

pytestmark = pytest.mark.agents


def parameters(model: STEP) -> list[th.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


def same_parameters(a: list[th.Tensor], b: list[th.Tensor]) -> bool:
    return len(a) == len(b) and all(th.equal(x, y) for x, y in zip(a, b))


def team_payoff(model: STEP, k: float) -> float:
    payoffs = np.stack([penalty_payoff(k)] * 2)
    return float(joint_policy_readout(model, seed=0).expected_payoffs(payoffs)[0])


def test_short_learn_on_penalty_improves_the_return():
    """A few thousand joint steps on Penalty(k=-25) raise the expected team payoff of the joint policy."""
    model = STEP("stmg/Penalty-v0", seed=0, env_kwargs={"k": -25})
    before = team_payoff(model, -25)
    model.learn(3000)
    after = team_payoff(model, -25)
    assert before < 0 < 5 < after, (before, after)  # noqa: PLR0133
    assert np.mean([info["r"] for info in model.ep_info_buffer]) > 25 * before


def test_learn_counts_joint_time_steps():
    """total_timesteps counts temporal steps summed over copies, in whole rollouts (n_envs * n_steps)."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=4, n_steps=25)
    model.learn(250)
    assert model.num_timesteps == 300


def test_same_seed_same_run_different_seed_different_run():
    """Seeded runs are reproducible bit for bit; another seed gives another run."""
    runs = []
    for seed in (3, 3, 4):
        model = STEP("stmg/Mixing-v0", seed=seed, n_envs=2, n_steps=10)
        model.learn(60)
        runs.append(parameters(model))
    assert same_parameters(runs[0], runs[1])
    assert not same_parameters(runs[0], runs[2])


def test_save_load_round_trip_and_continued_training(tmp_path):
    """Loading restores predictions and hyper-parameters, and continuing training matches the original exactly."""
    model = STEP(
        "stmg/Penalty-v0",
        seed=7,
        env_kwargs={"k": -50},
        beta=0.3,
        n_envs=2,
        n_steps=25,
        policy_kwargs=dict(rank_embedding_dim=8, hyper_net_arch=(32,)),
    )
    model.learn(50)  # exactly one 25-step episode per copy: the copies are between episodes now
    path = tmp_path / "step.zip"
    model.save(path)
    loaded = STEP.load(path, env="stmg/Penalty-v0", env_kwargs={"k": -50})
    assert loaded.beta == 0.3 and loaded.n_envs == 2 and loaded.num_timesteps == 50
    assert loaded.policy.rank_embedding_dim == 8 and loaded.policy.hyper_net_arch == (32,)
    assert same_parameters(parameters(model), parameters(loaded))
    env = stmg_v0(penalty(k=-50))
    env.reset(seed=0)
    for _ in range(2):
        obs = env.observe(env.agent_selection)
        assert model.predict(obs, deterministic=True)[0] == loaded.predict(obs, deterministic=True)[0]
        env.step(int(model.predict(obs, deterministic=True)[0]))
    model.learn(50, reset_num_timesteps=False)
    loaded.learn(50, reset_num_timesteps=False)
    assert loaded.num_timesteps == model.num_timesteps == 100
    assert same_parameters(parameters(model), parameters(loaded))


def test_load_without_env_can_predict(tmp_path):
    """A model loaded without an env still predicts and reads out its joint policy on a given env."""
    model = STEP("stmg/Mixing-v0", seed=0, n_envs=1, n_steps=5)
    model.save(tmp_path / "m.zip")
    loaded = STEP.load(tmp_path / "m.zip")
    assert loaded.get_env() is None
    readout = joint_policy_readout(loaded, env=stmg_v0(stmg_envs.matrix.mixing()))
    np.testing.assert_allclose(readout.joint_probabilities, joint_policy_readout(model).joint_probabilities, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(policy="MlpPolicy"), ValueError, "unknown policy 'MlpPolicy'"),
        (dict(policy=th.nn.Linear), ValueError, "subclass of NLevelPolicy"),
        (dict(beta=-0.1), ValueError, "beta"),
        (dict(beta=float("nan")), ValueError, "beta"),
        (dict(beta="big"), ValueError, "beta"),
        (dict(n_steps=0), ValueError, "n_steps"),
        (dict(n_envs=0), ValueError, "n_envs"),
        (dict(batch_size=1), ValueError, "batch_size"),
        (dict(n_minibatches=0), ValueError, "n_minibatches"),
        (dict(batch_size=10, n_minibatches=2), ValueError, "batch_size or n_minibatches, not both"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    """Unknown policies, negative beta and other bad hyper-parameters are rejected up front."""
    with pytest.raises(error, match=match):
        STEP("stmg/Penalty-v0", **kwargs)


def test_wrong_env_types_raise_clear_errors():
    """A Gymnasium env, a ParallelEnv, a flattened STMG or no env at all is refused with a hint."""
    with pytest.raises(ValueError, match="only for STEP.load"):
        STEP(None)
    with pytest.raises(TypeError, match="Gymnasium env"):
        STEP(gymnasium.make("stmg/Penalty-v0"))
    with pytest.raises(TypeError, match="STMG AECEnv"):
        STEP(penalty())
    with pytest.raises(TypeError, match="flatten=False"):
        STEP(stmg_v0(penalty(), flatten=True))


@pytest.mark.parametrize("box_actions", [False, True])
def test_dynamic_orders_dying_agents_and_uneven_observations(box_actions):
    """Any STMG works: a rotating order, agents dying at different steps, Box actions, padded observations."""
    factory = lambda: stmg_v0(  # noqa: E731
        CountdownGame(3, lifetimes=(None, 2, 5), episode_length=7, box_actions=box_actions, extra_obs=(0, 1, 2)),
        order=rotating_order,
    )
    model = STEP(factory, seed=0, n_envs=2, n_steps=9, n_epochs=2)
    model.learn(36)
    buf = model.rollout_buffer
    assert buf.ranks_present() == [0, 1, 2]
    assert not buf.valid.all()  # dead agents leave gaps
    assert np.isfinite(buf.advantages[buf.valid]).all()
    env = factory()
    env.reset(seed=1)
    obs = env.observe(env.agent_selection)
    action, _ = model.predict(obs, deterministic=True)
    assert np.asarray(action).shape == (() if not box_actions else (2,))
    # act (the contract's read-out) plays predict's action in the form the STMG takes: one conversion for both
    acted = model.act(env.agent_selection, obs)
    if box_actions:
        space = model.action_space
        assert isinstance(acted, np.ndarray) and acted.shape == space.shape and space.contains(acted)
        np.testing.assert_array_equal(acted, action)
    else:
        assert type(acted) is int and acted == int(action)


def test_each_agent_gets_its_own_reward_stream():
    """In general-sum Mixing, lane k's rewards are agent k's payoffs for the joint action played."""
    model = STEP("stmg/Mixing-v0", seed=0, n_envs=2, n_steps=25)
    model.learn(50)
    buf = model.rollout_buffer
    actions = buf.actions[..., 0].astype(int).reshape(25, 2, 2)  # step, copy, agent
    rewards = buf.rewards.reshape(25, 2, 2)
    for t in range(24):  # the last step of the episode also holds the truncation bootstrap
        for e in range(2):
            a0, a1 = actions[t, e]
            np.testing.assert_allclose(rewards[t, e], MIXING[:, a0, a1])


def test_sb3_callbacks_and_logger(tmp_path):
    """SB3 callbacks see one on_step per time step; the SB3 logger gets STEP's training metrics."""

    class Count(BaseCallback):
        def __init__(self):
            super().__init__()
            self.steps = 0
            self.rollouts = 0

        def _on_step(self) -> bool:
            self.steps += 1
            return True

        def _on_rollout_end(self) -> None:
            self.rollouts += 1

    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=25)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    counter = Count()
    model.learn(100, callback=counter)
    assert counter.steps == 50 and counter.rollouts == 2
    with open(tmp_path / "progress.csv") as f:
        row = next(csv.DictReader(f))
    for key in (
        "train/hypernetwork_regularizer",
        "train/value_loss",
        "rollout/ep_rew_mean",
        "rollout/ep_rew_mean/agent_1",
    ):
        assert key in row


def test_a_callback_can_stop_training():
    """on_step returning False stops learn() early, as in SB3."""

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return self.n_calls < 3

    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=25)
    model.learn(1000, callback=Stop())
    assert model.num_timesteps == 6


def test_learn_takes_the_contracts_callback_and_sb3s_callable_form():
    """learn tells the callback forms apart (stmg_agents.callbacks.sb3_callback): a one-argument callable is the
    benchmark contract's callback(num_timesteps), called after every update (False stops); a callable of
    (locals, globals) is SB3's, called at every time step."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=25)
    seen: list[int] = []
    model.learn(150, callback=seen.append)
    assert seen == [50, 100, 150]
    calls: list[int] = []
    model.learn(100, callback=lambda locals_, globals_: calls.append(locals_["self"].num_timesteps) or True)
    assert calls == list(range(2, 102, 2))
    model.learn(1000, callback=lambda num_timesteps: False)
    assert model.num_timesteps == 52  # stopped at the first time step after the first update


def test_the_benchmark_contract_on_step_itself(tmp_path):
    """STEP is a benchmark algorithm itself: built from a factory with the suites' shared names, acting greedily as
    predict does (from its NumPy snapshot, taken again after learning), reading out probabilities, and loaded as
    the contract calls load(path, make_env)."""
    make_env = lambda: stmg_v0(penalty(k=-25))  # noqa: E731
    model = STEP(
        make_env,
        seed=1,
        n_envs=2,
        n_steps=10,
        n_minibatches=4,
        hidden_sizes=[32],
        hyper_scale_by_width=True,
        policy_kwargs={"net_arch": [8], "target_net_arch": [16]},
    )
    assert (model.form, model.name, model.batch_size) == ("sequential", "step", 5)
    assert model.policy_kwargs == {
        "net_arch": {"pi": [32], "vf": [32]},  # hidden_sizes over policy_kwargs' net_arch
        "target_net_arch": [16],
        "hyper_scale_by_width": True,
    }
    env = make_env()
    env.reset(seed=0)
    obs = env.observe("agent_0")
    for learned in (False, True):
        if learned:
            model.learn(100)
        assert model.act("agent_0", obs) == int(model.predict(obs, deterministic=True)[0])
        probabilities = model.action_probabilities("agent_0", obs)
        assert probabilities.dtype == np.float64 and probabilities.sum() == pytest.approx(1.0)
        assert int(np.argmax(probabilities)) == model.act("agent_0", obs)
    assert model._act_snapshot is not None and model._act_snapshot_at == model.num_timesteps
    model.save(tmp_path / "m.zip")
    loaded = STEP.load(tmp_path / "m.zip", make_env)
    assert loaded.n_envs == 2 and loaded.act("agent_0", obs) == model.act("agent_0", obs)
    np.testing.assert_array_equal(loaded.action_probabilities("agent_0", obs), probabilities)


def test_torch_rollout_path_collects_every_rank():
    """With numpy_rollouts=False the torch path collects complete rollouts (every agent, every rank)."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=5, numpy_rollouts=False)
    model.learn(10)
    assert model.rollout_buffer.valid.all() and model.rollout_buffer.ranks_present() == [0, 1]


def test_policy_alias_and_class():
    """The policy can be named by alias or given as an NLevelPolicy subclass."""

    class MyPolicy(NLevelPolicy):
        pass

    assert isinstance(STEP("stmg/Penalty-v0", policy="MultiInputPolicy").policy, NLevelPolicy)
    assert isinstance(STEP("stmg/Penalty-v0", policy=MyPolicy).policy, MyPolicy)


def _record_step_sizes(model, monkeypatch):
    """The learning rate of every gradient step ``model`` takes from now on (a list that fills as it learns)."""
    seen = []
    original = model._gradient_step

    def record(loss, parameters):
        seen.append(model.policy.optimizer.param_groups[0]["lr"])
        original(loss, parameters)

    monkeypatch.setattr(model, "_gradient_step", record)
    return seen


def test_leader_start_updates_the_last_follower_first_and_the_leader_from_its_start(monkeypatch):
    """leader_start=0.5 with 2 ranks: the follower is updated from the first update, the leader only once half
    of total_timesteps has passed (told apart by rank_lr_ratio's step sizes); bad fractions are refused."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, n_epochs=1, rank_lr_ratio=4.0, leader_start=0.5)
    seen = _record_step_sizes(model, monkeypatch)
    model.learn(60)  # three updates, after 1/3, 2/3 and all of training
    follower, leader = pytest.approx(2e-3), pytest.approx(5e-4)
    assert seen == [follower, leader, follower, leader, follower]
    assert STEP("stmg/Penalty-v0", seed=0)._rank_started(0)  # default 0: every rank from the start
    for bad in (1.0, -0.1, "half"):
        with pytest.raises(ValueError, match="expected leader_start to be a"):
            STEP("stmg/Penalty-v0", seed=0, leader_start=bad)


def test_an_entropy_schedule_is_read_at_every_update_and_a_constant_one_changes_nothing(monkeypatch):
    """ent_coef as a schedule (a [start, end] pair, linear, or SB3's convention: a callable of the progress
    remaining) gives each update the bonus at its progress (seen in the loss through _rank_coefficients and logged
    as train/ent_coef); the pair and SB3's LinearSchedule train alike; a schedule that always returns 0.05 trains
    exactly as ent_coef=0.05; a negative or non-numeric bonus is refused."""
    from stable_baselines3.common.utils import LinearSchedule

    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, n_epochs=1, ent_coef=[0.6, 0.0])
    logged = []
    model.set_logger(configure(None, []))
    record = model.logger.record
    monkeypatch.setattr(
        model.logger,
        "record",
        lambda key, value, *a, **k: (key == "train/ent_coef" and logged.append(value), record(key, value, *a, **k)),
    )
    seen = []
    original = model._rank_coefficients
    monkeypatch.setattr(model, "_rank_coefficients", lambda rank: seen.append(original(rank)[1]) or original(rank))
    model.learn(60)  # three updates, after 1/3, 2/3 and all of training
    assert seen == pytest.approx([0.4, 0.4, 0.2, 0.2, 0.0, 0.0])  # one per rank and update
    assert logged == pytest.approx([0.4, 0.2, 0.0])
    callable_form = STEP(
        "stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, n_epochs=1, ent_coef=LinearSchedule(0.6, 0.0, 1.0)
    )
    callable_form.learn(60)
    assert same_parameters(parameters(callable_form), parameters(model))
    constant = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, ent_coef=lambda _: 0.05)
    plain = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, ent_coef=0.05)
    constant.learn(40)
    plain.learn(40)
    assert same_parameters(parameters(constant), parameters(plain))
    for bad in (-0.1, "high", float("nan")):
        with pytest.raises(ValueError, match="expected ent_coef to be a"):
            STEP("stmg/Penalty-v0", seed=0, ent_coef=bad)


def test_ent_stagger_runs_each_ranks_entropy_schedule_in_its_own_window_the_last_follower_first(monkeypatch, tmp_path):
    """ent_stagger=0.5 with 2 ranks and ent_coef=[0.6, 0.0]: the follower runs the schedule over the first half of
    training and then keeps 0, the leader keeps 0.6 until halfway and runs it over the second half (each update's
    bonus, rank by rank); a number is unaffected; the setting survives save/load; bad fractions are refused."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, n_epochs=1, ent_coef=[0.6, 0.0], ent_stagger=0.5)
    seen = []
    original = model._rank_coefficients
    monkeypatch.setattr(model, "_rank_coefficients", lambda rank: seen.append(original(rank)[1]) or original(rank))
    model.learn(60)  # three updates, after 1/3, 2/3 and all of training; (leader, follower) at each
    assert seen == pytest.approx([0.6, 0.2, 0.4, 0.0, 0.0, 0.0])
    constant = STEP("stmg/Penalty-v0", seed=0, ent_stagger=0.5)
    constant._current_progress_remaining = 0.3
    assert constant._rank_coefficients(0) == (1.0, 0.05) and constant._rank_coefficients(1) == (1.0, 0.05)
    model.save(tmp_path / "staggered")
    assert STEP.load(tmp_path / "staggered").ent_stagger == 0.5
    assert STEP("stmg/Penalty-v0", seed=0).ent_stagger == 0.0
    for bad in (1.0, -0.1, "late"):
        with pytest.raises(ValueError, match="expected ent_stagger to be a"):
            STEP("stmg/Penalty-v0", seed=0, ent_stagger=bad)


def test_leader_explore_replaces_some_leader_decisions_and_leaves_them_out_of_the_leaders_update():
    """leader_explore=0.5 on a 2-agent game: about half of the leader's decisions (none of the last follower's)
    are replaced, their actions drawn uniformly among the allowed ones (action_mask respected); the leader's
    update samples leave them out, the follower's keep every decision; with 3 agents a leader's decision is
    also left out when the middle rank below it explored in that step (about 3/4 of them); a run is
    reproducible; Box actions and bad fractions are refused."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=4, n_steps=50, n_epochs=1, leader_explore=0.5)
    model.learn(200)
    buffer = model.rollout_buffer
    leader, follower = buffer.ranks == 0, buffer.ranks == 1
    assert 0.35 < buffer.off_policy[leader & buffer.valid].mean() < 0.65
    assert not buffer.off_policy[follower].any()
    assert len(buffer.rank_samples(0)) == int((leader & buffer.valid & ~buffer.off_policy).sum())
    assert len(buffer.rank_samples(1)) == int((follower & buffer.valid).sum())
    again = STEP("stmg/Penalty-v0", seed=0, n_envs=4, n_steps=50, n_epochs=1, leader_explore=0.5)
    again.learn(200)
    assert same_parameters(parameters(again), parameters(model))
    assert np.array_equal(again.rollout_buffer.off_policy, buffer.off_policy)
    three = STEP(
        "stmg/Matrix-v0",
        seed=0,
        n_envs=8,
        n_steps=50,
        n_epochs=1,
        leader_explore=0.5,
        env_kwargs={"payoffs": np.arange(81.0).reshape(3, 3, 3, 3).tolist()},
    )
    three.learn(400)
    buffer = three.rollout_buffer
    share = [buffer.off_policy[(buffer.ranks == r) & buffer.valid].mean() for r in range(3)]
    assert 0.65 < share[0] < 0.85 and 0.35 < share[1] < 0.65 and share[2] == 0.0
    actions = np.zeros(400, dtype=np.int64)
    mask = np.zeros((400, 3), dtype=np.int8)
    mask[:, 1:] = 1  # action 0 not allowed
    explored = model._explore_for_followers({"action_mask": mask}, np.zeros(400, dtype=np.int64), actions)
    assert explored is not None and explored.any()
    assert set(actions[explored].tolist()) == {1, 2} and not actions[~explored].any()
    assert STEP("stmg/Penalty-v0", seed=0)._explore_for_followers({}, np.zeros(3), np.zeros(3)) is None
    with pytest.raises(ValueError, match="leader_explore draws uniform actions, so it needs Discrete actions"):
        STEP(lambda: stmg_v0(CountdownGame(2, box_actions=True)), seed=0, leader_explore=0.2)
    for bad in (1.0, -0.1, "often"):
        with pytest.raises(ValueError, match="expected leader_explore to be a"):
            STEP("stmg/Penalty-v0", seed=0, leader_explore=bad)


def test_two_timescales_give_each_rank_its_step_size_and_entropy_bonus(monkeypatch):
    """rank_lr_ratio r: rank i's gradient steps run at lr * r**i; rank_ent_ratio q: its bonus is ent_coef * q**i;
    at 1 (the default) every rank gets the plain values, so STEP's update is unchanged."""
    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, n_epochs=1, rank_lr_ratio=4.0, rank_ent_ratio=0.5)
    seen = _record_step_sizes(model, monkeypatch)
    model.learn(20)
    assert seen == [pytest.approx(5e-4), pytest.approx(2e-3)]  # one step per rank: the leader's, the follower's
    assert model._rank_coefficients(0) == (1.0, 0.05) and model._rank_coefficients(1) == (4.0, 0.025)
    plain = STEP("stmg/Penalty-v0", seed=0)
    assert plain._rank_coefficients(2) == (1.0, 0.05) and plain._rank_coefficients(None) == (1.0, 0.05)
    with pytest.raises(ValueError, match="expected rank_lr_ratio to be a finite number > 0"):
        STEP("stmg/Penalty-v0", seed=0, rank_lr_ratio=0.0)
