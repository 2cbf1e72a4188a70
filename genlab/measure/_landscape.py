"""Loss landscapes: 1-D interpolation between parameter sets and 1-D/2-D random slices with
filter normalization (Li et al. 2018).

Directions are Gaussian (loss-landscapes drew uniform, all-positive ones), normalized filter by
filter (each slice along dim 0 gets the norm of the same slice of the weights), biases and other
1-D tensors zeroed by default, drawn from a private generator so the same seed gives the same
directions; the grid is symmetric with the model at its centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab._checks import check_choice, check_float, check_int, fail
from genlab.measure._core import Objective, as_objective, generator


@dataclass(frozen=True)
class Landscape:
    """Loss on a symmetric grid around the model.

    ``losses`` has shape ``(n_points,)`` (1-D) or ``(n_points, n_points)`` (2-D, indexed
    ``[i, j]`` = ``coords[i]`` along direction 0 and ``coords[j]`` along direction 1);
    ``coords[n_points // 2] == 0`` is the model itself. ``directions`` has shape ``(dims, P)``.
    """

    coords: np.ndarray
    losses: np.ndarray
    directions: np.ndarray
    center_loss: float
    filter_normalized: bool
    n_samples: int
    n_forward: int


@dataclass(frozen=True)
class Interpolation:
    """Loss along ``(1 - alpha) theta_a + alpha theta_b``.

    ``barrier`` = max over alpha in [0, 1] of ``L(alpha) - ((1 - alpha) L(0) + alpha L(1))``
    (linear mode connectivity; ~0 when the two sets are linearly connected).
    """

    alphas: np.ndarray
    losses: np.ndarray
    errors: np.ndarray | None
    barrier: float
    distance: float
    n_forward: int


def random_directions(model, *, n_directions: int = 1, filter_normalize: bool = True, ignore_bias: bool = True,
                      seed: int = 0) -> torch.Tensor:
    """Gaussian directions ``(n_directions, P)`` in the model's flat parameter order.

    With ``filter_normalize`` each slice ``d[i]`` along dim 0 of a weight tensor is rescaled to
    ``||theta[i]||`` (Li et al.); 1-D tensors (biases, norm layers) are zeroed when
    ``ignore_bias``, else normalized as one filter.
    """
    obj = model if isinstance(model, Objective) else Objective.from_model(model, (torch.zeros(1, 1), torch.zeros(1)))
    if obj.shapes is None:
        raise fail("model", "random_directions", "an nn.Module or an Objective built from one", "a bare Objective")
    g = generator(seed)
    theta = obj.theta
    out = []
    for _ in range(n_directions):
        d = torch.randn(theta.shape, generator=g, dtype=theta.dtype).to(theta.device)
        if filter_normalize:
            parts = []
            for t, dt in zip(obj.unflatten(theta).values(), obj.unflatten(d).values()):
                if t.dim() <= 1:
                    dt = torch.zeros_like(dt) if ignore_bias else dt * (t.norm() / (dt.norm() + 1e-30))
                else:
                    tn = t.reshape(t.shape[0], -1).norm(dim=1)
                    dn = dt.reshape(dt.shape[0], -1).norm(dim=1)
                    dt = dt * (tn / (dn + 1e-30)).view(-1, *([1] * (t.dim() - 1)))
                parts.append(dt.reshape(-1))
            d = torch.cat(parts)
        out.append(d)
    return torch.stack(out)


def loss_landscape(model, data=None, *, dims: int = 2, n_points: int = 21, span: float = 1.0,
                   filter_normalize: bool = True, ignore_bias: bool = True, loss=None, seed: int = 0,
                   train_mode: bool = False) -> Landscape:
    """Loss on a 1-D or 2-D slice through the model along random (filter-normalized) directions.

    Parameters
    ----------
    dims : {1, 2}
    n_points : int
        Odd, so that the model sits exactly at the centre.
    span : float
        The grid covers ``[-span, span]`` along each direction (in units of the directions,
        i.e. of the weights' own filter norms when filter-normalized).
    """
    owner = "loss_landscape"
    check_choice(dims, "dims", owner, (1, 2))
    n_points = check_int(n_points, "n_points", owner, low=3)
    if n_points % 2 == 0:
        raise fail("n_points", owner, "an odd int (the model at the grid centre)", n_points)
    span = check_float(span, "span", owner, low=0.0, low_open=True)
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    f0 = obj.n_forward
    dirs = random_directions(obj, n_directions=dims, filter_normalize=filter_normalize, ignore_bias=ignore_bias,
                             seed=seed)
    coords = np.linspace(-span, span, n_points)
    coords[n_points // 2] = 0.0
    theta = obj.theta
    if dims == 1:
        losses = np.array([obj.value(theta + a * dirs[0]) for a in coords])
    else:
        losses = np.array([[obj.value(theta + a * dirs[0] + b * dirs[1]) for b in coords] for a in coords])
    center = float(losses[(n_points // 2,) * dims])
    n_samples = int(obj.x.shape[0]) if obj.x is not None else 0
    return Landscape(coords, losses, dirs.cpu().numpy(), center, filter_normalize, n_samples, obj.n_forward - f0)


def _flat(model_or_state, like: Objective) -> torch.Tensor:
    if isinstance(model_or_state, nn.Module):
        state = dict(model_or_state.named_parameters())
    elif isinstance(model_or_state, dict):
        state = model_or_state
    else:
        return torch.as_tensor(model_or_state, dtype=like.theta.dtype).reshape(-1)
    return torch.cat([state[n].detach().to(like.theta.dtype).reshape(-1) for n in like.names])


def interpolate(model_a, model_b, data, *, n_points: int = 21, alpha_range: tuple[float, float] = (0.0, 1.0),
                loss=None, train_mode: bool = False) -> Interpolation:
    """Loss (and error, for classification) along the straight line from ``model_a`` to ``model_b``.

    ``model_b`` may be a module of the same architecture or a state dict (e.g. the weights at
    initialization vs after training, or two minima from different seeds).
    """
    owner = "interpolate"
    n_points = check_int(n_points, "n_points", owner, low=2)
    lo, hi = (float(v) for v in alpha_range)
    if not lo <= 0.0 < 1.0 <= hi:
        raise fail("alpha_range", owner, "a pair (lo, hi) with lo <= 0 and hi >= 1", alpha_range)
    obj = as_objective(model_a, data, loss=loss, train_mode=train_mode)
    f0 = obj.n_forward
    ta, tb = obj.theta, _flat(model_b, obj)
    alphas = np.unique(np.concatenate([np.linspace(lo, hi, n_points), [0.0, 1.0]]))
    losses, errors = [], []
    classification = obj.y is not None and not obj.y.dtype.is_floating_point
    for a in alphas:
        th = (1 - a) * ta + a * tb
        losses.append(obj.value(th))
        if classification:
            errors.append(float((obj.outputs(th).argmax(1) != obj.y).float().mean()))
    losses_a = np.array(losses)
    inside = (alphas >= 0) & (alphas <= 1)
    l0, l1 = losses_a[alphas == 0.0][0], losses_a[alphas == 1.0][0]
    barrier = float(np.max(losses_a[inside] - ((1 - alphas[inside]) * l0 + alphas[inside] * l1)))
    return Interpolation(alphas, losses_a, np.array(errors) if classification else None, barrier,
                         float((tb - ta).norm()), obj.n_forward - f0)
