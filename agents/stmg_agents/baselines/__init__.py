"""Baselines on the simultaneous (parallel) form of the tasks: IPPO and MAPPO.

Both train one actor shared by all agents (with a one-hot agent indicator)
and expose the same SB3-like interface: ``learn(joint_steps)``,
``predict(obs_dict)``, ``action_readout()``, ``save``/``load``.

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
