"""Property tests: the batched forms over the generic backend equal K independent copies of the unbatched games.

Randomly generated ParallelEnvs (tests/wrappers/toy_env.py: heterogeneous observation sizes, agents that
terminate, get truncated or appear mid-episode) are run as a BatchedSTMG and, side by side, as K independent
stmg_v0 copies reset with the same seeds and fed the same actions, through several episode ends and
autoresets, with fixed, random and callable orders.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stmg_envs import stmg_v0
from stmg_envs.vector import BatchedSTMG, GenericBackend, batched_parallel, batched_stmg
from stmg_envs.wrappers.stmg import skip_dead_steps
from tests.wrappers.toy_env import AgentSpec, ToyParallelEnv


def _random_order(env, rng):
    agents = list(env.agents)
    return [agents[i] for i in rng.permutation(len(agents))]


@st.composite
def toy_games(draw):
    """Per-copy specs of ToyParallelEnvs whose spaces the batched forms stack (the same spaces in every copy, each
    copy its own schedule of agents that terminate, get truncated or appear), an episode length and an order."""
    num_copies = draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    length = draw(st.integers(1, 5))
    discrete = draw(st.booleans())
    box_shape = (draw(st.integers(1, 3)),)
    action_spaces: list[spaces.Space] = []
    for _ in range(n):
        if discrete:
            action_spaces.append(spaces.Discrete(draw(st.integers(1, 4)), start=draw(st.integers(-2, 2))))
        else:
            low = draw(st.sampled_from([-1.0, 0.0]))
            action_spaces.append(spaces.Box(low, low + 2.0, shape=box_shape, dtype=np.float32))
    obs_sizes = [draw(st.integers(1, 3)) for _ in range(n)]
    copies = []
    for _ in range(num_copies):
        specs = {}
        for i in range(n):
            specs[f"agent_{i}"] = AgentSpec(
                action_spaces[i],
                obs_size=obs_sizes[i],
                appears_at=0 if i == 0 else draw(st.sampled_from([0, 0, 1, 2])),
                terminates_at=draw(st.one_of(st.none(), st.integers(1, length))),
                truncated_at=draw(st.one_of(st.none(), st.integers(1, length))),
            )
        copies.append(specs)
    names = list(copies[0])
    kind = draw(st.sampled_from(["default", "random", "fixed", "callable"]))
    order = {
        "default": None,
        "random": "random",
        "fixed": draw(st.permutations(names)),
        "callable": _random_order,
    }[kind]
    return copies, length, order


def _factory(copies, length):
    """A factory whose k-th env is copy k's (so that the copies' agents may behave differently)."""
    made = iter(range(len(copies)))
    return lambda: ToyParallelEnv(copies[next(made)], episode_length=length)


def _draw_action(space: spaces.Space, rng: np.random.Generator):
    if isinstance(space, spaces.Discrete):
        return int(rng.integers(int(space.start), int(space.start) + int(space.n)))
    return rng.uniform(space.low, space.high).astype(np.float32)


def _strip(info: dict) -> dict:
    return {key: value for key, value in info.items() if key not in ("rank", "order")}


def _assert_own(venv: BatchedSTMG, row: np.ndarray, agent_index: int, expected: np.ndarray, where: str) -> None:
    size = venv.layout.sizes[agent_index]
    np.testing.assert_array_equal(row.ravel()[:size], np.ravel(expected), err_msg=where)
    assert not row.ravel()[size:].any(), f"{where}: padding is not zero"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toy_games(), st.integers(0, 2**16))
def test_batched_stmg_equals_independent_stmg_copies(game, seed):
    """Observations at every rank, rewards, terminations, truncations, infos (with rank and order), final
    observations and autoresets of every copy equal those of an independent stmg_v0 copy given the same actions."""
    copies, length, order = game
    num_copies = len(copies)
    venv = batched_stmg(_factory(copies, length), num_copies, order, backend="generic")
    assert isinstance(venv.backend, GenericBackend)
    refs = [stmg_v0(ToyParallelEnv(specs, episode_length=length), order=order) for specs in copies]
    names = list(copies[0])
    index = {a: i for i, a in enumerate(names)}
    layout = venv.layout
    obs, reset_infos = venv.reset(seed=seed)
    for e, ref in enumerate(refs):
        ref.reset(seed=seed + e)
        for agent in ref.agents:
            assert reset_infos.get(e, {}).get(agent, {}) == _strip(ref.infos[agent])
    rng = np.random.default_rng(seed)
    episodes_ended = 0
    for t in range(3 * length + 2):
        assert venv.live.tolist() == [[a in ref.agents for a in names] for ref in refs]
        for e, ref in enumerate(refs):
            assert venv.orders[e].tolist() == [index[a] for a in ref.order] + [-1] * (len(names) - len(ref.order))
        assert venv.num_ranks == max(len(ref.order) for ref in refs)
        chosen: list[dict] = [{} for _ in refs]
        time_step = None
        num_ranks = venv.num_ranks
        lengths = [len(ref.order) for ref in refs]  # a copy with fewer agents finishes its time step earlier
        for rank in range(num_ranks):
            if layout.action_kind == "discrete":
                actions = np.full(num_copies, 10**6, dtype=np.int64)  # inactive rows: never read
            else:
                actions = np.full((num_copies, *layout.action_shape), np.nan, dtype=np.float32)
            for e, ref in enumerate(refs):
                where = f"step {t}, rank {rank}, copy {e}"
                if rank >= lengths[e]:
                    assert not obs.active[e] and obs.agent[e] == -1, where
                    continue
                agent = ref.agent_selection
                assert ref.order[rank] == agent and obs.active[e] and obs.agent[e] == index[agent], where
                expected = ref.observe(agent)
                _assert_own(venv, obs.observation[e], index[agent], expected["observation"], where)
                np.testing.assert_array_equal(obs.prior_actions[e], expected["prior_actions"], err_msg=where)
                np.testing.assert_array_equal(obs.prior_mask[e], expected["prior_mask"], err_msg=where)
                assert obs.rank[e] == expected["rank"] == rank, where
                action = _draw_action(copies[e][agent].action_space, rng)
                chosen[e][agent] = action
                actions[e] = action
            for e, ref in enumerate(refs):
                if rank < lengths[e]:
                    ref.step(chosen[e][ref.agent_selection])
            obs, time_step = venv.step(actions)
            assert (time_step is None) == (rank < num_ranks - 1)
        assert time_step is not None
        for e, ref in enumerate(refs):
            where = f"step {t}, copy {e}"
            reported = set(ref.rewards)
            for i, agent in enumerate(names):
                if agent not in reported:
                    assert time_step.rewards[e, i] == 0 and not time_step.terminations[e, i], where
                    assert not time_step.truncations[e, i] and not time_step.acted[e, i], where
                    continue
                assert time_step.rewards[e, i] == ref.rewards[agent], where
                assert time_step.terminations[e, i] == ref.terminations[agent], where
                assert time_step.truncations[e, i] == ref.truncations[agent], where
                assert time_step.acted[e, i] == (agent in chosen[e]), where
                assert time_step.infos.get(e, {}).get(agent, {}) == _strip(ref.infos[agent]), where
                if agent in chosen[e]:
                    assert time_step.ranks[e, i] == list(chosen[e]).index(agent), where
                if ref.terminations[agent] or ref.truncations[agent]:
                    assert ref.infos[agent]["rank"] == time_step.ranks[e, i], where
                    final = ref.observe(agent)
                    _assert_own(venv, time_step.final_observation[e, i], i, final["observation"], where)
                    assert not final["prior_actions"].any() and final["rank"] == time_step.ranks[e, i], where
                elif not time_step.episode_over[e]:
                    assert ref.infos[agent]["rank"] == venv.ranks[e, i], where
                    assert list(ref.infos[agent]["order"]) == venv.orders[e].tolist(), where
            if time_step.episode_over[e]:
                np.testing.assert_array_equal(time_step.final_state[e], ref.state(), err_msg=where)
            skip_dead_steps(ref)
            assert time_step.episode_over[e] == (not ref.agents), where
            if not ref.agents:
                episodes_ended += 1
                ref.reset()
                for agent in ref.agents:
                    assert time_step.reset_infos.get(e, {}).get(agent, {}) == _strip(ref.infos[agent]), where
            np.testing.assert_array_equal(venv.state()[e], ref.state(), err_msg=where)
        assert (time_step.final_state is None) == (not time_step.episode_over.any())
    assert episodes_ended >= num_copies  # every copy went through at least one autoreset


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toy_games(), st.integers(0, 2**16))
def test_batched_parallel_equals_independent_parallel_copies(game, seed):
    """The simultaneous form steps each copy with exactly its live agents' actions and returns what the copy
    returned (observations, rewards, flags, infos), resetting finished copies in the same step."""
    copies, length, _ = game
    num_copies = len(copies)
    venv = batched_parallel(_factory(copies, length), num_copies, backend="generic")
    refs = [ToyParallelEnv(specs, episode_length=length) for specs in copies]
    names = list(copies[0])
    layout = venv.layout
    first, _ = venv.reset(seed=seed)
    ref_obs = [ref.reset(seed=seed + e)[0] for e, ref in enumerate(refs)]
    rng = np.random.default_rng(seed)
    observation, live = first.observation, first.live
    for t in range(2 * length + 2):
        actions = np.zeros((num_copies, len(names), *layout.action_shape), dtype=layout.action_dtype)
        if layout.action_kind == "box":
            actions[:] = np.nan  # agents that are not live: never read
        for e, ref in enumerate(refs):
            assert live[e].tolist() == [a in ref.agents for a in names]
            for i, agent in enumerate(names):
                if agent in ref.agents:
                    _assert_own(venv, observation[e, i], i, ref_obs[e][agent], f"step {t}, copy {e}")
                    actions[e, i] = _draw_action(copies[e][agent].action_space, rng)
        out = venv.step(actions)
        for e, ref in enumerate(refs):
            joint = {
                a: (int(actions[e, i]) if layout.action_kind == "discrete" else actions[e, i])
                for i, a in enumerate(names)
                if a in ref.agents
            }
            obs_e, rew, term, trunc, info = ref.step(joint)
            ref_obs[e].update(obs_e)
            for i, agent in enumerate(names):
                assert out.rewards[e, i] == rew.get(agent, 0.0)
                assert out.terminations[e, i] == term.get(agent, False)
                assert out.truncations[e, i] == trunc.get(agent, False)
                if agent in obs_e:
                    _assert_own(venv, out.final_observation[e, i], i, obs_e[agent], f"step {t}, copy {e}")
                if info.get(agent):
                    assert out.infos[e][agent] == info[agent]
            assert out.episode_over[e] == (not ref.agents)
            if not ref.agents:
                ref_obs[e] = ref.reset()[0]
        observation, live = out.observation, out.live


def test_a_callable_order_receives_the_copy_and_its_rng():
    """With the generic backend an order callable gets the copy's own ParallelEnv (as under stmg_v0) and the
    copy's RNG; the orders it returns are used copy by copy."""
    seen = []

    def order(env, rng):
        seen.append((env, rng))
        return list(reversed(env.agents)) if env.t % 2 else list(env.agents)

    specs = {f"agent_{i}": AgentSpec(spaces.Discrete(2)) for i in range(3)}
    venv = batched_stmg(lambda: ToyParallelEnv(specs, episode_length=4), 2, order=order, backend="generic")
    venv.reset(seed=0)
    assert [env for env, _ in seen] == venv.backend.envs
    assert venv.orders.tolist() == [[0, 1, 2], [0, 1, 2]]
    for _ in range(venv.num_ranks):
        venv.step(np.zeros(2, dtype=np.int64))
    assert venv.orders.tolist() == [[2, 1, 0], [2, 1, 0]]
    assert seen[-1][1] is venv._rngs[1] and seen[-2][1] is venv._rngs[0]


@pytest.mark.parametrize("order", [None, "random"])
def test_same_seed_same_trajectory(order):
    """Two batches reset with the same seed and fed the same actions produce the same orders and rewards."""
    specs = {f"agent_{i}": AgentSpec(spaces.Discrete(3), terminates_at=2 + i) for i in range(3)}
    runs = []
    for _ in range(2):
        venv = batched_stmg(lambda: ToyParallelEnv(specs, episode_length=4), 5, order=order, backend="generic")
        venv.reset(seed=7)
        rng = np.random.default_rng(1)
        record = []
        for _ in range(12):
            record.append(venv.orders)
            done = None
            while done is None:
                _, done = venv.step(rng.integers(0, 3, size=5))
            record.append(done.rewards)
        runs.append(record)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
