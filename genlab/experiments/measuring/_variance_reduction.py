"""variance-reduction: more data and bagging reduce variance (UDL section 8.3 and 9.3, Fig 9.7).

The 14-unit fixed-joint model (15 parameters for 15 points: it interpolates) has high variance.
Over many resampled datasets we measure the variance of its fit, and of the mean (bagging) and
median of fits to bootstrap resamples of the same data, and the variance as the training set
grows, which least-squares theory predicts: sigma^2 (D + 1) / n once n >> D + 1. Each seed
redraws every dataset and every bootstrap resample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab.data import make_toy_regression, toy_function
from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.models import FixedJointModel
from genlab.sweep import Task, TaskOutput

LECTURE = "lecture (seed 000): reducing variance"


@dataclass(frozen=True)
class VarianceReductionConfig(ExperimentConfig):
    """Settings of the variance-reduction experiment (UDL notebook 9.3)."""

    owner: ClassVar[str] = "variance-reduction"
    n_data: int = param(15, "training points of the bagging part", low=2)
    sigma: float = param(0.3, "noise standard deviation", kind=float, low=0.0)
    n_hidden: int = param(14, "hidden units (the notebook's high-variance model)", low=1)
    ridge: float = param(1e-5, "the notebook's tiny ridge (on all weights here)", kind=float, low=0.0)
    n_repeats: int = param(200, "resampled datasets per seed", low=2)
    bag_sizes: tuple = param((1, 2, 4, 8, 16, 32), "bootstrap fits per ensemble (the summary compares bags of 4)",
                             many=True, low=1, includes=4)
    data_sizes: tuple = param((15, 30, 60, 120, 240), "training-set sizes of the more-data part", many=True, low=2)


def _bias_var(preds: np.ndarray, f: np.ndarray) -> tuple[float, float, float]:
    mean = preds.mean(0)
    return float(np.mean((mean - f) ** 2)), float(np.mean(preds.var(0))), float(np.mean((preds - f) ** 2))


def _fit(cfg: dict, x, y, grid) -> np.ndarray:
    return FixedJointModel(cfg["n_hidden"], ridge=cfg["ridge"]).fit(x, y).predict(grid)


def bagging_task(seed: int, cfg: dict) -> TaskOutput:
    """Single fits, and means and medians of bootstrap fits, over ``n_repeats`` datasets of one seed."""
    grid = np.linspace(0, 1, 100)
    f = toy_function(grid)
    rng = np.random.default_rng([seed, 0])
    n, bag_sizes = cfg["n_data"], cfg["bag_sizes"]
    single, bag_mean, bag_median = [], {b: [] for b in bag_sizes}, {b: [] for b in bag_sizes}
    for _ in range(cfg["n_repeats"]):
        d = make_toy_regression(n, noise_std=cfg["sigma"], seed=int(rng.integers(2**31)))
        single.append(_fit(cfg, d.x_train, d.y_train, grid))
        idx = rng.integers(0, n, (max(bag_sizes), n))  # bootstrap resamples: drawn with replacement
        boots = np.asarray([_fit(cfg, d.x_train[i], d.y_train[i], grid) for i in idx])  # (B, X)
        for b in bag_sizes:
            bag_mean[b].append(boots[:b].mean(0))
            bag_median[b].append(np.median(boots[:b], axis=0))
    rows = []
    estimators = [("single", 1, single)] + [("bag_mean", b, v) for b, v in bag_mean.items()] + \
        [("bag_median", b, v) for b, v in bag_median.items()]
    for kind, size, preds in estimators:
        bias2, var, err = _bias_var(np.asarray(preds), f)
        for metric, value in (("bias2", bias2), ("variance", var), ("mse_to_truth", err)):
            rows.append({"part": "bagging", "seed": seed, "estimator": kind, "size": size, "n_data": n, "metric": metric,
                         "value": value})
    return TaskOutput(rows)


def data_task(seed: int, cfg: dict) -> TaskOutput:
    """Single fits over ``n_repeats`` datasets of each training-set size, one seed."""
    grid = np.linspace(0, 1, 100)
    f = toy_function(grid)
    rows = []
    for n in cfg["data_sizes"]:
        rng = np.random.default_rng([seed, 1, n])
        preds = [_fit(cfg, d.x_train, d.y_train, grid) for d in
                 (make_toy_regression(n, noise_std=cfg["sigma"], seed=int(rng.integers(2**31))) for _ in range(cfg["n_repeats"]))]
        bias2, var, err = _bias_var(np.asarray(preds), f)
        for metric, value in (("bias2", bias2), ("variance", var), ("mse_to_truth", err)):
            rows.append({"part": "data", "seed": seed, "estimator": "single", "size": 1, "n_data": n, "metric": metric,
                         "value": value})
    return TaskOutput(rows)


def tasks(cfg: VarianceReductionConfig, device: str) -> list[Task]:
    fields = {"n_data": cfg.n_data, "sigma": cfg.sigma, "n_hidden": cfg.n_hidden, "ridge": cfg.ridge,
              "n_repeats": cfg.n_repeats, "bag_sizes": list(cfg.bag_sizes), "data_sizes": list(cfg.data_sizes)}
    return [Task(fn, {"seed": s, "cfg": fields}, label=f"seed {s} {part}")
            for s in cfg.seeds for fn, part in ((bagging_task, "bagging"), (data_task, "data"))]


def _value(metrics: pd.DataFrame, seed: int, part: str, estimator: str, metric: str, size: int = 1, n_data=None) -> float:
    m = metrics[(metrics.seed == seed) & (metrics.part == part) & (metrics.estimator == estimator)
                & (metrics.metric == metric) & (metrics["size"] == size)]
    if n_data is not None:
        m = m[m.n_data == n_data]
    (value,) = m.value
    return float(value)


def claims_of(cfg: VarianceReductionConfig, metrics: pd.DataFrame) -> list:
    seeds, big = list(cfg.seeds), max(cfg.bag_sizes)
    v1 = [_value(metrics, s, "bagging", "single", "variance") for s in seeds]
    claims = []
    # Bagging averages out the resampling noise but not the spread across datasets: the ratio falls
    # with the ensemble toward a floor (~0.4 here), so the band has a floor too. Without
    # resampling (every bootstrap fit = the single fit) the ratio is exactly 1; averaging fits to
    # fresh datasets instead of resamples would drive it toward 1/b.
    for b, band in ((4, (0.45, 0.95)), (big, (0.25, 0.6))) if big >= 16 else ((4, (0.45, 0.95)),):
        ratio = [_value(metrics, s, "bagging", "bag_mean", "variance", b) / v for s, v in zip(seeds, v1)]
        claims.append(in_band(f"bagging: variance of the mean of {b} bootstrap fits / of a single fit", seeds, ratio,
                              band, kind="qualitative", source=f"{LECTURE}; UDL Fig 9.7", published="< 1",
                              note="band from the seeds' spread at quick scale (6 seeds); 1 = no reduction"))
    err = [_value(metrics, s, "bagging", "bag_median", "mse_to_truth", 4) / _value(metrics, s, "bagging", "single", "mse_to_truth")
           for s in seeds]
    claims.append(in_band("bagging: error to the true function of the median of 4 bootstrap fits / of a single fit", seeds,
                          err, (0.0, 0.85), kind="qualitative", source=f"{LECTURE}; UDL Fig 9.7",
                          published="< 1 (notebook run, one dataset: 0.020 / 0.195)"))
    sizes = sorted(cfg.data_sizes)
    if len(sizes) > 1:
        var = np.array([[_value(metrics, s, "data", "single", "variance", n_data=n) for n in sizes] for s in seeds])  # (S, N)
        fall = (var[:, 1:] / var[:, :-1]).max(1)
        claims.append(in_band(f"more data, less variance ({cfg.n_hidden} units): largest variance ratio between successive "
                              "training-set sizes", seeds, fall, (0.0, 0.8), kind="qualitative",
                              source="lecture (seed 000): can reduce variance by adding more samples", published="< 1"))
        p = cfg.n_hidden + 1
        if sizes[-1] >= 10 * p and cfg.sigma > 0:
            theory = var[:, -1] * sizes[-1] / (cfg.sigma**2 * p)
            claims.append(in_band(f"variance at {sizes[-1]} points / its least-squares value sigma^2 (D+1) / n", seeds, theory,
                                  (0.9, 1.15), kind="qualitative",
                                  source="lecture (seed 000): variance -> 0 with more samples; least-squares theory",
                                  published=1.0, note=f"p = D + 1 = {p} parameters; the design is random, so slightly above 1"))
    return claims


def summarize(cfg: VarianceReductionConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = claims_of(cfg, metrics)
    seeds = list(cfg.seeds)
    e1 = np.mean([_value(metrics, s, "bagging", "single", "mse_to_truth") for s in seeds])
    e4 = np.mean([_value(metrics, s, "bagging", "bag_mean", "mse_to_truth", 4) for s in seeds])
    v1 = np.mean([_value(metrics, s, "bagging", "single", "variance") for s in seeds])
    v4 = np.mean([_value(metrics, s, "bagging", "bag_mean", "variance", 4) for s in seeds])
    comparisons = [
        Comparison("MSE to the true function: single fit, mean over datasets and seeds", float(e1),
                   "0.195 (notebook run, one dataset)", "one dataset in the notebook: not comparable one to one"),
        Comparison("MSE to the true function: mean of 4 bootstrap fits, mean over datasets and seeds", float(e4),
                   "0.018 (notebook run, one dataset)", ""),
    ]
    return RunOutput(metrics, claims, comparisons, {"variance_single": float(v1), "variance_bag4": float(v4)})


def _band(ax, sub: pd.DataFrame, x: str, style: str, color: str, label: str, alpha: float = 1.0) -> None:
    table = sub.pivot(index=x, columns="seed", values="value").sort_index()
    ax.plot(table.index, table.mean(axis=1), style, ms=3, color=color, alpha=alpha, label=label)
    ax.fill_between(table.index, table.min(axis=1), table.max(axis=1), color=color, alpha=0.15 * alpha, lw=0)  # seeds' range


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    bag = metrics[metrics.part == "bagging"]
    for est, style in (("bag_mean", "o-"), ("bag_median", "s-")):
        for metric, color in (("variance", "k"), ("bias2", "C3")):
            _band(a, bag[(bag.estimator == est) & (bag.metric == metric)], "size", style, color,
                  f"{metric.replace('bias2', 'bias$^2$')}, {est.replace('bag_', 'bootstrap ')}", 1 if est == "bag_mean" else 0.5)
    single = bag[(bag.estimator == "single") & (bag.metric == "variance")].value.mean()
    a.axhline(single, color="0.4", ls=":", label="variance, single fit")
    a.set(xscale="log", xlabel="bootstrap fits in the ensemble", ylabel="mean squared error",
          title="Bagging reduces variance (mean, seeds' range)")
    a.legend(fontsize=7)
    data = metrics[metrics.part == "data"]
    for metric, color in (("variance", "k"), ("bias2", "C3"), ("mse_to_truth", "C2")):
        _band(b, data[data.metric == metric], "n_data", "o-", color,
              metric.replace("bias2", "bias$^2$").replace("mse_to_truth", "error vs truth"))
    b.set(xscale="log", yscale="log", xlabel="training points", ylabel="mean squared error", title="More data reduces variance")
    b.legend(fontsize=8)
    return save(fig, out_dir, "variance_reduction")


register(Experiment(
    name="variance-reduction",
    steps="n_repeats",
    title="Reducing variance: more data and bagging",
    question="How much do more training data and bootstrap ensembles reduce the variance of a high-capacity model?",
    metrics_doc="Per seed: bias2, variance and mse_to_truth (vs the noiseless function) of single fits, bootstrap means "
    "and medians (part 'bagging', by ensemble size) and of single fits by training-set size (part 'data').",
    config_cls=VarianceReductionConfig,
    scales={"smoke": {"n_repeats": 20, "bag_sizes": (1, 4), "data_sizes": (15, 60)}, "quick": {"n_repeats": 400},
            "paper": {"n_repeats": 2000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Reducing variance",
    order=40,
    series=("part", "estimator", "seed"),
    estimates={"smoke": "2 s", "quick": "20 s", "paper": "~3 min (5 seeds x 2000 datasets)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
