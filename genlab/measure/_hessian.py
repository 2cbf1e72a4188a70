"""Curvature from Hessian-vector products: top-k / smallest eigenvalues (Lanczos), trace
(Hutchinson, Hutch++) and spectral density (stochastic Lanczos quadrature); and the
Gauss-Newton spectrum of a squared-error loss from the Jacobian (its smallest non-zero
eigenvalue, which Lanczos cannot isolate from the null space).

Everything is built on one Lanczos routine with full re-orthogonalisation in float64; the
tridiagonal matrix is diagonalised with ``eigh`` (real, sorted weights: PyHessian's ``eig``
returned complex ones). Budgets are fixed by the caller and reported; no relative-change
stopping rules (PyHessian's stopped its trace after 11 probes, +7 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab._checks import check_choice, check_float, check_int
from genlab.measure._core import as_objective, generator


@dataclass(frozen=True)
class HessianEigenvalues:
    """Top eigenvalues of the Hessian (largest first) and the smallest one.

    ``residuals[i]`` bounds ``|eigenvalues[i] - true eigenvalue|`` (Ritz residual norm
    ``|beta_m s_mi|``), so it is the uncertainty of each value.
    """

    eigenvalues: tuple[float, ...]
    residuals: tuple[float, ...]
    smallest: float
    smallest_residual: float
    n_hvp: int
    n_steps: int
    converged: bool


@dataclass(frozen=True)
class GaussNewtonSpectrum:
    """Non-zero eigenvalues of the Gauss-Newton matrix ``G = 2 J^T J / (N K)`` of the mean
    squared error over ``N`` samples and ``K`` outputs (largest first), and the numerical rank.

    At an interpolating minimum of that loss the Hessian equals ``G``. ``eigenvalues[-1]`` is the
    smallest non-zero one (Singh et al. 2022's ``lambda_min^+``); eigenvalues below ``rtol``
    times the largest count as zero (ReLU rescaling symmetries and dead units give exact zeros).
    """

    eigenvalues: tuple[float, ...]
    rank: int
    n_rows: int
    n_params: int

    @property
    def min_nonzero(self) -> float:
        return self.eigenvalues[-1]


@dataclass(frozen=True)
class HessianTrace:
    """Trace estimate ``mean +/- stderr`` from ``n_hvp`` Hessian-vector products."""

    trace: float
    stderr: float
    method: str
    n_hvp: int


def gauss_newton_spectrum(model: torch.nn.Module, x, *, rtol: float = 1e-14) -> GaussNewtonSpectrum:
    """The Gauss-Newton spectrum of the mean squared error of ``model`` on inputs ``x``.

    The Jacobian of every output with respect to every parameter comes from
    ``torch.func.jacrev`` (in eval mode, no state written); its singular values ``s`` give
    ``G``'s eigenvalues ``2 s^2 / (N K)``. ``rtol`` is relative to the largest eigenvalue (the
    default, 1e-14, is 1e-7 on the singular values).
    """
    from torch.func import functional_call, jacrev

    check_float(rtol, "rtol", "gauss_newton_spectrum", low=0.0)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    x = torch.as_tensor(x, dtype=next(iter(params.values())).dtype)
    was_training = model.training
    model.eval()
    try:
        jac = jacrev(lambda p: functional_call(model, (p, buffers), (x,)).reshape(-1))(params)
    finally:
        model.train(was_training)
    J = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], 1)
    ev = 2 * torch.linalg.svdvals(J).double() ** 2 / J.shape[0]
    keep = ev[ev > rtol * ev[0]]
    return GaussNewtonSpectrum(tuple(float(v) for v in keep), len(keep), J.shape[0], J.shape[1])


@dataclass(frozen=True)
class SpectralDensity:
    """Stochastic Lanczos quadrature: nodes and weights per probe, and a smoothed density.

    ``nodes`` and ``weights`` have shape ``(n_probes, n_steps)``; each probe's weights sum to 1.
    ``density`` is the Gaussian-smoothed density on ``grid`` (integrates to 1).
    ``trace`` = ``P * mean_probe(sum w * node)`` with its standard error over probes.
    """

    nodes: np.ndarray
    weights: np.ndarray
    grid: np.ndarray
    density: np.ndarray
    trace: float
    trace_stderr: float
    n_hvp: int


def lanczos(matvec, v0: torch.Tensor, n_steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n_steps`` Lanczos steps from ``v0`` with full re-orthogonalisation (float64).

    Returns ``(alpha, beta, Q)``: diagonal ``(m,)``, off-diagonal ``(m,)`` (``beta[-1]`` is the
    residual coefficient ``beta_m``) and basis ``(m, P)``; ``m`` < ``n_steps`` on breakdown
    (an invariant subspace was found, then the Ritz values are exact).
    """
    state = _Incremental(matvec, v0)
    state.extend(n_steps)
    return state.alpha_t, state.beta_t, torch.stack(state.basis)


