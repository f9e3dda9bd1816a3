"""The control suite's building blocks: trial records, evaluation, observation normalisation, curve statistics.

Covers :mod:`stmg_bench.suites.control`, :mod:`stmg_bench.suites.control_study`,
:mod:`stmg_bench.deterministic_evaluation`, :mod:`stmg_bench.normalization`,
:mod:`stmg_bench.learning_curves` and the planning of ``benchmarks/mamujoco.py`` and ``benchmarks/onramp.py``.
"""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")
pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

from stmg_agents import STEP
from stmg_agents.baselines import MAPPO
from stmg_bench.deterministic_evaluation import (
    EpisodeRecorder,
    EpisodeSummary,
    evaluate_greedy,
    summarize_episodes,
)
from stmg_bench.learning_curves import T_975, aggregate_curves, steps_for_share, t_interval, whole_rollouts
from stmg_bench.normalization import STATE_KEY, NormalizedObservations, ObservationStatistics
from stmg_bench.registry import resolve
from stmg_bench.selection import settings_for
from stmg_bench.suites import control_study as study
from stmg_bench.suites.control import (
    MUJOCO_HYPERPARAMETERS,
    ONRAMP_HYPERPARAMETERS,
    PRESETS,
    ControlHyperparameters,
    control_trial,
)
from stmg_envs import stmg_v0
from stmg_envs.matrix import penalty
from tests.bench.benchmark_scripts import BENCHMARKS

pytestmark = pytest.mark.agents

needs_mujoco = pytest.mark.skipif(
    importlib.util.find_spec("mujoco") is None, reason="needs the [mujoco] extra: pip install 'stmg-envs[mujoco]'"
)
needs_highway = pytest.mark.skipif(
    importlib.util.find_spec("highway_env") is None,
    reason="needs the [highway] extra: pip install 'stmg-envs[highway]'",
)
CHEETAH = {"agent_conf": "2x3", "episode_length": 12}
TINY = {"n_envs": 2, "n_steps": 12, "n_minibatches": 2}
ALGORITHMS = ("step", "mappo", "ippo")


def trial(name, *args, hyperparams=None, **kwargs):
    return control_trial(resolve(name).to_json(), *args, hyperparameters=hyperparams, **kwargs)


# ---------------------------------------------------------------- trial records
@pytest.mark.mujoco
@needs_mujoco
@pytest.mark.parametrize("algo", ALGORITHMS)
def test_mujoco_record_is_consistent(algo):
    """A trial's curve starts before training, ends at the trained steps, and its summaries agree with its episodes."""
    record = trial(
        algo,
        "stmg/HalfCheetah-v0",
        CHEETAH,
        seed=0,
        steps=48,
        eval_points=2,
        eval_episodes=2,
        normalize_observations=True,
        normalize_rewards=True,
        hyperparams=TINY,
    )
    assert json.loads(json.dumps(record)) == record
    steps = [point["step"] for point in record["curve"]]
    assert steps[0] == 0 and steps[-1] == record["steps"] == 48 and steps == sorted(set(steps))
    for point in record["curve"]:
        assert point["team_return"] == pytest.approx(np.mean(point["team_returns"]))
        assert len(point["team_returns"]) == 2 and point["length"] == 12
        assert point["mean_speed"] is None and point["crash_rate"] is None  # MuJoCo reports neither
        assert 50 < point["rss_mb"] <= record["peak_rss_mb"] + 1  # memory now, at most the peak so far
    assert record["final"] == record["curve"][-1]
    assert record["n_agents"] == 2 and record["steps_per_s"] > 0 and record["train_s"] > 0
    assert record["hyperparameters"] == TINY and record["algo"] == algo and record["peak_rss_mb"] > 50


@pytest.mark.mujoco
@needs_mujoco
def test_same_seed_same_curve():
    """A STEP trial with observation normalisation is reproducible: same arguments, same learning curve."""
    kwargs = dict(
        steps=48, eval_points=1, eval_episodes=1, normalize_observations=True, normalize_rewards=True, hyperparams=TINY
    )
    a = trial("step", "stmg/HalfCheetah-v0", CHEETAH, seed=2, **kwargs)
    b = trial("step", "stmg/HalfCheetah-v0", CHEETAH, seed=2, **kwargs)

    def learned(curve):  # the process's memory is not part of the trajectory
        return [{k: v for k, v in point.items() if k != "rss_mb"} for point in curve]

    assert learned(a["curve"]) == learned(b["curve"]) and len(a["curve"]) == 2


