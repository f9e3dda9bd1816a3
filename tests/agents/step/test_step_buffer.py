"""Per-agent lanes and GAE of the STEP rollout buffer, against a hand-computed trajectory."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from stmg_agents.step.buffer import STMGRolloutBuffer

pytestmark = pytest.mark.agents

SPACE = spaces.Dict(
    {
        "observation": spaces.Box(-1, 1, (1,), np.float32),
        "prior_actions": spaces.Box(0, 1, (4,), np.float32),
        "prior_mask": spaces.MultiBinary(2),
        "rank": spaces.Discrete(2),
    }
)


def obs_rows(count: int, rank: int) -> dict[str, np.ndarray]:
    return {
        "observation": np.full((count, 1), 0.5, np.float32),
        "prior_actions": np.zeros((count, 4), np.float32),
        "prior_mask": np.zeros((count, 2), np.int8),
        "rank": np.full(count, rank, np.int64),
    }


def filled_buffer() -> STMGRolloutBuffer:
    """One env copy, two agents, three steps (gamma = lambda = 0.5).

    agent_0 (lane 0): acts at every step, rewards 1, 2, 3, values 0.5, 1.0, 1.5, still running at the end
    (bootstrap value 2.0). agent_1 (lane 1): acts at step 0 and terminates (reward 4, value 1.0), is absent at
    step 1, acts again at step 2 in a new episode (reward 5, value 0.0) and terminates.
    """
    buf = STMGRolloutBuffer(3, SPACE, spaces.Discrete(2), device="cpu", gamma=0.5, gae_lambda=0.5, n_envs=1, n_agents=2)
    starts = np.array([1.0, 1.0], np.float32)
    plan = [
        ([0, 1], [0.5, 1.0], [1.0, 4.0]),
        ([0], [1.0], [2.0, 0.0]),
        ([0, 1], [1.5, 0.0], [3.0, 5.0]),
    ]
    for step, (lanes, values, rewards) in enumerate(plan):
        buf.begin_step(step, starts)
        lanes_arr = np.array(lanes)
        buf.add_decisions(
            step,
            lanes_arr,
            obs_rows(len(lanes), 0),
            np.zeros(len(lanes), np.int64),
            np.array(values, np.float32),
            np.zeros(len(lanes), np.float32),
            lanes_arr,
        )
        buf.end_step(step, np.array(rewards, np.float32))
        done = np.array([False, True])
        acted = np.isin([0, 1], lanes)
        starts = np.where(acted, done, True).astype(np.float32)
    buf.compute_returns_and_advantage(last_values=th.tensor([2.0, 0.0]), dones=np.array([0.0, 1.0]))
    return buf


def test_gae_per_agent_matches_hand_computation():
    """Each lane's GAE uses only its own rewards and values; the absent step neither leaks nor bootstraps."""
    buf = filled_buffer()
    # lane 0: d2 = 3 + .5*2 - 1.5 = 2.5; d1 = 2 + .5*1.5 - 1 = 1.75; d0 = 1 + .5*1 - .5 = 1
    #         A2 = 2.5; A1 = 1.75 + .25*2.5 = 2.375; A0 = 1 + .25*2.375 = 1.59375
    np.testing.assert_allclose(buf.advantages[:, 0], [1.59375, 2.375, 2.5])
    np.testing.assert_allclose(buf.returns[:, 0], [2.09375, 3.375, 4.0])
    # lane 1: step 0 terminal: A0 = 4 - 1 = 3 ; step 2 terminal: A2 = 5 - 0 = 5 ; step 1 absent
    assert buf.advantages[0, 1] == pytest.approx(3.0)
    assert buf.advantages[2, 1] == pytest.approx(5.0)
    assert not buf.valid[1, 1] and buf.episode_starts[1, 1] == 1.0 and buf.rewards[1, 1] == 0.0


def test_rank_samples_select_valid_decisions_of_one_rank():
    """Training batches hold exactly the valid decisions of the requested rank."""
    buf = filled_buffer()
    assert buf.ranks_present() == [0, 1]
    lane0 = buf.rank_samples(0)
    lane1 = buf.rank_samples(1)
    assert len(lane0) == 3 and len(lane1) == 2
    th.testing.assert_close(lane1.advantages, th.tensor([3.0, 5.0]))
    assert len(buf.all_samples()) == 5
    np.testing.assert_allclose(np.sort(buf.valid_returns()), np.sort([2.09375, 3.375, 4.0, 4.0, 5.0]))


def test_sb3_get_yields_only_valid_decisions():
    """SB3's get() covers every valid decision exactly once and none of the empty lane slots."""
    buf = filled_buffer()
    batches = list(buf.get(batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    returns = th.cat([b.returns for b in batches]).sort().values
    th.testing.assert_close(returns, th.tensor([2.09375, 3.375, 4.0, 4.0, 5.0]))


def test_rejects_bad_agent_count():
    """n_agents must be a positive integer."""
    with pytest.raises(ValueError, match="n_agents"):
        STMGRolloutBuffer(3, SPACE, spaces.Discrete(2), n_envs=1, n_agents=0)
