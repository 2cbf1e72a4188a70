"""ratt-bound: a guarantee on the test error from randomly labelled unlabelled data (RATT).

D2L 5.5.3 (seed 004): whenever a model has fitted the cleanly labelled data but not the randomly
labelled examples included in its training set, it has in fact generalized (Garg et al. 2021,
"RATT: Leveraging Unlabeled Data to Guarantee Generalization", ICML). Randomly Assign, Train
and Track: ``m`` unlabelled examples get labels drawn uniformly from the ``k`` classes, join the
``n`` labelled ones, and training proceeds as usual. The k-class bound (the paper's multiclass
theorem, Theorem 3) holds with probability at least ``1 - delta`` over the random labels::

    test error <= E_S + (k - 1) - k E_R + (k + sqrt(k) + m / (n sqrt(k))) sqrt(log(4 / delta) / (2 m))

with ``E_S`` the error on the labelled training part and ``E_R`` the error on the randomly
labelled part (with respect to its random labels). A model that memorizes nothing of the random
labels errs on ``(k - 1) / k`` of them, the middle term vanishes and the bound is the clean
training error plus the confidence term; every memorized random label costs ``k`` times its
share. The confidence term falls as ``1 / sqrt(m)`` only, with a coefficient ``~k + sqrt(k)``:
with ``k = 10`` it is ~0.11 at ``m = 30,000`` (prototypes with a few hundred unlabelled digits
left it at ~0.8).

Here: MNIST-1D drawn anew per seed (10 classes; ``n`` labelled, ``m`` randomly labelled, a clean
test set), the MNIST-1D benchmark CNN (weight sharing fits the clean signal quickly and memorizes
single random labels slowly: an MLP memorized them as fast as it learned, leaving the bound
vacuous) under SGD with momentum. Every evaluation logs the error on the whole training set,
on the labelled part (the engine's ``val`` split) and on the test set; the randomly labelled
part's error follows exactly from the first two (``E_R = ((n + m) E_all - n E_S) / m``: the counts
of errors add up), which spares evaluating its examples twice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

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
from genlab.sweep import Task, TaskOutput

SOURCE = "Garg et al. 2021 (ICML), multiclass bound (Theorem 3); D2L 5.5.3 (seed 004)"
N_CLASSES = 10


def confidence_term(n: int, m: int, k: int, delta: float) -> float:
    """The k-class RATT bound's finite-sample term ``(k + sqrt(k) + m / (n sqrt(k))) sqrt(log(4/delta) / (2m))``."""
    return float((k + np.sqrt(k) + m / (n * np.sqrt(k))) * np.sqrt(np.log(4 / delta) / (2 * m)))


def ratt_bound(clean_error, random_error, n: int, m: int, k: int, delta: float):
    """Garg et al.'s k-class upper bound on the test error (holds w.p. >= 1 - delta over the random labels).

    ``clean_error``: error on the ``n`` labelled training examples; ``random_error``: error on the
    ``m`` randomly labelled ones with respect to their random labels (arrays broadcast). The
    leading term ``E_S + (k - 1) - k E_R`` is the one the authors' code computes
    (github.com/acmi-lab/RATT_generalization_bound, ``model_helper.pred_accuracy``: ``pred_err =
    (100 - train_acc) + (k - 1) (100 - k / (k - 1) (100 - noisy_acc))``, without the confidence term).
    """
    clean_error = np.asarray(clean_error, dtype=float)
    random_error = np.asarray(random_error, dtype=float)
    return clean_error + (k - 1) - k * random_error + confidence_term(n, m, k, delta)