@pytest.mark.mujoco
@needs_mujoco
def test_random_order_trains_on_drawn_orders_and_evaluates_under_the_fixed_sample():
    """order='random': a sequential policy is evaluated under each order of evaluation_orders (its mean is the
    curve's return, order_returns each order's); a simultaneous policy, which cannot see the order, once."""
    from stmg_bench.suites.control import evaluation_orders

    kwargs = dict(seed=0, steps=24, eval_points=0, eval_episodes=1, hyperparams=TINY, order="random")
    record = trial("step", "stmg/HalfCheetah-v0", {"agent_conf": "3x2", "episode_length": 12}, **kwargs)
    assert (
        record["eval_orders"] == evaluation_orders(["agent_0", "agent_1", "agent_2"])
        and len(record["eval_orders"]) == 3
    )
    for point in record["curve"]:
        assert len(point["order_returns"]) == 3 and len(point["team_returns"]) == 3
        assert point["team_return"] == pytest.approx(np.mean(point["order_returns"]))
    simultaneous = trial("mappo", "stmg/HalfCheetah-v0", CHEETAH, **kwargs)
    assert simultaneous["eval_orders"] is None and "order_returns" not in simultaneous["final"]
    with pytest.raises(ValueError, match="expected order in"):
        trial("step", "stmg/HalfCheetah-v0", CHEETAH, **{**kwargs, "order": "sideways"})


def test_mujoco_study_random_order_keeps_its_trials_apart():
    """--order random reaches every trial and gives the records their own names (no clash with fixed-order ones)."""
    from stmg_bench.suites import mujoco_study as script

    args = script.parse_args(["--scenarios", "Ant-2x4", "--seeds", "1", "--steps", "1000", "--order", "random"])
    algorithms, settings = study.resolve_algorithms(args, "mujoco")
    steps, _ = script.plan(args, algorithms, settings)
    trials = script.make_trials(args, algorithms, settings, steps)
    assert {t.kwargs["order"] for t in trials} == {"random"}
    assert all(t.key.endswith("_orandom_s0") for t in trials)


@pytest.mark.mujoco
@needs_mujoco
def test_beta_reaches_step():
    """The ablation's beta is the one STEP trains with (and is recorded)."""
    record = trial(
        "step",
        "stmg/HalfCheetah-v0",
        {"agent_conf": "6x1", "episode_length": 5},
        seed=0,
        steps=10,
        eval_points=0,
        eval_episodes=1,
        hyperparams={"n_envs": 1, "n_steps": 5, "n_minibatches": 1, "beta": 0.25},
    )
    assert record["hyperparameters"]["beta"] == 0.25 and record["n_agents"] == 6


@pytest.mark.highway
@needs_highway
@pytest.mark.parametrize("algo", ALGORITHMS)
def test_onramp_record_reports_speed_and_crashes(algo):
    """On-ramp evaluations report an average speed in the vehicles' range and a crash rate in [0, 1]."""
    record = trial(
        algo,
        "stmg/OnRampMerge-v0",
        {"difficulty": "easy"},
        seed=0,
        steps=40,
        eval_points=1,
        eval_episodes=2,
        normalize_rewards=True,
        order="merge_priority",
        hyperparams={"n_envs": 2, "n_steps": 20},
    )
    for point in record["curve"]:
        assert 0.0 < point["mean_speed"] < 40.0
        assert point["crash_rate"] in (0.0, 0.5, 1.0)
        assert 1 <= point["length"] <= 100


def test_bad_trial_arguments_are_clear_errors():
    """A typo in the algorithm, order or a count is a ValueError naming what was expected."""
    with pytest.raises(ValueError, match="unknown algorithm 'ppo'"):
        trial("ppo", "stmg/Penalty-v0")
    with pytest.raises(ValueError, match="expected order"):
        trial("step", "stmg/Penalty-v0", order="sideways")
    with pytest.raises(ValueError, match="expected eval_episodes"):
        trial("step", "stmg/Penalty-v0", eval_episodes=0)


# ---------------------------------------------------------------- hyper-parameters
def test_shared_settings_reach_each_algorithm_with_the_same_meaning():
    """The preset's settings reach STEP (batch per rank, widths in net_arch) and the baselines (minibatches) with the
    same meaning; an algorithm that does not take a setting does not get it; STEP's lever is the scripts' default."""
    hp = ControlHyperparameters(n_envs=2, n_steps=50, n_minibatches=4, hidden_sizes=(32,))
    assert settings_for(STEP, hp.as_kwargs(), {}) == hp.as_kwargs()  # STEP takes every shared name
    step = STEP(lambda: stmg_v0(penalty()), seed=0, **settings_for(STEP, hp.as_kwargs(), {}))
    assert step.batch_size == 25 and step.n_steps == 50
    assert step.policy_kwargs == {"net_arch": {"pi": [32], "vf": [32]}}
    baseline = settings_for(MAPPO, hp.as_kwargs(), {})
    assert baseline["n_minibatches"] == 4 and baseline["hidden_sizes"] == [32]

    class OnlyGamma:
        form = "simultaneous"

        def __init__(self, make_env, seed, gamma=0.9):
            pass

    assert settings_for(OnlyGamma, hp.as_kwargs(), {"gamma": 0.5}) == {"gamma": 0.5}
    assert PRESETS == {"mujoco": MUJOCO_HYPERPARAMETERS, "onramp": ONRAMP_HYPERPARAMETERS}
    default = study.resolve_algorithms(study.ControlArgs(steps=1, algos=("step", "mappo")), "mujoco")[1]
    assert default["step"]["hyper_scale_by_width"] is True and "hyper_scale_by_width" not in default["mappo"]
    mine = study.resolve_algorithms(
        study.ControlArgs(steps=1, algos=("step",), hyperparams={"step": {"beta": 0.1}}), "mujoco"
    )[1]
    assert mine["step"]["hyper_scale_by_width"] is True and mine["step"]["beta"] == 0.1  # the lever stays
    undone = study.resolve_algorithms(
        study.ControlArgs(steps=1, algos=("step",), hyperparams={"step": {"hyper_scale_by_width": False}}), "mujoco"
    )[1]
    assert undone["step"]["hyper_scale_by_width"] is False
    with pytest.raises(ValueError, match=r"--hyperparams names \['stpe'\]"):
        study.resolve_algorithms(study.ControlArgs(steps=1, algos=("step",), hyperparams={"stpe": {}}), "mujoco")
    built = STEP(lambda: stmg_v0(penalty()), seed=0, n_envs=1, n_steps=25, n_minibatches=5, hyper_scale_by_width=True)
    assert built.batch_size == 5 and built.policy.action_net.hypernet.scale_by_width


