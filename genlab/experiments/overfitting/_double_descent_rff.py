"""double-descent-rff: model-wise double descent of random Fourier features (Belkin et al. 2019).

Random Fourier features ``phi(x) = sqrt(2 / p) cos(W x + b)`` (``W ~ N(0, I / sigma^2)``,
``b ~ U[0, 2 pi)``) on scikit-learn's bundled digits (8x8 images, no download), fitted by
minimum-norm least squares to one-hot targets: the solution gradient descent from zero reaches.
Each of the 10 outputs is a separate regression on the same n x p design, so the interpolation
threshold is p = n. The test error falls, spikes at p = n (the design is square and its smallest
singular values are tiny), then falls again below the best under-parameterized value.

Numerics (the pitfalls of the reference notes): float64 throughout, the minimum-norm solution
through the smaller of the two Gram matrices (eigh), and an explicit relative eigenvalue cutoff
``rcond`` -- the cutoff is a regularizer, a large one flattens the peak.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save, threshold_line
from genlab.sweep import Task, TaskOutput

SOURCE = "Belkin, Hsu, Ma, Mandal 2019 (PNAS), Fig. 2 (RFF on MNIST)"
REFERENCE = "phenomena.md setting A (a research run of this recipe, not published)"


@dataclass(frozen=True)
class RFFConfig(ExperimentConfig):
    """Settings of random-feature double descent on scikit-learn digits."""

    owner: ClassVar[str] = "double-descent-rff"
    n_train: int = param(1000, "training images (the rest of the 1797 are the test set)", low=10, high=1700)
    ratios: tuple = param((0.1, 0.2, 0.3, 0.44, 0.6, 0.78, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.4, 2.0, 2.5, 3.5, 4.5, 6.0, 8.0),
                          "numbers of features p as multiples of n_train", kind=float, many=True, low=0.0, low_open=True,
                          includes=1.0)
    sigma: float = param(2.0, "bandwidth: W ~ N(0, I / sigma^2) on pixels scaled to [0, 1]", kind=float, low=0.0,
                         low_open=True)
    rcond: float = param(1e-12, "relative eigenvalue cutoff of the pseudo-inverse (a regularizer when large)", kind=float,
                         low=0.0, high=1.0)


@functools.lru_cache(maxsize=4)
def digits_split(n_train: int, seed: int):
    """Digits scaled to [0, 1], centred with the training mean; a random split drawn from ``seed``."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    perm = np.random.default_rng(seed).permutation(len(y))
    tr, te = perm[:n_train], perm[n_train:]
    mean = x[tr].mean(0)
    return x[tr] - mean, y[tr], x[te] - mean, y[te]


