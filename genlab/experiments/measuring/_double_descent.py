"""double-descent: model-wise double descent of a two-hidden-layer MLP on MNIST-1D (UDL Fig 8.10).

Widths sweep through the interpolation threshold (parameters = training examples). With 15 %
label noise the test error rises to a peak at the threshold and falls again beyond it; without
noise it keeps falling. The clean and noisy runs of each width train together as one population.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genlab._checks import check_float, check_int
from genlab.data import make_mnist1d, with_label_noise
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    check_values,
    register,
)
from genlab.experiments._plots import plt, save, threshold_line
from genlab.models import MLP, n_parameters
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

QUICK_WIDTHS = (4, 8, 12, 16, 20, 24, 32, 48, 64, 128)
PAPER_WIDTHS = (2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 73, 77, 80, 90, 100, 120, 150, 200, 250, 300, 400)


def threshold_width(n_train: int, in_features: int = 40, n_classes: int = 10) -> float:
    """Width h where the 2-hidden-layer MLP has as many parameters as training examples."""
    # params(h) = (in + 1) h + (h + 1) h + (h + 1) n_classes = h^2 + (in + 2 + n_classes) h + n_classes
    b = in_features + 2 + n_classes
    return (-b + np.sqrt(b * b + 4 * (n_train - n_classes))) / 2


@dataclass(frozen=True)
class DoubleDescentConfig:
    """Settings of the double-descent experiment (paper: UDL Fig 8.10)."""

    n_train: int = 2000
    n_test: int = 4000
    n_seeds: int = 3  #: seeds per width and condition, trained together (curves are their mean)
    widths: tuple = QUICK_WIDTHS
    label_noise: float = 0.15  #: fraction of training labels redrawn uniformly (noisy run)
    optimizer: str = "adam"
    lr: float = 0.005
    batch_size: int | None = None  #: None = full batch (the book)
    n_steps: int = 2000
    seed: int = 0

    def __post_init__(self):
        check_int(self.n_train, "n_train", "double-descent", low=10)
        check_int(self.n_test, "n_test", "double-descent", low=10)
        check_float(self.label_noise, "label_noise", "double-descent", low=0.0, high=1.0)
        check_int(self.n_seeds, "n_seeds", "double-descent", low=1)
        check_values(self, "widths", "double-descent", low=1)
        check_training("double-descent", optimizer=self.optimizer, lr=self.lr, batch_size=self.batch_size,
                       n_steps=self.n_steps)


@functools.lru_cache(maxsize=2)
def _data(n_train: int, n_test: int, label_noise: float, seed: int):
    """The clean and noisy datasets (cached: a worker reuses them for its next width)."""
    n = n_train + n_test
    clean = make_mnist1d(n, train_split=n_train / n, seed=42 + seed)
    return clean, with_label_noise(clean, label_noise, seed=seed)


def width_task(width: int, n_train: int, n_test: int, n_seeds: int, label_noise: float, optimizer: str, lr: float,
               batch_size: int | None, n_steps: int, seed: int, device: str) -> TaskOutput:
    """One width: clean and noisy labels x seeds (init and batch order) as one population."""
    clean, noisy = _data(n_train, n_test, label_noise, seed)
    h = width
    members = [(c, s) for c in ("clean", "noisy") for s in range(n_seeds)]
    models = [MLP(40, 10, width=h, depth=2, seed=seed * 100_000 + 1000 * s + h) for _, s in members]
    configs = [TrainConfig(optimizer=optimizer, lr=lr, batch_size=batch_size, n_steps=n_steps,
                           eval_every=n_steps, seed=seed * 100 + s) for _, s in members]
    datas = [clean if c == "clean" else noisy for c, _ in members]
    final = train_many(models, datas, configs, device=device, progress=False).final()
    rows = []
    for member, (condition, s) in enumerate(members):
        for (split, metric), value in final.loc[member].items():
            rows.append({"width": h, "params": n_parameters(models[member]), "condition": condition, "seed": s,
                         "split": split, "metric": metric, "value": float(value)})
    return TaskOutput(rows)


def tasks(cfg: DoubleDescentConfig, device: str) -> list[Task]:
    shared = {"n_train": cfg.n_train, "n_test": cfg.n_test, "n_seeds": cfg.n_seeds, "label_noise": cfg.label_noise,
              "optimizer": cfg.optimizer, "lr": cfg.lr, "batch_size": cfg.batch_size, "n_steps": cfg.n_steps,
              "seed": cfg.seed, "device": device}
    return [Task(width_task, {"width": h, **shared}, label=f"width {h}") for h in cfg.widths]


def summarize(cfg: DoubleDescentConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    mean = metrics.groupby(["width", "condition", "split", "metric"], as_index=False).value.mean()
    h_star = threshold_width(cfg.n_train)
    err = mean[(mean.split == "test") & (mean.metric == "error")].pivot(index="width", columns="condition", values="value")
    noisy_err, clean_err = err["noisy"], err["clean"]
    first_min_w = int(noisy_err.loc[: h_star].idxmin()) if (noisy_err.index <= h_star).any() else int(noisy_err.index[0])
    after = noisy_err.loc[first_min_w:]
    peak_w = int(after.idxmax())
    peak_rise = float(after.max() - noisy_err.loc[first_min_w])
    clean_rise = float(max(0.0, np.max(clean_err.to_numpy() - np.minimum.accumulate(clean_err.to_numpy()))))
    comparisons = [
        Comparison("noisy: width of the test-error peak / threshold width", peak_w / h_star,
                   f"1 (peak at params = train examples; threshold h = {h_star:.1f})", (0.6, 1.7)),
        Comparison("noisy: test-error rise from first minimum to peak (points)", 100 * peak_rise, "~9 (41 % -> 50 %, Fig 8.10b)", (2.0, np.inf)),
        Comparison("noisy: test error at the largest width vs at the peak (points)",
                   100 * float(noisy_err.iloc[-1] - noisy_err.loc[peak_w]), "~-15 (50 % -> 35 %)", (-np.inf, -2.0), "second descent"),
        Comparison("clean: largest rise of test error above its running minimum (points)", 100 * clean_rise,
                   "0 (steady fall, Fig 8.10a)", (0.0, 2.0)),
    ]
    if cfg.n_train == 10000 and max(cfg.widths) >= 400:  # the paper setting: compare absolute numbers
        comparisons += [
            Comparison("noisy: test error at the peak", float(noisy_err.loc[peak_w]), 0.50, (0.45, 0.55)),
            Comparison("noisy: test error at h = 400", float(noisy_err.loc[400]), 0.35, (0.31, 0.39)),
            Comparison("clean: test error at h = 400", float(clean_err.loc[400]), 0.25, (0.21, 0.29)),
        ]
    headline = {"threshold_width": h_star, "noisy_peak_width": peak_w, "noisy_peak_rise": peak_rise, "clean_rise": clean_rise}
    return RunOutput(metrics, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    metrics = metrics.groupby(["width", "condition", "split", "metric"], as_index=False).value.mean()
    h_star = summary["metrics"]["threshold_width"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    for ax, condition in zip(axes[:2], ("clean", "noisy")):
        for split, color in (("train", "C0"), ("test", "C3")):
            sub = metrics[(metrics.condition == condition) & (metrics.split == split) & (metrics.metric == "error")]
            ax.plot(sub.width, 100 * sub.value, "o-", ms=3, color=color, label=f"{split} error")
        threshold_line(ax, h_star, "parameters = training examples")
        ax.set(xscale="log", xlabel="hidden units per layer", ylabel="error (%, mean over seeds)", ylim=(0, 80),
               title="no label noise" if condition == "clean" else "15 % label noise")
        ax.legend(fontsize=8)
    ax = axes[2]
    for condition, color in (("clean", "C0"), ("noisy", "C3")):
        sub = metrics[(metrics.condition == condition) & (metrics.split == "test") & (metrics.metric == "loss")]
        ax.plot(sub.width, sub.value, "o-", ms=3, color=color, label=f"test loss, {condition}")
    threshold_line(ax, h_star, "parameters = training examples")
    ax.set(xscale="log", yscale="log", xlabel="hidden units per layer", ylabel="test cross-entropy",
           title="Test loss: the peak is far more visible")
    ax.legend(fontsize=8)
    return save(fig, out_dir, "double_descent")


register(Experiment(
    name="double-descent",
    title="Model-wise double descent on MNIST-1D",
    question="Does test error keep rising with capacity once a model can fit noisy labels? (UDL Fig 8.10)",
    metrics_doc="Final train and test loss and error per width and condition (clean / noisy labels); params = parameter count.",
    config_cls=DoubleDescentConfig,
    scales={"smoke": {"n_train": 200, "n_test": 300, "widths": (2, 4, 8, 16), "n_steps": 100, "n_seeds": 1},
            "quick": {},
            "paper": {"n_train": 10000, "n_test": 5000, "widths": PAPER_WIDTHS, "n_steps": 4000, "n_seeds": 1}},
    estimates={"smoke": "2 s", "quick": "~1 min", "paper": "~4 h on CPU (GPU advised)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
    gpu_advised=True,
))