@functools.lru_cache(maxsize=4)
def ratt_data(seed: int, n_clean: int, n_random: int, n_test: int):
    """MNIST-1D drawn with seed ``1000 s + 1``; the last ``n_random`` training examples get uniform random labels.

    Labels are drawn uniformly over all ``k`` classes (``1000 s + 2``), as RATT assigns them: about
    one in ten equals the true label. The labelled part is also the ``val`` split, so that the engine
    logs its error at every evaluation.
    """
    from genlab.data import ClassificationData, make_mnist1d

    total = n_clean + n_random + n_test
    base = make_mnist1d(10 * -(-total // 10), train_split=(n_clean + n_random) / (10 * -(-total // 10)),
                        seed=1000 * seed + 1)
    x, y_true = base.x_train[: n_clean + n_random], base.y_train[: n_clean + n_random]
    y_random = np.random.default_rng(1000 * seed + 2).integers(0, N_CLASSES, n_random)
    y = np.concatenate([y_true[:n_clean], y_random])
    mask = np.zeros(len(y), dtype=bool)
    mask[n_clean:] = True
    return ClassificationData(x, y, base.x_test[:n_test], base.y_test[:n_test], N_CLASSES, name="mnist1d-ratt",
                              x_val=x[:n_clean], y_val=y_true[:n_clean], y_train_clean=y_true, noise_mask=mask,
                              meta={"n_clean": n_clean, "n_random": n_random, "seed": 1000 * seed + 1})


def seeds_task(seeds: list, n_clean: int, n_random: int, n_test: int, channels: int, n_steps: int, lr: float,
               momentum: float, batch_size: int, eval_every: int, device: str) -> TaskOutput:
    """The seeds as members of one population: a CNN per seed, each on its own data draw."""
    from genlab.models import MNIST1DCNN
    from genlab.train import TrainConfig, train_many

    models = [MNIST1DCNN(channels, N_CLASSES, seed=1000 * s + 3) for s in seeds]
    datas = [ratt_data(s, n_clean, n_random, n_test) for s in seeds]
    configs = [TrainConfig(optimizer="sgd", lr=lr, momentum=momentum, batch_size=batch_size, n_steps=n_steps,
                           eval_every=eval_every, seed=1000 * s + 4) for s in seeds]
    result = train_many(models, datas, configs, device=device, progress=False)
    metrics = result.metrics
    metrics = metrics[metrics.metric == "error"]
    names = {"train": "all", "val": "clean", "test": "test"}
    rows = []
    for i, s in enumerate(seeds):
        sub = metrics[metrics.member == i]
        for split, step, value in zip(sub.split, sub.step, sub.value):
            rows.append({"seed": s, "step": int(step), "split": names[split], "value": float(value)})
    return TaskOutput(rows)


@dataclass(frozen=True)
class RattConfig(ExperimentConfig):
    """Settings of the RATT experiment."""

    owner: ClassVar[str] = "ratt-bound"
    n_clean: int = param(20000, "labelled MNIST-1D training examples (n)", low=10)
    n_random: int = param(30000, "unlabelled training examples given uniform random labels (m)", low=10)
    n_test: int = param(3000, "clean test examples", low=10)
    delta: float = param(0.1, "the bound fails with probability at most delta", kind=float, low=0.0, high=1.0,
                         low_open=True, high_open=True)
    channels: int = param(25, "channels of the MNIST-1D CNN's three convolutions", low=1)
    n_steps: int = param(4000, "SGD steps", low=1)
    lr: float = param(0.05, "SGD learning rate", kind=float, low=0.0, low_open=True)
    momentum: float = param(0.9, "SGD momentum", kind=float, low=0.0, high=1.0, high_open=True)
    batch_size: int = param(100, "examples per step (reshuffled every epoch)", low=1)
    eval_every: int = param(400, "steps between evaluations of the three errors", low=1)

    def check(self):
        check_training(self.owner, lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps,
                       eval_every=self.eval_every)


def tasks(cfg: RattConfig, device: str) -> list[Task]:
    seeds = list(cfg.seeds)
    groups = [g for g in (seeds[0::2], seeds[1::2]) if g]  # two workers
    return [Task(seeds_task, {"seeds": g, "n_clean": cfg.n_clean, "n_random": cfg.n_random, "n_test": cfg.n_test,
                              "channels": cfg.channels, "n_steps": cfg.n_steps, "lr": cfg.lr, "momentum": cfg.momentum,
                              "batch_size": cfg.batch_size, "eval_every": cfg.eval_every, "device": device},
                 label="seeds=" + ",".join(map(str, g)))
            for g in groups]


def curves(metrics: pd.DataFrame, seed: int, n: int, m: int, delta: float) -> pd.DataFrame:
    """One seed's errors by step: all, clean, test, random (derived), bound and the bound's leading part."""
    sub = metrics[(metrics.seed == seed) & metrics.split.isin(["all", "clean", "test"])]
    c = sub.pivot_table(index="step", columns="split", values="value").sort_index()
    c["random"] = ((n + m) * c["all"] - n * c["clean"]) / m
    c["bound"] = ratt_bound(c["clean"], c["random"], n, m, N_CLASSES, delta)
    c["leading"] = c["bound"] - confidence_term(n, m, N_CLASSES, delta)
    return c


def first_below(series: pd.Series, level: float) -> float:
    """First logged step at which the series is at or below ``level`` (inf if never)."""
    hit = series.index[series.to_numpy() <= level]
    return float(hit[0]) if len(hit) else np.inf


def bound_margins(c: pd.DataFrame) -> float:
    """Smallest bound - test error over the logged steps (points)."""
    return 100 * float((c["bound"] - c["test"]).min())


def gap_at_minimum(c: pd.DataFrame) -> float:
    """Bound - test error (points) at the step where the bound is smallest."""
    at = c["bound"].idxmin()
    return 100 * float(c.loc[at, "bound"] - c.loc[at, "test"])


def stopping_regret(c: pd.DataFrame) -> float:
    """Test error (points) at the bound's minimum above the best logged test error (early stopping by the bound)."""
    return 100 * float(c.loc[c["bound"].idxmin(), "test"] - c["test"].min())


def clean_first_ratio(c: pd.DataFrame, clean_level: float, random_level: float) -> float:
    """Step at which the random part's error first falls to ``random_level`` over that of the clean part to ``clean_level``."""
    return first_below(c["random"], random_level) / max(first_below(c["clean"], clean_level), 1.0)


def summarize(cfg: RattConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    n, m = cfg.n_clean, cfg.n_random
    conf = confidence_term(n, m, N_CLASSES, cfg.delta)
    per = {s: curves(metrics, s, n, m, cfg.delta) for s in seeds}
    derived = [(s, c.reset_index()) for s, c in per.items()]
    for s, c in derived:  # the derived curves are part of the metrics the figure and the claims read
        for col in ("random", "bound", "leading"):
            metrics = pd.concat([metrics, pd.DataFrame({"seed": s, "step": c.step.astype(int), "split": col,
                                                        "value": c[col].astype(float)})], ignore_index=True)
    claims, comparisons = [], []
    margins = [bound_margins(per[s]) for s in seeds]
    claims.append(per_seed("the bound lies above the test error at every logged step (smallest bound - test error, "
                           "points)", seeds, margins, [v >= 0 for v in margins], kind="qualitative", source=SOURCE,
                           published=f"holds with probability >= 1 - delta = {1 - cfg.delta:g}", band=(0.0, np.inf),
                           note=f"k = {N_CLASSES}, n = {n}, m = {m}; evaluated every {cfg.eval_every} steps"))
    gaps = [gap_at_minimum(per[s]) for s in seeds]
    claims.append(in_band("at the bound's minimum it is tight: bound - test error (points)", seeds, gaps,
                          (0.0, 100 * conf + 8.0), kind="qualitative", source=SOURCE,
                          published="the bound tracks the test error closely at early stopping",
                          note=f"band: the confidence term ({100 * conf:.1f} points, fixed by n, m, k, delta) plus 8 "
                          f"points: k = {N_CLASSES} times the random part's sampling std ({100 * np.sqrt(0.09 / m):.2f} "
                          "points) three times over, and ~0.3 % of the random labels memorized beyond chance"))
    regret = [stopping_regret(per[s]) for s in seeds]
    claims.append(in_band("stopping at the bound's minimum is early stopping: its test error above the best logged "
                          "(points)", seeds, regret, (0.0, 3.0), kind="qualitative", source=SOURCE,
                          published="the bound is tightest around the early-stopping point",
                          note="the steps of the two minima are in the comparisons; at quick scale the test error still "
                          "falls at the last step and no random labels are memorized yet, so both minima are at the end"))
    ratio = [clean_first_ratio(per[s], 0.4, 0.8) for s in seeds]
    claims.append(in_band("clean examples fitted first (step the random part's error reaches 80 % / step the clean "
                          "part's reaches 40 %)", seeds, ratio, (2.0, np.inf), kind="qualitative",
                          source="D2L 5.5.3 (seed 004); Garg et al. 2021 (early learning)",
                          published="clean data first, randomly labelled data only subsequently",
                          note=f"chance on the random part is {100 * (1 - 1 / N_CLASSES):g} %; inf: never within "
                          f"{cfg.n_steps} steps"))
    at = {s: per[s]["bound"].idxmin() for s in seeds}
    best = {s: per[s]["test"].idxmin() for s in seeds}
    comparisons.append(Comparison("confidence term of the k-class bound (points)", 100 * conf,
                                  "(k + sqrt k + m/(n sqrt k)) sqrt(log(4/delta)/(2m))",
                                  f"k = {N_CLASSES}, n = {n}, m = {m}, delta = {cfg.delta:g}"))
    comparisons.append(Comparison("test error / bound at the bound's minimum (%, mean over seeds)",
                                  float(np.mean([100 * per[s].loc[at[s], "test"] for s in seeds])),
                                  f"bound {np.mean([100 * per[s].loc[at[s], 'bound'] for s in seeds]):.1f}",
                                  "per seed test " + str([round(float(100 * per[s].loc[at[s], "test"]), 1) for s in seeds])
                                  + ", bound " + str([round(float(100 * per[s].loc[at[s], "bound"]), 1) for s in seeds])))
    comparisons.append(Comparison("step of the bound's minimum / of the best logged test error (mean)",
                                  float(np.mean(list(at.values()))), f"best test {np.mean(list(best.values())):.0f}",
                                  f"per seed {[int(v) for v in at.values()]} / {[int(v) for v in best.values()]}"))
    comparisons.append(Comparison("error on the random part at the bound's minimum (%, mean)",
                                  float(np.mean([100 * per[s].loc[at[s], "random"] for s in seeds])),
                                  f"chance {100 * (1 - 1 / N_CLASSES):g}",
                                  "below chance = memorized random labels"))
    comparisons.append(Comparison("bound - test error at the bound's minimum (points, mean)", float(np.mean(gaps)),
                                  "Garg et al. 2021: the multiclass bound is non-vacuous and tracks the test error",
                                  "the paper's printed MNIST / CIFAR-10 numbers (its results table and figures) could not "
                                  "be read from this sandbox's stored copies; the formula is Theorem 3 as given above"))
    headline = {"confidence_term": conf, "gap_at_min_points": float(np.mean(gaps)),
                "test_error_at_bound_min": float(np.mean([per[s].loc[at[s], "test"] for s in seeds])),
                "bound_min": float(np.mean([per[s]["bound"].min() for s in seeds]))}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    styles = {"bound": ("C3", "-", "RATT bound (k-class)"), "leading": ("C3", ":", "bound without the confidence term"),
              "test": ("C0", "-", "test error (clean labels)")}
    for split, (color, ls, label) in styles.items():
        g = metrics[metrics.split == split].groupby("step").value
        axes[0].plot(g.mean().index, 100 * g.mean(), color=color, ls=ls, label=label)
        axes[0].fill_between(g.mean().index, 100 * g.min(), 100 * g.max(), color=color, alpha=0.15, lw=0)
    axes[0].set(xlabel="SGD step", ylabel="error (%)", ylim=(0, 100),
                title="the bound from the random part beside the true test error")
    axes[0].legend(fontsize=8)
    for split, color, label in (("clean", "C2", "labelled part (n)"), ("random", "C1", "randomly labelled part (m)")):
        g = metrics[metrics.split == split].groupby("step").value
        axes[1].plot(g.mean().index, 100 * g.mean(), color=color, label=label)
        axes[1].fill_between(g.mean().index, 100 * g.min(), 100 * g.max(), color=color, alpha=0.15, lw=0)
    axes[1].axhline(100 * (1 - 1 / N_CLASSES), color="0.5", ls="--", lw=1, label="chance on random labels")
    axes[1].set(xlabel="SGD step", ylabel="training error (%)", ylim=(0, 100),
                title="clean examples are fitted first; mean and range over seeds")
    axes[1].legend(fontsize=8)
    return save(fig, out_dir, "ratt_bound")


register(Experiment(
    name="ratt-bound",
    steps="n_steps",
    title="RATT: a test-error guarantee from randomly labelled unlabelled data",
    question="Does the error on randomly labelled training examples give an upper bound on the test error that holds "
    "in every seed and is tight at the early-stopping point, and are clean examples fitted first?",
    metrics_doc="Rows per seed, step and split of the error (fraction not predicted as labelled): all = the whole "
    "training set (labelled + randomly labelled), clean = the labelled part, test = clean test set; derived from "
    "these: random = the randomly labelled part against its random labels, bound = the k-class RATT bound, leading = "
    "the bound without its confidence term.",
    config_cls=RattConfig,
    scales={"smoke": {"n_clean": 300, "n_random": 600, "n_test": 200, "channels": 8, "n_steps": 20, "eval_every": 10},
            "quick": {},
            "paper": {"n_clean": 20000, "n_random": 60000, "n_test": 10000, "n_steps": 16000, "eval_every": 500}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Early stopping",
    order=40,
    series=("seed", "split"),
    # Measured: one seed's task at quick scale 62 CPU-s in one process (51 user + 11 sys), so ~190 CPU-s for the
    # three seeds (~100 s on 2 idle cores); the quick run took 800 s wall at load ~20. Paper: 4x the steps on
    # 80,000 training examples, ~260 CPU-s per seed projected from quick's cost per example pass.
    estimates={"smoke": "~4 s", "quick": "~100 s (190 CPU-s measured; 800 s wall at load 20)",
               "paper": "~11 min (projected: 5 seeds, 16000 steps)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
