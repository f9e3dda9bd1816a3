"""Rank encodings, the conditional hypernetwork and the rank-conditioned policy head."""

from __future__ import annotations

import pytest
import torch as th
from torch import nn

from stmg_agents.step.hypernetwork import ConditionalHyperNetwork, HyperPolicyHead, IndexEncoding

pytestmark = pytest.mark.agents


@pytest.mark.parametrize("kind", ["learned", "sinusoidal"])
def test_index_encoding_shapes_and_distinct_codes(kind):
    """Each index gets its own vector of the requested size; ``first``/``row`` agree with ``forward``."""
    th.manual_seed(0)
    enc = IndexEncoding(kind, dim=8, max_index=10)
    codes = enc(th.arange(10))
    assert codes.shape == (10, 8)
    assert th.cdist(codes, codes).add(th.eye(10)).min() > 1e-3  # pairwise distinct
    th.testing.assert_close(enc.first(4), codes[:4])
    th.testing.assert_close(enc.row(3), codes[3:4])


def test_index_encoding_rejects_bad_arguments():
    """Unknown kinds, odd sinusoidal sizes and out-of-table indices are clear errors."""
    with pytest.raises(ValueError, match="index encoding"):
        IndexEncoding("onehot", 4, 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="even"):
        IndexEncoding("sinusoidal", 5, 4)
    with pytest.raises(ValueError, match="max_index"):
        IndexEncoding("learned", 4, 3).first(4)


def test_sinusoidal_encoding_has_no_parameters():
    """The continuous encoding is fixed: nothing to learn, whatever the number of agents."""
    assert sum(p.numel() for p in IndexEncoding("sinusoidal", 16, 64).parameters()) == 0


def test_hypernetwork_layout_and_split():
    """H outputs one flat vector per code, split into (weight, bias) per target layer."""
    hyper = ConditionalHyperNetwork(code_dim=4, layer_sizes=(8, 5, 3), hidden=(16,))
    assert hyper.num_target_params == 8 * 5 + 5 + 5 * 3 + 3
    params = hyper(th.randn(7, 4))
    assert params.shape == (7, hyper.num_target_params)
    (w1, b1), (w2, b2) = hyper.split(params)
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((7, 5, 8), (7, 5), (7, 3, 5), (7, 3))


def test_hypernetwork_starts_near_a_small_output_layer():
    """At initialisation every code's last layer is small (near-uniform policies), with a code-specific part."""
    th.manual_seed(0)
    hyper = ConditionalHyperNetwork(code_dim=4, layer_sizes=(64, 3), hidden=(64,))
    params = hyper(th.randn(5, 4))
    weight, _ = hyper.split(params)[0]
    assert weight.abs().max() < 0.05
    assert (params[0] - params[1]).abs().max() > 0  # not identical across codes


def _adam_step_of_generated_params(scale_by_width: bool, lr: float = 1e-3) -> float:
    th.manual_seed(0)
    hyper = ConditionalHyperNetwork(code_dim=16, layer_sizes=(64, 4), hidden=(64,), scale_by_width=scale_by_width)
    code = th.randn(1, 16)
    before = hyper(code).detach()
    optimizer = th.optim.Adam(hyper.parameters(), lr=lr)
    hyper(code).square().sum().backward()  # any loss: Adam's first step has size lr in every coordinate
    optimizer.step()
    return float((hyper(code).detach() - before).abs().max()) / lr


def test_scale_by_width_keeps_the_initial_function():
    """scale_by_width only reparameterises: the generated parameters at initialisation are the same."""
    code = th.randn(3, 4)
    th.manual_seed(1)
    plain = ConditionalHyperNetwork(code_dim=4, layer_sizes=(8, 5, 3), hidden=(32,))
    th.manual_seed(1)
    scaled = ConditionalHyperNetwork(code_dim=4, layer_sizes=(8, 5, 3), hidden=(32,), scale_by_width=True)
    th.testing.assert_close(scaled(code), plain(code))
    assert "scale_by_width=True" in repr(scaled)


def test_scale_by_width_makes_an_adam_step_move_generated_params_like_ordinary_weights():
    """Guards the reason for the option: one Adam step of lr moves a plain hypernetwork's outputs by many lr
    (the 64 output weights of a row all move by lr with the sign of their input), a scaled one's by at most
    1 + max|h| <= 2 lr (bias, plus the mean over the width of lr * |h_k|, |h_k| <= 1 with tanh)."""
    plain = _adam_step_of_generated_params(scale_by_width=False)
    scaled = _adam_step_of_generated_params(scale_by_width=True)
    assert plain > 10.0
    assert scaled <= 2.0 + 1e-3


def test_scale_by_width_must_be_a_bool():
    """A truthy non-bool (e.g. the width itself) is refused rather than read as True."""
    with pytest.raises(TypeError, match="expected scale_by_width to be a bool, got 64"):
        ConditionalHyperNetwork(code_dim=4, layer_sizes=(8, 3), scale_by_width=64)


@pytest.mark.parametrize("target_net_arch", [(), (8,)])
def test_head_uniform_rank_fast_path_matches_per_row_path(target_net_arch):
    """Passing one int rank or a tensor of equal ranks (or precomputed params) gives the same outputs."""
    th.manual_seed(0)
    head = HyperPolicyHead(6, 3, target_net_arch=target_net_arch, rank_dim=4, max_agents=4)
    latent = th.randn(5, 6)
    by_int = head(latent, 2)
    by_tensor = head(latent, th.full((5,), 2))
    by_params = head(latent, 2, head.leading_target_parameters(4))
    th.testing.assert_close(by_int, by_tensor)
    th.testing.assert_close(by_int, by_params)


def test_head_mixed_ranks_use_each_rows_parameters():
    """With mixed ranks each row is evaluated with the parameters generated for its own rank."""
    th.manual_seed(0)
    head = HyperPolicyHead(6, 3, rank_dim=4, max_agents=4)
    latent = th.randn(4, 6)
    ranks = th.tensor([0, 3, 1, 3])
    mixed = head(latent, ranks)
    for row, rank in enumerate(ranks.tolist()):
        th.testing.assert_close(mixed[row], head(latent[row : row + 1], rank)[0])


def test_head_parameter_count_does_not_depend_on_ranks_used():
    """The head's parameters are fixed by max_agents, not by how many ranks are evaluated."""
    head = HyperPolicyHead(6, 3, rank_dim=4, max_agents=8, activation_fn=nn.ReLU)
    before = sum(p.numel() for p in head.parameters())
    head(th.randn(3, 6), th.tensor([0, 5, 7]))
    assert sum(p.numel() for p in head.parameters()) == before
