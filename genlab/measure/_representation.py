"""Representation measures: mutual information by binning (information plane), linear regions
of ReLU networks along a line or on a plane, and the gradient noise scale."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab._checks import check_int, fail
from genlab.measure._core import as_objective, generator


@dataclass(frozen=True)
class MutualInformation:
    """``I(X;T)`` and ``I(T;Y)`` in bits for a binned representation ``T`` of ``n`` samples.

    With ``X`` uniform over the (distinct) samples and ``T`` a deterministic function of ``X``,
    ``I(X;T) = H(T)`` (at most ``log2 n``).
    """

    i_xt: float
    i_ty: float
    h_t: float
    n_patterns: int
    n_bins: int


def _entropy(ids: np.ndarray) -> float:
    _, counts = np.unique(ids, return_counts=True, axis=0)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def mutual_information(activations, labels=None, *, n_bins: int = 30, bin_range: tuple[float, float] | None = None) -> MutualInformation:
    """Mutual information of a layer's activations with the inputs and the labels, by binning.

    Each unit's activation is put into ``n_bins`` equal bins over ``bin_range`` (default: the
    layer's min..max, as in Shwartz-Ziv & Tishby with a fixed range for tanh); a sample's vector
    of bin indices is its discrete ``T``.

    Parameters
    ----------
    activations : array (n, units)
    labels : int array (n,), optional
    """
    a = np.asarray(activations, dtype=np.float64).reshape(len(activations), -1)
    n_bins = check_int(n_bins, "n_bins", "mutual_information", low=1)
    lo, hi = bin_range if bin_range is not None else (a.min(), a.max())
    edges = np.linspace(lo, hi, n_bins + 1)[1:-1]
    binned = np.digitize(a, edges)  # (n, units), ints in [0, n_bins)
    _, t = np.unique(binned, axis=0, return_inverse=True)
    t = t.reshape(-1)
    h_t = _entropy(t)
    i_ty = math.nan
    if labels is not None:
        y = np.asarray(labels).reshape(-1)
        i_ty = h_t + _entropy(y) - _entropy(np.stack([t, y], 1))
    return MutualInformation(h_t, float(i_ty), h_t, int(t.max()) + 1, n_bins)


def _pattern_fn(model: nn.Module):
    """A function x -> (n, n_relu_units) bool activation pattern of a private copy of ``model``."""
    net = copy.deepcopy(model).double().cpu().eval()
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise fail("model", "count_linear_regions", "a network with nn.ReLU modules", type(model).__name__)
    store: list[torch.Tensor] = []
    for m in relus:
        m.register_forward_hook(lambda mod, inp, out: store.append(inp[0].reshape(inp[0].shape[0], -1) > 0))

    def patterns(x: torch.Tensor) -> np.ndarray:
        store.clear()
        with torch.no_grad():
            net(x.double())
        return torch.cat(store, 1).numpy()

    return patterns


@dataclass(frozen=True)
class LinearRegions:
    """Number of linear regions met along a segment (1-D) or on a rectangle of a plane (2-D).

    A grid count is a lower bound: regions thinner than the grid spacing are missed (1-D
    breakpoints are refined by bisection to ``1e-10`` of the segment).
    """

    n_regions: int
    breakpoints: np.ndarray | None  # 1-D: positions t in [0, 1] along the segment
    resolution: int
    n_forward: int


def count_linear_regions(model: nn.Module, start, end=None, *, plane=None, resolution: int = 10000) -> LinearRegions:
    """Count the linear regions a ReLU network cuts a segment or a plane rectangle into.

    Parameters
    ----------
    start, end : array (in_features,) or float
        1-D: the segment ``x(t) = start + t (end - start)``, ``t`` in [0, 1] (floats for a
        1-input network).
    plane : (origin, u, v, (a0, a1), (b0, b1)), optional
        2-D: points ``origin + a u + b v`` on a ``resolution x resolution`` grid; regions are the
        4-connected components of equal activation pattern. For a 2-input network pass
        ``origin=0, u=e1, v=e2``.
    """
    resolution = check_int(resolution, "resolution", "count_linear_regions", low=2)
    patterns = _pattern_fn(model)
    if plane is None:
        s = torch.as_tensor(np.atleast_1d(np.asarray(start, dtype=np.float64)))
        e = torch.as_tensor(np.atleast_1d(np.asarray(end, dtype=np.float64)))
        ts = torch.linspace(0, 1, resolution, dtype=torch.float64)
        pts = s[None] + ts[:, None] * (e - s)[None]
        pat = patterns(pts)
        change = np.nonzero((pat[1:] != pat[:-1]).any(1))[0]
        bps = []
        n_fwd = 1
        for i in change:  # bisection between grid points i and i + 1
            lo, hi = float(ts[i]), float(ts[i + 1])
            p_lo = pat[i]
            while hi - lo > 1e-10:
                mid = 0.5 * (lo + hi)
                p_mid = patterns((s + mid * (e - s))[None])[0]
                n_fwd += 1
                if (p_mid == p_lo).all():
                    lo = mid
                else:
                    hi = mid
            bps.append(0.5 * (lo + hi))
        return LinearRegions(len(change) + 1, np.array(bps), resolution, n_fwd)
    from scipy import ndimage

    origin, u, v, (a0, a1), (b0, b1) = plane
    origin, u, v = (torch.as_tensor(np.asarray(t, dtype=np.float64)) for t in (origin, u, v))
    a = torch.linspace(a0, a1, resolution, dtype=torch.float64)
    b = torch.linspace(b0, b1, resolution, dtype=torch.float64)
    A, B = torch.meshgrid(a, b, indexing="ij")
    pts = origin + A.reshape(-1, 1) * u + B.reshape(-1, 1) * v
    pat = patterns(pts)
    _, ids = np.unique(pat, axis=0, return_inverse=True)
    ids = ids.reshape(resolution, resolution)
    total = 0
    for k in np.unique(ids):
        total += ndimage.label(ids == k)[1]
    return LinearRegions(int(total), None, resolution, 1)


@dataclass(frozen=True)
class GradientNoiseScale:
    """Simple noise scale ``B_simple = tr(Sigma) / |G|^2`` (McCandlish et al. 2018) from
    per-sample gradients: the batch size at which gradient noise and signal are comparable."""

    b_simple: float
    trace_cov: float
    grad_norm_sq: float
    n_samples: int
    n_grad: int


def gradient_noise_scale(model, data=None, *, n_samples: int | None = None, chunk_size: int = 256, loss=None,
                         seed: int = 0, train_mode: bool = False) -> GradientNoiseScale:
    """Gradient noise scale from per-sample gradients (``vmap`` of ``grad``, in chunks).

    ``n_samples`` draws a random subset of the data (seeded); default all samples.
    ``tr(Sigma)`` uses the unbiased sample covariance of the per-sample gradients.
    """
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    if obj.model is None:
        raise fail("model", "gradient_noise_scale", "an nn.Module (per-sample gradients need the model)", "an Objective")
    x, y = obj.x, obj.y
    n = len(x)
    if n_samples is not None:
        n_samples = check_int(n_samples, "n_samples", "gradient_noise_scale", low=2, high=n)
        idx = torch.randperm(n, generator=generator(seed))[:n_samples]
        x, y = x[idx], y[idx]
        n = n_samples
    names = obj.names
    buffers = dict(obj.model.named_buffers())
    from genlab.measure._core import loss_value

    def one(theta, xi, yi):
        out = torch.func.functional_call(obj.model, (obj.unflatten(theta), buffers), (xi[None],))
        return loss_value(out, yi[None], obj.loss)

    per = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))
    total = torch.zeros_like(obj.theta, dtype=torch.float64)
    total_sq = 0.0
    for i in range(0, n, chunk_size):
        g = per(obj.theta, x[i: i + chunk_size], y[i: i + chunk_size]).double()  # (chunk, P)
        total += g.sum(0)
        total_sq += float((g * g).sum())
    del names
    mean = total / n
    g2 = float(mean @ mean)
    trace = (total_sq - n * g2) / (n - 1)
    obj.n_grad += n
    return GradientNoiseScale(trace / g2 if g2 > 0 else math.inf, trace, g2, n, n)


def information_plane(model: nn.Module, data, *, n_bins: int = 30, split: str = "train") -> tuple[MutualInformation, ...]:
    """``(I(X;T), I(T;Y))`` for every hidden activation call of ``model`` on ``data`` (one point
    of the information plane per layer), by :func:`mutual_information` with per-layer ranges."""
    from genlab.measure._core import as_tensors

    x, y = as_tensors(data, split)
    net = copy.deepcopy(model).cpu().eval()
    acts: list[torch.Tensor] = []
    kinds = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU)
    for mod in net.modules():
        if isinstance(mod, kinds):
            mod.register_forward_hook(lambda m, i, o: acts.append(o.detach().reshape(o.shape[0], -1)))
    with torch.no_grad():
        net(x)
    return tuple(mutual_information(a.numpy(), y.numpy(), n_bins=n_bins) for a in acts)
