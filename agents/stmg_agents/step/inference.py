"""A NumPy snapshot of an :class:`~stmg_agents.step.policy.NLevelPolicy` for fast rollouts.

During a rollout the policy does not change, and each priority rank makes one
small batched call (a handful of rows). At that size every torch operation
costs several microseconds of dispatch, far more than the arithmetic; the same
mathematics in NumPy on a frozen copy of the weights is several times faster.
:class:`NumpyPolicySnapshot` is that copy: it computes exactly what
``NLevelPolicy.act`` computes (up to float32 rounding), with each rank's
hypernetwork output generated once, and samples with a NumPy ``Generator``.

It supports the common configurations (CPU tensors, a ``Box`` own
observation, Tanh/ReLU/Identity activations); :func:`snapshot_or_none`
returns ``None`` for the others and STEP falls back to the torch path.

Examples:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> from stmg_agents.step.policy import NLevelPolicy
    >>> obs_space = spaces.Dict({"observation": spaces.Box(0, 1, (1,)), "prior_actions": spaces.Box(0, 1, (6,)),
    ...                          "prior_mask": spaces.MultiBinary(2), "rank": spaces.Discrete(2)})
    >>> snap = snapshot_or_none(NLevelPolicy(obs_space, spaces.Discrete(3), lambda _: 1e-3))
    >>> obs = {"observation": np.ones((2, 1), np.float32), "prior_actions": np.zeros((2, 6), np.float32),
    ...        "prior_mask": np.zeros((2, 2), np.int8), "rank": np.zeros(2, np.int64)}
    >>> actions, values, log_probs = snap.act(obs, np.random.default_rng(0))
    >>> actions.shape, values.shape, log_probs.shape
    ((2,), (2,), (2,))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch as th
from torch import nn

from stmg_agents.distributions import LOG_2PI

if TYPE_CHECKING:
    from stmg_agents.step.policy import NLevelPolicy

__all__ = ["NumpyPolicySnapshot", "snapshot_or_none"]

_MASKED_LOGIT = np.float32(-1e9)

_NUMPY_ACTIVATIONS: dict[type[nn.Module], Callable[[np.ndarray], np.ndarray]] = {
    nn.Tanh: np.tanh,
    nn.ReLU: lambda x: np.maximum(x, 0.0, out=x),
    nn.Identity: lambda x: x,
}


def _np(t: th.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32, copy=True)


def snapshot_or_none(policy: NLevelPolicy) -> NumpyPolicySnapshot | None:
    """A :class:`NumpyPolicySnapshot` of ``policy``, or ``None`` if its configuration is not supported."""
    if policy.device.type != "cpu" or policy.activation_fn not in _NUMPY_ACTIVATIONS:
        return None
    if not policy.has_hypernetwork:  # the snapshot copies the hypernetwork head
        return None
    if not policy._plain_box_obs:
        return None
    return NumpyPolicySnapshot(policy)


class NumpyPolicySnapshot:
    """Frozen NumPy copy of a policy's weights with ``act`` (see the module docstring).

    Args:
        policy: The policy to copy; later changes to it are not seen.
    """

    def __init__(self, policy: NLevelPolicy):
        with th.no_grad():
            ex = policy.mlp_extractor
            layout = ex.layout
            self.n_agents = layout.n_agents
            self.slot_dim = layout.slot_dim
            self.activation = _NUMPY_ACTIVATIONS[policy.activation_fn]
            enc = ex.prior_encoder
            self.set_encoder = enc.kind == "set"
            if self.set_encoder:
                codes = th.nn.functional.linear(enc.slot_codes.first(layout.n_agents), enc.code_proj.weight)
                self.slot_bias = _np(codes + enc.action_proj.bias)  # (N, E)
                self.slot_weight_t = _np(enc.action_proj.weight).T.copy()  # (W, E)
            self.pi_layers = [(_np(layer.weight).T.copy(), _np(layer.bias)) for layer in ex.policy_embedding.trunk]
            self.vf_layers = [(_np(layer.weight).T.copy(), _np(layer.bias)) for layer in ex.value_embedding.trunk]
            for layers, embedding in ((self.pi_layers, ex.policy_embedding), (self.vf_layers, ex.value_embedding)):
                layers[0] = (_np(embedding.first_weight()).T.copy(), layers[0][1])
            max_rank = self.n_agents
            rank_codes = ex.value_rank_encoder(th.arange(max_rank))
            cond = ex.value_embedding.cond_proj
            self.vf_first_bias = _np(rank_codes @ cond.weight.T + ex.value_embedding.trunk[0].bias)  # (R, H)
            head = policy.action_net
            params = head.leading_target_parameters(max_rank)
            self.head_layers = [
                (_np(w).transpose(0, 2, 1).copy(), _np(b)) for w, b in head.hypernet.split(params)
            ]  # per layer: (R, in, out), (R, out)
            mean, std = policy.value_normalizer.stats() if policy.value_normalizer.enabled else (0.0, 1.0)
            self.value_w = _np(policy.value_net.weight).reshape(-1) * np.float32(std)
            self.value_b = np.float32(float(policy.value_net.bias) * std + mean)
            self.discrete = policy._discrete
            if not self.discrete:
                self.log_std = _np(policy.log_std)
                self.std = np.exp(self.log_std)

    def _hidden(self, obs: dict[str, np.ndarray], rank: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        own = np.asarray(obs["observation"], dtype=np.float32)
        batch = own.shape[0]
        own = own.reshape(batch, -1)
        prior = np.asarray(obs["prior_actions"], dtype=np.float32).reshape(batch, -1)
        mask = np.asarray(obs["prior_mask"], dtype=np.float32).reshape(batch, -1)
        act = self.activation
        if self.set_encoder:
            slots = prior.reshape(batch, self.n_agents, self.slot_dim)
            encoded = act(slots @ self.slot_weight_t + self.slot_bias)  # (B, N, E)
            prior_features = np.einsum("bn,bne->be", mask, encoded)
        else:
            prior_features = np.concatenate([prior, mask], axis=1)
        x = np.concatenate([own, prior_features], axis=1)
        h_pi = x
        for w, b in self.pi_layers:
            h_pi = act(h_pi @ w + b)
        w0, _ = self.vf_layers[0]
        h_vf = act(x @ w0 + self.vf_first_bias[rank])
        for w, b in self.vf_layers[1:]:
            h_vf = act(h_vf @ w + b)
        return h_pi, h_vf

    def _head(self, h_pi: np.ndarray, rank: np.ndarray | int) -> np.ndarray:
        x = h_pi
        last = len(self.head_layers) - 1
        for index, (w, b) in enumerate(self.head_layers):
            if isinstance(rank, (int, np.integer)):
                x = x @ w[rank] + b[rank]
            else:
                x = np.einsum("bi,bio->bo", x, w[rank]) + b[rank]
            if index < last:
                x = self.activation(x)
        return x

    def act(
        self, obs: dict[str, np.ndarray], rng: np.random.Generator, deterministic: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(actions, values, log_probs)`` for a batch of raw observations (NumPy arrays ``(B, ...)``)."""
        ranks = np.asarray(obs["rank"]).reshape(-1).astype(np.int64, copy=False)
        rank: np.ndarray | int = int(ranks[0]) if (ranks == ranks[0]).all() else ranks
        h_pi, h_vf = self._hidden(obs, rank)
        values = h_vf @ self.value_w + self.value_b
        out = self._head(h_pi, rank)
        if self.discrete:
            mask = obs.get("action_mask")
            if mask is not None:
                out = np.where(np.asarray(mask).reshape(out.shape) == 0, _MASKED_LOGIT, out)
            shifted = out - out.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            if deterministic:
                actions = log_p.argmax(axis=1)
            else:
                cdf = np.cumsum(np.exp(log_p), axis=1)
                u = rng.random((len(cdf), 1)) * cdf[:, -1:]
                actions = np.minimum((cdf < u).sum(axis=1), cdf.shape[1] - 1)
            log_probs = log_p[np.arange(len(actions)), actions]
            return actions.astype(np.int64), values.astype(np.float32), log_probs.astype(np.float32)
        if deterministic:
            actions = out
        else:
            actions = out + rng.standard_normal(out.shape, dtype=np.float32) * self.std
        z = (actions - out) / self.std
        log_probs = (-0.5 * z * z - self.log_std - 0.5 * LOG_2PI).sum(axis=1)
        return actions.astype(np.float32), values.astype(np.float32), log_probs.astype(np.float32)
