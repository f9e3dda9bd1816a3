"""Multi-Agent MuJoCo tasks (Gymnasium-Robotics' MaMuJoCo) for stmg-envs.

The STEP paper's nine sub-scenarios: Ant ``2x4``/``4x2``/``8x1``, HalfCheetah
``2x3``/``3x2``/``6x1`` and ManySegmentAnt ``2x3``/``3x2``/``6x1``, as PettingZoo
``ParallelEnv``\\ s with a global ``state()``/``state_space``. Importing this package
does not import MuJoCo; the factories do, and say which extra to install
(``pip install 'stmg-envs[mujoco]'``) when it is missing.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> env = pettingzoo.make("parallel", "stmg/HalfCheetah-v0", agent_conf="3x2", episode_length=20)
    >>> observations, infos = env.reset(seed=0)
    >>> sorted(observations)
    ['agent_0', 'agent_1', 'agent_2']
    >>> env.close()
"""

from stmg_envs.mujoco.factories import ant, half_cheetah, make_mamujoco, many_segment_ant
from stmg_envs.mujoco.parallel_env import MaMuJoCoParallelEnv
from stmg_envs.mujoco.partitions import SCENARIOS, valid_agent_confs

__all__ = [
    "MaMuJoCoParallelEnv",
    "SCENARIOS",
    "ant",
    "half_cheetah",
    "make_mamujoco",
    "many_segment_ant",
    "valid_agent_confs",
]