def test_bad_hyperparameters_are_rejected():
    """Minibatches that do not divide the rollout, negative values and unknown names are refused with the reason."""
    with pytest.raises(ValueError, match="divide"):
        ControlHyperparameters(n_envs=1, n_steps=10, n_minibatches=3)
    with pytest.raises(ValueError, match="learning_rate"):
        ControlHyperparameters(learning_rate=-1.0)
    with pytest.raises(TypeError, match="unknown hyper-parameters"):
        MUJOCO_HYPERPARAMETERS.replace(lr=1e-3)
    assert MUJOCO_HYPERPARAMETERS.replace(hidden_sizes=[8, 8]).hidden_sizes == (8, 8)


# ---------------------------------------------------------------- evaluation
def test_recorder_sums_each_agents_rewards():
    """The recorder's team return is the mean of the agents' summed rewards over the episode."""
    env = EpisodeRecorder(penalty(k=-25, episode_length=3))
    env.reset(seed=0)
    env.step({"agent_0": 0, "agent_1": 2})  # (a1, a3): 10 each
    env.step({"agent_0": 0, "agent_1": 0})  # (a1, a1): k each
    summary = env.summary()
    assert summary.agent_returns == {"agent_0": -15.0, "agent_1": -15.0}
    assert (summary.team_return, summary.length, summary.mean_speed, summary.crashed) == (-15.0, 2, None, None)
    env.reset(seed=1)
    assert env.summary().length == 0


def test_greedy_evaluation_plays_whole_episodes_through_each_form():
    """Both forms play full episodes, one per seed, and greedy play is the same for the same seed."""
    step = STEP(lambda: stmg_v0(penalty(k=0, episode_length=4)), seed=0, n_envs=1)
    first = evaluate_greedy(step, lambda: penalty(k=0, episode_length=4), seeds=[3, 4])
    again = evaluate_greedy(step, lambda: penalty(k=0, episode_length=4), seeds=[3, 4])
    assert [s.length for s in first] == [4, 4] and first == again
    mappo = MAPPO(lambda: penalty(k=0, episode_length=4), seed=0)
    summaries = evaluate_greedy(mappo, lambda: penalty(k=0, episode_length=4), seeds=[3])
    assert summaries[0].length == 4 and set(summaries[0].agent_returns) == {"agent_0", "agent_1"}
    with pytest.raises(ValueError, match="seeds"):
        evaluate_greedy(mappo, penalty, seeds=[])


def test_the_sequential_evaluation_gives_each_agent_its_superiors_greedy_actions():
    """In the STMG the follower sees the leader's action of this step: a follower that copies it matches every step."""

    class CopyLeader:
        form = "sequential"

        def act(self, agent, observation):
            return 1 if observation["rank"] == 0 else int(np.argmax(observation["prior_actions"][:3]))

    [summary] = evaluate_greedy(CopyLeader(), lambda: penalty(k=-50, episode_length=5), seeds=[0])
    assert summary.agent_returns == {"agent_0": 5 * 2.0, "agent_1": 5 * 2.0}  # (a2, a2) pays 2, five steps


def test_step_act_numpy_fast_path_plays_what_predict_plays():
    """STEP's act reads the NumPy snapshot; its greedy actions equal SB3's predict, also after learning."""
    algo = STEP(lambda: stmg_v0(penalty(k=-25)), seed=1, n_envs=2)
    env = stmg_v0(penalty(k=-25))
    env.reset(seed=0)
    for learned in (False, True):
        if learned:
            algo.learn(100)
        for agent in ("agent_0",):
            obs = env.observe(agent)
            assert algo.act(agent, obs) == int(algo.predict(obs, deterministic=True)[0])
    assert algo._act_snapshot is not None


