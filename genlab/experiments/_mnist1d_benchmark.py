"""mnist1d-benchmark: the MNIST-1D paper's table (logistic, MLP, CNN, GRU; plain and shuffled).

The reference recipe (greydanus/mnist1d notebooks): Adam lr 0.01, batch 100 taken in order
without reshuffling, evaluation every 250 steps, 6000 steps; the paper's "early stopping" is the
best logged test accuracy. Seeds of each model train together (the MLP and logistic runs as
batched matmuls, the CNN under vmap; the GRU member by member). Public re-runs of the reference
code give the MLP ~63-65 %, not the table's 68 %: we report what we measure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from genlab._checks import check_int
from genlab.data import make_mnist1d
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    check_values,
    register,
)
from genlab.experiments._plots import plt, save
from genlab.models import MNIST1DCNN, MNIST1DGRU, LogisticRegression, lecture_mlp
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

MODELS = {
    "logistic": lambda seed: LogisticRegression(seed=seed),
    "mlp": lambda seed: lecture_mlp(seed=seed, residual=True),  # the benchmark's MLPBase
    "cnn": lambda seed: MNIST1DCNN(seed=seed),
    "gru": lambda seed: MNIST1DGRU(seed=seed),
}
# Paper Table 1, test accuracy % (mean +- std over 3 runs).
PUBLISHED = {
    ("mnist1d", "logistic"): (32, 1), ("mnist1d", "mlp"): (68, 2), ("mnist1d", "cnn"): (94, 2), ("mnist1d", "gru"): (91, 2),
    ("shuffled", "logistic"): (32, 1), ("shuffled", "mlp"): (68, 2), ("shuffled", "cnn"): (56, 2), ("shuffled", "gru"): (57, 2),
}


@dataclass(frozen=True)
class BenchmarkConfig:
    """Settings of the MNIST-1D benchmark."""

    models: tuple = ("logistic", "mlp", "cnn", "gru")
    n_seeds: int = 3
    n_steps: int = 6000
    gru_steps: int = 6000  #: the GRU is ~10x slower than the CNN per step
    gru_seeds: int = 3
    lr: float = 0.01
    batch_size: int = 100
    eval_every: int = 250
    seed: int = 0

    def __post_init__(self):
        owner = "mnist1d-benchmark"
        check_values(self, "models", owner, choices=list(MODELS))
        check_int(self.n_seeds, "n_seeds", owner, low=1)
        check_int(self.gru_seeds, "gru_seeds", owner, low=1)
        check_int(self.gru_steps, "gru_steps", owner, low=1)
        check_training(owner, optimizer="adam", lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps,
                       eval_every=self.eval_every)


@functools.lru_cache(maxsize=1)
def _datasets() -> dict:
    return {"mnist1d": make_mnist1d(), "shuffled": make_mnist1d(shuffle_seq=True)}


def model_task(model: str, n_seeds: int, n_steps: int, lr: float, batch_size: int, eval_every: int, seed: int,
               device: str) -> TaskOutput:
    """One model kind: its seeds on both datasets as one population."""
    datasets = _datasets()
    name, steps = model, n_steps
    members = [(d, s) for d in datasets for s in range(n_seeds)]
    models = [MODELS[name](seed * 100 + s) for _, s in members]
    configs = [TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, shuffle=False, n_steps=steps,
                           eval_every=eval_every, seed=s) for _, s in members]
    result = train_many(models, [datasets[d] for d, _ in members], configs, device=device, progress=False)
    rows = []
    for i, (d, s) in enumerate(members):
        curve = result.curve(i, "test", "error")
        for step, value in zip(curve.step, curve.value):
            rows.append({"model": name, "dataset": d, "seed": s, "step": int(step), "metric": "test_accuracy", "value": 1 - value})
        train_err = result.curve(i, "train", "error").value.iloc[-1]
        rows.append({"model": name, "dataset": d, "seed": s, "step": steps, "metric": "final_train_accuracy", "value": 1 - train_err})
    return TaskOutput(rows)


def tasks(cfg: BenchmarkConfig, device: str) -> list[Task]:
    return [Task(model_task, {"model": name, "n_seeds": cfg.gru_seeds if name == "gru" else cfg.n_seeds,
                              "n_steps": cfg.gru_steps if name == "gru" else cfg.n_steps, "lr": cfg.lr,
                              "batch_size": cfg.batch_size, "eval_every": cfg.eval_every, "seed": cfg.seed,
                              "device": device}, label=name) for name in cfg.models]


def summarize(cfg: BenchmarkConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    acc = metrics[metrics.metric == "test_accuracy"]
    final = acc[acc.step == acc.groupby(["model", "dataset"]).step.transform("max")]
    best = acc.groupby(["model", "dataset", "seed"]).value.max().reset_index()
    comparisons, headline = [], {}
    for (d, name), (pub, sd) in PUBLISHED.items():
        if name not in cfg.models:
            continue
        b = 100 * best[(best.model == name) & (best.dataset == d)].value
        f = 100 * final[(final.model == name) & (final.dataset == d)].value
        note = f"final {f.mean():.1f} +- {f.std(ddof=0):.1f}; best-logged is the paper's early stopping"
        if name == "mlp" and d == "mnist1d":
            note += "; public re-runs of the reference code get ~63-65 % (mnist1d issue #17)"
        comparisons.append(Comparison(f"{d}: {name} test accuracy (best logged, mean of {len(b)}) %", float(b.mean()), f"{pub} +- {sd}",
                                      (pub - 3 * sd, pub + 3 * sd), note))
        headline[f"{d}/{name}"] = float(b.mean())
    order = [m for m in ("cnn", "gru", "mlp", "logistic") if m in cfg.models]
    means = [headline[f"mnist1d/{m}"] for m in order]
    ordered = all(a > b for a, b in zip(means, means[1:]))
    comparisons.append(Comparison("ordering " + " > ".join(order) + " on MNIST-1D (1 = holds)", float(ordered), 1.0, (1.0, 1.0)))
    return RunOutput(metrics, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    acc = metrics[metrics.metric == "test_accuracy"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, d in zip(axes, ("mnist1d", "shuffled")):
        for k, name in enumerate(sorted(acc.model.unique(), key=list(MODELS).index)):
            g = acc[(acc.model == name) & (acc.dataset == d)].groupby("step").value
            m = 100 * g.mean()
            ax.plot(m.index, m, color=f"C{k}", label=name)
            ax.fill_between(m.index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.2, lw=0)
            pub = PUBLISHED[(d, name)][0]
            ax.axhline(pub, color=f"C{k}", ls=":", lw=1)
        ax.set(xlabel="Adam step", ylabel="test accuracy (%)", ylim=(0, 100),
               title=f"MNIST-1D{' (shuffled)' if d == 'shuffled' else ''}: dotted = paper")
        ax.legend(fontsize=8, loc="lower right")
    return save(fig, out_dir, "mnist1d_benchmark")


register(Experiment(
    name="mnist1d-benchmark",
    title="The MNIST-1D benchmark: logistic regression, MLP, CNN, GRU",
    question="Which inductive biases matter on MNIST-1D, and which vanish when the positions are shuffled?",
    metrics_doc="test_accuracy per model, dataset (mnist1d / shuffled), seed and logged step; final_train_accuracy.",
    config_cls=BenchmarkConfig,
    scales={"smoke": {"n_steps": 60, "gru_steps": 10, "n_seeds": 1, "gru_seeds": 1, "eval_every": 20},
            "quick": {"n_steps": 2000, "gru_steps": 1000, "gru_seeds": 1},
            "paper": {}},
    estimates={"smoke": "5 s", "quick": "~20 s", "paper": "~40 min on CPU (the GRU dominates)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
