"""knots: double descent of the piecewise-linear knots model (seed 001, MLU-Explain part 2).

Six noiseless points of 4 (x - 5/2)^2; the model a + b x + sum_k gamma_k |x - t_k| / 2 with K
knots drawn uniformly on [0, 5], fitted with minimum ||gamma||. With K + 2 = N = 6 parameters
(K = 4) the interpolant is unique and, when a knot falls next to a data point, wild: the mean
and upper quantiles of the test error spike there while the median keeps falling. For large K
the fit approaches the natural cubic spline. Also the seed's K = 0 exercise trained with Adam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.interpolate import CubicSpline

from genlab._checks import check_int
from genlab.data import make_knots
from genlab.experiments._framework import Comparison, Experiment, RunOutput, check_values, register
from genlab.experiments._plots import plt, save, threshold_line
from genlab.models import KnotsModel
from genlab.sweep import Task, TaskOutput


@dataclass(frozen=True)
class KnotsConfig:
    """Settings of the knots experiment."""

    knot_counts: tuple = (0, 1, 2, 3, 4, 5, 6, 8, 10, 20, 100, 1000)  #: values of K
    n_draws: int = 500  #: random knot draws per K
    adam_epochs: int = 5000  #: full-batch Adam epochs for the K = 0 exercise (the seed uses 50,000)
    seed: int = 0

    def __post_init__(self):
        check_int(self.n_draws, "n_draws", "knots", low=2)
        check_int(self.adam_epochs, "adam_epochs", "knots", low=1)
        # K = 4 (K + 2 = N parameters, the interpolation threshold) is what the summary compares.
        check_values(self, "knot_counts", "knots", low=0, includes=4)


def _adam_k0(epochs: int, seed: int) -> list[tuple[int, float, float, float]]:
    """The seed's exercise: g(x) = alpha + beta x by Adam (lr 0.01) on the scaled points."""
    d = make_knots(scaled=True)
    x, y = torch.tensor(d.x_train), torch.tensor(d.y_train)
    alpha = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    beta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([alpha, beta], lr=0.01)
    log = []
    for epoch in range(1, epochs + 1):
        loss = torch.mean((alpha + beta * x - y) ** 2)  # one full batch per epoch (batch_size 6)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch == 1 or epoch % max(1, epochs // 200) == 0 or epoch == epochs:
            log.append((epoch, loss.item(), alpha.item(), beta.item()))
    return log


def sweep_task(knot_counts: list, n_draws: int, seed: int) -> TaskOutput:
    """Every K in one task: the knots of all K are drawn from one random stream, in order."""
    d = make_knots(n_test=501)
    spline = CubicSpline(d.x_train, d.y_train, bc_type="natural")(d.x_test)
    spline_mse = float(np.mean((spline - d.y_test) ** 2))
    rng = np.random.default_rng(seed)
    rows = []
    for k in knot_counts:
        test, train_fit, dist = [], [], []
        for _ in range(n_draws):
            model = KnotsModel(rng.uniform(0, 5, k)).fit(d.x_train, d.y_train)
            pred = model.predict(d.x_test)
            test.append(np.mean((pred - d.y_test) ** 2))
            train_fit.append(np.mean((model.predict(d.x_train) - d.y_train) ** 2))
            dist.append(np.max(np.abs(pred - spline)))
        test, train_fit, dist = map(np.asarray, (test, train_fit, dist))
        for metric, value in {
            "test_mse_median": np.median(test), "test_mse_mean": test.mean(), "test_mse_p90": np.quantile(test, 0.9),
            "frac_interpolating": np.mean(train_fit < 1e-9), "max_dist_to_spline_median": np.median(dist),
        }.items():
            rows.append({"part": "sweep", "K": k, "step": np.nan, "metric": metric, "value": float(value)})
    return TaskOutput(rows, {"spline_mse": spline_mse})


def adam_task(epochs: int, seed: int) -> TaskOutput:
    rows = []
    for epoch, loss, alpha, beta in _adam_k0(epochs, seed):
        for metric, value in (("train_mse", loss), ("alpha", alpha), ("beta", beta)):
            rows.append({"part": "adam_k0", "K": 0, "step": epoch, "metric": metric, "value": value})
    return TaskOutput(rows)


def tasks(cfg: KnotsConfig, device: str) -> list[Task]:
    return [Task(sweep_task, {"knot_counts": cfg.knot_counts, "n_draws": cfg.n_draws, "seed": cfg.seed}, label="knot sweep"),
            Task(adam_task, {"epochs": cfg.adam_epochs, "seed": cfg.seed}, label="K = 0 by Adam")]