def test_summaries_average_only_what_the_task_reports():
    """Speed and crash rate are means over the episodes that report them, None when none does."""
    a = EpisodeSummary(10.0, {"v": 10.0}, 5, 20.0, True)
    b = EpisodeSummary(0.0, {"v": 0.0}, 3, 30.0, False)
    out = summarize_episodes([a, b])
    assert out == {
        "team_return": 5.0,
        "team_returns": [10.0, 0.0],
        "length": 4.0,
        "mean_speed": 25.0,
        "crash_rate": 0.5,
        "flag_rates": {},
    }
    plain = summarize_episodes([EpisodeSummary(1.0, {}, 1, None, None)])
    assert plain["mean_speed"] is None and plain["crash_rate"] is None


# ---------------------------------------------------------------- observation normalisation
def test_statistics_standardise_and_clip():
    """Normalised values are (x - mean) / std of what was seen, clipped; unseen keys pass through."""
    stats = ObservationStatistics(clip=3.0)
    data = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    stats.update("a", data)
    expected = (np.array([4.0, 10.0]) - data.mean(axis=0)) / data.std(axis=0)
    np.testing.assert_allclose(
        stats.normalize("a", np.array([4.0, 10.0])), expected, rtol=1e-3
    )  # SB3 starts at count 1e-4
    assert stats.normalize("a", np.array([1e6, 20.0]))[0] == pytest.approx(3.0)
    np.testing.assert_array_equal(stats.normalize("b", np.array([7.0])), [7.0])
    assert stats.count("a") == 3 and stats.count("b") == 0
    with pytest.raises(ValueError, match="shape"):
        stats.update("a", np.zeros((1, 3)))
    with pytest.raises(ValueError, match="clip"):
        ObservationStatistics(clip=0)


def test_training_copies_share_statistics_and_evaluation_copies_freeze_them():
    """Every training copy updates one set of per-agent statistics; an update=False copy reads without changing them."""
    stats = ObservationStatistics()
    copies = [NormalizedObservations(penalty(k=0), stats) for _ in range(2)]
    for copy in copies:
        copy.reset(seed=0)
        copy.step({"agent_0": 0, "agent_1": 0})
    assert stats.count("agent_0") == 4 and stats.count("agent_1") == 4
    frozen = NormalizedObservations(penalty(k=0), stats, update=False)
    obs, _ = frozen.reset(seed=0)
    frozen.state()
    assert stats.count("agent_0") == 4 and stats.count(STATE_KEY) == 0
    assert obs["agent_0"].dtype == np.float32
    with pytest.raises(TypeError, match="ObservationStatistics"):
        NormalizedObservations(penalty(), statistics={})


def test_reward_scaling_divides_by_the_return_std_in_training_copies_only():
    """Scaled rewards are the task's divided by the running std of discounted returns; evaluation copies refuse it."""
    stats = ObservationStatistics()
    env = NormalizedObservations(penalty(k=0, episode_length=50), stats, normalize_observations=False, reward_gamma=0.9)
    obs, _ = env.reset(seed=0)
    assert obs["agent_0"].tolist() == [1.0]  # observations untouched
    scaled = [env.step({"agent_0": 0, "agent_1": 2})[1]["agent_0"] for _ in range(30)]  # raw reward 10 each step
    returns = [10.0 * sum(0.9**j for j in range(t + 1)) for t in range(30) for _ in range(2)]  # both agents' returns
    assert scaled[-1] == pytest.approx(10.0 / math.sqrt(np.var(returns) + 1e-8), rel=1e-2)
    assert all(r > 0 for r in scaled) and scaled[-1] != 10.0
    with pytest.raises(ValueError, match="update=False"):
        NormalizedObservations(penalty(), stats, update=False, reward_gamma=0.99)
    with pytest.raises(ValueError, match="reward_gamma"):
        NormalizedObservations(penalty(), stats, reward_gamma=1.5)


@pytest.mark.mujoco
@needs_mujoco
def test_normalised_mujoco_observations_are_standardised():
    """After a few hundred random steps, the normalised HalfCheetah observations have mean ~0 and std ~1."""
    from stmg_envs.mujoco import half_cheetah

    stats = ObservationStatistics()
    env = NormalizedObservations(half_cheetah("2x3", episode_length=1000), stats)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        env.step({a: rng.uniform(-1, 1, 3).astype(np.float32) for a in env.agents})
    frozen = NormalizedObservations(half_cheetah("2x3", episode_length=1000), stats, update=False)
    frozen.reset(seed=1)
    seen = [
        frozen.step({a: rng.uniform(-1, 1, 3).astype(np.float32) for a in frozen.agents})[0]["agent_0"]
        for _ in range(300)
    ]
    seen = np.asarray(seen)
    used = seen.std(axis=0) > 0  # padded slots stay zero
    assert np.abs(seen[:, used].mean(axis=0)).max() < 1.0
    assert 0.3 < np.median(seen[:, used].std(axis=0)) < 3.0


