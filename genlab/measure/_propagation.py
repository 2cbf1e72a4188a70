"""Signal propagation at initialization (seed 003's He-init and gradient-flow demos as numbers).

- :func:`activation_stats`: the spread of every layer's activations after one forward pass;
- :func:`gradient_stats`: the spread of ``dE/dh`` at every layer when a gradient is injected
  at the output (by default a random unit vector per sample, as in the lecture's demo);
- :func:`activation_curves`: an activation and its derivative on a grid of inputs;
- :func:`mean_field_profile`: the independent estimate, the variance recursion of He et al.
  (2015) / Poole et al. (2016) for a net of equal widths, by Gauss-Hermite quadrature.

The web explorer and the experiments call the same functions (one implementation, two front
ends). The model is left untouched (weights, ``.grad``, train/eval flags).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab._checks import check_choice, check_float, check_int
from genlab.measure._core import untouched

_ACTS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU)


@dataclass(frozen=True)
class LayerSignal:
    """Statistics of one signal at each layer: ``names[k]`` is ``'x'``, ``'h1'`` .. ``'hL'``, ``'y'``.

    ``values[k]`` holds every entry of layer ``k`` over the batch (flattened, float64).
    ``frac_zero`` is the fraction of entries exactly 0 (dead ReLUs; vanished gradients).
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    rms: np.ndarray
    frac_zero: np.ndarray
    values: tuple[np.ndarray, ...]

    def as_dict(self) -> dict:
        return {n: {"mean": float(m), "std": float(s), "rms": float(r), "frac_zero": float(z)}
                for n, m, s, r, z in zip(self.names, self.mean, self.std, self.rms, self.frac_zero)}


def _signal(tensors: list[torch.Tensor]) -> LayerSignal:
    vals = tuple(t.detach().to(torch.float64).reshape(-1).cpu().numpy() for t in tensors)
    names = ("x",) + tuple(f"h{k}" for k in range(1, len(vals) - 1)) + ("y",)
    return LayerSignal(names, np.array([v.mean() for v in vals]), np.array([v.std() for v in vals]),
                       np.array([np.sqrt(np.mean(v**2)) for v in vals]), np.array([np.mean(v == 0.0) for v in vals]), vals)


def _trace(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """(input, activation outputs in call order, output) of one eval-mode forward pass."""
    acts: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda m, i, o: acts.append(o)) for m in model.modules() if isinstance(m, _ACTS)]
    try:
        model.eval()  # evaluation: no dropout masks, no BatchNorm statistics updated
        y = model(x)
    finally:
        for h in handles:
            h.remove()
    if not acts:
        raise ValueError(f"The 'model' parameter of genlab.measure must contain activation modules {[a.__name__ for a in _ACTS]}; "
                         f"{type(model).__name__} has none.")
    return x, acts, y


def activation_stats(model: nn.Module, x) -> LayerSignal:
    """Spread of the input, of each activation call's output and of the model output.

    Parameters
    ----------
    model : nn.Module
        Any model whose hidden layers end in activation modules (``nn.ReLU``, ``nn.Tanh``...);
        a module called once per layer (as :class:`genlab.models.MLP`'s) gives one entry per
        call. With ``MLP(residual=True)`` the entry is the branch ``act(W h + b)``, not the sum.
    x : tensor (B, in_features)
        Inputs (the lecture's demo uses one vector, ``B = 1``).
    """
    x = torch.as_tensor(x, dtype=next(model.parameters()).dtype)
    with untouched(model), torch.no_grad():
        x, acts, y = _trace(model, x)
        return _signal([x] + acts + [y])


def gradient_stats(model: nn.Module, x, grad_out=None, *, seed: int = 0) -> LayerSignal:
    """Spread of ``dE/dx``, ``dE/dh`` (each activation output) and ``dE/dy`` for an injected ``dE/dy``.

    ``grad_out`` (shape of the output) is ``dE/dy``; ``None`` draws an independent random unit
    vector per sample from ``seed`` (the lecture's "random unit gradient injected at the
    output", independent of any loss). Parameter gradients are not touched.
    """
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(x, dtype=dtype).detach().clone().requires_grad_(True)
    with untouched(model):
        x, acts, y = _trace(model, x)
        if grad_out is None:
            g = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)
            grad_out = g / g.reshape(len(g), -1).norm(dim=1).reshape(-1, *[1] * (g.dim() - 1))
        grad_out = torch.as_tensor(grad_out, dtype=dtype)
        grads = torch.autograd.grad(y, [x] + acts, grad_out, allow_unused=True)
    return _signal([gr if gr is not None else torch.zeros_like(t) for gr, t in zip(grads, [x] + acts)] + [grad_out])


