"""variance-reduction: more data and bagging reduce variance (UDL section 8.3 and 9.3, Fig 9.7).

The 14-unit fixed-joint model (nearly interpolating 15 points) has high variance. Over many
resampled datasets we measure the variance of its fit, and of the mean (bagging) and median of
fits to bootstrap resamples of the same data, and the variance as the training set grows.
"""

from __future__ import annotations

import dataclasses
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
class VarianceReductionConfig:
    """Settings of the variance-reduction experiment (UDL notebook 9.3)."""

    n_data: int = 15
    sigma: float = 0.3
    n_hidden: int = 14  #: the notebook's high-variance model
    ridge: float = 1e-5  #: the notebook's tiny ridge (not on the offset... kept on all weights here)
    n_repeats: int = 200  #: resampled datasets
    bag_sizes: tuple = (1, 2, 4, 8, 16, 32)  #: bootstrap fits per ensemble
    data_sizes: tuple = (15, 30, 60, 120, 240)
    seed: int = 0

    def __post_init__(self):
        owner = "variance-reduction"
        check_int(self.n_data, "n_data", owner, low=2)
        check_float(self.sigma, "sigma", owner, low=0.0)
        check_int(self.n_hidden, "n_hidden", owner, low=1)
        check_float(self.ridge, "ridge", owner, low=0.0)
        check_int(self.n_repeats, "n_repeats", owner, low=2)
        check_values(self, "bag_sizes", owner, low=1, includes=4)  # the summary compares bags of 4
        check_values(self, "data_sizes", owner, low=2)


def _bias_var(preds: np.ndarray, f: np.ndarray) -> tuple[float, float, float]:
    mean = preds.mean(0)
    return float(np.mean((mean - f) ** 2)), float(np.mean(preds.var(0))), float(np.mean((preds - f) ** 2))


def fits_task(**fields) -> TaskOutput:
    """Every fit in one task: the datasets and bootstrap draws of both parts come from one
    random stream, in order (splitting it would change the numbers)."""
    cfg = VarianceReductionConfig(**fields)
    grid = np.linspace(0, 1, 100)
    f = toy_function(grid)
    rng = np.random.default_rng(cfg.seed)
    rows = []
    max_bag = max(cfg.bag_sizes)
    single, bag_mean, bag_median = [], {b: [] for b in cfg.bag_sizes}, {b: [] for b in cfg.bag_sizes}
    for _ in range(cfg.n_repeats):
        d = make_toy_regression(cfg.n_data, noise_std=cfg.sigma, seed=int(rng.integers(2**31)))
        single.append(FixedJointModel(cfg.n_hidden, ridge=cfg.ridge).fit(d.x_train, d.y_train).predict(grid))
        boots = []
        for _ in range(max_bag):
            idx = rng.integers(0, cfg.n_data, cfg.n_data)  # bootstrap: draw with replacement
            boots.append(FixedJointModel(cfg.n_hidden, ridge=cfg.ridge).fit(d.x_train[idx], d.y_train[idx]).predict(grid))
        boots = np.asarray(boots)
        for b in cfg.bag_sizes:
            bag_mean[b].append(boots[:b].mean(0))
            bag_median[b].append(np.median(boots[:b], axis=0))
    for name, preds in [("single", np.asarray(single))] + [(f"bag_mean_{b}", np.asarray(v)) for b, v in bag_mean.items()] \
            + [(f"bag_median_{b}", np.asarray(v)) for b, v in bag_median.items()]:
        bias2, var, err = _bias_var(preds, f)
        kind, _, size = name.rpartition("_") if name != "single" else ("single", "", "1")
        for metric, value in (("bias2", bias2), ("variance", var), ("mse_to_truth", err)):
            rows.append({"part": "bagging", "estimator": kind, "size": int(size), "n_data": cfg.n_data, "metric": metric, "value": value})
    for n in cfg.data_sizes:
        preds = []
        for _ in range(cfg.n_repeats):
            d = make_toy_regression(n, noise_std=cfg.sigma, seed=int(rng.integers(2**31)))
            preds.append(FixedJointModel(cfg.n_hidden, ridge=cfg.ridge).fit(d.x_train, d.y_train).predict(grid))
        bias2, var, err = _bias_var(np.asarray(preds), f)
        for metric, value in (("bias2", bias2), ("variance", var), ("mse_to_truth", err)):
            rows.append({"part": "data", "estimator": "single", "size": 1, "n_data": n, "metric": metric, "value": value})
    return TaskOutput(rows)


