"""Packing MLPs of different widths into one population: zero-padded to a common width.

A plain MLP of width ``h`` padded to width ``H >= h`` -- its weights in the top-left block of every
layer, zeros elsewhere -- computes the same function, and training keeps it the same network:
a padding unit has zero incoming and outgoing weights and a zero bias, so its pre-activation is
0, its activation ``g(0) = 0``, the gradient of its outgoing weights (its activation times the
output's error) is 0 and that of its incoming weights and bias (the error through its zero
outgoing weights) is 0. SGD, momentum, Adam and weight decay all map a zero parameter with a zero
gradient to zero, so the padding stays exactly zero and the block trains as the member alone; the
only difference is the order of floating-point sums over the extra zeros (round-off). That lets a
population train several small widths together (one batched step instead of one per width).
"""

from __future__ import annotations

import torch

from genlab._checks import check_int, fail, fail_type
from genlab.models._neural import MLP

#: activations with g(0) = 0, the condition for padding units to stay exactly zero
PACKABLE_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh")


def _check_plain(model, owner: str) -> MLP:
    if type(model) is not MLP:
        raise fail_type("model", owner, "a genlab MLP", model)
    if model.norm is not None or model.dropout > 0 or model.residual:
        got = f"norm={model.norm!r}, dropout={model.dropout}, residual={model.residual}"
        raise fail("model", owner, "a plain MLP (norm=None, dropout=0, residual=False)", model, got=got)
    if model.activation not in PACKABLE_ACTIVATIONS:
        raise fail("model", owner, f"an MLP whose activation is one of {PACKABLE_ACTIVATIONS} (g(0) = 0)",
                   model, got=f"activation={model.activation!r}")
    return model


@torch.no_grad()
def pad_mlp(model: MLP, width: int) -> MLP:
    """A copy of the plain MLP ``model`` zero-padded to ``width`` hidden units per layer.

    Parameters
    ----------
    model : MLP
        A plain MLP (no normalization, dropout or residual connections; an activation with
        ``g(0) = 0``); it is not modified.
    width : int
        The common width, at least ``model.width``.

    Returns
    -------
    MLP
        Same in/out features, depth, activation, dtype and device; equal to ``model`` as a
        function, and trained with any of genlab's optimizers it stays equal to ``model``
        trained alone up to round-off (:func:`unpad_mlp` takes the block back out).
    """
    owner = "pad_mlp"
    model = _check_plain(model, owner)
    width = check_int(width, "width", owner, low=model.width)
    p = next(model.parameters())
    padded = MLP(model.in_features, model.out_features, width=width, depth=model.depth,
                 activation=model.activation, seed=model.seed).to(dtype=p.dtype, device=p.device)
    for small, big in zip(model.linears, padded.linears):
        big.weight.zero_()
        big.bias.zero_()
        rows, cols = small.weight.shape
        big.weight[:rows, :cols] = small.weight
        big.bias[:rows] = small.bias
    return padded


@torch.no_grad()
def unpad_mlp(padded: MLP, width: int) -> MLP:
    """The width-``width`` MLP held in the top-left block of ``padded`` (the inverse of :func:`pad_mlp`)."""
    owner = "unpad_mlp"
    padded = _check_plain(padded, owner)
    width = check_int(width, "width", owner, low=1, high=padded.width)
    p = next(padded.parameters())
    model = MLP(padded.in_features, padded.out_features, width=width, depth=padded.depth,
                activation=padded.activation, seed=padded.seed).to(dtype=p.dtype, device=p.device)
    for small, big in zip(model.linears, padded.linears):
        rows, cols = small.weight.shape
        small.weight.copy_(big.weight[:rows, :cols])
        small.bias.copy_(big.bias[:rows])
    return model
