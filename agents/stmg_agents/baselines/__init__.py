"""The baselines: IPPO and MAPPO on the simultaneous (parallel) form; seq-ppo and Bi-AC on the STMG.

IPPO and MAPPO train one actor shared by all agents (with a one-hot agent indicator)
and expose the same SB3-like interface: ``learn(joint_steps)``,
``predict(obs_dict)``, ``action_readout()``, ``save``/``load``. On the sequential form,
:mod:`stmg_agents.baselines.seq_ppo` (``SeqPPO``: STEP's sequential structure with a
plain MLP policy, STEP's surface) and :mod:`stmg_agents.baselines.biac`
(``BiLevelQLearning``: Bi-AC's bi-level tabular Q-learning, two agents, the benchmark
contract's surface) are imported from their modules.

Examples:
    >>> from stmg_agents.baselines import MAPPO
    >>> agent = MAPPO("stmg/Penalty-v0", seed=0, env_kwargs={"k": 0}).learn(100)
    >>> agent.num_timesteps
    100
"""

from stmg_agents.baselines.base import ActionReadout, SharedPolicyAgent
from stmg_agents.baselines.config import IPPOConfig, MAPPOConfig, SharedPPOConfig
from stmg_agents.baselines.ippo import IPPO
from stmg_agents.baselines.mappo import MAPPO

__all__ = [
    "IPPO",
    "MAPPO",
    "IPPOConfig",
    "MAPPOConfig",
    "SharedPPOConfig",
    "ActionReadout",
    "SharedPolicyAgent",
]