def tasks(cfg: VarianceReductionConfig, device: str) -> list[Task]:
    return [Task(fits_task, dataclasses.asdict(cfg), label="all fits")]


def summarize(cfg: VarianceReductionConfig, outputs: list[TaskOutput]) -> RunOutput:
    max_bag = max(cfg.bag_sizes)
    metrics = pd.DataFrame(outputs[0].records)
    bag = metrics[(metrics.part == "bagging") & (metrics.metric == "variance")]
    v_single = float(bag[bag.estimator == "single"].value.iloc[0])
    v_bag4 = float(bag[(bag.estimator == "bag_mean") & (bag["size"] == 4)].value.iloc[0])
    v_bag_max = float(bag[(bag.estimator == "bag_mean") & (bag["size"] == max_bag)].value.iloc[0])
    err = metrics[(metrics.part == "bagging") & (metrics.metric == "mse_to_truth")]
    e_single = float(err[err.estimator == "single"].value.iloc[0])
    e_bag4 = float(err[(err.estimator == "bag_mean") & (err["size"] == 4)].value.iloc[0])
    data = metrics[(metrics.part == "data") & (metrics.metric == "variance")].set_index("n_data").value
    comparisons = [
        Comparison("variance: mean of 4 bootstrap fits / single fit", v_bag4 / v_single, "< 1 (Fig 9.7)", (0.0, 1.0)),
        Comparison(f"variance: mean of {max_bag} bootstrap fits / single fit", v_bag_max / v_single, "< 1", (0.0, 1.0)),
        Comparison("MSE to the true function: single fit", e_single, "0.195 (one dataset in the notebook)", None),
        Comparison("MSE to the true function: mean of 4 bootstrap fits", e_bag4, "0.018 (one dataset in the notebook)", None),
        Comparison(f"variance at {max(cfg.data_sizes)} / {min(cfg.data_sizes)} points", float(data.iloc[-1] / data.iloc[0]),
                   "< 1 (more data, less variance)", (0.0, 1.0)),
    ]
    return RunOutput(metrics, comparisons, {"variance_single": v_single, "variance_bag4": v_bag4})


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    bag = metrics[metrics.part == "bagging"]
    for est, style in (("bag_mean", "o-"), ("bag_median", "s-")):
        for metric, color in (("variance", "k"), ("bias2", "C3")):
            sub = bag[(bag.estimator == est) & (bag.metric == metric)].sort_values("size")
            a.plot(sub["size"], sub.value, style, color=color, alpha=1 if est == "bag_mean" else 0.5,
                   label=f"{metric.replace('bias2', 'bias$^2$')}, {est.replace('bag_', 'bootstrap ')}")
    single = bag[(bag.estimator == "single") & (bag.metric == "variance")].value.iloc[0]
    a.axhline(single, color="0.4", ls=":", label="variance, single fit")
    a.set(xscale="log", xlabel="bootstrap fits in the ensemble", ylabel="mean squared error", title="Bagging reduces variance")
    a.legend(fontsize=7)
    data = metrics[metrics.part == "data"]
    for metric, color in (("variance", "k"), ("bias2", "C3"), ("mse_to_truth", "C2")):
        sub = data[data.metric == metric].sort_values("n_data")
        b.plot(sub.n_data, sub.value, "o-", color=color, label=metric.replace("bias2", "bias$^2$").replace("mse_to_truth", "error vs truth"))
    b.set(xscale="log", yscale="log", xlabel="training points", ylabel="mean squared error", title="More data reduces variance")
    b.legend(fontsize=8)
    return save(fig, out_dir, "variance_reduction")


register(Experiment(
    name="variance-reduction",
    title="Reducing variance: more data and bagging",
    question="How much do more training data and bootstrap ensembles reduce the variance of a high-capacity model?",
    metrics_doc="bias2, variance and mse_to_truth (vs the noiseless function) of single fits, bootstrap means and medians "
    "(part 'bagging', by ensemble size) and of single fits by training-set size (part 'data').",
    config_cls=VarianceReductionConfig,
    scales={"smoke": {"n_repeats": 20, "bag_sizes": (1, 4), "data_sizes": (15, 60)}, "quick": {}, "paper": {"n_repeats": 1000}},
    estimates={"smoke": "1 s", "quick": "1 s", "paper": "50 s"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
