"""STEP: the N-level policy with a conditional hypernetwork, trained with PPO on an STMG.

Modules:
    algorithm: :class:`STEP` (an SB3 ``PPO`` subclass).
    policy: :class:`NLevelPolicy` (an SB3 ``ActorCriticPolicy`` subclass).
    hypernetwork: rank encodings, the conditional hypernetwork and the policy head.
    networks: state embedding, critic trunk, features extractor, value normaliser.
    buffer: per-agent rollout buffer.
    vec_env: the SB3 ``VecEnv`` facade over the batched STMG (``stmg_envs.vector``) STEP rolls out on.
    losses: the loss terms of Eq. 11-12.
    execution: received and symmetric execution.
    evaluation: joint-policy read-out and one-call training.

Examples:
    >>> from stmg_agents.step import STEP, joint_policy_readout
    >>> model = STEP("stmg/Mixing-v0", seed=0, n_envs=2).learn(100)
    >>> readout = joint_policy_readout(model)
    >>> readout.agents, readout.joint_probabilities.shape
    (('agent_0', 'agent_1'), (3, 3))
"""

from stmg_agents.step.algorithm import DEFAULT_BETA, STEP
from stmg_agents.step.evaluation import JointPolicyReadout, joint_policy_readout, train_step
from stmg_agents.step.execution import play_time_step, symmetric_action
from stmg_agents.step.policy import NLevelPolicy
from stmg_agents.step.vec_env import STMGVecEnv, make_stmg_vec_env

__all__ = [
    "STEP",
    "DEFAULT_BETA",
    "NLevelPolicy",
    "STMGVecEnv",
    "make_stmg_vec_env",
    "symmetric_action",
    "play_time_step",
    "JointPolicyReadout",
    "joint_policy_readout",
    "train_step",
]