# ---------------------------------------------------------------- curve statistics
def test_t_interval_matches_the_t_table():
    """The interval is mean +/- t_{0.975, n-1} sd / sqrt(n); one value gives a zero-width interval."""
    band = t_interval([1.0, 3.0])
    assert band.mean == 2.0 and band.half_width == pytest.approx(12.706 * math.sqrt(2.0) / math.sqrt(2))
    five = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert five.half_width == pytest.approx(T_975[3] * np.std([1, 2, 3, 4, 5], ddof=1) / math.sqrt(5))
    assert t_interval([4.0]).low == t_interval([4.0]).high == 4.0
    with pytest.raises(ValueError, match="finite"):
        t_interval([1.0, float("nan")])


def test_aggregate_keeps_common_steps_and_skips_missing_metrics():
    """Curves are aligned on the steps all seeds have; None values (a task without that metric) are skipped."""
    curves = [
        [{"step": 0, "m": 1.0}, {"step": 5, "m": None}, {"step": 10, "m": 3.0}],
        [{"step": 0, "m": 3.0}, {"step": 5, "m": None}, {"step": 10, "m": 5.0}, {"step": 15, "m": 9.0}],
    ]
    band = aggregate_curves(curves, "m")
    assert band.steps == (0, 10) and [i.mean for i in band.intervals] == [2.0, 4.0]
    x, mean, low, high = band.arrays()
    assert (low <= mean).all() and (mean <= high).all() and x.tolist() == [0, 10]


def test_steps_for_share_fills_the_share_in_whole_rollouts():
    """Steps per trial spend the share across the group's trials, rounded down to rollouts, at least one."""
    assert steps_for_share(100.0, [1000.0, 1000.0], rollout=1000) == 50_000
    assert steps_for_share(100.0, [1000.0, 250.0], rollout=1000) == 20_000
    assert steps_for_share(0.001, [1000.0], rollout=400) == 400
    with pytest.raises(ValueError):
        steps_for_share(10.0, [], rollout=10)


def test_whole_rollouts_rounds_up_to_at_least_one_rollout():
    """A fixed --steps becomes whole rollouts, rounded up, never zero."""
    assert whole_rollouts(1500, rollout=1000) == 2000
    assert whole_rollouts(2000, rollout=1000) == 2000
    assert whole_rollouts(0, rollout=400) == 400


# ---------------------------------------------------------------- benchmark scripts
def test_no_benchmark_script_shadows_an_installed_package():
    """Python puts a script's folder first on sys.path: a script named like a package (mujoco, ray, torch...) would
    hide that package from every script in benchmarks/ and from their worker processes."""
    import importlib.util

    shadowing = [p.stem for p in BENCHMARKS.glob("*.py") if importlib.util.find_spec(p.stem) is not None]
    assert shadowing == []


def test_mujoco_study_plans_every_sub_scenario_and_the_ablation_reuses_beta_1():
    """Every sub-scenario is selectable; --steps gives every algorithm the same whole rollouts; the ablation adds
    the other betas and reuses the comparison's STEP runs for beta = 1; budgets come from no table."""
    from stmg_bench.suites import mujoco_study as script

    assert not hasattr(script, "THROUGHPUT")
    args = script.parse_args(["--scenarios", "all", "--seeds", "2", "--steps", "1500"])
    assert len(args.scenarios) == 9
    algorithms, settings = study.resolve_algorithms(args, "mujoco")
    steps, source = script.plan(args, algorithms, settings)
    assert source == "--steps" and set(steps) == set(script.SCENARIOS) and set(steps.values()) == {2000}
    trials = script.make_trials(args, algorithms, settings, steps)
    assert len(trials) == 9 * 3 * 2 + 3 * 2  # the comparison, plus betas 0, 0.1, 10 on HalfCheetah-6x1
    assert {t.kwargs["hyperparameters"].get("beta") for t in trials if "beta" in t.key} == {0.0, 0.1, 10.0}
    assert all(
        t.kwargs["hyperparameters"]["hyper_scale_by_width"] for t in trials if t.kwargs["algorithm"]["name"] == "step"
    )
    with pytest.raises(SystemExit):
        script.parse_args(["--scenarios", "Hopper-3x1", "--steps", "10"])
    with pytest.raises(SystemExit):
        script.parse_args(["--steps", "10", "--budget", "5"])
    assert script.parse_args([]).steps == script.Args.DEFAULT_STEPS == 100_000  # the study's default budget
    assert script.parse_args(["--budget", "5"]).steps is None


