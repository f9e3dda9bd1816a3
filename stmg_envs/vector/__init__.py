"""Batched forms of the games: ``K`` copies of a task stepped together, as arrays.

* :func:`batched_stmg` / :class:`BatchedSTMG`: the STMG of :func:`stmg_envs.stmg_v0`, rank by rank
  (one policy call per rank for all copies);
* :func:`batched_parallel` / :class:`BatchedParallel`: the simultaneous game (one joint step);
* backends (:func:`make_backend`): :class:`GenericBackend` over any PettingZoo ``ParallelEnv``
  factory, :class:`MatrixBackend` (NumPy) for the matrix games, :class:`MuJoCoBackend` (``mujoco.batch``,
  MuJoCo >= 4.0) for the Multi-Agent MuJoCo robots (HalfCheetah, Ant, ManySegmentAnt); ``backend="auto"``
  falls back to the generic one elsewhere (and where ``mujoco.batch`` is missing);
* :class:`NormalizedBackend`: any backend with its observations standardised by the shared running
  statistics of :class:`stmg_envs.normalization.ObservationStatistics`;
* :class:`SequentialGymVectorEnv`: ``K`` copies of the single-agent Gymnasium view
  (:class:`stmg_envs.SequentialGymEnv`) as a ``gymnasium.vector.VectorEnv`` over a batched STMG, what
  ``gymnasium.make_vec("stmg/<Task>-v0", num_envs=K)`` builds.

Autoreset follows Gymnasium's ``SAME_STEP`` mode (what SB3's rollouts expect); the guarantees
(equal to ``K`` independent ``stmg_v0`` copies) are in :mod:`stmg_envs.vector.batched`.

Examples:
    >>> import numpy as np
    >>> from stmg_envs.vector import batched_stmg
    >>> venv = batched_stmg("stmg/Penalty-v0", num_copies=8)
    >>> obs, infos = venv.reset(seed=0)
    >>> rng = np.random.default_rng(0)
    >>> for rank in range(venv.num_ranks):      # one time step: one policy call per rank
    ...     obs, time_step = venv.step(rng.integers(0, 3, size=8))
    >>> time_step.rewards.shape, time_step.acted.all()
    ((8, 2), np.True_)
"""

from stmg_envs.vector.backend import Backend, CopyView, SparseInfos, StepArrays
from stmg_envs.vector.batched import (
    BACKENDS,
    BatchedParallel,
    BatchedSTMG,
    JointObservation,
    JointStep,
    RankObservation,
    RankStep,
    TimeStep,
    batched_parallel,
    batched_stmg,
    make_backend,
)
from stmg_envs.vector.generic import GenericBackend
from stmg_envs.vector.layout import BatchLayout
from stmg_envs.vector.matrix import MatrixBackend
from stmg_envs.vector.mujoco import MuJoCoBackend
from stmg_envs.vector.normalize import NormalizedBackend
from stmg_envs.vector.sequential_gym import SequentialGymVectorEnv

__all__ = [
    "batched_stmg",
    "batched_parallel",
    "make_backend",
    "BACKENDS",
    "BatchedSTMG",
    "BatchedParallel",
    "RankObservation",
    "RankStep",
    "TimeStep",
    "JointObservation",
    "JointStep",
    "Backend",
    "StepArrays",
    "CopyView",
    "SparseInfos",
    "GenericBackend",
    "MatrixBackend",
    "MuJoCoBackend",
    "BatchLayout",
    "NormalizedBackend",
    "SequentialGymVectorEnv",
]
