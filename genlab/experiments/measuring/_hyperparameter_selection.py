"""hyperparameter-selection: choose on a validation set, test once.

MLPs of several widths and learning rates train on MNIST-1D (each width is one population, the
learning rates its members). Picking the configuration with the lowest *test* error and
reporting that error flatters the model; picking on a validation set and reporting the test
error is honest. A second, untouched test set measures how much each report flatters.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from genlab._checks import check_float, check_int
from genlab.data import make_mnist1d, train_val_split
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    check_values,
    register,
)
from genlab.experiments._plots import plt, save
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many


@dataclass(frozen=True)
class HyperparameterConfig:
    """Settings of the hyperparameter-selection experiment."""

    widths: tuple = (25, 50, 100, 200)
    lrs: tuple = (0.01, 0.03, 0.1, 0.3)
    n_steps: int = 2000
    batch_size: int = 100
    val_fraction: float = 0.2  #: of the 4000 training signals
    n_test: int = 1000  #: the test set the selection may (wrongly) look at
    n_fresh: int = 1000  #: an untouched second test set
    seed: int = 0

    def __post_init__(self):
        owner = "hyperparameter-selection"
        check_values(self, "widths", owner, low=1)
        check_values(self, "lrs", owner, kind=float, low=0.0)
        check_training(owner, n_steps=self.n_steps, batch_size=self.batch_size)
        check_float(self.val_fraction, "val_fraction", owner, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int(self.n_test, "n_test", owner, low=1)
        check_int(self.n_fresh, "n_fresh", owner, low=1)


@functools.lru_cache(maxsize=2)
def _data(n_test: int, n_fresh: int, val_fraction: float, seed: int):
    """Train/validation/test splits and the fresh test set (cached: a worker reuses them)."""
    n = 4000 + n_test + n_fresh
    full = train_val_split(make_mnist1d(n, train_split=4000 / n, seed=42 + seed), val_fraction, seed=seed)
    # Split the held-out part into the test set and a fresh test set nobody looks at.
    test = dataclasses.replace(full, x_test=full.x_test[:n_test], y_test=full.y_test[:n_test])
    fresh = SimpleNamespace(x=full.x_test[n_test:], y=full.y_test[n_test:])
    return test, fresh


def width_task(width: int, lrs: list, n_steps: int, batch_size: int, val_fraction: float, n_test: int, n_fresh: int,
               seed: int, device: str) -> TaskOutput:
    """One width, its learning rates as one population; errors on every split and the fresh set."""
    import torch

    test, fresh = _data(n_test, n_fresh, val_fraction, seed)
    w = width
    models = [MLP(40, 10, width=w, depth=2, seed=seed * 1000 + w) for _ in lrs]
    configs = [TrainConfig(lr=lr, batch_size=batch_size, n_steps=n_steps, eval_every=n_steps, seed=seed) for lr in lrs]
    result = train_many(models, test, configs, device=device, progress=False)
    final = result.final()
    rows = []
    for i, lr in enumerate(lrs):
        with torch.no_grad():
            logits = result.models[i](torch.tensor(fresh.x, dtype=torch.float32))
        fresh_err = float((logits.argmax(1).numpy() != fresh.y).mean())
        for split in ("train", "val", "test"):
            rows.append({"width": w, "lr": lr, "split": split, "metric": "error", "value": float(final.loc[i, (split, "error")])})
        rows.append({"width": w, "lr": lr, "split": "fresh", "metric": "error", "value": fresh_err})
    return TaskOutput(rows)


def tasks(cfg: HyperparameterConfig, device: str) -> list[Task]:
    shared = {"lrs": cfg.lrs, "n_steps": cfg.n_steps, "batch_size": cfg.batch_size, "val_fraction": cfg.val_fraction,
              "n_test": cfg.n_test, "n_fresh": cfg.n_fresh, "seed": cfg.seed, "device": device}
    return [Task(width_task, {"width": w, **shared}, label=f"width {w}") for w in cfg.widths]


def summarize(cfg: HyperparameterConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    table = metrics.pivot_table(index=["width", "lr"], columns="split", values="value")
    by_val, by_test = table["val"].idxmin(), table["test"].idxmin()
    honest = float(table.loc[by_val, "test"])
    flattering = float(table.loc[by_test, "test"])
    optimism_test = float(table.loc[by_test, "test"] - table.loc[by_test, "fresh"])
    optimism_val = float(table.loc[by_val, "test"] - table.loc[by_val, "fresh"])
    comparisons = [
        Comparison("test error of the configuration chosen on validation", honest, "~0.38-0.40 for the lecture MLP", None,
                   f"chosen: width {by_val[0]}, lr {by_val[1]}"),
        Comparison("test error of the configuration chosen on test (flattering)", flattering, "<= the honest one by construction",
                   (0.0, honest), f"chosen: width {by_test[0]}, lr {by_test[1]}"),
        Comparison("test-picked: reported test error - fresh test error", optimism_test, "< 0 on average (selection bias)", None,
                   f"validation-picked: {optimism_val:+.3f}"),
        Comparison("configurations compared", float(len(table)), "-", None),
    ]
    return RunOutput(metrics, comparisons, {"chosen_on_val": list(by_val), "chosen_on_test": list(by_test),
                                            "honest_test_error": honest, "flattering_test_error": flattering})


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    table = metrics.pivot_table(index=["width", "lr"], columns="split", values="value")
    widths = sorted(metrics.width.unique())
    lrs = sorted(metrics.lr.unique())
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, split, title in zip(axes, ("val", "test", "fresh"), ("validation (used to choose)", "test (looked at once)", "fresh test (never looked at)")):
        grid = np.array([[table.loc[(w, lr), split] for lr in lrs] for w in widths])
        im = ax.imshow(100 * grid, cmap="viridis_r", aspect="auto")
        ax.set(xticks=range(len(lrs)), xticklabels=[str(x) for x in lrs], yticks=range(len(widths)),
               yticklabels=[str(w) for w in widths], xlabel="learning rate", title=f"{title} error (%)")
        for i in range(len(widths)):
            for j in range(len(lrs)):
                ax.text(j, i, f"{100 * grid[i, j]:.1f}", ha="center", va="center", color="w", fontsize=8)
        ax.grid(False)
    axes[0].set_ylabel("hidden units per layer")
    fig.colorbar(im, ax=axes, shrink=0.8, label="error (%)")
    return save(fig, out_dir, "hyperparameter_selection", tight_layout=False)


register(Experiment(
    name="hyperparameter-selection",
    title="Choosing hyperparameters: train, validation, test",
    question="How much does choosing hyperparameters on the test set flatter the reported error?",
    metrics_doc="Final error per (width, lr) on train, validation, test and a fresh test set never used for anything.",
    config_cls=HyperparameterConfig,
    scales={"smoke": {"widths": (10, 20), "lrs": (0.05, 0.2), "n_steps": 100}, "quick": {}, "paper": {"n_steps": 6000}},
    estimates={"smoke": "2 s", "quick": "5 s", "paper": "2 min"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
