"""Every registered algorithm satisfies the contract for real: it learns, acts, saves and loads, and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")
pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

from stmg_bench.contract import accepted_hyperparameters, check_instance
from stmg_bench.registry import registered, resolve
from stmg_bench.suites.matrix import joint_policy, make_env_factory

pytestmark = pytest.mark.agents
TASK, KWARGS = "stmg/Penalty-v0", {"k": -25.0}
#: The task of the algorithms that train on one kind of game only (the rest: Penalty k=-25). Oracles & Followers
#: solve iterated games (Battle of the Sexes: one step, two actions, so a leader update is a few hundred steps).
TASK_OF = {
    "oaf": ("stmg/IteratedMatrix-v0", {"game": "bots"}),
    "oaf-tabularq": ("stmg/IteratedMatrix-v0", {"game": "bots"}),
}


def build(name, seed=0, **hp):
    algo = resolve(name)
    task, kwargs = TASK_OF.get(name, (TASK, KWARGS))
    make_env = make_env_factory(algo.form, task, kwargs)
    names, var_kw = accepted_hyperparameters(algo.load())
    if var_kw or "n_envs" in names:
        hp = {"n_envs": 2, **hp}
    return algo, make_env, algo.build(make_env, seed=seed, **hp)


def n_actions(name):
    """Actions per agent of the algorithm's test task (Penalty: 3; the iterated games: 2)."""
    return 2 if name in TASK_OF else 3


@pytest.mark.parametrize("name", sorted(registered()))
def test_learn_reports_progress_after_each_update_and_act_returns_valid_actions(name):
    """learn() calls callback(num_timesteps) with growing counts up to the budget; act() gives a valid action."""
    _algo, make_env, model = build(name)
    check_instance(model)
    seen = []
    model.learn(200, callback=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] >= 200
    greedy, joint = joint_policy(model, make_env, seed=0)
    assert all(a in range(n_actions(name)) for a in greedy)
    assert joint.shape == (n_actions(name),) * 2 and joint.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(registered()))
def test_callback_false_stops_training_early(name):
    """A callback returning False stops learn() well before the budget."""
    _, _, model = build(name)
    calls = []
    model.learn(5_000, callback=lambda n: calls.append(n) or False)
    assert len(calls) == 1 and model.num_timesteps < 5_000


@pytest.mark.parametrize("name", sorted(registered()))
def test_same_seed_same_policy(name):
    """Two runs with one seed end with the same joint policy; another seed ends elsewhere.

    The seeds are compared after 30 steps, before any learner settles (a tabular learner
    finds Penalty's SE from every seed within 200 steps, so its greedy policies agree there).
    """
    results = []
    # O&F's baseline updates its leader first after 810 steps of bots, by Adam's first step: the learning rate in the
    # direction of the gradient's sign, the same from seeds 3 and 4 (both push towards the same action); seed 5 not
    early, other = (900, 5) if name in TASK_OF else (30, 4)
    for seed, steps in ((3, 200), (3, 200), (3, early), (other, early)):
        _, make_env, model = build(name, seed=seed)
        model.learn(steps)
        results.append(joint_policy(model, make_env, seed=0)[1])
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[2], results[3])


@pytest.mark.parametrize("name", sorted(registered()))
def test_save_and_load_keep_the_policy(name, tmp_path):
    """A saved algorithm, loaded through its class (``load(path, make_env)``), plays the same joint policy."""
    algo, make_env, model = build(name)
    model.learn(200)
    model.save(tmp_path / "model.zip")
    loaded = algo.load().load(tmp_path / "model.zip", make_env)
    np.testing.assert_allclose(joint_policy(loaded, make_env, 0)[1], joint_policy(model, make_env, 0)[1])


@pytest.mark.parametrize(
    "saver, loader",
    [("mappo", "step"), ("ippo", "step"), ("step", "mappo"), ("step", "ippo"), ("ippo", "mappo"), ("step", "biac")],
)
def test_loading_another_algorithms_file_says_so(saver, loader, tmp_path):
    """Loading a save of another algorithm raises ValueError naming what the file is, not SB3's bare assertion."""
    _, _, model = build(saver)
    model.save(tmp_path / "model.zip")
    algo = resolve(loader)
    with pytest.raises(ValueError, match="expected a (STEP|saved MAPPO|stmg_agents.baselines|BiLevelQLearning)"):
        algo.load().load(tmp_path / "model.zip", make_env_factory(algo.form, TASK, KWARGS))


@pytest.mark.parametrize("name", ["step", "mappo"])
def test_loading_a_truncated_file_says_so(name, tmp_path):
    """A damaged (truncated) save raises ValueError saying the file is damaged or unreadable."""
    algo, make_env, model = build(name)
    model.save(tmp_path / "model.zip")
    data = (tmp_path / "model.zip").read_bytes()
    (tmp_path / "model.zip").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="unreadable|damaged"):
        algo.load().load(tmp_path / "model.zip", make_env)


def test_named_variants_change_only_their_own_setting():
    """step-scaled turns on the width-scaled hypernetwork, step-beta0 sets beta to 0; a user's value still wins (a
    dict-valued one key by key: step-scaled with the user's own policy_kwargs keeps the scaling)."""
    _, _, scaled = build("step-scaled")
    assert scaled.policy.action_net.hypernet.scale_by_width
    _, _, beta0 = build("step-beta0")
    assert beta0.beta == 0.0 and not beta0.policy.action_net.hypernet.scale_by_width
    _, _, mine = build("step-beta0", beta=0.5)
    assert mine.beta == 0.5
    _, _, timescales = build("step-timescales")
    assert timescales.rank_lr_ratio == 2.0 and timescales.beta == 1.0
    _, _, backward = build("step-backward")
    assert backward.leader_start == 0.5 and backward.rank_lr_ratio == 1.0
    _, _, explore = build("step-explore")
    assert explore.leader_start == 0.5 and explore.leader_explore == 0.25
    assert backward.leader_explore == 0.0
    _, _, scaled_mine = build("step-scaled", policy_kwargs={"net_arch": {"pi": [16], "vf": [16]}})
    assert scaled_mine.policy.action_net.hypernet.scale_by_width
    assert scaled_mine.policy_kwargs["net_arch"] == {"pi": [16], "vf": [16]}


def test_a_saved_variant_loads_with_its_settings_through_its_class(tmp_path):
    """A variant is its class plus overrides: its save holds the settings it was built with, so loading it through
    the class (``resolve(name).load().load``) gives back the variant (leader_explore 0.25), not the plain class."""
    algo, make_env, model = build("step-explore")
    model.learn(100)
    model.save(tmp_path / "model.zip")
    loaded = algo.load().load(tmp_path / "model.zip", make_env)
    assert (loaded.leader_start, loaded.leader_explore) == (0.5, 0.25)
    np.testing.assert_allclose(joint_policy(loaded, make_env, 0)[1], joint_policy(model, make_env, 0)[1])