def fourier_features(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sqrt(2 / p) cos(x W + b)``: (n, d) @ (d, p) -> (n, p)."""
    return np.sqrt(2.0 / w.shape[1]) * np.cos(x @ w + b)


def min_norm_predict(f_train: np.ndarray, y: np.ndarray, f_test: np.ndarray, rcond: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Minimum-norm least squares on ``f_train`` (n, p); returns (train predictions, test predictions,
    smallest kept eigenvalue of the Gram matrix). Solved through the smaller Gram matrix."""
    n, p = f_train.shape
    if p > n:  # coef = F^T (F F^T)^+ y: the n x n kernel matrix
        evals, evecs = np.linalg.eigh(f_train @ f_train.T)
        keep = evals > rcond * evals.max()
        alpha = evecs[:, keep] @ ((evecs[:, keep].T @ y) / evals[keep, None])
        return f_train @ (f_train.T @ alpha), f_test @ (f_train.T @ alpha), float(evals[keep].min())
    evals, evecs = np.linalg.eigh(f_train.T @ f_train)  # coef = (F^T F)^+ F^T y: the p x p covariance
    keep = evals > rcond * evals.max()
    coef = evecs[:, keep] @ ((evecs[:, keep].T @ (f_train.T @ y)) / evals[keep, None])
    return f_train @ coef, f_test @ coef, float(evals[keep].min())


def seed_task(seed: int, n_train: int, ratios: list, sigma: float, rcond: float) -> TaskOutput:
    """One seed: its train/test split and feature draws, every p of the sweep."""
    x_tr, y_tr, x_te, y_te = digits_split(n_train, seed)
    targets = np.eye(10)[y_tr]
    rows = []
    for r in ratios:
        p = max(1, int(round(r * n_train)))
        rng = np.random.default_rng([seed, p])  # one feature draw per (seed, p)
        w = rng.standard_normal((x_tr.shape[1], p)) / sigma
        b = rng.uniform(0, 2 * np.pi, p)
        pred_tr, pred_te, lam = min_norm_predict(fourier_features(x_tr, w, b), targets, fourier_features(x_te, w, b), rcond)
        values = {"train_mse": ((pred_tr - targets) ** 2).sum(1).mean(), "test_mse": ((pred_te - np.eye(10)[y_te]) ** 2).sum(1).mean(),
                  "train_error": (pred_tr.argmax(1) != y_tr).mean(), "test_error": (pred_te.argmax(1) != y_te).mean(),
                  "min_gram_eigenvalue": lam}
        rows += [{"seed": seed, "p": p, "ratio": p / n_train, "metric": k, "value": float(v)} for k, v in values.items()]
    return TaskOutput(rows)


def tasks(cfg: RFFConfig, device: str) -> list[Task]:
    return [Task(seed_task, {"seed": s, "n_train": cfg.n_train, "ratios": sorted(cfg.ratios), "sigma": cfg.sigma,
                             "rcond": cfg.rcond}, label=f"seed {s}") for s in cfg.seeds]


def curves(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(ratio x seed) table of one metric."""
    return metrics[metrics.metric == metric].pivot_table(index="ratio", columns="seed", values="value")


def summarize(cfg: RFFConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    mse, err = curves(metrics, "test_mse"), 100 * curves(metrics, "test_error")
    x = mse.index.to_numpy()
    peak_at, height, err_at_n, best_under, second = [], [], [], [], []
    for s in seeds:
        i_peak = int(np.argmax(mse[s].to_numpy()))
        peak_at.append(x[i_peak])
        under = x < 1.0
        height.append(mse[s].max() / mse[s][under].min())
        err_at_n.append(err[s][np.isclose(x, 1.0)].iloc[0])
        best_under.append(err[s][under].min())
        second.append(err[s].iloc[-1] - err[s][under].min())
    claims = [
        in_band("the test MSE peaks at the interpolation threshold (p at the peak / n)", seeds, peak_at, (0.94, 1.06),
                kind="qualitative", source=f"lecture (seed 001), {SOURCE}", published="peak at p = n",
                note="one output per class, each a regression on the same n x p design: the threshold is p = n, not 10 n"),
        in_band("the spike: peak test MSE / lowest under-parameterized test MSE", seeds, height, (10.0, 1e12),
                kind="qualitative", source=f"{SOURCE}; {REFERENCE}: 353 / 0.18", published="a sharp peak (~2000x)",
                note="a ridge or a large eigenvalue cutoff flattens it"),
        in_band("second descent: test error at the largest p minus the best under-parameterized one (points)", seeds,
                second, (-100.0, -0.2), kind="qualitative", source=f"lecture (seed 001), {SOURCE}",
                published="the minimum is reached in the over-parameterized regime",
                note=f"largest p = {max(cfg.ratios):g} n; reference: 0.8 % at 8 n vs 2.1 % at 0.44 n"),
        in_band("test 0-1 error at p = n (%)", seeds, err_at_n, (40.0, 95.0), kind="reference", source=REFERENCE,
                published=75.0, note="chance is 90 %"),
        in_band("best under-parameterized test 0-1 error (%)", seeds, best_under, (1.0, 4.5), kind="reference",
                source=REFERENCE, published=2.1),
    ]
    tr = curves(metrics, "train_mse")
    over = tr.index >= 1.05
    comparisons = [Comparison("largest train MSE for p >= 1.05 n (interpolation)", float(tr[over].max().max()),
                              "~1e-22 (reference notes)", "min-norm interpolation past the threshold")]
    comparisons += [Comparison(f"test 0-1 error at p = {r:g} n, median over seeds (%)", float(err.loc[r].median()), pub, REFERENCE)
                    for r, pub in ((0.44, 2.1), (1.0, 75.0), (max(cfg.ratios), "0.8 at 8 n")) if r in err.index]
    headline = {"peak_test_mse_median": float(mse.max().median()), "best_under_error": float(np.median(best_under)),
                "error_at_largest_p": float(err.iloc[-1].median())}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.0))
    panels = (("test_mse", "test MSE (one-hot targets)", True), ("test_error", "test 0-1 error (%)", False),
              ("train_mse", "train MSE", True))
    for ax, (metric, label, log) in zip(axes, panels):
        c = curves(metrics, metric) * (100 if metric == "test_error" else 1)
        ax.plot(c.index, c.median(axis=1), "o-", ms=3, color="C0", label="median over seeds")
        ax.fill_between(c.index, c.min(axis=1), c.max(axis=1), color="C0", alpha=0.2, lw=0, label="range over seeds")
        threshold_line(ax, 1.0, "p = n")
        ax.set(xscale="log", yscale="log" if log else "linear", xlabel="features p / training examples n", ylabel=label)
        ax.legend(fontsize=8)
    axes[0].set_title("random Fourier features, min-norm least squares")
    axes[2].set_yscale("symlog", linthresh=1e-20)
    return save(fig, out_dir, "double_descent_rff")


register(Experiment(
    name="double-descent-rff",
    not_projectable="closed forms (a least-squares fit per ratio): no training steps",
    title="Double descent of random Fourier features on digits (Belkin et al. 2019)",
    question="Past the interpolation threshold p = n, does the test error fall again, below the classical optimum?",
    metrics_doc="Per seed (train/test split and feature draws) and number of features p (ratio = p / n_train): train_mse, "
    "test_mse (squared error summed over the 10 one-hot outputs), train_error and test_error (0-1), min_gram_eigenvalue "
    "(smallest eigenvalue kept by the cutoff).",
    config_cls=RFFConfig,
    scales={"smoke": {"n_train": 100, "ratios": (0.3, 0.9, 1.0, 1.1, 3.0)},
            "quick": {"ratios": (0.1, 0.2, 0.3, 0.44, 0.6, 0.78, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.4, 2.0, 3.0, 4.5)},
            "paper": {}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Double descent",
    order=10,
    series=("seed",),
    estimates={"smoke": "0.3 CPU-s", "quick": "18 CPU-s (~12 s on 2 idle cores; 1426 s wall measured at load average 24)",
               "paper": "49 CPU-s (measured 9.8 CPU-s per seed x 5 seeds), ~30 s on 2 cores"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
