"""bias-variance: UDL Fig 8.9, the U-curve of bias^2 + variance against capacity.

The toy regression (exp(sin(2 pi x)) on [0, 1], 15 points, sigma 0.3) is redrawn 100 times and
fitted in closed form by the fixed-joint model with 1..12 hidden units. On a 100-point grid:
bias^2 = mean_x (mean_k f_k(x) - f(x))^2, variance = mean_x var_k f_k(x), noise = sigma^2, and
the expected test error mean_k,x (f_k(x) - f(x))^2 + sigma^2 equals their sum exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from genlab._checks import check_float, check_int
from genlab.data import make_toy_regression, toy_function
from genlab.experiments._framework import Comparison, Experiment, RunOutput, check_values, register
from genlab.experiments._plots import plt, save
from genlab.models import FixedJointModel
from genlab.sweep import Task, TaskOutput


@dataclass(frozen=True)
class BiasVarianceConfig:
    """Settings of the bias-variance experiment (UDL notebook 8.2)."""

    n_data: int = 15  #: training points per dataset
    sigma: float = 0.3  #: noise standard deviation
    n_datasets: int = 100  #: resampled training sets
    max_hidden: int = 12  #: capacities 1..max_hidden
    fixed_hidden: int = 3  #: capacity for the variance-against-data curve
    data_sizes: tuple = (6, 10, 15, 30, 100)  #: training-set sizes for that curve
    seed: int = 0

    def __post_init__(self):
        owner = "bias-variance"
        check_int(self.n_data, "n_data", owner, low=2)
        check_float(self.sigma, "sigma", owner, low=0.0)
        check_int(self.n_datasets, "n_datasets", owner, low=2)
        check_int(self.max_hidden, "max_hidden", owner, low=1)
        check_int(self.fixed_hidden, "fixed_hidden", owner, low=1)
        check_values(self, "data_sizes", owner, low=2)


def decompose(n_hidden: int, n_data: int, sigma: float, n_datasets: int, seed: int) -> dict:
    """Bias^2, variance, noise and errors of the fixed-joint model over resampled datasets."""
    grid = np.linspace(0, 1, 100)
    f = toy_function(grid)
    preds = np.empty((n_datasets, grid.size))
    rng = np.random.default_rng([seed, n_hidden, n_data])
    for k in range(n_datasets):
        d = make_toy_regression(n_data, noise_std=sigma, seed=int(rng.integers(2**31)))
        preds[k] = FixedJointModel(n_hidden).fit(d.x_train, d.y_train).predict(grid)
    mean = preds.mean(0)
    bias2 = float(np.mean((mean - f) ** 2))
    variance = float(np.mean(preds.var(0)))
    expected_error = float(np.mean((preds - f) ** 2) + sigma**2)  # noise averaged analytically
    y_test = f + sigma * rng.standard_normal(preds.shape)  # a fresh noisy test set per fit
    empirical_error = float(np.mean((preds - y_test) ** 2))
    return {"bias2": bias2, "variance": variance, "noise": sigma**2, "sum": bias2 + variance + sigma**2,
            "expected_error": expected_error, "empirical_error": empirical_error}


def decompose_task(n_hidden: int, n_data: int, sigma: float, n_datasets: int, seed: int) -> TaskOutput:
    """One capacity and training-set size (a task: each has its own random stream)."""
    return TaskOutput(values=decompose(n_hidden, n_data, sigma, n_datasets, seed))


def _points(cfg: BiasVarianceConfig) -> list[tuple[str, int, int]]:
    """(curve, hidden, n_data): the capacity curve, then the training-set-size curve."""
    return [("capacity", h, cfg.n_data) for h in range(1, cfg.max_hidden + 1)] + \
        [("data", cfg.fixed_hidden, n) for n in cfg.data_sizes]


def tasks(cfg: BiasVarianceConfig, device: str) -> list[Task]:
    return [Task(decompose_task, {"n_hidden": h, "n_data": n, "sigma": cfg.sigma, "n_datasets": cfg.n_datasets,
                                  "seed": cfg.seed}, label=f"{curve} h={h} n={n}") for curve, h, n in _points(cfg)]


def summarize(cfg: BiasVarianceConfig, outputs: list[TaskOutput]) -> RunOutput:
    rows = []
    for (curve, h, n), out in zip(_points(cfg), outputs):
        for metric, value in out.values.items():
            rows.append({"curve": curve, "hidden": h, "n_data": n, "metric": metric, "value": value})
    metrics = pd.DataFrame(rows)
    cap = metrics[metrics.curve == "capacity"].pivot(index="hidden", columns="metric", values="value")
    bv = cap["bias2"] + cap["variance"]
    best = int(bv.idxmin())
    identity_gap = float((cap["expected_error"] - cap["sum"]).abs().max())
    data = metrics[metrics.curve == "data"].pivot(index="n_data", columns="metric", values="value")
    comparisons = [
        Comparison("capacity minimising bias^2 + variance (hidden units)", best, "3-4 (book Fig 8.9; notebook run: 4)", (3, 4)),
        Comparison("bias^2 + variance at its minimum", float(bv.min()), 0.036, (0.02, 0.07), "notebook run 0.036; book ~0.05"),
        Comparison("bias^2 with 1 hidden unit", float(cap.loc[1, "bias2"]), 0.308, (0.25, 0.37)),
        Comparison("variance with 12 hidden units", float(cap.loc[min(12, cfg.max_hidden), "variance"]), 0.208, (0.1, 0.45),
                   "grows sharply at 11-12 units (notebook 0.208; book ~0.42)"),
        Comparison("max |expected error - (bias^2 + variance + noise)|", identity_gap, 0.0, (0.0, 1e-10), "exact identity"),
        Comparison(f"variance ratio, {min(cfg.data_sizes)} vs {max(cfg.data_sizes)} points ({cfg.fixed_hidden} units)",
                   float(data["variance"].iloc[0] / data["variance"].iloc[-1]), "> 1 (Figs 8.6-8.7)", (1.0, np.inf),
                   "more data, less variance"),
    ]
    headline = {"best_hidden": best, "min_bias2_plus_variance": float(bv.min()), "identity_gap": identity_gap}
    return RunOutput(metrics, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    cap = metrics[metrics.curve == "capacity"].pivot(index="hidden", columns="metric", values="value")
    data = metrics[metrics.curve == "data"].pivot(index="n_data", columns="metric", values="value")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    a.plot(cap.index, cap["bias2"], "o-", color="C3", label="bias$^2$")
    a.plot(cap.index, cap["variance"], "o-", color="k", label="variance")
    a.plot(cap.index, cap["bias2"] + cap["variance"], "o-", color="C2", label="bias$^2$ + variance")
    a.axhline(cap["noise"].iloc[0], color="0.5", ls=":", label="noise $\\sigma^2$")
    a.set(xlabel="model capacity (hidden units)", ylabel="mean squared error", ylim=(0, 0.5),
          title="Bias-variance trade-off (UDL Fig 8.9)")
    a.legend()
    b.plot(data.index, data["bias2"], "o-", color="C3", label="bias$^2$")
    b.plot(data.index, data["variance"], "o-", color="k", label="variance")
    b.set(xscale="log", xlabel="training points", ylabel="mean squared error",
          title=f"{int(metrics[metrics.curve == 'data'].hidden.iloc[0])} hidden units: more data, less variance")
    b.legend()
    return save(fig, out_dir, "bias_variance")


register(Experiment(
    name="bias-variance",
    title="Noise, bias and variance against capacity",
    question="How do bias and variance trade off as capacity grows, and where is their sum smallest?",
    metrics_doc="bias2, variance, noise, sum, expected_error (analytic noise) and empirical_error "
    "(fresh noisy test draws) per capacity ('capacity' curve) and per training-set size ('data' curve).",
    config_cls=BiasVarianceConfig,
    scales={"smoke": {"n_datasets": 20}, "quick": {}, "paper": {"n_datasets": 1000}},
    estimates={"smoke": "1 s", "quick": "2 s", "paper": "15 s"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
