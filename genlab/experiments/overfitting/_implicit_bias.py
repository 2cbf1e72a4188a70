"""implicit-bias: which interpolant does gradient descent pick, L1 or L2? (seed 001, "Better L1 or L2?")

Overparameterized regression f(x) = <theta, phi(x)> with the seed's Fourier features
phi(x) = (cos(2 pi k x) / k, sin(2 pi k x) / k)_{k <= m}: n = 20 points x ~ U[0, 1] (each seed its own
draw), 2m = 200 features, a sparse target (cos k = 3: 3, sin k = 5: -5, cos k = 7: 7; phenomena.md,
section 9). Measured per seed, in float64:

- the minimum-L2 interpolant (pseudo-inverse, by SVD) and the minimum-L1 interpolant (linear program
  with theta = t+ - t-, scipy.optimize.linprog, HiGHS); relative test error ||f_hat - f*||^2 / ||f*||^2
  on a 2000-point grid;
- plain gradient descent on the square loss from theta = 0 (its own loop, no linear algebra): it
  stays in the row space of the design and converges to the pseudo-inverse solution;
- a diagonal linear network theta = u * u - v * v from u = v = alpha (theta = 0), full-batch GD:
  large alpha is the kernel regime (close to the min-L2 interpolant), small alpha the rich regime
  (close to the min-L1 one; Woodworth et al. 2020). For each alpha: L1 norm, distance to each
  interpolant, test error.
- the same diagonal network at alpha = ``sgd_alpha`` trained by SGD (batch 1, one shared sample
  order) with label noise of size delta (y_i + delta * eps, eps = +-1 drawn afresh at every step)
  for each delta in ``label_noise`` (0 is plain SGD), each finished by noiseless full-batch GD so
  that it is measured on the interpolation manifold (phenomena.md's pitfall). Plain SGD's noise
  hardly moves the solution at this step size; label noise implicitly minimizes a *weighted*
  L1 norm, sum_j ||F_j||^2 |theta_j| (Pillaud-Vivien, Reygner and Flammarion 2022: label-noise SGD
  on this quadratic parametrisation solves a weighted Lasso whose weights are the squared column
  norms). With the 1/k-scaled features the low frequencies have the largest columns, so that
  penalty pushes the fit to higher frequencies: the weighted norm falls while the plain L1 norm
  grows (phenomena.md, section 9, "surprise worth reproducing"). The minimum weighted-L1
  interpolant (a linear program) is measured beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.stats import spearmanr

from genlab._checks import fail
from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.sweep import Task, TaskOutput

TARGET = {("cos", 3): 3.0, ("sin", 5): -5.0, ("cos", 7): 7.0}  #: phenomena.md, section 9
SEED_TEXT = "lecture (seed 001, 'Better L1 or L2?', after Bach's blog)"
PESME = ("Pesme, Pillaud-Vivien and Flammarion 2021, 'Implicit bias of SGD for diagonal linear networks' (NeurIPS): "
         "SGD's effect on the solution grows with the step size")
PILLAUD_VIVIEN = ("Pillaud-Vivien, Reygner and Flammarion 2022, 'Label noise (stochastic) gradient descent implicitly "
                  "solves the Lasso for quadratic parametrisation' (COLT)")
WOODWORTH = "Woodworth et al. 2020, 'Kernel and rich regimes in overparametrized models' (COLT): alpha -> 0 gives min-L1"


@dataclass(frozen=True)
class ImplicitBiasConfig(ExperimentConfig):
    """Settings of the implicit-bias experiment."""

    owner: ClassVar[str] = "implicit-bias"
    n_train: int = param(20, "training points x ~ U[0, 1]", low=2)
    n_freq: int = param(100, "frequencies m (2m features)", low=7)
    n_test: int = param(2000, "test grid points on [0, 1)", low=10)
    gd_steps: int = param(2**30, "GD steps of the linear model from theta = 0 (composed by repeated squaring)", low=1)
    alphas: tuple = param((1.0, 0.1, 0.01), "initialization scales alpha of the diagonal network "
                          "(largest first)", kind=float, many=True, low=0.0, low_open=True)
    diag_steps: int = param(100_000, "full-batch GD steps of the diagonal network", low=1)
    diag_lr: float = param(0.05, "learning rate of the diagonal network", kind=float, low=0.0, low_open=True)
    sgd_alpha: float = param(1.0, "initialization scale of the diagonal network trained by SGD", kind=float,
                             low=0.0, low_open=True)
    label_noise: tuple = param((0.5, 1.0, 1.5), "label-noise sizes delta of SGD (plain SGD, delta = 0, always runs)",
                               kind=float, many=True, low=0.0, low_open=True)
    sgd_steps: int = param(100_000, "SGD steps (batch 1) of the diagonal network", low=1)
    sgd_lr: float = param(0.01, "SGD learning rate", kind=float, low=0.0, low_open=True)
    finish_steps: int = param(20_000, "noiseless full-batch GD steps (at diag_lr) that end every SGD run", low=0)

    def check(self):
        if len(self.alphas) < 2 or list(self.alphas) != sorted(self.alphas, reverse=True):
            raise fail("alphas", self.owner, "at least two values, largest first", self.alphas)
        if self.sgd_alpha not in self.alphas:
            raise fail("sgd_alpha", self.owner, f"one of alphas {self.alphas} (SGD is compared with GD from the same init)",
                       self.sgd_alpha)
        if 2 * self.n_freq <= self.n_train:
            raise fail("n_freq", self.owner, f"more than n_train / 2 = {self.n_train / 2} (overparameterized)", self.n_freq)


def features(x: np.ndarray, m: int) -> np.ndarray:
    """phi(x) = (cos(2 pi k x) / k, sin(2 pi k x) / k)_{k=1..m}, shape (len(x), 2m)."""
    k = np.arange(1, m + 1)
    arg = 2 * np.pi * np.outer(x, k)
    return np.concatenate([np.cos(arg) / k, np.sin(arg) / k], 1)


def target_theta(m: int) -> np.ndarray:
    theta = np.zeros(2 * m)
    for (kind, k), v in TARGET.items():
        theta[(k - 1) + (m if kind == "sin" else 0)] = v
    return theta


def min_l2(F: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(F, rcond=1e-12) @ y


def min_l1(F: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||theta||_1 subject to F theta = y (HiGHS on theta = t+ - t-, t+- >= 0)."""
    p = F.shape[1]
    res = linprog(np.ones(2 * p), A_eq=np.hstack([F, -F]), b_eq=y, bounds=(0, None), method="highs")
    assert res.status == 0, res.message
    return res.x[:p] - res.x[p:]


