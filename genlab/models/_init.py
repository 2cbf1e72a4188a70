"""Reproducible initialization without the global RNG: build on the meta device, then fill
every parameter from a ``torch.Generator`` seeded by the model's ``seed``."""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab._checks import check_choice, check_float, check_seed

INITS = ("default", "he_normal", "he_uniform", "xavier", "he_scaled")


def materialize(module: nn.Module) -> nn.Module:
    """Allocate a meta-device module on the CPU (uninitialized; call :func:`init_module`)."""
    return module.to_empty(device="cpu")


def _fan_in(weight: torch.Tensor) -> int:
    return weight.shape[1] * (weight[0][0].numel() if weight.dim() > 2 else 1)


def init_module(module: nn.Module, *, init: str = "default", init_scale: float = 1.0, seed: int = 0) -> None:
    """Initialize ``module``'s Linear, Conv1d, RNN and norm layers from ``seed``.

    ``default`` repeats PyTorch's own rule (Kaiming-uniform with a = sqrt(5), bias uniform in
    +-1/sqrt(fan_in); RNNs uniform in +-1/sqrt(hidden)); ``he_normal`` / ``he_uniform`` are
    Kaiming for ReLU with zero bias; ``xavier`` is Glorot-uniform with zero bias;
    ``he_scaled`` is He-normal times ``init_scale``. ``init_scale`` multiplies every weight.
    """
    check_choice(init, "init", "init_module", INITS)
    check_float(init_scale, "init_scale", "init_module", low=0.0)
    g = torch.Generator().manual_seed(check_seed(seed, "seed", "init_module"))
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                w, b = m.weight, m.bias
                if init == "default":
                    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
                    if b is not None:
                        bound = 1 / math.sqrt(_fan_in(w)) if _fan_in(w) > 0 else 0
                        nn.init.uniform_(b, -bound, bound, generator=g)
                else:
                    if init in ("he_normal", "he_scaled"):
                        nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g)
                    elif init == "he_uniform":
                        nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g)
                    else:
                        nn.init.xavier_uniform_(w, generator=g)
                    if b is not None:
                        nn.init.zeros_(b)
                w.mul_(init_scale)
            elif isinstance(m, nn.RNNBase):
                bound = 1 / math.sqrt(m.hidden_size)
                for p in m.parameters():
                    nn.init.uniform_(p, -bound, bound, generator=g)
            elif isinstance(m, (nn.LayerNorm, nn.BatchNorm1d)):
                if m.weight is not None:
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                if isinstance(m, nn.BatchNorm1d):
                    m.reset_running_stats()