def activation_curves(activation: str, z) -> tuple[np.ndarray, np.ndarray]:
    """``(g(z), g'(z))`` of a :data:`genlab.models.ACTIVATIONS` entry, the derivative by autograd."""
    from genlab.models import ACTIVATIONS

    check_choice(activation, "activation", "activation_curves", ACTIVATIONS)
    zt = torch.as_tensor(np.asarray(z, dtype=np.float64)).clone().requires_grad_(True)
    out = ACTIVATIONS[activation]()(zt)
    (d,) = torch.autograd.grad(out.sum(), zt)
    return out.detach().numpy(), d.numpy()


@dataclass(frozen=True)
class MeanField:
    """The mean-field prediction for each layer ``x, h1..hL, y`` (see :func:`mean_field_profile`).

    ``q[k]`` is the pre-activation variance of layer ``k`` (``q[0]`` is NaN: the input; ``q[-1]`` the output's),
    ``act_std[k]`` the predicted std of layer ``k``'s entries, ``grad_std[k]`` that of ``dE/d(layer k)``.
    """

    names: tuple[str, ...]
    q: np.ndarray
    act_std: np.ndarray
    grad_std: np.ndarray


def mean_field_profile(activation: str, depth: int, *, weight_var: float, bias_var: float = 0.0, input_mean: float = 0.0,
                       input_std: float = 1.0, grad_out_var: float = 1.0, n_quad: int = 120) -> MeanField:
    """Variance recursion of a wide net of equal widths at initialization (mean-field theory).

    With weights of variance ``weight_var / n`` (``weight_var`` = 2 for He, 1 for Xavier on a
    square layer, 1/3 for PyTorch's default) and biases of variance ``bias_var``:
    ``q_1 = weight_var (input_mean^2 + input_std^2) + bias_var``,
    ``q_{l+1} = weight_var E[g(z)^2] + bias_var`` with ``z ~ N(0, q_l)``; the output is linear.
    Backwards (``grad_out_var`` = variance of the entries of dE/dy, ``1/n`` for a unit vector):
    ``G_L = weight_var G_y``, ``G_{l-1} = weight_var E[g'(z_l)^2] G_l`` and the same for ``dE/dx``.
    Expectations by Gauss-Hermite quadrature with ``n_quad`` nodes (even: no node at the kink z = 0).
    """
    owner = "mean_field_profile"
    depth = check_int(depth, "depth", owner, low=1)
    weight_var = check_float(weight_var, "weight_var", owner, low=0.0)
    bias_var = check_float(bias_var, "bias_var", owner, low=0.0)
    nodes, weights = np.polynomial.hermite_e.hermegauss(check_int(n_quad, "n_quad", owner, low=3))
    weights = weights / weights.sum()  # expectation over N(0, 1)

    def moments(q: float) -> tuple[float, float, float]:
        g, dg = activation_curves(activation, np.sqrt(q) * nodes)
        return float(weights @ g), float(weights @ g**2), float(weights @ dg**2)

    q = [np.nan, weight_var * (input_mean**2 + input_std**2) + bias_var]
    act_std, dg2 = [float(input_std)], []
    for _ in range(depth):
        m1, m2, d2 = moments(q[-1])
        act_std.append(np.sqrt(max(m2 - m1**2, 0.0)))
        dg2.append(d2)
        q.append(weight_var * m2 + bias_var)
    act_std.append(np.sqrt(q[-1]))  # the linear output, zero mean
    grads = [grad_out_var, weight_var * grad_out_var]  # dE/dy, dE/dh_L
    for d2 in reversed(dg2):  # dE/dh_{L-1} ... dE/dh_1, then dE/dx
        grads.append(weight_var * d2 * grads[-1])
    names = ("x",) + tuple(f"h{k}" for k in range(1, depth + 1)) + ("y",)
    return MeanField(names, np.array(q), np.array(act_std), np.sqrt(np.array(grads[::-1])))
