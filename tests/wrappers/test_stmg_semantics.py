"""Semantics of the STMG wrapper: who sees what, when the parallel env steps, rewards, orders, deaths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gymnasium import spaces

from stmg_envs import stmg_v0
from stmg_envs.matrix import MatrixGame, mixing, penalty
from stmg_envs.wrappers import OBSERVATION_KEYS
from tests.wrappers.toy_env import AgentSpec, ToyParallelEnv, encoded, mixed_specs


def play_step(env, actions: dict) -> list[tuple[str, dict]]:
    """Play one time step with ``actions``; return (agent, observation) for each decision."""
    seen = []
    start = env.num_time_steps
    while env.num_time_steps == start:
        agent = env.agent_selection
        seen.append((agent, env.observe(agent)))
        env.step(actions[agent])
    return seen


def test_agent_sees_exactly_the_actions_above_it_this_step():
    """Each acting agent's prior_actions hold the encoded actions of the agents ranked above it, nothing else."""
    game = MatrixGame(np.zeros((4, 2, 3, 2, 4)))
    env = stmg_v0(game, order=["agent_2", "agent_0", "agent_3", "agent_1"])
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        actions = {a: int(rng.integers(game.n_actions[i])) for i, a in enumerate(game.possible_agents)}
        for rank, (agent, obs) in enumerate(play_step(env, actions)):
            above = env.order[:rank]
            expected = np.zeros(env._prior_size, np.float32)
            for other in above:
                expected[env.action_layout[other]] = encoded(env.action_space(other), actions[other])
            np.testing.assert_array_equal(obs["prior_actions"], expected)
            np.testing.assert_array_equal(obs["prior_mask"], [int(a in above) for a in env.possible_agents])
            assert int(obs["rank"]) == rank
            assert env.order[rank] == agent


def test_prior_actions_are_cleared_between_time_steps():
    """The first agent of a new time step sees no actions, not those of the step before."""
    env = stmg_v0(penalty())
    env.reset(seed=0)
    play_step(env, {"agent_0": 2, "agent_1": 0})
    obs = env.observe(env.agent_selection)
    assert not obs["prior_actions"].any() and not obs["prior_mask"].any()


def test_parallel_env_steps_once_per_time_step_with_the_joint_action():
    """The parallel env is stepped exactly once per time step, after the last agent, with every action given."""
    toy = ToyParallelEnv(mixed_specs(), episode_length=6)
    env = stmg_v0(toy, order=["multi_2", "disc_0", "box_1"])
    env.reset(seed=0)
    for t in range(3):
        actions = {
            "disc_0": t % 3,
            "box_1": np.array([0.5, -0.25 * t], np.float32),
            "multi_2": np.array([t % 2, 2]),
        }
        for i, agent in enumerate(env.order):  # noqa: B007
            assert len(toy.log) == t
            env.step(actions[agent])
        assert len(toy.log) == t + 1
        logged = toy.log[-1]
        assert logged["disc_0"] == actions["disc_0"]
        np.testing.assert_array_equal(logged["box_1"], actions["box_1"])
        np.testing.assert_array_equal(logged["multi_2"], actions["multi_2"])


@pytest.mark.parametrize("make", [lambda: penalty(k=-75), mixing], ids=["penalty", "mixing"])
def test_rewards_equal_the_payoff_tensor(make):
    """After every time step, each agent's reward is payoffs[i][joint action]."""
    game = make()
    env = stmg_v0(game)
    env.reset(seed=0)
    for joint in itertools.product(range(3), range(3)):
        play_step(env, dict(zip(game.possible_agents, joint)))
        for i, agent in enumerate(game.possible_agents):
            assert env.rewards[agent] == game.payoffs[(i, *joint)]
            assert env._cumulative_rewards[agent] == game.payoffs[(i, *joint)]


def test_rewards_reset_and_accumulate_in_aec_convention():
    """``rewards`` are 0 on steps that do not finish a time step; ``last()`` gives the reward since the agent acted."""
    env = stmg_v0(penalty())
    env.reset(seed=0)
    play_step(env, {"agent_0": 0, "agent_1": 2})
    assert env.last()[1] == 10.0  # agent_0's reward since it last acted
    env.step(1)
    assert env.rewards == {"agent_0": 0.0, "agent_1": 0.0}
    assert env.last()[1] == 10.0  # agent_1 has not acted since: it still holds its reward
    assert env._cumulative_rewards["agent_0"] == 0.0


def test_observation_space_fixed_and_observations_inside_it_for_every_order():
    """Observation spaces are built once (same object) and every observation, in any order, lies in them."""
    toy = ToyParallelEnv(mixed_specs(), episode_length=5)
    env = stmg_v0(toy, order="random")
    spaces_before = {a: env.observation_space(a) for a in env.possible_agents}
    for seed in range(4):
        env.reset(seed=seed)
        for agent in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            assert env.observation_space(agent) is spaces_before[agent]
            assert spaces_before[agent].contains(obs), (agent, obs)
            assert list(obs) == list(OBSERVATION_KEYS)
            env.step(None if term or trunc else env.action_space(agent).sample())