def test_mujoco_ablation_compares_every_pair_of_betas_by_welch():
    """The beta ablation gets the comparison's Welch table: one row per pair of betas present, in --betas order,
    significant only where the interval excludes 0; betas without records are left out."""
    from stmg_bench.suites import mujoco_study as script

    args = script.parse_args(["--steps", "1000", "--betas", "0,1,10", "--ablation-scenario", "HalfCheetah-6x1"])

    def results(values):
        return [{"final": {"team_return": v}} for v in values]

    groups = {
        ("HalfCheetah-6x1", "step", 0.0): results([2000.0, 2100.0, 2200.0]),
        ("HalfCheetah-6x1", "step", 1.0): results([1000.0, 1100.0, 1200.0]),
        ("HalfCheetah-6x1", "mappo", ""): results([5.0, 6.0]),
    }
    rows = script.ablation_tests(groups, args, "step")
    assert [(r["a"], r["b"]) for r in rows] == [("beta = 0", "beta = 1")]
    assert rows[0]["significant"] and rows[0]["difference"] == pytest.approx(1000.0)
    groups[("HalfCheetah-6x1", "step", 10.0)] = results([900.0, 1150.0, 1300.0])
    rows = script.ablation_tests(groups, args, "step")
    assert [(r["a"], r["b"]) for r in rows] == [
        ("beta = 0", "beta = 1"),
        ("beta = 0", "beta = 10"),
        ("beta = 1", "beta = 10"),
    ]
    assert [r["significant"] for r in rows] == [True, True, False]
    none = script.parse_args(["--steps", "1000", "--ablation-scenario", "none"])
    assert script.ablation_tests(groups, none, "step") == []


def test_budget_is_split_by_measured_throughput():
    """--budget: each task's share of core-seconds buys the same steps for all its trials at the measured rates."""
    args = study.ControlArgs(budget=10.0, workers=2)
    groups = {"fast": ["a", "b"], "slow": ["a", "b"]}
    throughput = {"fast": {"a": 1000.0, "b": 500.0}, "slow": {"a": 100.0, "b": 50.0}}
    steps = study.plan_steps(args, groups, {"fast": 1, "slow": 1}, throughput, {"fast": 100, "slow": 100}, 0.5)
    share = 10 * 60 * 2 * 0.5 / 2
    for task, n in steps.items():
        cost = sum(n / throughput[task][a] for a in groups[task])
        assert share - 100 * 3 / 50 <= cost <= share + 1e-6 and n % 100 == 0
    assert steps["fast"] == 10 * steps["slow"]


def test_merge_study_gives_the_order_to_every_trial_and_only_sequential_algorithms_use_it():
    """The STMG's order is part of every trial; the simultaneous algorithms' records say they ignore it (form)."""
    from stmg_bench.suites import merge_study as script

    args = script.parse_args(["--steps", "400", "--tasks", "easy,medium,hard,two-car"])
    algorithms, settings = study.resolve_algorithms(args, "onramp")
    steps, _ = script.plan(args, algorithms, settings)
    trials = script.make_trials(args, algorithms, settings, steps)
    assert len(trials) == 36 and {t.kwargs["order"] for t in trials} == {"merge_priority"}
    assert {t.kwargs["algorithm"]["form"] for t in trials} == {"sequential", "simultaneous"}
    assert {t.kwargs["task_id"] for t in trials} == {"stmg/OnRampMerge-v0", "stmg/TrafficMerge-v0"}
    with pytest.raises(SystemExit):
        script.parse_args(["--tasks", "extreme", "--steps", "10"])


