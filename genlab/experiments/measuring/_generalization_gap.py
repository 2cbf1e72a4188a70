"""generalization-gap: UDL Fig 8.2, the lecture MLP on MNIST-1D.

40-100-100-10 ReLU, SGD lr 0.1, batch 100, 6000 steps on 4000 training signals (the book's
setting): training error reaches 0 while test error levels off near 38 %, and the test loss,
after an early minimum, rises as the network grows over-confident. Several seeds train at once
with the population engine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genlab._checks import check_int
from genlab.data import make_mnist1d
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    pack_models,
    register,
    unpack_models,
)
from genlab.experiments._plots import plt, save
from genlab.models import lecture_mlp
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many


@dataclass(frozen=True)
class GeneralizationGapConfig:
    """Settings of the generalization-gap experiment (UDL section 8.1)."""

    n_seeds: int = 3  #: independent runs (initialization and batch order)
    n_steps: int = 6000
    lr: float = 0.1
    momentum: float = 0.0
    schedule: str = "constant"  #: 'step' halves every step_every steps (the UDL notebook: every 10 epochs = 400)
    step_every: int = 400
    batch_size: int = 100
    eval_every: int = 200
    n_samples: int = 5000  #: MNIST-1D size (4000 train / 1000 test)
    seed: int = 0

    def __post_init__(self):
        owner = "generalization-gap"
        check_int(self.n_seeds, "n_seeds", owner, low=1)
        check_training(owner, lr=self.lr, momentum=self.momentum, schedule=self.schedule, step_every=self.step_every,
                       batch_size=self.batch_size, n_steps=self.n_steps, eval_every=self.eval_every)
        check_int(self.n_samples, "n_samples", owner, low=10)


def train_task(device: str, **fields) -> TaskOutput:
    """The seeds as one population (one task): per-seed curves and the trained models."""
    cfg = GeneralizationGapConfig(**fields)
    data = make_mnist1d(cfg.n_samples)
    seeds = [cfg.seed * 1000 + k for k in range(cfg.n_seeds)]
    models = [lecture_mlp(seed=s) for s in seeds]
    train_cfg = [TrainConfig(lr=cfg.lr, momentum=cfg.momentum, schedule=cfg.schedule, step_every=cfg.step_every,
                             batch_size=cfg.batch_size, n_steps=cfg.n_steps, eval_every=cfg.eval_every, seed=s) for s in seeds]
    result = train_many(models, data, train_cfg, device=device, progress=False)
    return TaskOutput(result.metrics.to_dict("records"), {"mode": result.modes[0]},
                      pack_models({f"seed-{s}": m for s, m in zip(seeds, result.models)}))


def tasks(cfg: GeneralizationGapConfig, device: str) -> list[Task]:
    return [Task(train_task, {"device": device, **dataclasses.asdict(cfg)}, label=f"{cfg.n_seeds} seeds")]


def summarize(cfg: GeneralizationGapConfig, outputs: list[TaskOutput]) -> RunOutput:
    (out,) = outputs
    metrics = pd.DataFrame(out.records)
    mean = metrics.groupby(["step", "split", "metric"]).value.mean().unstack(["split", "metric"])
    final = mean.iloc[-1]
    test_loss = mean[("test", "loss")]
    min_step = int(test_loss.idxmin())
    comparisons = [
        Comparison("final training error", float(final[("train", "error")]), 0.0, (0.0, 0.01), "Fig 8.2a: train error -> 0"),
        Comparison("final test error", float(final[("test", "error")]), 0.38, (0.35, 0.42), "Fig 8.2a: ~38-40 %"),
        Comparison("step of the test-loss minimum", min_step, 2000, (1000, 3000), "Fig 8.2b"),
        Comparison("minimum test loss", float(test_loss.min()), 1.25, (0.9, 1.4)),
        Comparison("final / minimum test loss", float(test_loss.iloc[-1] / test_loss.min()), "2.2 / 1.25 = 1.76", (1.2, np.inf),
                   "the test loss rises while the test error stays flat"),
    ]
    headline = {"final_test_error": float(final[("test", "error")]), "final_train_error": float(final[("train", "error")]),
                "test_loss_min_step": min_step, "mode": out.values["mode"]}
    return RunOutput(metrics, comparisons, headline, models=unpack_models(out.blob))


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    for ax, metric, ylabel in ((axes[0], "error", "error (%)"), (axes[1], "loss", "cross-entropy loss")):
        for split, color in (("train", "C0"), ("test", "C3")):
            sub = metrics[(metrics.split == split) & (metrics.metric == metric)]
            g = sub.groupby("step").value
            scale = 100 if metric == "error" else 1
            m, lo, hi = g.mean() * scale, g.min() * scale, g.max() * scale
            ax.plot(m.index, m, color=color, label=split)
            ax.fill_between(m.index, lo, hi, color=color, alpha=0.2, lw=0)
        ax.set(xlabel="SGD step", ylabel=ylabel)
        ax.legend()
    n = metrics.member.nunique()
    axes[0].set_title(f"Error (mean and range over {n} seeds)")
    axes[1].set_title("Loss: test loss rises after its minimum")
    return save(fig, out_dir, "generalization_gap")


register(Experiment(
    name="generalization-gap",
    title="Training and test performance of the lecture MLP on MNIST-1D",
    question="Does driving the training error to zero drive the test error to zero? (UDL Fig 8.2)",
    metrics_doc="Tidy per-seed curves from the engine: member, step, split (train/test), metric (loss = cross-entropy, "
    "error = fraction misclassified), value.",
    config_cls=GeneralizationGapConfig,
    scales={"smoke": {"n_seeds": 2, "n_steps": 200, "eval_every": 50, "n_samples": 1000},
            "quick": {}, "paper": {"n_seeds": 10}},
    estimates={"smoke": "2 s", "quick": "5 s", "paper": "45 s"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
