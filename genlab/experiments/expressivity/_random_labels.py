"""random-labels: a network fits random labels, shuffled and random inputs (Zhang et al. 2017).

The MNIST-1D MLP (two hidden ReLU layers, many more parameters than examples, Adam, no
regularization) is trained on five versions of the same training set: the true labels, uniform
random labels (drawn once and kept), features shuffled by one fixed permutation (train and
test), features permuted anew for every example, and Gaussian inputs with the data's mean and
std. Every version is fitted to 100 % training accuracy; only the test accuracy tells them
apart. A sweep of the label-corruption level (each label redrawn uniformly from all classes
with probability p, as Zhang et al.) shows test error and the time to fit growing with p.
Every (version, seed) pair is one member of a population trained in lockstep.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from genlab.data import (
    make_mnist1d,
    with_gaussian_inputs,
    with_label_noise,
    with_random_features,
    with_random_labels,
    with_shuffled_features,
)
from genlab.experiments._claims import in_band
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    register,
)
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.models import MLP, n_parameters
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

VARIANTS = ("true", "random_labels", "shuffled_features", "random_features", "gaussian_inputs")
LABELS = {"true": "true labels", "random_labels": "random labels", "shuffled_features": "shuffled features (one permutation)",
          "random_features": "random features (permutation per example)", "gaussian_inputs": "Gaussian inputs"}
SOURCE = "Zhang et al. 2017 (ICLR), 'Understanding deep learning requires rethinking generalization'"
FIT_ACCURACY = 0.99  #: "fitted": training accuracy at least this (first evaluation reaching it; the last
# few examples make the step of 100 % noisy)


@dataclass(frozen=True)
class RandomLabelsConfig(ExperimentConfig):
    """Settings of the randomization tests on MNIST-1D."""

    owner: ClassVar[str] = "random-labels"
    n_train: int = param(4000, "training examples (MNIST-1D)", low=10)
    n_test: int = param(1000, "test examples", low=10)
    width: int = param(256, "hidden units per layer (two hidden layers)", low=1)
    corruptions: tuple = param((0.2, 0.4, 0.6, 0.8), "label-corruption levels of the sweep besides 0 (true) and 1 (random)",
                               kind=float, many=True, low=0.0, high=1.0, low_open=True, high_open=True)
    n_steps: int = param(4000, "Adam steps (100 epochs at 4000 examples, batch 100)", low=1)
    lr: float = param(1e-3, "Adam learning rate (above ~1e-2 random labels can stall)", kind=float, low=0.0, low_open=True)
    batch_size: int = param(100, "examples per step, reshuffled every epoch", low=1)
    eval_every: int = param(50, "steps between evaluations (the resolution of 'steps to fit')", low=1)

    def check(self):
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps,
                       eval_every=self.eval_every)


def conditions(cfg: RandomLabelsConfig) -> list[str]:
    """The five variants, then the corruption levels as ``corrupt_P``."""
    return list(VARIANTS) + [f"corrupt_{p:g}" for p in sorted(cfg.corruptions)]


def corruption_of(condition: str) -> float | None:
    """The corruption level of a condition on the sweep's axis (true = 0, random labels = 1)."""
    if condition == "true":
        return 0.0
    if condition == "random_labels":
        return 1.0
    return float(condition.split("_", 1)[1]) if condition.startswith("corrupt_") else None


@functools.lru_cache(maxsize=4)
def _clean(n_train: int, n_test: int, seed: int):
    n = n_train + n_test
    return make_mnist1d(n, train_split=n_train / n, seed=42 + seed)  # seed s: its own data draw


def make_variant(condition: str, n_train: int, n_test: int, seed: int):
    """The training set of ``condition`` for run seed ``seed`` (labels and permutations drawn once)."""
    data = _clean(n_train, n_test, seed)
    s = 1000 * seed + 7  # seed of the labels / permutations / Gaussian draw
    if condition == "true":
        return data
    if condition == "random_labels":
        return with_random_labels(data, seed=s)
    if condition == "shuffled_features":
        return with_shuffled_features(data, seed=s)
    if condition == "random_features":
        return with_random_features(data, seed=s)
    if condition == "gaussian_inputs":
        return with_gaussian_inputs(data, seed=s)
    return with_label_noise(data, corruption_of(condition), mode="resample", seed=s)


def population_task(conditions: list, seeds: list, n_train: int, n_test: int, width: int, n_steps: int, lr: float,
                    batch_size: int, eval_every: int, device: str) -> TaskOutput:
    """Some conditions x the run's seeds as one population (seed s: data draw, init, batch order)."""
    members = [(c, s) for c in conditions for s in seeds]
    models = [MLP(40, 10, width=width, depth=2, seed=1000 * s + 1) for _, s in members]
    datas = [make_variant(c, n_train, n_test, s) for c, s in members]
    configs = [TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, n_steps=n_steps, eval_every=eval_every,
                           seed=1000 * s + 2) for _, s in members]
    result = train_many(models, datas, configs, device=device, progress=False)
    m = result.metrics
    m = m[m.metric == "error"]
    rows = []
    for i, (c, s) in enumerate(members):
        for split in ("train", "test"):
            sub = m[(m.member == i) & (m.split == split)]
            rows += [{"condition": c, "seed": s, "step": int(t), "metric": f"{split}_accuracy", "value": 1.0 - float(v)}
                     for t, v in zip(sub.step, sub.value)]
    return TaskOutput(rows, {"n_parameters": n_parameters(models[0])})