def test_welch_difference_is_significant_only_when_the_interval_excludes_zero():
    """Welch's interval: clearly separated samples are significant, overlapping ones are not shown."""
    far = study.welch_difference([10.0, 11.0, 12.0], [0.0, 1.0, 2.0])
    assert far.significant and far.low > 0 and far.difference == pytest.approx(10.0)
    near = study.welch_difference([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert not near.significant and near.low < 0 < near.high
    # equal variances and sizes: df = 2 (n - 1) = 4, t = 2.776, se = sqrt(2 / 3)
    assert far.df == pytest.approx(4.0) and far.high - far.difference == pytest.approx(2.776 * math.sqrt(2 / 3))
    assert not study.welch_difference([1.0], [2.0, 3.0]).significant


def test_the_significance_table_says_when_one_seed_leaves_no_interval():
    """A pair with a single seed on a side is listed as 'not shown' with no interval, not as (-inf .. inf)."""
    groups = {
        ("t", "a"): [{"final": {"team_return": 5.0}}],
        ("t", "b"): [{"final": {"team_return": 1.0}}, {"final": {"team_return": 2.0}}],
        ("t", "c"): [{"final": {"team_return": 1.5}}, {"final": {"team_return": 2.5}}],
    }
    lines = study.significance_lines(study.significance_rows(groups, ["t"], ["a", "b", "c"]), "return")
    assert lines[2] == "| t | a | b | 3.5 (one seed on a side: no interval) | 1.000 | not shown | 1.000 | not shown |"
    assert lines[4].startswith("| t | b | c | -0.5 (") and "inf" not in "".join(lines)


def test_welch_p_values_agree_with_the_interval_and_holm_corrects_each_task_apart():
    """Guards the Holm correction of the control tables: the Welch p-value is below 5% exactly where the interval
    excludes 0, the Holm-adjusted p-values are the step-down products over the pairs of one task (another task's
    pairs are another family), and a difference shown uncorrected can be not shown after Holm."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.normal(0, 1, 4), rng.normal(rng.uniform(0, 3), rng.uniform(0.5, 2), 5)
        w = study.welch_difference(a, b)
        assert (w.p < 0.05) == w.significant
    assert study.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert study.holm([0.2, 0.001]) == pytest.approx([0.2, 0.002])

    def seeds(*values):
        return [{"final": {"team_return": v}} for v in values]

    groups = {
        ("t", "a"): seeds(0.0, 1.0, 2.0, 1.0),
        ("t", "b"): seeds(1.6, 2.6, 3.6, 2.6),
        ("t", "c"): seeds(0.1, 1.1, 2.1, 1.1),
        ("u", "a"): seeds(0.0, 1.0, 2.0),
        ("u", "b"): seeds(10.0, 11.0, 12.0),
    }
    rows = study.significance_rows(groups, ["t", "u"], ["a", "b", "c"])
    t_rows = [r for r in rows if r["task"] == "t"]
    expected = study.holm(
        [
            study.welch_difference(*pair).p
            for pair in (
                ([0.0, 1.0, 2.0, 1.0], [1.6, 2.6, 3.6, 2.6]),
                ([0.0, 1.0, 2.0, 1.0], [0.1, 1.1, 2.1, 1.1]),
                ([1.6, 2.6, 3.6, 2.6], [0.1, 1.1, 2.1, 1.1]),
            )
        ]
    )
    assert [r["p_holm"] for r in t_rows] == pytest.approx(expected, abs=1e-4)
    (u_row,) = [r for r in rows if r["task"] == "u"]
    assert u_row["p_holm"] == u_row["p"] and u_row["significant_holm"]  # a family of one: no correction
    assert any(r["significant"] and not r["significant_holm"] for r in t_rows)


# ---------------------------------------------------------------- docstring examples
@pytest.mark.parametrize(
    "name",
    [
        "stmg_bench.deterministic_evaluation",
        "stmg_bench.learning_curves",
        "stmg_bench.normalization",
        "stmg_bench.suites.control_study",
        pytest.param("stmg_bench.suites.control", marks=[pytest.mark.mujoco, needs_mujoco]),
    ],
)
def test_docstring_examples_run(name):
    """The docstring examples of the control-benchmark modules run as written."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result


@pytest.mark.highway
@needs_highway
def test_the_two_car_merge_runs_through_the_merge_study(tmp_path, capsys):
    """`stmg-bench merge --tasks two-car` trains and evaluates the two-car merge and writes its report; a
    `--saved-only` render of a larger plan (with --overwrite: the report exists) says which commit made the records
    and how many trials have none."""
    from stmg_bench.cli import main as cli_main

    def argv(seeds: int, *extra: str) -> list[str]:
        flags = ["merge", "--tasks", "two-car", "--algos", "step,mappo", "--seeds", str(seeds), "--steps", "40"]
        flags += ["--eval-points", "0", "--eval-episodes", "1", "--out", str(tmp_path), "--name", "twocar"]
        flags += ["--hyperparams", 'step={"n_envs": 2, "n_steps": 20}']
        return [*flags, "--hyperparams", 'mappo={"n_envs": 2, "n_steps": 20, "n_minibatches": 2}', *extra]

    code = cli_main(argv(2, "--workers", "1"))
    assert code == 0
    text = (tmp_path / "twocar.md").read_text()
    assert "| two-car | step | 2 |" in text and "| two-car | mappo | 2 |" in text
    assert (tmp_path / "twocar_curves.png").exists() and (tmp_path / "twocar_tests.csv").exists()
    assert cli_main(argv(3, "--saved-only", "--overwrite")) == 0
    text = (tmp_path / "twocar.md").read_text()
    assert "| two-car | step | 2 |" in text and "- Trial records made at commit" in text
    assert "2 planned trial(s) have no record and are not in these numbers" in text


def test_a_long_curve_title_is_wrapped_inside_the_figure(tmp_path, monkeypatch):
    """`plot_curves` wraps a title wider than its figure (the on-ramp study's title on one panel was clipped at both
    ends): every line of the drawn title lies inside the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = []
    monkeypatch.setattr(plt, "close", drawn.append)
    curve = [{"step": s, "team_return": float(s)} for s in (0, 10, 20)]
    title = "Highway on-ramp merging (Fig. 8), greedy policy: mean and 95% CI over seeds (--steps 200000) " * 2
    study.plot_curves(tmp_path / "curves.png", [("medium", "team_return", {"step": [{"curve": curve}]})], title)
    (figure,) = drawn
    figure.canvas.draw()
    box = figure._suptitle.get_window_extent()
    assert "\n" in figure._suptitle.get_text()
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width, (box, figure.bbox)
    plt.close(figure)


def test_a_centrally_executed_algorithm_plays_evaluation_episodes_through_act_joint():
    """evaluate_greedy asks a centralized algorithm for the joint action of the live agents (its act raises)."""
    from stmg_bench.deterministic_evaluation import evaluate_greedy
    from stmg_envs.matrix import penalty

    from .tiny_algorithms import JointLeaderFirst

    algorithm = JointLeaderFirst(lambda: penalty(k=0.0), seed=0)
    [summary] = evaluate_greedy(algorithm, lambda: penalty(k=0.0, episode_length=3), seeds=[0])
    assert summary.length == 3 and summary.team_return == 30.0  # (a1, a3) pays 10 each step


ORDER_PROBE = """
import json


class OrderProbe:
    form = "sequential"

    def __init__(self, make_env, seed, out=None):
        env = make_env()
        env.reset(seed=0)
        with open(out, "w") as fh:
            json.dump(list(env.order), fh)

    def learn(self, total_timesteps, callback=None):
        return self

    def act(self, agent, observation):
        return 0
"""


def test_a_control_trial_trains_in_any_order_of_the_stmgs_vocabulary(tmp_path):
    """control_trial gives a sequential algorithm the STMG in 'possible_agents', 'reversed' or agents joined by
    '+' (the STMG's own parser reads them), and refuses a typo naming what it takes."""
    probe = tmp_path / "probe.py"
    probe.write_text(ORDER_PROBE)
    algorithm = resolve(f"{probe}:OrderProbe").to_json()
    out = tmp_path / "order.json"
    for order, expected in (
        ("possible_agents", ["agent_0", "agent_1"]),
        ("reversed", ["agent_1", "agent_0"]),
        ("agent_1+agent_0", ["agent_1", "agent_0"]),
    ):
        control_trial(
            algorithm, "stmg/Penalty-v0", {}, seed=0, steps=1, eval_points=0, eval_episodes=1, order=order,
            hyperparameters={"out": str(out)},
        )  # fmt: skip
        assert json.loads(out.read_text()) == expected, order
    with pytest.raises(ValueError, match=r"expected order in .* or agents joined by '\+'"):
        trial("step", "stmg/Penalty-v0", order="reverse")


def test_the_control_studies_check_their_arguments_before_any_trial(tmp_path, capsys):
    """`stmg-bench mujoco`/`merge` end a bad --order or an empty --algos with exit 2 and one message in the command
    line's syntax, before anything runs or is written; an order of agents is checked against every task's agents,
    and a setting the class refuses is found by building it once (check_construction), not in every trial."""
    from stmg_bench.cli import main as cli_main

    base = ["--steps", "10", "--out", str(tmp_path)]
    assert cli_main(["mujoco", "--order", "reverse", *base]) == 2
    err = capsys.readouterr().err
    assert "expected --order from ['possible_agents', 'reversed', 'random'] or agents joined by '+'" in err
    assert "got 'reverse'" in err
    assert cli_main(["merge", "--order", "sideways", *base]) == 2
    assert "['possible_agents', 'reversed', 'merge_priority', 'random']" in capsys.readouterr().err
    assert cli_main(["mujoco", "--algos", "", *base]) == 2
    assert "expected --algos to name at least one algorithm, got none" in capsys.readouterr().err
    assert cli_main(["mujoco", "--betas", "", *base]) == 2
    assert "expected --betas to name at least one value for the ablation, got none" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    tasks = {"penalty": study.TaskSpec("stmg/Penalty-v0", {}, "mujoco", False, False)}
    problem = study.order_problem("agent_1+agent_9", tasks)
    assert problem is not None and "unknown agents ['agent_9']" in problem and problem.endswith("(task penalty)")
    assert study.order_problem("agent_1+agent_0", tasks) is None and study.order_problem("reversed", tasks) is None
    with pytest.raises(ValueError, match=r"mappo cannot be built with \{\"gamma\": 2.0\}: expected `gamma` in"):
        study.check_construction([resolve("mappo")], {"mappo": {"gamma": 2.0}}, tasks["penalty"])
    with pytest.raises(ValueError, match="step cannot be built with .*expected beta"):
        study.check_construction([resolve("step")], {"step": {"beta": -1.0}}, tasks["penalty"])


def test_recorder_reports_the_two_car_merge_outcome_flags():
    """The recorder keeps every boolean info an episode reported: the two-car merge's outcome flags agree with its
    simulator's outcome, exactly one of them set at the end, and their rates reach the summary."""
    import stmg_envs  # noqa: F401
    from stmg_envs.highway import TrafficMergeEnv

    recorder = EpisodeRecorder(TrafficMergeEnv())
    summaries = []
    for seed, actions in ((0, (3, 4)), (1, (4, 3))):
        recorder.reset(seed=seed)
        while recorder.agents:
            recorder.step(dict(zip(recorder.agents, actions)))
        summary = recorder.summary()
        outcome = recorder.unwrapped.sim.outcome()
        assert {k: summary.flags[k] for k in ("main_first", "ramp_first", "crash")} == {
            k: k == outcome for k in ("main_first", "ramp_first", "crash")
        }
        summaries.append(summary)
    rates = summarize_episodes(summaries)["flag_rates"]
    assert set(rates) >= {"main_first", "ramp_first", "crash", "crashed"}
    assert rates["main_first"] + rates["ramp_first"] + rates["crash"] == pytest.approx(1.0)
