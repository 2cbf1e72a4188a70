"""Sharpness and flatness (Jiang et al. 2020, "Fantastic generalization measures"; SAM).

Worst-case sharpness is found by projected gradient *ascent* (the PGDL baseline descended);
PAC-Bayes flatness uses the noise standard deviation sigma (the reference code passed sigma^2
to ``torch.normal``). All are comparisons across runs, not predictions of a test error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genlab._checks import check_choice, check_float, check_int
from genlab.measure._core import as_objective, generator


@dataclass(frozen=True)
class Sharpness:
    """Loss increase ``sharpness = max L(w + u) - L(w)`` over the perturbation set found.

    ``loss`` is ``L(w)``; ``radius`` and ``norm`` describe the set (``magnitude_aware``: the
    box/ball is scaled per weight by ``|w_i| + eps``).
    """

    sharpness: float
    loss: float
    radius: float
    norm: str
    magnitude_aware: bool
    n_forward: int
    n_grad: int


@dataclass(frozen=True)
class Flatness:
    """PAC-Bayes flatness: the largest ``sigma`` whose Gaussian weight noise raises the mean loss
    by at most ``tolerance`` (bisection, common random numbers), and ``1 / sigma^2``.

    ``stderr`` is the Monte-Carlo standard error of the loss increase at ``sigma``.
    """

    sigma: float
    flatness: float
    loss_increase: float
    stderr: float
    tolerance: float
    magnitude_aware: bool
    n_forward: int


def _scale(theta: torch.Tensor, magnitude_aware: bool, eps: float) -> torch.Tensor:
    return theta.abs() + eps if magnitude_aware else torch.ones_like(theta)


def _project(u: torch.Tensor, s: torch.Tensor, radius: float, norm: str) -> torch.Tensor:
    """Project ``u`` onto {u : ||u / s|| <= radius}."""
    if norm == "linf":
        return torch.clamp(u, -radius * s, radius * s)
    z = u / s
    n = z.norm()
    return u if n <= radius else u * (radius / n)


def worst_case_sharpness(model, data=None, *, radius: float = 0.05, norm: str = "l2", magnitude_aware: bool = False,
                         eps: float = 1e-3, n_steps: int = 20, n_restarts: int = 1, loss=None, seed: int = 0,
                         train_mode: bool = False) -> Sharpness:
    """Worst-case loss increase in a ball/box around the weights, by projected gradient ascent.

    Parameters
    ----------
    radius : float
        Radius of the set ``||u / s|| <= radius`` with ``s = 1`` or ``|w| + eps``.
    norm : {'l2', 'linf'}
        Ball or box.
    n_steps : int
        Ascent steps per restart (normalized-gradient steps of size ``2.5 radius / n_steps``,
        as PGD); the best point seen is kept, so the result is a lower bound of the maximum.
    n_restarts : int
        The first start is ``w`` itself, later ones uniform random in the set.
    """
    owner = "worst_case_sharpness"
    check_choice(norm, "norm", owner, ("l2", "linf"))
    radius = check_float(radius, "radius", owner, low=0.0, low_open=True)
    n_steps = check_int(n_steps, "n_steps", owner, low=1)
    n_restarts = check_int(n_restarts, "n_restarts", owner, low=1)
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    f0, g0 = obj.n_forward, obj.n_grad
    theta = obj.theta
    s = _scale(theta, magnitude_aware, eps)
    gen = generator(seed)
    base = obj.value()
    best = 0.0
    step = 2.5 * radius / min(n_steps, 10)
    for r in range(n_restarts):
        # Start near w (first restart; a tiny random offset so that a zero gradient at an exact
        # minimum still gives a direction) or uniformly in the set.
        start = 1e-3 if r == 0 else 1.0
        u = _project((torch.rand(theta.shape, generator=gen, dtype=theta.dtype).to(theta.device) * 2 - 1) * start * radius * s, s, radius, norm)
        for _ in range(n_steps):
            g = obj.grad(theta + u) * s  # gradient in the scaled coordinates z = u / s
            if norm == "linf":
                d = g.sign()
            else:
                d = g / (g.norm() + 1e-30)
            u = _project(u + step * d * s, s, radius, norm)
            best = max(best, obj.value(theta + u) - base)
    return Sharpness(best, base, radius, norm, magnitude_aware, obj.n_forward - f0, obj.n_grad - g0)


def first_order_sharpness(model, data=None, *, radius: float = 0.05, loss=None, train_mode: bool = False) -> Sharpness:
    """SAM-style sharpness ``L(w + radius g / ||g||) - L(w)``: one gradient and two losses."""
    radius = check_float(radius, "radius", "first_order_sharpness", low=0.0, low_open=True)
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    f0, g0 = obj.n_forward, obj.n_grad
    g = obj.grad()
    base = obj.value()
    up = obj.value(obj.theta + radius * g / (g.norm() + 1e-30))
    return Sharpness(up - base, base, radius, "l2", False, obj.n_forward - f0, obj.n_grad - g0)


def pac_bayes_flatness(model, data=None, *, tolerance: float = 0.1, n_draws: int = 10, magnitude_aware: bool = False,
                       eps: float = 1e-3, sigma_max: float = 2.0, n_bisect: int = 15, loss=None, seed: int = 0,
                       train_mode: bool = False) -> Flatness:
    """Largest Gaussian weight-noise ``sigma`` keeping the mean loss increase within ``tolerance``.

    Noise is ``sigma * eps_i`` per weight, or ``sigma * (|w_i| + eps) * eps_i`` when
    ``magnitude_aware`` (Jiang et al.'s magnitude-aware variant, with their ``eps`` = 1e-3).
    The same ``n_draws`` noise vectors are used for every ``sigma`` (common random numbers),
    which makes the bisection monotone for a convex-like loss. The loss here is the training
    loss; Jiang et al. bisect on a 0.1 drop in accuracy (pass ``loss`` as a callable for that).
    """
    owner = "pac_bayes_flatness"
    tolerance = check_float(tolerance, "tolerance", owner, low=0.0, low_open=True)
    n_draws = check_int(n_draws, "n_draws", owner, low=2)
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    f0 = obj.n_forward
    theta = obj.theta
    s = _scale(theta, magnitude_aware, eps)
    noise = torch.randn(n_draws, theta.numel(), generator=generator(seed), dtype=theta.dtype).to(theta.device) * s
    base = obj.value()

    def increase(sigma: float) -> tuple[float, float]:
        vals = torch.tensor([obj.value(theta + sigma * z) - base for z in noise])
        return float(vals.mean()), float(vals.std(unbiased=True) / math.sqrt(n_draws))

    lo, hi = 0.0, float(sigma_max)
    inc_lo, se_lo = 0.0, 0.0
    if increase(hi)[0] <= tolerance:
        lo = hi
        inc_lo, se_lo = increase(hi)
    else:
        for _ in range(n_bisect):
            mid = 0.5 * (lo + hi)
            inc, se = increase(mid)
            if inc <= tolerance:
                lo, inc_lo, se_lo = mid, inc, se
            else:
                hi = mid
    flat = 1.0 / lo**2 if lo > 0 else float("inf")
    return Flatness(lo, flat, inc_lo, se_lo, tolerance, magnitude_aware, obj.n_forward - f0)
