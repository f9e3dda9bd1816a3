"""TorchRL's ``PettingZooWrapper`` collects rollouts of both forms with specs that match the data.

The sequential form (the STMG, an ``AECEnv``) needs ``use_mask=True``; TorchRL
then makes one group per agent, observes *every* agent after each decision and
marks the acting one in ``(group, "mask")``. The simultaneous form groups the
two agents as ``"agent"``. ``check_env_specs`` compares the declared specs with
a real rollout.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.interop.helpers import HIGHWAY_TASKS, MATRIX_TASK, TASKS, Task, make_aec, make_parallel, one_hot, require

pytestmark = pytest.mark.interop

FORMS = [pytest.param(False, id="dict"), pytest.param(True, id="flat")]


@pytest.fixture(scope="module")
def torchrl():
    require("torchrl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "PettingZoo in TorchRL is tested using version == 1.24.3"
        from torchrl.envs import PettingZooWrapper
        from torchrl.envs.utils import check_env_specs
    return PettingZooWrapper, check_env_specs


def _episode_decisions(task: Task) -> int:
    return 2 * make_parallel(task).episode_length  # two agents, one decision each per time step


@pytest.mark.parametrize("flatten", FORMS)
@pytest.mark.parametrize("task", TASKS)
def test_sequential_form_rollout_matches_its_specs(torchrl, task: Task, flatten: bool):
    """check_env_specs passes; a rollout across an episode end has per-agent groups, alternating masks, the state."""
    wrapper, check_env_specs = torchrl
    aec = make_aec(task, flatten=flatten)
    env = wrapper(aec, use_mask=True, return_state=True, seed=0)
    assert env.group_map == {"agent_0": ["agent_0"], "agent_1": ["agent_1"]}
    check_env_specs(env, seed=0)
    decisions = _episode_decisions(task)
    td = env.rollout(decisions + 4, break_when_any_done=False)
    assert td.batch_size == (decisions + 4,)
    acting = np.arange(decisions + 4) % 2
    for index, agent in enumerate(aec.possible_agents):
        mask = td[agent, "mask"].reshape(-1).numpy()
        np.testing.assert_array_equal(mask, acting == index, err_msg=f"{agent} acts on every other decision")
    done = td["next", "done"].reshape(-1).numpy()
    assert done.nonzero()[0].tolist() == [decisions - 1]
    assert td["state"].shape[-1:] == aec.state_space.shape


@pytest.mark.parametrize("task", TASKS)
def test_sequential_form_follower_sees_the_leaders_action(torchrl, task: Task):
    """In TorchRL's data, agent_1's observation when it acts holds agent_0's action of the same time step."""
    wrapper, _ = torchrl
    aec = make_aec(task)
    env = wrapper(aec, use_mask=True, seed=0)
    td = env.rollout(8, break_when_any_done=False)
    slot = aec.action_layout["agent_0"]
    for t in range(1, 8, 2):  # agent_1's decisions
        prior = td["agent_1", "observation", "prior_actions"][t, 0].numpy()
        leader = td["agent_0", "action"][t - 1, 0].numpy()
        expected = one_hot(int(leader), 3) if leader.shape == () else leader
        np.testing.assert_allclose(prior[slot], expected, rtol=1e-6)
        assert td["agent_1", "observation", "prior_mask"][t, 0].tolist() == [1, 0]


def test_sequential_form_rewards_are_the_payoffs(torchrl):
    """Both agents receive payoff[a0, a1] on the decision that completes a time step and 0 on the other."""
    wrapper, _ = torchrl
    aec = make_aec(MATRIX_TASK)
    payoffs = aec.parallel_env.payoffs
    td = wrapper(aec, use_mask=True, seed=0).rollout(10, break_when_any_done=False)
    for t in range(10):
        rewards = [float(td["next", agent, "reward"][t, 0]) for agent in aec.possible_agents]
        if t % 2 == 0:
            assert rewards == [0.0, 0.0]
        else:
            joint = (int(td["agent_0", "action"][t - 1, 0]), int(td["agent_1", "action"][t, 0]))
            assert rewards == [payoffs[0][joint], payoffs[1][joint]]


@pytest.mark.parametrize("task", TASKS)
def test_simultaneous_form_rollout_matches_its_specs(torchrl, task: Task):
    """check_env_specs passes; the agents form one group; episodes end after episode_length steps; state is there."""
    wrapper, check_env_specs = torchrl
    par = make_parallel(task)
    env = wrapper(par, return_state=True, seed=0)
    assert env.group_map == {"agent": ["agent_0", "agent_1"]}
    check_env_specs(env, seed=0)
    length = par.episode_length
    td = env.rollout(length + 2, break_when_any_done=False)
    assert td["agent", "observation"].shape[:2] == (length + 2, 2)
    assert td["next", "done"].reshape(-1).nonzero().reshape(-1).tolist() == [length - 1]
    assert td["state"].shape[-1:] == par.state_space.shape
    rewards = td["next", "agent", "reward"][..., 0].numpy()
    if task == MATRIX_TASK:
        actions = td["agent", "action"].numpy()
        expected = [[par.payoffs[i][tuple(actions[t])] for i in range(2)] for t in range(length + 2)]
        np.testing.assert_array_equal(rewards, expected)
    else:  # the robot's reward is shared
        np.testing.assert_allclose(rewards[:, 0], rewards[:, 1])


@pytest.mark.parametrize("flatten", FORMS)
@pytest.mark.parametrize("task", HIGHWAY_TASKS)
def test_highway_tasks_roll_out_in_both_forms(torchrl, task: Task, flatten: bool):
    """The highway tasks (action masks, per-agent infos) pass check_env_specs and roll out across episode ends
    in both forms, with every info key of the task in TorchRL's data."""
    wrapper, check_env_specs = torchrl
    parallel = make_parallel(task)
    _, infos = parallel.reset(seed=0)
    info_keys = set(infos[parallel.agents[0]]) - {"action_mask"}  # TorchRL moves the mask next to the action
    for env in (
        wrapper(make_aec(task, flatten=flatten), use_mask=True, seed=0),
        wrapper(make_parallel(task), use_mask=True, seed=0),
    ):
        check_env_specs(env, seed=0)
        td = env.rollout(40, break_when_any_done=False)
        assert td["next", "done"].any(), "the rollout should cross an episode end"
        for group in env.group_map:
            assert info_keys <= set(td["next", group, "info"].keys()), group
            assert (td[group, "action_mask"].sum(-1) > 0).all(), "every decision has an allowed action"