def _ritz(alpha: torch.Tensor, beta: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ritz values (ascending), residual bounds and first components of T's eigenvectors."""
    m = alpha.numel()
    T = torch.diag(alpha)
    if m > 1:
        T = T + torch.diag(beta[:-1], 1) + torch.diag(beta[:-1], -1)
    evals, evecs = torch.linalg.eigh(T)
    resid = (beta[-1] * evecs[-1, :]).abs()
    return evals.cpu().numpy(), resid.cpu().numpy(), evecs[0, :].cpu().numpy()


def hessian_eigenvalues(model, data=None, *, k: int = 5, n_steps: int | None = None, tol: float = 1e-6,
                        loss=None, seed: int = 0, train_mode: bool = False) -> HessianEigenvalues:
    """Top-``k`` Hessian eigenvalues and the smallest one, by Lanczos on Hessian-vector products.

    Parameters
    ----------
    model : nn.Module or Objective
        The model (a private copy is used; the caller's model is never changed).
    data : (x, y) or dataset
        The loss is the mean over these samples (the whole set: data subsampling dominates the
        variance of Hessian estimates, so pass as much as you can afford).
    k : int
        Number of largest (algebraic) eigenvalues, returned sorted, largest first.
    n_steps : int, optional
        Maximum Lanczos steps (= HVPs); default ``max(4 k, 30)``.
    tol : float
        Stop early once every top-``k`` residual bound is below ``tol * |lambda_1|``
        (checked after 10 steps, then every 5).
    loss : {'cross_entropy', 'mse'} or callable, optional
        Default from the target dtype.
    seed : int
        Seed of the Gaussian start vector.
    train_mode : bool
        Evaluate with dropout/batch-norm in training mode.

    Returns
    -------
    HessianEigenvalues
    """
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    k = check_int(k, "k", "hessian_eigenvalues", low=1, high=obj.n_params)
    n_steps = check_int(n_steps if n_steps is not None else max(4 * k, 30), "n_steps", "hessian_eigenvalues",
                        low=k)
    check_float(tol, "tol", "hessian_eigenvalues", low=0.0)
    start = obj.n_hvp
    v0 = torch.randn(obj.n_params, generator=generator(seed), dtype=torch.float64).to(obj.theta.device)
    # One Lanczos run, extended 10 steps first and then 5 at a time until the top-k residual
    # bounds are below tol (extending keeps the basis: no restart, no wasted HVPs).
    state = _Incremental(obj.hvp, v0)
    while True:
        state.extend(min(10, n_steps) if state.m == 0 else min(5, n_steps - state.m))
        evals, resid, _ = _ritz(state.alpha_t, state.beta_t)
        top = evals[::-1][:k]
        top_res = resid[::-1][:k]
        scale = max(abs(top[0]), 1e-30)
        done = bool(np.all(top_res <= tol * scale)) or state.broke
        if done or state.m >= n_steps:
            break
    return HessianEigenvalues(tuple(float(v) for v in top), tuple(float(r) for r in top_res), float(evals[0]),
                              float(resid[0]), obj.n_hvp - start, state.m, done)


class _Incremental:
    """Lanczos that can be extended step by step (same arithmetic as :func:`lanczos`)."""

    def __init__(self, matvec, v0: torch.Tensor) -> None:
        self.matvec = matvec
        self.q = v0.to(torch.float64) / v0.to(torch.float64).norm()
        self.basis: list[torch.Tensor] = []
        self.alpha: list[torch.Tensor] = []
        self.beta: list[torch.Tensor] = []
        self.broke = False

    @property
    def m(self) -> int:
        return len(self.alpha)

    @property
    def alpha_t(self) -> torch.Tensor:
        return torch.stack(self.alpha)

    @property
    def beta_t(self) -> torch.Tensor:
        return torch.stack(self.beta)

    def extend(self, n: int) -> None:
        for _ in range(n):
            if self.broke or self.m >= self.q.numel():
                self.broke = True
                return
            self.basis.append(self.q)
            w = self.matvec(self.q).to(torch.float64)
            a = torch.dot(w, self.q)
            Q = torch.stack(self.basis)
            w = w - Q.T @ (Q @ w)
            w = w - Q.T @ (Q @ w)
            b = w.norm()
            self.alpha.append(a)
            self.beta.append(b)
            if b <= 1e-10 * max(1.0, abs(float(a))):
                self.broke = True
                return
            self.q = w / b


def power_iteration_eigenvalues(model, data=None, *, k: int = 5, tol: float = 1e-3, max_iter: int = 1000,
                                loss=None, seed: int = 0) -> HessianEigenvalues:
    """Reference method (as PyHessian): power iteration with deflation against found vectors.

    Stops each eigenvalue when the relative change of its Rayleigh quotient is below ``tol``.
    Converges to the largest-magnitude eigenvalues; kept for benchmarks and comparisons.
    """
    obj = as_objective(model, data, loss=loss)
    owner = "power_iteration_eigenvalues"
    k = check_int(k, "k", owner, low=1, high=obj.n_params)
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    check_float(tol, "tol", owner, low=0.0)
    g = generator(seed)
    start = obj.n_hvp
    vecs: list[torch.Tensor] = []
    vals: list[float] = []
    for _ in range(k):
        v = torch.randn(obj.n_params, generator=g, dtype=torch.float64).to(obj.theta.device)
        lam = None
        for _ in range(max_iter):
            for u in vecs:
                v = v - torch.dot(u, v) * u
            v = v / v.norm()
            hv = obj.hvp(v).to(torch.float64)
            new = float(torch.dot(hv, v))
            v = hv
            if lam is not None and abs(new - lam) <= tol * (abs(lam) + 1e-12):
                lam = new
                break
            lam = new
        for u in vecs:
            v = v - torch.dot(u, v) * u
        vecs.append(v / v.norm())
        vals.append(lam)
    order = np.argsort(vals)[::-1]
    nan = tuple(float("nan") for _ in range(k))
    return HessianEigenvalues(tuple(float(vals[i]) for i in order), nan, float("nan"), float("nan"),
                              obj.n_hvp - start, obj.n_hvp - start, True)


def _probes(n: int, count: int, g: torch.Generator, kind: str, device) -> torch.Tensor:
    """Probe vectors drawn on the CPU (same seed, same probes on any device), then moved."""
    if kind == "rademacher":
        z = torch.randint(0, 2, (count, n), generator=g).to(torch.float64) * 2 - 1
    else:
        z = torch.randn(count, n, generator=g, dtype=torch.float64)
    return z.to(device)


def hessian_trace(model, data=None, *, n_hvp: int = 90, method: str = "hutch++", probes: str = "rademacher",
                  loss=None, seed: int = 0, train_mode: bool = False) -> HessianTrace:
    """Trace of the Hessian with a fixed budget of Hessian-vector products.

    Parameters
    ----------
    n_hvp : int
        Budget. Hutchinson uses ``n_hvp`` probes; Hutch++ (Meyer et al. 2021) spends a third on
        a sketch ``S``, a third on ``H Q`` with ``Q = qr(H S)``, a third on Hutchinson for the
        rest: ``tr(Q^T H Q) + tr((I - QQ^T) H (I - QQ^T))``.
    method : {'hutch++', 'hutchinson'}
    probes : {'rademacher', 'gaussian'}

    Returns
    -------
    HessianTrace
        ``stderr`` is the standard error of the Hutchinson part (the sketch part is exact given
        ``Q``), from the sample standard deviation of the per-probe estimates.
    """
    owner = "hessian_trace"
    check_choice(method, "method", owner, ("hutch++", "hutchinson"))
    check_choice(probes, "probes", owner, ("rademacher", "gaussian"))
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    n_hvp = check_int(n_hvp, "n_hvp", owner, low=3 if method == "hutch++" else 2)
    g = generator(seed)
    start = obj.n_hvp
    n = obj.n_params
    hv = lambda v: obj.hvp(v).to(torch.float64)  # noqa: E731
    if method == "hutchinson":
        z = _probes(n, n_hvp, g, probes, obj.theta.device)
        samples = torch.stack([torch.dot(zi, hv(zi)) for zi in z])
        mean, se = float(samples.mean()), float(samples.std(unbiased=True) / math.sqrt(n_hvp))
    else:
        m = n_hvp // 3
        r = n_hvp - 2 * m  # probes left for the residual Hutchinson part
        S = _probes(n, m, g, probes, obj.theta.device)
        Q, _ = torch.linalg.qr(torch.stack([hv(s) for s in S]).T)  # (P, m)
        HQ = torch.stack([hv(q) for q in Q.T])  # (m, P)
        exact = float(torch.einsum("ip,pi->", HQ, Q))
        G = _probes(n, r, g, probes, obj.theta.device)
        Gp = G - (G @ Q) @ Q.T  # (r, P): projected onto the complement of span(Q)
        samples = torch.stack([torch.dot(gi, hv(gi)) for gi in Gp])
        mean = exact + float(samples.mean())
        se = float(samples.std(unbiased=True) / math.sqrt(r)) if r > 1 else float("nan")
    return HessianTrace(mean, se, method, obj.n_hvp - start)


def hessian_spectral_density(model, data=None, *, n_steps: int = 50, n_probes: int = 1, n_grid: int = 500,
                             sigma: float | None = None, loss=None, seed: int = 0,
                             train_mode: bool = False) -> SpectralDensity:
    """Eigenvalue density of the Hessian by stochastic Lanczos quadrature (Ghorbani et al. 2019).

    Each of ``n_probes`` Rademacher start vectors runs ``n_steps`` Lanczos steps; the Ritz values
    are quadrature nodes, the squared first components of ``T``'s eigenvectors the weights.
    ``sigma`` (Gaussian smoothing width) defaults to 1 % of the spectral range.
    """
    owner = "hessian_spectral_density"
    obj = as_objective(model, data, loss=loss, train_mode=train_mode)
    n_steps = check_int(n_steps, "n_steps", owner, low=2)
    n_probes = check_int(n_probes, "n_probes", owner, low=1)
    g = generator(seed)
    start = obj.n_hvp
    nodes, weights = [], []
    for _ in range(n_probes):
        v0 = _probes(obj.n_params, 1, g, "rademacher", obj.theta.device)[0]
        a, b, _ = lanczos(obj.hvp, v0, n_steps)
        ev, _, first = _ritz(a, b)
        w = first**2
        pad = n_steps - ev.size  # breakdown: pad with zero-weight nodes to keep a rectangle
        nodes.append(np.pad(ev, (0, pad), constant_values=ev[-1]))
        weights.append(np.pad(w, (0, pad)))
    nodes_a, weights_a = np.array(nodes), np.array(weights)
    lo, hi = nodes_a.min(), nodes_a.max()
    width = max(hi - lo, 1e-12)
    sigma = float(sigma) if sigma is not None else 0.01 * width
    grid = np.linspace(lo - 0.05 * width - 3 * sigma, hi + 0.05 * width + 3 * sigma, n_grid)
    kern = np.exp(-((grid[None, None, :] - nodes_a[..., None]) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    density = (weights_a[..., None] * kern).sum(1).mean(0)
    per_probe = obj.n_params * (weights_a * nodes_a).sum(1)
    se = float(per_probe.std(ddof=1) / math.sqrt(n_probes)) if n_probes > 1 else float("nan")
    return SpectralDensity(nodes_a, weights_a, grid, density, float(per_probe.mean()), se, obj.n_hvp - start)