def test_random_order_is_seeded_and_changes_between_episodes():
    """order='random' draws a permutation per episode from the seeded RNG: same seed, same orders."""

    def orders(seed):
        env = stmg_v0(MatrixGame(np.zeros((5, 2, 2, 2, 2, 2)), episode_length=1), order="random")
        env.reset(seed=seed)
        seen = [env.order]
        for _ in range(6):
            env.reset()
            seen.append(env.order)
        return seen

    assert orders(3) == orders(3)
    assert len(set(orders(3))) > 1


def test_callable_order_decides_every_time_step():
    """A callable order is asked before every time step and its order is followed."""
    calls = []

    def rotate(parallel_env, rng):
        calls.append(len(calls))
        agents = parallel_env.agents
        k = len(calls) % len(agents)
        return agents[k:] + agents[:k]

    game = MatrixGame(np.zeros((3, 2, 2, 2)), episode_length=4)
    env = stmg_v0(game, order=rotate)
    env.reset(seed=0)
    acted = []
    for agent in env.agent_iter():
        _, _, term, trunc, info = env.last()
        if not (term or trunc):
            assert info["rank"] == env.order.index(agent)
            acted.append(agent)
        env.step(None if term or trunc else 0)
    assert len(calls) == 4  # before each of the 4 time steps (none after the last)
    by_step = [tuple(acted[i : i + 3]) for i in range(0, 12, 3)]
    assert by_step == [
        ("agent_1", "agent_2", "agent_0"),
        ("agent_2", "agent_0", "agent_1"),
        ("agent_0", "agent_1", "agent_2"),
        ("agent_1", "agent_2", "agent_0"),
    ]


def test_dead_agents_take_a_dead_step_and_leave_the_order():
    """An agent that terminates gets one dead step (None), then the others go on without it."""
    specs = mixed_specs()
    specs["box_1"] = AgentSpec(specs["box_1"].action_space, obs_size=4, terminates_at=2)
    toy = ToyParallelEnv(specs, episode_length=4)
    env = stmg_v0(toy)
    env.reset(seed=0)
    actions = {"disc_0": 1, "box_1": np.zeros(2, np.float32), "multi_2": np.array([1, 1])}
    play_step(env, actions)
    play_step(env, actions)
    assert env.terminations["box_1"] and env.agent_selection == "box_1"
    with pytest.raises(ValueError, match="only action is None"):
        env.step(actions["box_1"])
    env.step(None)
    assert "box_1" not in env.agents and env.order == ("disc_0", "multi_2")
    obs = env.observe("box_1")  # still answers for a dead agent
    assert env.observation_space("box_1").contains(obs)
    play_step(env, {k: v for k, v in actions.items() if k != "box_1"})
    assert set(toy.log[-1]) == {"disc_0", "multi_2"}


def test_agents_that_appear_join_the_next_time_step():
    """An agent the parallel env adds mid-episode is ranked and acts from the next time step on."""
    specs = mixed_specs()
    specs["late_3"] = AgentSpec(spaces.Discrete(2), appears_at=1)
    toy = ToyParallelEnv(specs, episode_length=3)
    env = stmg_v0(toy)
    env.reset(seed=0)
    assert "late_3" not in env.agents
    assert env.observation_space("late_3").contains(env.observe("late_3"))
    actions = {"disc_0": 0, "box_1": np.zeros(2, np.float32), "multi_2": np.array([0, 0]), "late_3": 1}
    play_step(env, actions)
    assert "late_3" in env.agents and env.order[-1] == "late_3"
    play_step(env, actions)
    assert toy.log[-1]["late_3"] == 1


def test_observe_answers_for_every_possible_agent_at_any_time():
    """observe() works for agents that acted, are waiting, or are dead (TorchRL observes them all)."""
    game = MatrixGame(np.zeros((3, 2, 2, 2)))
    env = stmg_v0(game)
    env.reset(seed=0)
    env.step(1)  # agent_0
    env.step(0)  # agent_1; agent_2 to act
    obs = {a: env.observe(a) for a in env.possible_agents}
    assert obs["agent_0"]["prior_mask"].tolist() == [0, 0, 0]
    assert obs["agent_1"]["prior_mask"].tolist() == [1, 0, 0]  # it saw agent_0 only, not its own
    assert obs["agent_2"]["prior_mask"].tolist() == [1, 1, 0]
    np.testing.assert_array_equal(obs["agent_1"]["prior_actions"], [0, 1, 0, 0, 0, 0])


