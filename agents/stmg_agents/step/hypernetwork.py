"""The conditional hypernetwork of STEP's N-level policy (paper Eq. 9-10).

A priority rank ``i`` (0 acts first) is encoded as a vector ``e^i``
(:class:`IndexEncoding`); the hypernetwork ``H(e^i; theta_h)``
(:class:`ConditionalHyperNetwork`) maps it to the flat parameter vector
``theta_tar^i`` of a small target network, which turns the state embedding
``s^{i-1}`` into the rank's action logits (``Discrete``) or Gaussian means
(``Box``). Every rank shares ``theta_h``, so the number of trainable
parameters does not depend on how many agents play.

Examples:
    >>> import torch as th
    >>> head = HyperPolicyHead(latent_dim=8, out_dim=3, rank_encoding="learned", rank_dim=4, max_agents=5)
    >>> logits = head(th.zeros(2, 8), th.tensor([0, 3]))
    >>> tuple(logits.shape), tuple(head.target_parameters(th.arange(4)).shape)
    ((2, 3), (4, 27))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch as th
from torch import nn
from torch.nn import functional as F

from stmg_agents.step._checks import check_int, check_widths

__all__ = [
    "functional_activation",
    "linear_stack",
    "run_stack",
    "IndexEncoding",
    "ConditionalHyperNetwork",
    "HyperPolicyHead",
    "IndexEncodingKind",
    "INDEX_ENCODING_KINDS",
]

#: How an integer index (a priority rank or an agent slot) becomes a vector.
IndexEncodingKind = Literal["learned", "sinusoidal"]
INDEX_ENCODING_KINDS: tuple[str, ...] = ("learned", "sinusoidal")


class IndexEncoding(nn.Module):
    """Encodes integer indices as vectors of size ``dim``.

    Args:
        kind: ``"learned"``: a trainable table of ``max_index`` vectors
            (initialised N(0, 1)); indices must be below ``max_index``.
            ``"sinusoidal"``: fixed features ``sin``/``cos`` of ``index * pi / 2**(k+1)``,
            ``k = 0 .. dim/2 - 1``; no parameters, any index, distinct up to ``2**(dim/2 + 1)``.
        dim: Size of the encoding (even for ``"sinusoidal"``).
        max_index: Number of rows of the learned table (ignored by ``"sinusoidal"``
            except to validate indices).

    Examples:
        >>> enc = IndexEncoding("sinusoidal", dim=4, max_index=8)
        >>> enc(th.tensor([0, 1])).shape
        torch.Size([2, 4])
    """

    def __init__(self, kind: IndexEncodingKind, dim: int, max_index: int):
        super().__init__()
        if kind not in INDEX_ENCODING_KINDS:
            raise ValueError(f"expected an index encoding in {INDEX_ENCODING_KINDS}, got {kind!r}.")
        self.kind = kind
        self.dim = check_int(dim, "the encoding size")
        self.max_index = check_int(max_index, "max_index")
        if kind == "learned":
            self.table = nn.Embedding(self.max_index, self.dim)
        else:
            if self.dim % 2:
                raise ValueError(f"expected an even size for a sinusoidal encoding, got {dim}.")
            freqs = math.pi / 2.0 ** th.arange(1, self.dim // 2 + 1, dtype=th.float32)
            self.register_buffer("freqs", freqs, persistent=False)

    def first(self, n: int) -> th.Tensor:
        """Encodings of the indices ``0..n-1``, shape ``(n, dim)`` (a view of the table when learned)."""
        if self.kind == "learned":
            if n > self.max_index:
                raise ValueError(f"expected at most max_index={self.max_index} indices, got {n}.")
            return self.table.weight[:n]
        return self(th.arange(n, device=self.freqs.device))

    def row(self, index: int) -> th.Tensor:
        """Encoding of one index, shape ``(1, dim)``."""
        if self.kind == "learned":
            if not 0 <= index < self.max_index:
                raise ValueError(f"expected an index in [0, {self.max_index}), got {index}.")
            return self.table.weight[index : index + 1]
        return self(th.tensor([index], device=self.freqs.device))

    def forward(self, index: th.Tensor) -> th.Tensor:
        """Encode a tensor of integer indices; the result has one more trailing dimension."""
        if self.kind == "learned":
            return F.embedding(index, self.table.weight)
        angles = index.to(self.freqs.dtype).unsqueeze(-1) * self.freqs
        return th.cat([th.sin(angles), th.cos(angles)], dim=-1)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, dim={self.dim}, max_index={self.max_index}"


_FUNCTIONAL_ACTIVATIONS: dict[type[nn.Module], Callable[[th.Tensor], th.Tensor]] = {
    nn.Tanh: th.tanh,
    nn.ReLU: F.relu,
    nn.ELU: F.elu,
    nn.SiLU: F.silu,
    nn.GELU: F.gelu,
    nn.LeakyReLU: F.leaky_relu,
    nn.Sigmoid: th.sigmoid,
    nn.Identity: lambda x: x,
}


def functional_activation(activation_fn: type[nn.Module]) -> Callable[[th.Tensor], th.Tensor]:
    """The function computed by ``activation_fn()`` (a direct torch function for the common ones: faster)."""
    return _FUNCTIONAL_ACTIVATIONS.get(activation_fn) or activation_fn()


def linear_stack(in_dim: int, arch: Sequence[int]) -> tuple[nn.ModuleList, int]:
    """``nn.Linear`` layers of widths ``arch`` (applied by :func:`run_stack`) and the output width."""
    layers = []
    for width in arch:
        layers.append(nn.Linear(in_dim, int(width)))
        in_dim = int(width)
    return nn.ModuleList(layers), in_dim


def run_stack(x: th.Tensor, layers: nn.ModuleList, activation: Callable[[th.Tensor], th.Tensor]) -> th.Tensor:
    """Apply ``activation(linear(x))`` for each layer, calling ``F.linear`` directly (no module-call overhead)."""
    for layer in layers:
        x = activation(F.linear(x, layer.weight, layer.bias))
    return x


class ConditionalHyperNetwork(nn.Module):
    """``H(e; theta_h)``: maps a code to the flat parameter vector of a target MLP.

    The target MLP has layer sizes ``layer_sizes`` (input first, output last);
    its parameters are laid out layer by layer as ``[W_1 (out x in) row-major, b_1, W_2, b_2, ...]``.

    Initialisation: the generated vector is ``W_out h(e) + b_out``. ``b_out`` is
    a conventional initialisation of the target MLP (orthogonal, gain
    ``sqrt(2)`` for hidden layers and ``output_gain`` for the last one, zero
    biases, as Stable-Baselines3 initialises its heads) and ``W_out`` is
    orthogonal with gain ``code_gain``, so every code starts near that
    initialisation and the code-specific part is learned.

    Step size (``scale_by_width``): Adam moves every weight by about the
    learning rate per step, whatever the scale of its gradient. A generated
    parameter is ``sum_k W_out[j, k] h_k + b_out[j]``, and the gradients of
    ``W_out[j, :]`` all have the sign of ``h_k`` times the same factor, so one
    step moves it by up to ``(1 + sum_k |h_k|)`` learning rates: with 64
    hidden units, tens of times further than an ordinary layer's weight. With
    ``scale_by_width=True`` the hidden vector is divided by its width ``m``
    before the output layer (``W_out h / m``, with ``W_out`` initialised ``m``
    times larger, so the generated parameters start exactly as without it),
    which brings that step down to ``(1 + mean_k |h_k|)`` learning rates. In
    effect it is Adam with the learning rate divided by ``m`` on ``W_out`` (up
    to Adam's epsilon), written as a reparameterisation because
    Stable-Baselines3 sets one learning rate on every parameter group.

    Args:
        code_dim: Size of the input code ``e``.
        layer_sizes: Sizes of the target MLP, e.g. ``(64, 3)`` for a linear head from 64 to 3.
        hidden: Hidden widths of the hypernetwork itself.
        activation_fn: Activation of the hypernetwork's hidden layers.
        output_gain: Orthogonal gain of the target MLP's last layer at initialisation.
        code_gain: Orthogonal gain of the hypernetwork's output layer (of ``W_out / m``
            with ``scale_by_width``, so the initial function does not depend on it).
        scale_by_width: Divide the last hidden layer by its width ``m`` before the
            output layer (see "Step size" above). Off by default: the paper's plain
            hypernetwork.

    Examples:
        >>> import torch as th
        >>> _ = th.manual_seed(0); plain = ConditionalHyperNetwork(4, (8, 2))
        >>> _ = th.manual_seed(0); scaled = ConditionalHyperNetwork(4, (8, 2), scale_by_width=True)
        >>> code = th.ones(1, 4)
        >>> bool(th.allclose(plain(code), scaled(code), atol=1e-6))   # same function at initialisation
        True
    """

    def __init__(
        self,
        code_dim: int,
        layer_sizes: Sequence[int],
        hidden: Sequence[int] = (64,),
        activation_fn: type[nn.Module] = nn.Tanh,
        output_gain: float = 0.01,
        code_gain: float = 0.01,
        scale_by_width: bool = False,
    ):
        super().__init__()
        if not isinstance(scale_by_width, bool):
            raise TypeError(f"expected scale_by_width to be a bool, got {scale_by_width!r}.")
        sizes = check_widths(layer_sizes, "layer_sizes")
        if len(sizes) < 2:
            raise ValueError(f"expected layer_sizes with an input and an output size, got {layer_sizes!r}.")
        self.layer_sizes = sizes
        self.shapes: tuple[tuple[int, int], ...] = tuple((o, i) for i, o in itertools.pairwise(sizes))
        self.num_target_params = int(sum(o * i + o for o, i in self.shapes))
        self.body, body_out = linear_stack(check_int(code_dim, "code_dim"), check_widths(hidden, "hidden"))
        self.activation = functional_activation(activation_fn)
        self.out = nn.Linear(body_out, self.num_target_params)
        self.scale_by_width = scale_by_width
        self._hidden_scale = 1.0 / body_out if scale_by_width else 1.0
        self.output_gain = float(output_gain)
        self.code_gain = float(code_gain)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as described in the class docstring (uses torch's global RNG)."""
        for layer in self.body:
            nn.init.orthogonal_(layer.weight, gain=math.sqrt(2))
            nn.init.zeros_(layer.bias)
        nn.init.orthogonal_(self.out.weight, gain=self.code_gain / self._hidden_scale)
        base = []
        for index, (out_dim, in_dim) in enumerate(self.shapes):
            weight = th.empty(out_dim, in_dim)
            last = index == len(self.shapes) - 1
            nn.init.orthogonal_(weight, gain=self.output_gain if last else math.sqrt(2))
            base += [weight.flatten(), th.zeros(out_dim)]
        with th.no_grad():
            self.out.bias.copy_(th.cat(base))

    def forward(self, codes: th.Tensor) -> th.Tensor:
        """Flat target parameters, shape ``(*codes.shape[:-1], num_target_params)``."""
        hidden = run_stack(codes, self.body, self.activation)
        if self.scale_by_width:
            hidden = hidden * self._hidden_scale
        return F.linear(hidden, self.out.weight, self.out.bias)

    def extra_repr(self) -> str:
        return f"layer_sizes={self.layer_sizes}, scale_by_width={self.scale_by_width}"

    def split(self, params: th.Tensor) -> list[tuple[th.Tensor, th.Tensor]]:
        """Cut flat parameters (``(..., P)``) into ``(weight (..., out, in), bias (..., out))`` per layer."""
        lead = params.shape[:-1]
        layers = []
        offset = 0
        for out_dim, in_dim in self.shapes:
            weight = params[..., offset : offset + out_dim * in_dim].reshape(*lead, out_dim, in_dim)
            offset += out_dim * in_dim
            bias = params[..., offset : offset + out_dim]
            offset += out_dim
            layers.append((weight, bias))
        return layers


