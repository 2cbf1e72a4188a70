"""mnist1d-benchmark: the MNIST-1D paper's table (logistic, MLP, CNN, GRU; plain and shuffled).

The reference recipe (greydanus/mnist1d notebooks): Adam lr 0.01, batch 100 taken in order
without reshuffling, evaluation every 250 steps, 6000 steps. The paper's "early stopping" is the
best logged *test* accuracy: a selection on the test set, which the lecture says never to do, so
the headline here is the final test accuracy (mean +- std over seeds) and the best-logged number
is shown beside it, labelled as test-selected. Seeds of each model train together (the MLP and
logistic runs as batched matmuls, the CNN under vmap; the GRU member by member). Public re-runs
of the reference code give the MLP ~63-65 %, not the table's 68 %: we report what we measure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab.data import make_mnist1d
from genlab.experiments._claims import in_band, per_seed
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    register,
)
from genlab.experiments._params import ExperimentConfig, param
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
# Greydanus 2020, "Scaling down deep learning", Table 1: test accuracy % (mean +- std over 3 runs).
PUBLISHED = {
    ("mnist1d", "logistic"): (32, 1), ("mnist1d", "mlp"): (68, 2), ("mnist1d", "cnn"): (94, 2), ("mnist1d", "gru"): (91, 2),
    ("shuffled", "logistic"): (32, 1), ("shuffled", "mlp"): (68, 2), ("shuffled", "cnn"): (56, 2), ("shuffled", "gru"): (57, 2),
}


@dataclass(frozen=True)
class BenchmarkConfig(ExperimentConfig):
    """Settings of the MNIST-1D benchmark."""

    owner: ClassVar[str] = "mnist1d-benchmark"
    models: tuple = param(("logistic", "mlp", "cnn", "gru"), "model kinds", kind=str, many=True, choices=list(MODELS))
    n_steps: int = param(6000, "Adam steps (logistic, MLP, CNN)", low=1)
    gru_steps: int = param(6000, "Adam steps of the GRU (about 10x slower per step than the CNN)", low=1)
    lr: float = param(0.01, "Adam learning rate", kind=float, low=0.0, low_open=True)
    batch_size: int = param(100, "examples per step, taken in order (no reshuffling)", low=1)
    eval_every: int = param(250, "steps between logged test accuracies", low=1)

    def check(self):
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps,
                       eval_every=self.eval_every)


@functools.lru_cache(maxsize=1)
def _datasets() -> dict:
    return {"mnist1d": make_mnist1d(), "shuffled": make_mnist1d(shuffle_seq=True)}


def model_task(model: str, seeds: list, n_steps: int, lr: float, batch_size: int, eval_every: int,
               device: str) -> TaskOutput:
    """One model kind: the run's seeds on both datasets as one population (seed s: init and batch order)."""
    datasets = _datasets()
    name, steps = model, n_steps
    members = [(d, s) for d in datasets for s in seeds]
    models = [MODELS[name](s) for _, s in members]
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
    return [Task(model_task, {"model": name, "seeds": cfg.seeds, "n_steps": cfg.gru_steps if name == "gru" else cfg.n_steps,
                              "lr": cfg.lr, "batch_size": cfg.batch_size, "eval_every": cfg.eval_every, "device": device},
                 label=name) for name in cfg.models]


SOURCE = "Greydanus 2020, Table 1"