def gd_linear(F: np.ndarray, y: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` GD iterates on (1 / 2n) ||F theta - y||^2 from theta = 0, step 1 / lambda_max.

    One GD step is the affine map theta -> A theta + b (A = I - lr F^T F / n, b = lr F^T y / n);
    ``steps`` of them are that map composed with itself, built by repeated squaring: log2(steps)
    products of (p x p) matrices instead of ``steps`` matrix-vector products, the same iterate up
    to rounding (tests compare it with the plain loop, :func:`gd_linear_loop`). Directions of
    small curvature converge as (1 - lr lambda)^t: with two nearly equal training points they need
    millions of steps, which this makes affordable. Nothing here assumes where GD ends up.
    """
    n, p = F.shape
    lr = n / np.linalg.norm(F, 2) ** 2
    step_a, step_b = np.eye(p) - lr * F.T @ F / n, lr * F.T @ y / n
    theta = np.zeros(p)
    while steps:
        if steps & 1:
            theta = step_a @ theta + step_b
        steps >>= 1
        if steps:
            step_a, step_b = step_a @ step_a, step_a @ step_b + step_b
    return theta


def gd_linear_loop(F: np.ndarray, y: np.ndarray, steps: int) -> np.ndarray:
    """The plain GD loop :func:`gd_linear` is checked against."""
    n = len(y)
    lr = n / np.linalg.norm(F, 2) ** 2
    theta = np.zeros(F.shape[1])
    for _ in range(steps):
        theta -= lr * F.T @ (F @ theta - y) / n
    return theta


def gd_diagonal(F: np.ndarray, y: np.ndarray, alphas, steps: int, lr: float) -> np.ndarray:
    """theta = u * u - v * v after full-batch GD on (1 / 2n) ||F theta - y||^2 from u = v = alpha.

    ``alphas``: one scale or several (trained side by side, each its own independent run);
    returns (p,) or (len(alphas), p).
    """
    n = len(y)
    a = np.atleast_1d(np.asarray(alphas, dtype=float))
    u = np.repeat(a[:, None], F.shape[1], axis=1)  # (A, p)
    v = u.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = ((u * u - v * v) @ F.T - y) @ F / n  # (A, p)
            u, v = u - lr * 2 * u * g, v + lr * 2 * v * g
            if not np.all(np.isfinite(u)):
                raise FloatingPointError(f"diagonal network diverged at alpha = {alphas} (lower diag_lr)")
    theta = u * u - v * v
    return theta[0] if np.ndim(alphas) == 0 else theta


def min_weighted_l1(F: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """argmin sum_j w_j |theta_j| subject to F theta = y (HiGHS, as :func:`min_l1`)."""
    p = F.shape[1]
    res = linprog(np.r_[w, w], A_eq=np.hstack([F, -F]), b_eq=y, bounds=(0, None), method="highs")
    assert res.status == 0, res.message
    return res.x[:p] - res.x[p:]


def sgd_diagonal(F: np.ndarray, y: np.ndarray, alpha: float, deltas, steps: int, lr: float, seed: int,
                 finish_steps: int = 0, finish_lr: float = 0.05) -> np.ndarray:
    """theta = u * u - v * v after label-noise SGD on (1 / 2) (f(x_i) - y_i - delta eps)^2 from u = v = alpha.

    One run per delta in ``deltas`` (side by side, rows of the result, (len(deltas), p)); batch 1,
    the sample order shared by all runs, eps = +-1 drawn afresh for every run and step (delta = 0:
    plain SGD). Then ``finish_steps`` of noiseless full-batch GD (as :func:`gd_diagonal`).
    """
    n, p = F.shape
    rng = np.random.default_rng(seed)
    order = rng.integers(0, n, steps)
    noise = np.asarray(deltas, dtype=float) * rng.choice([-1.0, 1.0], size=(steps, len(deltas)))  # (steps, D)
    u = np.full((len(deltas), p), float(alpha))
    v = u.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            f = F[order[t]]
            g = ((u * u - v * v) @ f - y[order[t]] - noise[t])[:, None] * f  # (D, p)
            u, v = u - lr * 2 * u * g, v + lr * 2 * v * g
        if not np.all(np.isfinite(u)):
            raise FloatingPointError(f"label-noise SGD diverged at lr = {lr} (lower sgd_lr)")
        for _ in range(finish_steps):
            g = ((u * u - v * v) @ F.T - y) @ F / n
            u, v = u - finish_lr * 2 * u * g, v + finish_lr * 2 * v * g
    return u * u - v * v


def _row(seed, solver, metric, value, alpha=np.nan, label_noise=np.nan) -> dict:
    return {"seed": seed, "solver": solver, "alpha": alpha, "label_noise": label_noise, "metric": metric,
            "value": float(value)}


def problem(seed: int, n_train: int, n_freq: int, n_test: int) -> dict:
    """One seed's data draw: training inputs ``x``, design ``F``, target ``theta_star``, labels ``y``,
    test design ``G`` on the grid and the clean test function ``f_star``."""
    rng = np.random.default_rng(1000 * seed + 7)
    x = rng.uniform(0, 1, n_train)
    F, theta_star = features(x, n_freq), target_theta(n_freq)
    G = features(np.arange(n_test) / n_test, n_freq)
    return {"x": x, "F": F, "theta_star": theta_star, "y": F @ theta_star, "G": G, "f_star": G @ theta_star}


def describe(seed, solver, theta, prob: dict, l2: np.ndarray, l1: np.ndarray, alpha=np.nan,
             label_noise=np.nan) -> list[dict]:
    """The metric rows of one solution ``theta`` of :func:`problem` ``prob`` (``l2``, ``l1``: the interpolants).

    ``weighted_l1_norm`` weighs each |theta_j| by the squared column norm ||F_j||^2: the norm that
    label-noise SGD implicitly minimizes.
    """
    F, y, G, f_star = prob["F"], prob["y"], prob["G"], prob["f_star"]
    return [_row(seed, solver, m, v, alpha, label_noise) for m, v in (
        ("test_error", np.sum((G @ theta - f_star) ** 2) / np.sum(f_star**2)),
        ("train_residual", np.max(np.abs(F @ theta - y))),
        ("l1_norm", np.abs(theta).sum()), ("l2_norm", np.linalg.norm(theta)),
        ("weighted_l1_norm", (F**2).sum(0) @ np.abs(theta)),
        ("dist_to_min_l2", np.linalg.norm(theta - l2) / np.linalg.norm(l2)),
        ("dist_to_min_l1", np.linalg.norm(theta - l1) / np.linalg.norm(l1)))]


def seed_task(seed: int, n_train: int, n_freq: int, n_test: int, gd_steps: int, alphas: list, diag_steps: int,
              diag_lr: float, sgd_alpha: float = 1.0, label_noise: tuple = (), sgd_steps: int = 0, sgd_lr: float = 0.01,
              finish_steps: int = 0) -> TaskOutput:
    """One seed's data draw: both interpolants, GD from zero, the diagonal network's alpha sweep, (label-noise) SGD."""
    prob = problem(seed, n_train, n_freq, n_test)
    F, y = prob["F"], prob["y"]
    l2, l1 = min_l2(F, y), min_l1(F, y)
    rows = []
    for solver, theta in (("min_l2", l2), ("min_l1", l1), ("gd_linear", gd_linear(F, y, gd_steps))):
        rows += describe(seed, solver, theta, prob, l2, l1)
    rows += [_row(seed, "target", "l1_norm", np.abs(prob["theta_star"]).sum())]
    diagonal = dict(zip(alphas, gd_diagonal(F, y, list(alphas), diag_steps, diag_lr)))
    for a, theta in diagonal.items():
        rows += describe(seed, "diagonal", theta, prob, l2, l1, a)
    if sgd_steps:
        rows += describe(seed, "min_weighted_l1", min_weighted_l1(F, y, (F**2).sum(0)), prob, l2, l1)
        gd = diagonal[sgd_alpha]  # the config checks that sgd_alpha is one of the alphas
        deltas = [0.0, *label_noise]
        for d, theta in zip(deltas, sgd_diagonal(F, y, sgd_alpha, deltas, sgd_steps, sgd_lr, 1000 * seed + 11,
                                                 finish_steps, diag_lr)):
            rows += describe(seed, "sgd", theta, prob, l2, l1, sgd_alpha, d)
            rows.append(_row(seed, "sgd", "dist_to_gd", np.linalg.norm(theta - gd) / np.linalg.norm(gd), sgd_alpha, d))
    return TaskOutput(rows)


def tasks(cfg: ImplicitBiasConfig, device: str) -> list[Task]:
    return [Task(seed_task, {"seed": s, "n_train": cfg.n_train, "n_freq": cfg.n_freq, "n_test": cfg.n_test,
                             "gd_steps": cfg.gd_steps, "alphas": list(cfg.alphas), "diag_steps": cfg.diag_steps,
                             "diag_lr": cfg.diag_lr, "sgd_alpha": cfg.sgd_alpha, "label_noise": list(cfg.label_noise),
                             "sgd_steps": cfg.sgd_steps, "sgd_lr": cfg.sgd_lr, "finish_steps": cfg.finish_steps},
                 label=f"seed {s}") for s in cfg.seeds]


def implicit_bias_claims(seeds, metrics: pd.DataFrame) -> list:
    def v(s, solver, metric, alpha=None, label_noise=None):
        m = metrics[(metrics.seed == s) & (metrics.solver == solver) & (metrics.metric == metric)]
        if alpha is not None:
            m = m[np.isclose(m.alpha, alpha)]
        if label_noise is not None:
            m = m[np.isclose(m.label_noise, label_noise)]
        return float(m.value.iloc[0])

    alphas = sorted(metrics[metrics.solver == "diagonal"].alpha.unique())
    small, large = alphas[0], alphas[-1]
    claims = [
        in_band("min-L1 interpolant: relative test error (sparse target recovered)", seeds,
                [v(s, "min_l1", "test_error") for s in seeds], (0.0, 1e-6), kind="qualitative", source=SEED_TEXT,
                published="L1 recovers the sparse target; phenomena.md's one draw: 0.000",
                note="linprog (HiGHS) on theta = t+ - t-"),
        in_band("min-L2 interpolant: relative test error minus the min-L1 one", seeds,
                [v(s, "min_l2", "test_error") - v(s, "min_l1", "test_error") for s in seeds], (0.1, np.inf),
                kind="qualitative", source=SEED_TEXT, published="L2 spreads the fit over all frequencies; "
                "phenomena.md's one draw: 0.42 vs 0.00"),
        in_band("GD from theta = 0: relative distance to the pseudo-inverse solution", seeds,
                [v(s, "gd_linear", "dist_to_min_l2") for s in seeds], (0.0, 1e-3), kind="qualitative",
                source="lecture (seed 001): GD from 0 stays in the row space -> the minimum-L2 interpolant",
                note="2^30 GD steps (the GD map composed by repeated squaring, checked against the plain loop) against "
                     "numpy's SVD pseudo-inverse; the distance to the min-L1 interpolant is ~0.7: the band separates "
                     "them. With 20,000 steps seeds 3 and 4 were still 0.031 and 0.069 away (two close training "
                     "points make a direction of tiny curvature)"),
        in_band(f"diagonal net, alpha = {large:g}: distance to min-L2 / distance to min-L1", seeds,
                [v(s, "diagonal", "dist_to_min_l2", large) / v(s, "diagonal", "dist_to_min_l1", large) for s in seeds],
                (0.0, 0.5), kind="qualitative", source=WOODWORTH, published="kernel regime: L2-like"),
        in_band(f"diagonal net, alpha = {small:g}: relative distance to the min-L1 interpolant", seeds,
                [v(s, "diagonal", "dist_to_min_l1", small) for s in seeds], (0.0, 0.05), kind="qualitative",
                source=WOODWORTH, published="rich regime: L1-like; phenomena.md's one draw: test error 0.000 at 0.01"),
        in_band("diagonal net: L1 norm at the largest alpha / at the smallest", seeds,
                [v(s, "diagonal", "l1_norm", large) / v(s, "diagonal", "l1_norm", small) for s in seeds], (1.5, np.inf),
                kind="qualitative", source=WOODWORTH, published="the L1 norm falls as alpha shrinks"),
    ]
    if "sgd" not in set(metrics.solver):
        return claims
    deltas = sorted(metrics[metrics.solver == "sgd"].label_noise.unique())
    top, a = deltas[-1], float(metrics[metrics.solver == "sgd"].alpha.iloc[0])

    def spearman(s):
        return float(spearmanr(deltas, [v(s, "sgd", "weighted_l1_norm", label_noise=d) for d in deltas])[0])

    claims += [
        in_band(f"plain SGD (batch 1, alpha = {a:g}): relative distance to full-batch GD's solution", seeds,
                [v(s, "sgd", "dist_to_gd", label_noise=0.0) for s in seeds], (0.0, 0.05), kind="qualitative",
                source=PESME, published="at a small step size SGD's noise hardly moves the solution; "
                "phenomena.md's one draw: test error 0.377 (SGD) vs 0.378 (GD)",
                note="label noise of the largest size moves it much further (dist_to_gd in metrics.csv)"),
        in_band(f"label-noise SGD, delta = {top:g}: weighted L1 norm sum_j ||F_j||^2 |theta_j| / plain SGD's", seeds,
                [v(s, "sgd", "weighted_l1_norm", label_noise=top) / v(s, "sgd", "weighted_l1_norm", label_noise=0.0)
                 for s in seeds], (0.0, 0.8), kind="qualitative", source=PILLAUD_VIVIEN,
                published="label noise implicitly minimizes the weighted L1 norm with weights ||F_j||^2",
                note="the minimum of that norm over interpolants (linear program) is in metrics.csv (min_weighted_l1)"),
        in_band("label-noise SGD: Spearman correlation of delta with the weighted L1 norm", seeds,
                [spearman(s) for s in seeds], (-1.0, -0.75), kind="qualitative", source=PILLAUD_VIVIEN,
                published="more label noise, smaller weighted L1 norm", note=f"delta in {[float(d) for d in deltas]}"),
        in_band(f"label-noise SGD, delta = {top:g}: plain L1 norm / plain SGD's (the fit moves to high frequencies)",
                seeds, [v(s, "sgd", "l1_norm", label_noise=top) / v(s, "sgd", "l1_norm", label_noise=0.0) for s in seeds],
                (1.2, np.inf), kind="qualitative", source=PILLAUD_VIVIEN + "; phenomena.md, section 9",
                published="with the 1/k features the weights ||F_j||^2 ~ n / (2 k^2) favour high frequencies: the L1 norm "
                "grows (phenomena.md's one draw: 42.7 -> 61.5 at delta = 1)"),
    ]
    return claims


def summarize(cfg: ImplicitBiasConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = implicit_bias_claims(cfg.seeds, metrics)
    refs = {"min_l2": "0.42", "min_l1": "0.000"}
    comparisons = [Comparison(f"{solver}: relative test error, median over seeds",
                              float(metrics[(metrics.solver == solver) & (metrics.metric == "test_error")].value.median()),
                              f"{refs[solver]} (phenomena.md, one draw)") for solver in refs]
    diag = metrics[(metrics.solver == "diagonal") & (metrics.metric == "test_error")]
    comparisons += [Comparison(f"diagonal net, alpha = {a:g}: relative test error, median over seeds", float(g.value.median()),
                               {1.0: "0.378", 0.1: "0.015", 0.01: "0.000"}.get(a, "-") + " (phenomena.md, one draw)")
                    for a, g in diag.groupby("alpha")]
    sgd = metrics[(metrics.solver == "sgd") & (metrics.metric == "test_error")]
    comparisons += [Comparison(f"SGD with label noise delta = {d:g}: relative test error, median over seeds",
                               float(g.value.median()), {0.0: "0.377", 0.5: "0.376", 1.0: "0.525"}.get(d, "-")
                               + " (phenomena.md, one draw, 2e5 steps at lr 0.01)") for d, g in sgd.groupby("label_noise")]
    wl1 = metrics[(metrics.solver == "min_weighted_l1") & (metrics.metric == "weighted_l1_norm")]
    if len(wl1):
        comparisons.append(Comparison("minimum weighted L1 norm over interpolants (linear program), median over seeds",
                                      float(wl1.value.median()), "label-noise SGD's weighted norm falls towards it"))
    return RunOutput(metrics, claims, comparisons, {})


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    sgd = metrics[metrics.solver == "sgd"]
    fig, axes = plt.subplots(1, 3 if len(sgd) else 2, figsize=(16.5 if len(sgd) else 11, 4))
    a, b = axes[:2]
    diag = metrics[metrics.solver == "diagonal"]
    for j, (metric, label) in enumerate((("dist_to_min_l2", "distance to min-L2"), ("dist_to_min_l1", "distance to min-L1"),
                                         ("test_error", "relative test error"))):
        g = diag[diag.metric == metric].groupby("alpha").value
        a.plot(g.mean().index, g.mean(), "o-", color=f"C{j}", label=f"{label} (mean over seeds)")
        a.fill_between(g.mean().index, g.min(), g.max(), color=f"C{j}", alpha=0.2, lw=0)
    a.set(xscale="log", yscale="log", xlabel="initialization scale alpha of u = v", ylabel="relative distance / error",
          title="Diagonal net u*u - v*v: from L2-like (large alpha) to L1-like (small)")
    a.legend(fontsize=8)
    l1 = diag[diag.metric == "l1_norm"].groupby("alpha").value
    b.plot(l1.mean().index, l1.mean(), "o-", color="C3", label="diagonal net (mean over seeds)")
    b.fill_between(l1.mean().index, l1.min(), l1.max(), color="C3", alpha=0.2, lw=0)
    for solver, style in (("min_l2", "--"), ("min_l1", ":")):
        m = metrics[(metrics.solver == solver) & (metrics.metric == "l1_norm")].value
        b.axhline(m.mean(), ls=style, color="0.3", label=f"{solver.replace('_', '-')} interpolant (mean over seeds)")
    b.set(xscale="log", xlabel="initialization scale alpha", ylabel="||theta||_1", title="L1 norm of the solution")
    b.legend(fontsize=8)
    if len(sgd):
        c = axes[2]
        for j, (metric, label) in enumerate((("weighted_l1_norm", "weighted L1 norm sum ||F_j||^2 |theta_j|"),
                                             ("l1_norm", "L1 norm"), ("test_error", "relative test error"))):
            g = sgd[sgd.metric == metric].groupby("label_noise").value
            ref = g.mean().iloc[0]  # plain SGD
            c.plot(g.mean().index, g.mean() / ref, "o-", color=f"C{j + 4}", label=f"{label} (mean over seeds)")
            c.fill_between(g.mean().index, g.min() / ref, g.max() / ref, color=f"C{j + 4}", alpha=0.2, lw=0)
        c.axhline(1.0, color="0.5", lw=0.8)
        c.set(xlabel="label noise delta (y + delta * (+-1) at every SGD step)", ylabel="relative to plain SGD (delta = 0)",
              title=f"Label-noise SGD, diagonal net at alpha = {sgd.alpha.iloc[0]:g}")
        c.legend(fontsize=8)
    return save(fig, out_dir, "implicit_bias")


register(Experiment(
    name="implicit-bias",
    steps=("diag_steps", "sgd_steps", "finish_steps"),
    title="Implicit bias: minimum-L2 against minimum-L1 interpolants, SGD and label-noise SGD",
    question="Among the many interpolants of an overparameterized regression, which does gradient descent find, "
    "how does a diagonal network's initialization scale move it from L2 to L1, and what do SGD's and label noise's "
    "randomness change?",
    metrics_doc="Per seed (data draw) and solver (min_l2, min_l1, gd_linear, diagonal at each alpha, min_weighted_l1, "
    "sgd at each label_noise delta, target): test_error = ||f_hat - f*||^2 / ||f*||^2 on the test grid, train_residual "
    "(max |F theta - y|), l1_norm, l2_norm, weighted_l1_norm (sum_j ||F_j||^2 |theta_j|), dist_to_min_l2 and "
    "dist_to_min_l1 (||theta - theta_ref|| / ||theta_ref||); for sgd also dist_to_gd (to the diagonal net's full-batch "
    "GD solution from the same alpha).",
    config_cls=ImplicitBiasConfig,
    scales={"smoke": {"gd_steps": 2**20, "alphas": (1.0, 0.01), "diag_steps": 5000, "sgd_steps": 2000,
                      "finish_steps": 1000},
            "quick": {},
            "paper": {"gd_steps": 2**40, "diag_steps": 1_000_000, "alphas": (3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003),
                      "sgd_steps": 400_000, "sgd_lr": 0.005, "label_noise": (0.5, 1.0, 1.5, 2.0)}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 10},
    section="Implicit bias: L1 or L2?",
    order=70,
    series=("solver", "alpha", "label_noise", "seed", "metric"),
    # Measured: quick 203.9 s wall with 2 workers while the machine was loaded by other agents (and a pytest run);
    # a seed task is 20k + 100k numpy GD steps (the three alphas side by side). Paper: 10x the diagonal steps for
    # 7 alphas, 10 seeds, projected from the quick task time (~25x the quick work).
    estimates={"smoke": "~3 s", "quick": "~200 s (loaded machine)", "paper": "~1 h"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
