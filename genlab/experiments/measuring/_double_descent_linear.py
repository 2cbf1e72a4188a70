"""double-descent-linear: "Double Descent Demystified" (Schaeffer et al. 2023).

Minimum-norm linear regression spikes where the number of parameters P equals the number of
training points N: the smallest non-zero singular value of the training features is tiniest
there, and the fit divides by it. Two settings: Legendre features of 15 noiseless points of
y = 2x + cos(25x) (test error against P), and scikit-learn's diabetes data with its 10
features (test error against N, so against P/N). A small ridge removes the peak.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genlab._checks import check_float, check_int
from genlab.data import legendre_features, make_demystified, make_diabetes
from genlab.experiments._framework import Comparison, Experiment, RunOutput, check_values, register
from genlab.experiments._plots import plt, save, threshold_line
from genlab.models._closed_form import min_norm_lstsq
from genlab.sweep import Task, TaskOutput

DEFAULT_P = tuple(range(1, 26)) + (30, 40, 50, 100, 200)


@dataclass(frozen=True)
class DDLinearConfig:
    """Settings of the linear double-descent experiment."""

    n_points: int = 15  #: training points of the polynomial problem
    feature_counts: tuple = DEFAULT_P  #: P values (Legendre degrees 1..P)
    diabetes_sizes: tuple = tuple(range(1, 40))  #: N values for the diabetes data (P = 10)
    n_repeats: int = 30  #: random draws (points or train/test splits) per setting
    ridge: float = 1e-3  #: ridge penalty of the comparison curve
    seed: int = 0

    def __post_init__(self):
        check_int(self.n_points, "n_points", "double-descent-linear", low=2)
        check_int(self.n_repeats, "n_repeats", "double-descent-linear", low=1)
        check_float(self.ridge, "ridge", "double-descent-linear", low=0.0, low_open=True)
        # P = N (the interpolation threshold) is what the summary compares; diabetes has 442 rows.
        check_values(self, "feature_counts", "double-descent-linear", low=1, includes=self.n_points)
        check_values(self, "diabetes_sizes", "double-descent-linear", low=1, high=441)


def _smallest_nonzero(s: np.ndarray) -> float:
    s = s[s > 1e-12 * max(s.max(), 1e-300)]
    return float(s.min()) if s.size else float("nan")


def fits_task(**fields) -> TaskOutput:
    """Every fit in one task: both problems draw from one random stream, in order (splitting
    it would change the numbers)."""
    cfg = DDLinearConfig(**fields)
    rows = []
    rng = np.random.default_rng(cfg.seed)
    # Part 1: Legendre features, sweep P with N fixed.
    for p in cfg.feature_counts:
        mse, mse_ridge, smin = [], [], []
        for _ in range(cfg.n_repeats):
            d = make_demystified(cfg.n_points, seed=int(rng.integers(2**31)))
            phi, phi_test = legendre_features(d.x_train, p), legendre_features(d.x_test, p)
            w, s = min_norm_lstsq(phi, d.y_train)
            w_r, _ = min_norm_lstsq(phi, d.y_train, ridge=cfg.ridge)
            mse.append(np.mean((phi_test @ w - d.y_test) ** 2))
            mse_ridge.append(np.mean((phi_test @ w_r - d.y_test) ** 2))
            smin.append(_smallest_nonzero(s))
        for metric, value in (("test_mse_median", np.median(mse)), ("test_mse_mean", np.mean(mse)),
                              ("ridge_test_mse_median", np.median(mse_ridge)), ("smallest_singular_value", np.median(smin))):
            rows.append({"problem": "legendre", "P": p, "N": cfg.n_points, "metric": metric, "value": float(value)})
    # Part 2: diabetes, P = 10 features, sweep N (no intercept, no standardisation).
    for n in cfg.diabetes_sizes:
        mse, mse_ridge, smin = [], [], []
        for _ in range(cfg.n_repeats):
            d = make_diabetes(n, seed=int(rng.integers(2**31)))
            w, s = min_norm_lstsq(d.x_train, d.y_train)
            w_r, _ = min_norm_lstsq(d.x_train, d.y_train, ridge=cfg.ridge)
            mse.append(np.mean((d.x_test @ w - d.y_test) ** 2))
            mse_ridge.append(np.mean((d.x_test @ w_r - d.y_test) ** 2))
            smin.append(_smallest_nonzero(s))
        for metric, value in (("test_mse_median", np.median(mse)), ("test_mse_mean", np.mean(mse)),
                              ("ridge_test_mse_median", np.median(mse_ridge)), ("smallest_singular_value", np.median(smin))):
            rows.append({"problem": "diabetes", "P": 10, "N": n, "metric": metric, "value": float(value)})
    return TaskOutput(rows)


def tasks(cfg: DDLinearConfig, device: str) -> list[Task]:
    return [Task(fits_task, dataclasses.asdict(cfg), label="all fits")]


def summarize(cfg: DDLinearConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame(outputs[0].records)

    leg = metrics[metrics.problem == "legendre"].pivot(index="P", columns="metric", values="value")
    dia = metrics[metrics.problem == "diabetes"].pivot(index="N", columns="metric", values="value")
    peak_p = int(leg["test_mse_median"].idxmax())
    peak_n = int(dia["test_mse_median"].idxmax())
    smin_n = int(dia["smallest_singular_value"].idxmin())
    n = cfg.n_points
    comparisons = [
        Comparison("Legendre: P of the median test-MSE peak", peak_p, f"{n} (= N)", (n - 1, n + 1)),
        Comparison("Legendre: median test MSE at the peak", float(leg["test_mse_median"].max()), "6.7e6 (P = 15, their mse.csv)", (1e3, np.inf)),
        Comparison("Legendre: median test MSE at P = 30", float(leg.loc[30, "test_mse_median"]) if 30 in leg.index else float("nan"), 0.35, (0.1, 1.5)),
        Comparison("Legendre: ridge / min-norm median test MSE at P = N", float(leg.loc[n, "ridge_test_mse_median"] / leg.loc[n, "test_mse_median"]),
                   "ridge removes the peak", (0.0, 1e-2)),
        Comparison("Diabetes: N of the median test-MSE peak (P = 10)", peak_n, "10 (P/N = 1)", (9, 11)),
        Comparison("Diabetes: N of the smallest singular value", smin_n, 10, (9, 11), "reference run: 0.0022 at N = 10"),
        Comparison("Diabetes: smallest singular value at N = 10", float(dia.loc[10, "smallest_singular_value"]) if 10 in dia.index else float("nan"),
                   0.0022, (0.0005, 0.01)),
    ]
    return RunOutput(metrics, comparisons, {"legendre_peak_P": peak_p, "diabetes_peak_N": peak_n})


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    leg = metrics[metrics.problem == "legendre"].pivot(index="P", columns="metric", values="value")
    dia = metrics[metrics.problem == "diabetes"].pivot(index="N", columns="metric", values="value")
    n = int(metrics[metrics.problem == "legendre"].N.iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, frame, x, xlabel, thr, title in (
        (axes[0], leg, leg.index.to_numpy(), "number of Legendre features P", n, f"y = 2x + cos(25x), N = {n} points"),
        (axes[1], dia, 10 / dia.index.to_numpy(), "parameters / training points (P/N), P = 10", 1.0, "Diabetes, min-norm least squares"),
    ):
        ax.plot(x, frame["test_mse_median"], "o-", ms=3, label="min-norm: median test MSE")
        ax.plot(x, frame["ridge_test_mse_median"], "s-", ms=3, label="ridge: median test MSE")
        threshold_line(ax, thr)
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="test mean squared error", title=title)
        twin = ax.twinx()
        twin.plot(x, frame["smallest_singular_value"], "--", color="C2", label="smallest non-zero singular value")
        twin.set(yscale="log", ylabel="smallest non-zero singular value")
        twin.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left" if ax is axes[1] else "upper right")
    return save(fig, out_dir, "double_descent_linear")


register(Experiment(
    name="double-descent-linear",
    title="Double descent demystified: minimum-norm linear regression",
    question="Why does minimum-norm regression spike at P = N, and what removes the spike?",
    metrics_doc="Per P (Legendre) or N (diabetes): median and mean test MSE of the min-norm fit, median test MSE of the "
    "ridge fit, and the median smallest non-zero singular value of the training features.",
    config_cls=DDLinearConfig,
    scales={"smoke": {"n_repeats": 10, "feature_counts": (1, 5, 10, 14, 15, 16, 20, 30), "diabetes_sizes": (2, 5, 9, 10, 11, 20, 39)},
            "quick": {}, "paper": {"n_repeats": 50}},
    estimates={"smoke": "1 s", "quick": "5 s", "paper": "10 s"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