class HyperPolicyHead(nn.Module):
    """Rank encoding + hypernetwork + target network: the rank-conditioned policy head.

    ``forward(latent, ranks)`` evaluates, for each row, the target network
    whose parameters ``H(e^rank)`` the hypernetwork generates for that row's
    rank. When every row has the same rank (the usual case: STEP acts and
    trains one rank at a time), pass ``ranks`` as an ``int`` and a single
    parameter set is generated and applied with plain matrix products.

    Args:
        latent_dim: Size of the state embedding ``s^{i-1}``.
        out_dim: Number of logits (``Discrete``) or action dimensions (``Box``).
        target_net_arch: Hidden widths of the generated target network; ``()``
            (default) makes it one linear layer.
        hyper_net_arch: Hidden widths of the hypernetwork.
        rank_encoding: ``"learned"`` or ``"sinusoidal"`` (see :class:`IndexEncoding`).
        rank_dim: Size of ``e^i``.
        max_agents: Largest number of agents (ranks) supported by a learned encoding.
        activation_fn: Activation of the hypernetwork and of the target network's hidden layers.
        scale_by_width: Scale the hypernetwork's output layer by its width
            (see :class:`ConditionalHyperNetwork`).
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        *,
        target_net_arch: Sequence[int] = (),
        hyper_net_arch: Sequence[int] = (64,),
        rank_encoding: IndexEncodingKind = "learned",
        rank_dim: int = 16,
        max_agents: int = 16,
        activation_fn: type[nn.Module] = nn.Tanh,
        scale_by_width: bool = False,
    ):
        super().__init__()
        self.rank_encoder = IndexEncoding(rank_encoding, rank_dim, max_agents)
        target = check_widths(target_net_arch, "target_net_arch")
        self.hypernet = ConditionalHyperNetwork(
            rank_dim,
            (latent_dim, *target, out_dim),
            hidden=hyper_net_arch,
            activation_fn=activation_fn,
            scale_by_width=scale_by_width,
        )
        self.activation = functional_activation(activation_fn)
        self.out_dim = int(out_dim)

    @property
    def num_target_params(self) -> int:
        """Size of ``theta_tar^i``, the parameters generated for one rank."""
        return self.hypernet.num_target_params

    def reset_parameters(self) -> None:
        """Re-initialise the hypernetwork (the learned rank table keeps N(0, 1))."""
        self.hypernet.reset_parameters()
        if self.rank_encoder.kind == "learned":
            nn.init.normal_(self.rank_encoder.table.weight)

    def target_parameters(self, ranks: th.Tensor) -> th.Tensor:
        """``theta_tar^i = H(e^i; theta_h)`` for each rank in ``ranks`` (shape ``(*ranks.shape, P)``)."""
        return self.hypernet(self.rank_encoder(ranks))

    def leading_target_parameters(self, n: int) -> th.Tensor:
        """``H(e^i; theta_h)`` for the ranks ``0..n-1``, shape ``(n, P)``."""
        return self.hypernet(self.rank_encoder.first(n))

    def apply_target(self, params: th.Tensor, latent: th.Tensor) -> th.Tensor:
        """Evaluate the target network with flat ``params``: ``(P,)`` shared by all rows, or ``(B, P)`` per row."""
        layers = self.hypernet.split(params)
        x = latent
        last = len(layers) - 1
        if params.dim() == 1:
            for index, (weight, bias) in enumerate(layers):
                x = F.linear(x, weight, bias)
                if index < last:
                    x = self.activation(x)
            return x
        x = x.unsqueeze(-1)
        for index, (weight, bias) in enumerate(layers):
            x = th.baddbmm(bias.unsqueeze(-1), weight, x)
            if index < last:
                x = self.activation(x)
        return x.squeeze(-1)

    def forward(self, latent: th.Tensor, ranks: th.Tensor | int, params: th.Tensor | None = None) -> th.Tensor:
        """Outputs of each row's target network.

        Args:
            latent: State embeddings, shape ``(B, latent_dim)``.
            ranks: One rank (``int``) for every row, or a ``(B,)`` integer tensor.
            params: Optional precomputed ``target_parameters`` of *all* ranks
                ``0..R-1`` (shape ``(R, P)``), to skip the hypernetwork (rollouts).
        """
        if isinstance(ranks, int):
            if params is not None:
                flat = params[ranks]
            else:
                flat = self.hypernet(self.rank_encoder.row(ranks))[0]
            return self.apply_target(flat, latent)
        ranks = ranks.reshape(-1).long()
        if params is None:
            unique, inverse = th.unique(ranks, return_inverse=True)
            flat = self.target_parameters(unique)[inverse]
        else:
            flat = params[ranks]
        return self.apply_target(flat, latent)