def summarize(cfg: BenchmarkConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    acc = metrics[metrics.metric == "test_accuracy"]
    last = acc.groupby(["model", "dataset", "seed"]).step.transform("max")
    final = acc[acc.step == last].set_index(["model", "dataset", "seed"]).value * 100
    best = acc.groupby(["model", "dataset", "seed"]).value.max() * 100
    seeds = list(cfg.seeds)
    claims, comparisons, headline = [], [], {}
    for (d, name), (pub, sd) in PUBLISHED.items():
        if name not in cfg.models:
            continue
        f = np.array([final[(name, d, s)] for s in seeds])
        b = np.array([best[(name, d, s)] for s in seeds])
        headline[f"{d}/{name}"] = {"final_mean": float(f.mean()), "final_std": float(f.std(ddof=1)) if len(f) > 1 else 0.0}
        steps = cfg.gru_steps if name == "gru" else cfg.n_steps
        note = f"{steps} steps; the paper's protocol: best logged test accuracy (selects on the test set)"
        if name == "mlp" and d == "mnist1d":
            note += "; public re-runs of the reference code get ~63-65 % (mnist1d issue #17)"
        if steps >= (1000 if name == "gru" else 2000):
            # The paper's number against the same protocol (a check of the implementation, not a
            # generalization estimate), with a band of 3 published std: a wrong model misses it by far.
            claims.append(in_band(f"{d}: {name} test accuracy, the paper's protocol (%)", seeds, b, (pub - 3 * sd, pub + 3 * sd),
                                  kind="published", source=SOURCE, published=f"{pub} +- {sd}", note=note))
        comparisons.append(Comparison(f"{d}: {name} final test accuracy, mean +- std over {len(f)} seeds (%)", float(f.mean()),
                                      f"{pub} +- {sd} ({SOURCE}, test-selected)",
                                      f"std {f.std(ddof=1) if len(f) > 1 else 0:.1f}; no selection; {steps} steps"))
    strong = [m for m in ("cnn", "gru") if m in cfg.models]
    chain = [m for m in ("mlp", "logistic") if m in cfg.models]
    if strong and chain:
        # The lecture's point: the models with a spatial or temporal prior beat the MLP, which beats
        # a linear model. CNN vs GRU (94 vs 91 in the paper) is within a few points' seed noise at
        # quick scale, so it is shown as a number, not claimed.
        def smallest_gap(s):
            levels = [min(final[(m, "mnist1d", s)] for m in strong)] + [final[(m, "mnist1d", s)] for m in chain]
            return min(a - b for a, b in zip(levels, levels[1:]))

        gaps = [smallest_gap(s) for s in seeds]
        claims.append(per_seed(f"{' and '.join(strong)} > {' > '.join(chain)} on MNIST-1D, final accuracy (smallest gap, points)",
                               seeds, gaps, [g > 0 for g in gaps], kind="qualitative", source=f"lecture (seed 000), {SOURCE}",
                               published="CNN 94, GRU 91 > MLP 68 > logistic 32"))
    if set(strong) == {"cnn", "gru"}:
        cg = [final[("cnn", "mnist1d", s)] - final[("gru", "mnist1d", s)] for s in seeds]
        comparisons.append(Comparison("CNN minus GRU final test accuracy, mean over seeds (points)", float(np.mean(cg)), f"3 ({SOURCE})",
                                      "per seed " + ", ".join(f"{v:.1f}" for v in cg)))
    for name, rule in (("cnn", "drops"), ("gru", "drops"), ("mlp", "keeps"), ("logistic", "keeps")):
        if name not in cfg.models or (name == "gru" and cfg.gru_steps < 1000):
            continue
        drop = [final[(name, "mnist1d", s)] - final[(name, "shuffled", s)] for s in seeds]
        if rule == "drops":  # the spatial prior is lost: the paper's drop is 38 (CNN) and 34 (GRU) points
            claims.append(in_band(f"shuffling the positions costs the {name}, final accuracy (points)", seeds, drop, (15.0, 100.0),
                                  kind="qualitative", source=f"lecture (seed 000), {SOURCE}",
                                  published=f"{PUBLISHED[('mnist1d', name)][0] - PUBLISHED[('shuffled', name)][0]}"))
        else:
            # A fixed permutation of the inputs is invisible to a fully connected layer: the two runs differ by
            # seed noise only. The band is 3 std of a difference of two final accuracies whose seed std is
            # about 1.5 points (genlab quick run, MLP), apart by a margin from the drops' band above.
            claims.append(in_band(f"shuffling the positions leaves the {name} unchanged, final accuracy (points)", seeds, drop,
                                  (-6.0, 6.0), kind="qualitative", source=f"lecture (seed 000), {SOURCE}", published="0"))
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    acc = metrics[metrics.metric == "test_accuracy"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, d in zip(axes, ("mnist1d", "shuffled")):
        for k, name in enumerate(sorted(acc.model.unique(), key=list(MODELS).index)):
            g = acc[(acc.model == name) & (acc.dataset == d)].groupby("step").value
            m = 100 * g.mean()
            ax.plot(m.index, m, color=f"C{k}", label=name)
            ax.fill_between(m.index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.2, lw=0)  # seeds' range
            pub = PUBLISHED[(d, name)][0]
            ax.axhline(pub, color=f"C{k}", ls=":", lw=1)
        ax.set(xlabel="Adam step", ylabel="test accuracy (%)", ylim=(0, 100),
               title=f"MNIST-1D{' (shuffled)' if d == 'shuffled' else ''}: mean and range over seeds; dotted = paper")
        ax.legend(fontsize=8, loc="lower right")
    return save(fig, out_dir, "mnist1d_benchmark")


register(Experiment(
    name="mnist1d-benchmark",
    steps=("n_steps", "gru_steps"),
    title="The MNIST-1D benchmark: logistic regression, MLP, CNN, GRU",
    question="Which inductive biases matter on MNIST-1D, and which vanish when the positions are shuffled?",
    metrics_doc="test_accuracy per model, dataset (mnist1d / shuffled), seed and logged step; final_train_accuracy. "
    "The headline is the final test accuracy (no selection); the best logged one is test-selected and labelled so.",
    config_cls=BenchmarkConfig,
    scales={"smoke": {"n_steps": 60, "gru_steps": 10, "eval_every": 20},
            "quick": {"n_steps": 2000, "gru_steps": 1000},
            "paper": {}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 3},
    section="MNIST-1D and its benchmark",
    order=10,
    series=("model", "dataset", "seed"),
    estimates={"smoke": "5 s", "quick": "~20 s", "paper": "~40 min on CPU (the GRU dominates)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