def summarize(cfg: KnotsConfig, outputs: list[TaskOutput]) -> RunOutput:
    sweep_out, adam_out = outputs
    spline_mse = sweep_out.values["spline_mse"]
    rows = sweep_out.records + adam_out.records
    rows.append({"part": "spline", "K": np.nan, "step": np.nan, "metric": "test_mse", "value": spline_mse})
    metrics = pd.DataFrame(rows)

    sweep = metrics[metrics.part == "sweep"].pivot(index="K", columns="metric", values="value")
    p90_peak = int(sweep["test_mse_p90"].loc[[k for k in sweep.index if 1 <= k <= 10]].idxmax())
    med = sweep["test_mse_median"].to_numpy()
    rises = int(np.sum(np.diff(med) > 0))
    adam = metrics[metrics.part == "adam_k0"]
    plateau = float(adam[adam.metric == "train_mse"].value.iloc[-1])
    alpha = float(adam[adam.metric == "alpha"].value.iloc[-1])
    big = max(cfg.knot_counts)
    comparisons = [
        Comparison("K where the 90th percentile of test MSE peaks", p90_peak, "4 (= N - 2)", (4, 4), "the spike at interpolation"),
        Comparison("times the median test MSE rises as K grows", rises, 0, (0, 0), "the median does not spike"),
        Comparison(f"90th-percentile test MSE at K = 4 / at K = {big}", float(sweep.loc[4, "test_mse_p90"] / sweep.loc[big, "test_mse_p90"]),
                   "77 / 0.045 (reference run)", (100, np.inf)),
        Comparison(f"median test MSE at K = {big}", float(sweep.loc[big, "test_mse_median"]), 0.038, (0.033, 0.05)),
        Comparison("natural cubic spline test MSE", spline_mse, 0.0330, (0.0325, 0.0335)),
        Comparison(f"median max |g_K - spline| at K = {big}", float(sweep.loc[big, "max_dist_to_spline_median"]), "0.07-0.08 at K = 1000",
                   (0.03, 0.12) if big == 1000 else None),
        Comparison("K = 0, Adam: train MSE plateau (scaled data)", plateau, 0.11, (0.10, 0.12),
                   "the MSE plateau is var(y) = 0.00996; the seed's 0.11 matches the fitted alpha (mean y = 0.117)"),
        Comparison("K = 0, Adam: fitted alpha", alpha, 0.117, (0.11, 0.125), "alpha -> mean(y), beta -> 0"),
    ]
    return RunOutput(metrics, comparisons, {"p90_peak_K": p90_peak, "median_rises": rises, "spline_mse": spline_mse})


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    sweep = metrics[metrics.part == "sweep"].pivot(index="K", columns="metric", values="value")
    adam = metrics[metrics.part == "adam_k0"]
    spline = metrics[metrics.part == "spline"].value.iloc[0]
    x = np.where(sweep.index == 0, 0.5, sweep.index)  # K = 0 drawn at 0.5 on the log axis
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    a.plot(x, sweep["test_mse_mean"], "o-", label="mean")
    a.plot(x, sweep["test_mse_p90"], "s-", label="90th percentile")
    a.plot(x, sweep["test_mse_median"], "^-", label="median")
    a.axhline(spline, color="0.4", ls=":", label="natural cubic spline")
    threshold_line(a, 4, "interpolation threshold (K + 2 = N)")
    a.set(xscale="log", yscale="log", xlabel="number of knots K (K = 0 drawn at 0.5)", ylabel="test MSE vs gold function",
          title="Knots model: double descent lives in the tail")
    a.legend(fontsize=8)
    loss = adam[adam.metric == "train_mse"]
    b.plot(loss.step, loss.value, color="C3")
    b.set(xscale="log", yscale="log", xlabel="Adam epoch (full batch, lr 0.01)", ylabel="train MSE (scaled data)",
          title="K = 0: a line underfits; the loss plateaus")
    return save(fig, out_dir, "knots")


register(Experiment(
    name="knots",
    title="Double descent of the knots model",
    question="Why does test error spike when the number of parameters equals the number of points, and why only in the mean?",
    metrics_doc="Per K (part 'sweep'): median, mean and 90th percentile of the test MSE over random knot draws, the fraction "
    "of draws that interpolate and the median distance to the natural cubic spline; part 'adam_k0': train MSE, alpha, beta "
    "against epoch for K = 0.",
    config_cls=KnotsConfig,
    scales={"smoke": {"n_draws": 40, "knot_counts": (0, 1, 2, 4, 6, 10, 100), "adam_epochs": 300},
            "quick": {}, "paper": {"n_draws": 2000, "adam_epochs": 50000, "knot_counts": (0, 1, 2, 3, 4, 5, 6, 8, 10, 20, 100, 1000, 10000)}},
    estimates={"smoke": "1 s", "quick": "5 s", "paper": "3 min"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