def test_observations_are_fresh_copies():
    """Modifying a returned observation never changes later ones (users keep what they get)."""
    env = stmg_v0(penalty())
    env.reset(seed=0)
    obs = env.observe("agent_0")
    obs["observation"][:] = 7
    obs["prior_actions"][:] = 7
    again = env.observe("agent_0")
    assert again["observation"][0] == 1.0 and not again["prior_actions"].any()


def test_action_mask_passes_through():
    """An action_mask in the parallel env's observation stays in the observation (Dict) or goes to infos (flat)."""
    specs = {
        "a_0": AgentSpec(spaces.Discrete(3), with_action_mask=True),
        "a_1": AgentSpec(spaces.Discrete(3), with_action_mask=True),
    }
    env = stmg_v0(ToyParallelEnv(specs))
    env.reset(seed=0)
    obs = env.observe("a_0")
    assert list(obs) == [*OBSERVATION_KEYS, "action_mask"]
    assert obs["action_mask"].tolist() == [0, 1, 1]
    flat = stmg_v0(ToyParallelEnv(specs), flatten=True)
    flat.reset(seed=0)
    assert flat.infos["a_0"]["action_mask"].tolist() == [0, 1, 1]
    assert isinstance(flat.observation_space("a_0"), spaces.Box)


def test_flatten_gives_the_concatenated_parts():
    """flatten=True returns observation, prior actions, mask and rank one-hot concatenated, in a Box."""
    game = MatrixGame(np.zeros((2, 3, 3)))
    flat = stmg_v0(game, flatten=True)
    flat.reset(seed=0)
    flat.step(2)
    obs = flat.observe("agent_1")
    assert flat.observation_space("agent_1").contains(obs)
    np.testing.assert_array_equal(obs, [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1])


def test_metadata_unwrapped_state_and_forwarding():
    """metadata marks the game as not parallelizable; unwrapped is the STMG; state() and attributes pass through."""
    game = penalty(k=-25)
    env = stmg_v0(game)
    assert env.metadata["is_parallelizable"] is False and env.metadata["name"] == "stmg_penalty_v0"
    assert env.unwrapped is env and env.parallel_env is game
    env.reset(seed=0)
    np.testing.assert_array_equal(env.state(), game.state())
    assert env.payoffs is game.payoffs  # public attributes of the parallel env are forwarded
    assert env.state_space is game.state_space


def test_encode_action_matches_the_layout():
    """encode_action gives the slot content that the agents below will see."""
    toy = ToyParallelEnv(mixed_specs())
    env = stmg_v0(toy)
    assert env.encode_action("multi_2", np.array([1, 2])).tolist() == [0, 1, 0, 0, 1]
    assert env.encode_action("disc_0", 2).tolist() == [0, 0, 1]
    sizes = {a: s.stop - s.start for a, s in env.action_layout.items()}
    assert sizes == {"disc_0": 3, "box_1": 2, "multi_2": 5}


class _DictObsGame(MatrixGame):
    """A matrix game whose agents observe a Dict (position Box + Discrete id), not a Box."""

    def __init__(self):
        super().__init__(np.zeros((2, 2, 3)), episode_length=3)
        space = spaces.Dict({"pos": spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32), "id": spaces.Discrete(2)})
        self.observation_spaces = dict.fromkeys(self.possible_agents, space)

    def _dict_obs(self):
        return {
            a: {"pos": np.full(2, 0.5 * i, np.float32), "id": np.int64(i)} for i, a in enumerate(self.possible_agents)
        }

    def reset(self, seed=None, options=None):
        _, infos = super().reset(seed=seed, options=options)
        return self._dict_obs(), infos

    def step(self, actions):
        _, rewards, terms, truncs, infos = super().step(actions)
        return self._dict_obs(), rewards, terms, truncs, infos


@pytest.mark.parametrize("flatten", [False, True])
def test_dict_observations_of_the_parallel_env(flatten):
    """A Dict observation (without action_mask) is kept whole in 'observation', or flattened with flatten=True."""
    import contextlib
    import io
    import warnings

    from pettingzoo.test import api_test

    env = stmg_v0(_DictObsGame(), flatten=flatten)
    env.reset(seed=0)
    obs = env.observe("agent_1")
    assert env.observation_space("agent_1").contains(obs)
    if flatten:
        # id one-hot (2) + pos (2) (Gymnasium sorts Dict keys) + prior actions (2 + 3) + mask (2) + rank one-hot (2)
        assert obs.shape == (13,) and obs[:4].tolist() == [0.0, 1.0, 0.5, 0.5]
    else:
        assert obs["observation"]["id"] == 1 and obs["observation"]["pos"].tolist() == [0.5, 0.5]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        api_test(stmg_v0(_DictObsGame(), flatten=flatten), num_cycles=10)
