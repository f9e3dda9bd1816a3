"""RLlib consumes both forms: ``PettingZooEnv`` on the STMG, ``ParallelPettingZooEnv`` on the simultaneous game.

The wrappers are first checked by hand (who acts, what they see, that every
reward reaches its agent), then a PPO iteration runs on each form, one policy
per agent, on the new API stack with everything in the driver process
(``num_env_runners=0``, ``num_learners=0``) and tiny batches.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pytest

from tests.interop.helpers import (
    MATRIX_TASK,
    MUJOCO_TASK,
    TASKS,
    Task,
    make_aec,
    make_parallel,
    one_hot,
    random_action,
    require,
)

pytestmark = pytest.mark.interop

TRAIN_BATCH = 64


@pytest.fixture(scope="module")
def rllib() -> dict[str, Any]:
    require("ray.rllib")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv, PettingZooEnv

    return {"PettingZooEnv": PettingZooEnv, "ParallelPettingZooEnv": ParallelPettingZooEnv}


@pytest.fixture(scope="module")
def ray_instance(rllib):
    """A local 2-CPU Ray instance for the module (PPO needs one even with everything in the driver)."""
    import ray

    started = not ray.is_initialized()
    if started:
        for attempt in (1, 2):
            try:
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
                break
            except Exception as exc:  # Ray gives its raylet a fixed 30 s to register; a loaded machine can miss it
                ray.shutdown()
                if attempt == 2 or "timed out during startup" not in str(exc):
                    raise
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.parametrize("flatten", [False, True], ids=["dict", "flat"])
def test_pettingzoo_env_on_the_matrix_stmg(rllib, flatten: bool):
    """Agents alternate, the follower sees the leader's action, each agent's rewards add up to its payoffs."""
    aec = make_aec(MATRIX_TASK, flatten=flatten)
    payoffs = aec.parallel_env.payoffs
    env = rllib["PettingZooEnv"](aec)
    assert set(env.observation_spaces) == {"agent_0", "agent_1"}
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    totals = {"agent_0": 0.0, "agent_1": 0.0}
    expected = {"agent_0": 0.0, "agent_1": 0.0}
    leader_action = None
    for decision in range(60):
        (agent,) = obs
        assert agent == ("agent_0", "agent_1")[decision % 2]
        assert env.observation_spaces[agent].contains(obs[agent])
        if agent == "agent_1":
            prior = obs[agent]["prior_actions"] if not flatten else obs[agent][1:7]
            np.testing.assert_array_equal(prior[:3], one_hot(leader_action, 3))
        action = random_action(env.action_spaces[agent], rng)
        if agent == "agent_0":
            leader_action = action
        else:
            for i, name in enumerate(("agent_0", "agent_1")):
                expected[name] += payoffs[i][leader_action, action]
        obs, rewards, terminateds, truncateds, _ = env.step({agent: action})
        for name, reward in rewards.items():
            totals[name] += reward
        if truncateds["__all__"]:
            assert decision == 49 and obs.keys() == {"agent_0", "agent_1"} and not terminateds["__all__"]
            break
    else:
        pytest.fail("the episode did not end after 25 time steps")
    assert totals == expected


@pytest.mark.parametrize("task", TASKS)
def test_parallel_pettingzoo_env_on_the_simultaneous_game(rllib, task: Task):
    """Both agents act every step; rewards are those of the parallel env; __all__ truncates after episode_length."""
    env = rllib["ParallelPettingZooEnv"](make_parallel(task))
    twin = make_parallel(task)
    obs, _ = env.reset(seed=0)
    twin_obs, _ = twin.reset(seed=0)
    rng = np.random.default_rng(0)
    for step in range(1, twin.episode_length + 1):
        assert obs.keys() == {"agent_0", "agent_1"}
        for agent in obs:
            np.testing.assert_array_equal(obs[agent], twin_obs[agent])
        actions = {a: random_action(env.action_space[a], rng) for a in sorted(obs)}
        obs, rewards, _, truncateds, _ = env.step(actions)
        twin_obs, twin_rewards, _, _, _ = twin.step(actions)
        assert rewards == twin_rewards
        assert truncateds["__all__"] == (step == twin.episode_length)


def _ppo_config(env_name: str, agents: list[str], dict_observations: bool):
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment(env_name)
        .multi_agent(policies=set(agents), policy_mapping_fn=lambda agent_id, *args, **kwargs: agent_id)
        .env_runners(num_env_runners=0, rollout_fragment_length="auto")
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=TRAIN_BATCH, minibatch_size=32, num_epochs=1)
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .debugging(seed=0, log_level="ERROR")
    )
    if dict_observations:  # RLlib's default models take flat observations: flatten the Dict on the way in
        from ray.rllib.connectors.env_to_module import FlattenObservations

        config = config.env_runners(
            env_to_module_connector=lambda env, spaces=None, device=None: FlattenObservations(multi_agent=True)
        )
    return config


PPO_CASES = [
    pytest.param("aec", MATRIX_TASK, False, id="aec-Penalty-dict"),
    pytest.param("aec", MUJOCO_TASK, True, id="aec-HalfCheetah-flat", marks=pytest.mark.mujoco),
    pytest.param("parallel", MATRIX_TASK, None, id="parallel-Penalty"),
    pytest.param("parallel", MUJOCO_TASK, None, id="parallel-HalfCheetah", marks=pytest.mark.mujoco),
]


@pytest.mark.slow
@pytest.mark.parametrize("form,task,flatten", PPO_CASES)
def test_ppo_trains_one_iteration(rllib, ray_instance, form: str, task: Task, flatten: bool | None):
    """algo.train() samples TRAIN_BATCH env steps and updates one PPO module per agent."""
    from ray.tune.registry import register_env

    def creator(_config):
        if form == "aec":
            return rllib["PettingZooEnv"](make_aec(task, flatten=flatten))
        return rllib["ParallelPettingZooEnv"](make_parallel(task))

    env_name = f"stmg-interop-{form}-{task[0]}-{flatten}"
    register_env(env_name, creator)
    agents = sorted(creator({}).possible_agents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        algo = _ppo_config(env_name, agents, dict_observations=flatten is False).build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    assert result["training_iteration"] == 1
    assert result["env_runners"]["num_env_steps_sampled"] >= TRAIN_BATCH
    for agent in agents:
        learner = result["learners"][agent]
        assert learner["num_module_steps_trained"] > 0
        assert np.isfinite(learner["total_loss"])


@pytest.mark.slow
def test_ppo_with_a_remote_env_runner(rllib, ray_instance):
    """The README recipe: an env creator that imports stmg_envs itself works in RLlib's env-runner processes.

    PettingZoo's registry lives in each process, so a creator that only calls
    ``pettingzoo.make("aec", "stmg/...")`` fails in a remote runner with
    "Namespace 'stmg' not found" unless it imports ``stmg_envs`` first.
    """
    from ray.tune.registry import register_env

    def make_stmg(_config):  # defined here so that Ray ships it by value, without this test module
        import pettingzoo
        from ray.rllib.env.wrappers.pettingzoo_env import PettingZooEnv

        import stmg_envs  # noqa: F401  (registers the tasks in the env runner's process)

        return PettingZooEnv(pettingzoo.make("aec", "stmg/Penalty-v0", flatten=True))

    register_env("stmg-interop-remote", make_stmg)
    config = _ppo_config("stmg-interop-remote", ["agent_0", "agent_1"], dict_observations=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        algo = config.env_runners(num_env_runners=1).build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    assert result["env_runners"]["num_env_steps_sampled"] >= TRAIN_BATCH