def tasks(cfg: RandomLabelsConfig, device: str) -> list[Task]:
    conds = conditions(cfg)
    halves = [conds[0::2], conds[1::2]]  # two populations of about equal size: the two workers run them side by side
    common = {"seeds": list(cfg.seeds), "n_train": cfg.n_train, "n_test": cfg.n_test, "width": cfg.width,
              "n_steps": cfg.n_steps, "lr": cfg.lr, "batch_size": cfg.batch_size, "eval_every": cfg.eval_every,
              "device": device}
    return [Task(population_task, {"conditions": h, **common}, label="+".join(h)) for h in halves if h]


def per_condition(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (condition, seed): final train / test accuracy (%) and the first step fitted."""
    rows = []
    for (c, s), g in metrics.groupby(["condition", "seed"]):
        train = g[g.metric == "train_accuracy"].sort_values("step")
        test = g[g.metric == "test_accuracy"].sort_values("step")
        fitted = train.step[train.value >= FIT_ACCURACY]
        rows.append({"condition": c, "seed": s, "train": 100 * train.value.iloc[-1], "test": 100 * test.value.iloc[-1],
                     "steps_to_fit": float(fitted.iloc[0]) if len(fitted) else np.inf})
    return pd.DataFrame(rows).set_index(["condition", "seed"])


def summarize(cfg: RandomLabelsConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    t = per_condition(metrics)
    seeds = list(cfg.seeds)
    conds = conditions(cfg)

    def col(c, name):
        return np.array([t.loc[(c, s), name] for s in seeds])

    claims = []
    worst = [min(t.loc[(c, s), "train"] for c in conds) for s in seeds]
    claims.append(in_band("every version fitted: lowest final train accuracy over the versions (%)", seeds, worst,
                          (99.9, 100.0), kind="published", source=f"{SOURCE}, Fig. 1a and Table 1", published=100.0,
                          note="true, random labels, shuffled / random features, Gaussian inputs and every corruption level"))
    for c in ("random_labels", "gaussian_inputs"):
        claims.append(in_band(f"{LABELS[c]}: test accuracy at chance (%)", seeds, col(c, "test"), (6.0, 14.0),
                              kind="published", source=f"{SOURCE}, Table 1 (random labels: test ~10 %, chance)",
                              published=10.0, note="1000 test examples: binomial std ~1 point; a label leak or a "
                              "wrong test split lands far outside"))
    true = col("true", "test")
    claims.append(in_band("true labels minus random labels: test accuracy (points)", seeds, true - col("random_labels", "test"),
                          (15.0, 100.0), kind="qualitative", source=f"lecture (seed 002), {SOURCE}",
                          published="generalizes on true labels, chance on random labels"))
    claims.append(in_band("shuffled features (one permutation) minus true labels: test accuracy (points)", seeds,
                          col("shuffled_features", "test") - true, (-5.0, 5.0), kind="published",
                          source="Greydanus 2020, Table 1 (MLP 68 % on MNIST-1D and on shuffled MNIST-1D)", published=0.0,
                          note="a fully connected layer cannot see a fixed permutation of its inputs"))
    rf = col("random_features", "test")
    gap = np.minimum(true - rf, rf - col("gaussian_inputs", "test"))
    claims.append(in_band("random features lie between true labels and Gaussian inputs: smaller gap (points)", seeds, gap,
                          (3.0, 100.0), kind="qualitative", source=f"{SOURCE}, Sec. 2 (random pixels)",
                          published="true > random pixels > Gaussian",
                          note="the values of a signal, without their order, still carry some class information"))
    ratio = col("random_labels", "steps_to_fit") / col("true", "steps_to_fit")
    claims.append(in_band("random labels take longer to fit: steps to fit, random / true labels", seeds, ratio, (1.05, 10.0),
                          kind="qualitative", source=f"{SOURCE}, Fig. 1a-b ('only a small constant factor' slower)",
                          published="> 1, a small constant factor",
                          note=f"steps to fit = first evaluation with train accuracy >= {100 * FIT_ACCURACY:g} %"))
    levels = sorted((corruption_of(c), c) for c in conds if corruption_of(c) is not None)
    xs = [p for p, _ in levels]
    if len(levels) >= 3:
        rho = [float(spearmanr(xs, [100 - t.loc[(c, s), "test"] for _, c in levels]).statistic) for s in seeds]
        claims.append(in_band(f"test error grows with label corruption (Spearman rank correlation over {len(xs)} levels)",
                              seeds, rho, (0.85, 1.0), kind="qualitative", source=f"{SOURCE}, Fig. 1c",
                              published="increasing", note="corruption 0 = true labels, 1 = random labels"))
    low = [(p, c) for p, c in levels if p <= 0.5]
    if len(low) >= 3:
        rho = []
        for s in seeds:
            y = [t.loc[(c, s), "steps_to_fit"] for _, c in low]
            rho.append(float(spearmanr([p for p, _ in low], y).statistic) if np.all(np.isfinite(y)) else np.nan)
        claims.append(in_band(f"time to fit grows with label corruption up to 50 % (Spearman over {len(low)} levels)",
                              seeds, rho, (0.85, 1.0), kind="qualitative", source=f"{SOURCE}, Fig. 1b",
                              published="convergence time increasing with the corruption level",
                              note="above ~50 % the steps to fit saturate here (75 % and 100 % are equal within the "
                              "evaluation spacing); Zhang et al.'s curves keep rising up to 100 %: see the figure"))
    comparisons = [Comparison(f"{LABELS[c]}: final test accuracy, mean over {len(seeds)} seeds (%)",
                              float(col(c, "test").mean()), pub, f"{cfg.n_train} training examples")
                   for c, pub in (("true", "63.4 at 4000 examples (phenomena.md, verified run)"),
                                  ("random_labels", "~10 (chance)"), ("shuffled_features", "= true labels"),
                                  ("random_features", "~28 at 4000 examples (phenomena.md)"), ("gaussian_inputs", "~10"))]
    for p, c in levels:
        comparisons.append(Comparison(f"corruption {p:g}: steps to fit, mean over seeds", float(col(c, "steps_to_fit").mean()),
                                      None, f"batch {cfg.batch_size}: {cfg.n_train // cfg.batch_size} steps per epoch"))
    headline = {"test_accuracy_true": float(true.mean()), "test_accuracy_random_labels": float(col("random_labels", "test").mean()),
                "fit_slowdown_random_labels": float(np.mean(ratio)), "n_parameters": outputs[0].values.get("n_parameters")}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.0))
    for k, c in enumerate(VARIANTS):
        for ax, metric in zip(axes[:2], ("train_accuracy", "test_accuracy")):
            g = metrics[(metrics.condition == c) & (metrics.metric == metric)].groupby("step").value
            mean = 100 * g.mean()
            ax.plot(mean.index, mean, color=f"C{k}", label=LABELS[c])
            ax.fill_between(mean.index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.2, lw=0)
    axes[0].set(xlabel="Adam step", ylabel="train accuracy (%)", title="every version is fitted (mean, range over seeds)")
    axes[1].set(xlabel="Adam step", ylabel="test accuracy (%)", title="only the test accuracy tells them apart")
    axes[0].legend(fontsize=8, loc="lower right")
    t = per_condition(metrics).reset_index()
    t["p"] = [corruption_of(c) for c in t.condition]
    t = t.dropna(subset=["p"])
    ax = axes[2]
    err = t.assign(err=100 - t.test).groupby("p").err
    ax.plot(err.mean().index, err.mean(), "o-", color="C3", label="test error (%)")
    ax.fill_between(err.mean().index, err.min(), err.max(), color="C3", alpha=0.2, lw=0)
    ax.set(xlabel="label corruption p (fraction redrawn uniformly)", ylabel="test error (%)",
           title="test error and time to fit grow with corruption")
    ax2 = ax.twinx()
    st = t.groupby("p").steps_to_fit
    ax2.plot(st.mean().index, st.mean(), "s--", color="C4", label="steps to fit")
    ax2.fill_between(st.mean().index, st.min(), st.max(), color="C4", alpha=0.15, lw=0)
    ax2.set_ylabel(f"steps to fit (train accuracy >= {100 * FIT_ACCURACY:g} %)")
    lines = ax.get_legend_handles_labels(), ax2.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], fontsize=8, loc="upper left")
    return save(fig, out_dir, "random_labels")


register(Experiment(
    name="random-labels",
    steps="n_steps",
    title="Fitting random labels and random inputs (Zhang et al. 2017)",
    question="Can the network fit labels and inputs that carry no signal, and what then tells memorizing from learning?",
    metrics_doc="train_accuracy and test_accuracy per condition (true, random_labels, shuffled_features, random_features, "
    "gaussian_inputs, corrupt_P = labels redrawn uniformly with probability P), seed and evaluation step. "
    "Steps to fit = first evaluation with train accuracy >= 99 %.",
    config_cls=RandomLabelsConfig,
    scales={"smoke": {"n_train": 100, "n_test": 200, "width": 64, "corruptions": (0.5,), "n_steps": 200,
                      "batch_size": 50, "lr": 3e-3, "eval_every": 25},
            "quick": {"n_train": 1000, "width": 128, "corruptions": (0.25, 0.5, 0.75), "n_steps": 1200,
                      "eval_every": 25},
            "paper": {}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 3},
    section="Memorization: random labels",
    order=10,
    series=("condition", "seed"),
    estimates={"smoke": "3 CPU-s", "quick": "40 CPU-s (~25 s on 2 idle cores; 540 s wall measured at load average 22)",
               "paper": "~9 CPU-min, ~5 min on 2 cores (projected from quick: 1.1x members, 3.3x steps, 3.4x parameters)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
