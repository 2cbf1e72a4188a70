"""early-stopping: patience-based early stopping against label noise, and clean examples fitted first.

D2L 5.5.3 (seed 004): with label noise a network fits the cleanly labelled examples first and
only later interpolates the mislabelled ones (Rolnick et al. 2017; Arpit et al. 2017); early
stopping with a patience criterion on the validation error is therefore crucial with noisy
labels and gains little on clean, realizable data. Here: MNIST-1D (3200 training / 800
validation / 1000 test examples), 0 %, 15 % and 30 % of the training *and validation* labels
moved to another class (the validation set must carry the same noise as the training set to be
honest; the test labels are clean), an MLP 40-256-256-10 under Adam 1e-3, batches of 100.

Per noise level and seed three members of one population share the initialization and the
batch order: ``full`` trains every step (its last weights are "training to the end"),
``stopped`` is the engine's patience rule on the validation error with the best weights
restored, ``probe`` evaluates on the clean and on the mislabelled training examples (its
"validation" and "test" splits) to follow what the network has fitted over time.
"""

from __future__ import annotations

import dataclasses
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

SOURCE = "D2L 5.5.3 (seed 004); Rolnick et al. 2017"


@functools.lru_cache(maxsize=1)
def _mnist1d():
    from genlab.data import make_mnist1d

    return make_mnist1d()


def noisy_splits(noise: float, seed: int, n_train: int | None = None):
    """MNIST-1D with a 20 % validation split, ``noise`` of the training and validation labels moved
    to another class (mode 'different': every chosen label is wrong), clean test labels.

    Seeds derived from the run seed: split ``1000 s``, training noise ``1000 s + 1``, validation
    noise ``1000 s + 2``. ``n_train`` keeps the first training examples (smoke scale).
    """
    from genlab.data import ClassificationData, subsample_train, train_val_split, with_label_noise

    base = _mnist1d()
    if n_train is not None:
        base = subsample_train(base, n_train, seed=1000 * seed)
    split = train_val_split(base, 0.2, seed=1000 * seed)
    data = with_label_noise(split, noise, mode="different", seed=1000 * seed + 1)
    val_as_train = ClassificationData(split.x_val, split.y_val, split.x_test, split.y_test, split.n_classes)
    y_val = with_label_noise(val_as_train, noise, mode="different", seed=1000 * seed + 2).y_train
    return dataclasses.replace(data, y_val=y_val)


def probe_of(data):
    """The same training set, evaluated on its clean (``val``) and mislabelled (``test``) examples."""
    wrong = data.noise_mask
    return dataclasses.replace(data, x_val=data.x_train[~wrong], y_val=data.y_train[~wrong],
                               x_test=data.x_train[wrong], y_test=data.y_train[wrong])


def noise_task(noise: float, seeds: list, width: int, n_steps: int, lr: float, batch_size: int, eval_every: int,
               patience: int, n_train: int | None, device: str) -> TaskOutput:
    """One noise level: full / stopped (/ probe when some labels are wrong) members for every seed."""
    from genlab.models import MLP
    from genlab.train import TrainConfig, train_many

    members, models, datas, configs = [], [], [], []
    for s in seeds:
        data = noisy_splits(noise, s, n_train)
        base = TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, n_steps=n_steps, eval_every=eval_every,
                           monitor="val_error", seed=1000 * s + 3)
        roles = {"full": (data, base), "stopped": (data, base.replace(patience=patience, restore_best=True))}
        if data.noise_mask.any():
            roles["probe"] = (probe_of(data), base)
        for role, (d, cfg) in roles.items():
            members.append((s, role))
            models.append(MLP(40, 10, width=width, depth=2, seed=1000 * s + 4))  # same init in every role
            datas.append(d)
            configs.append(cfg)
    result = train_many(models, datas, configs, device=device, progress=False)
    names = {"full": {"train": "train", "val": "val", "test": "test"},
             "stopped": {"train": "train", "val": "val", "test": "test"},
             "probe": {"train": "train", "val": "clean", "test": "mislabelled"}}
    rows = []
    metrics = result.metrics
    for i, (s, role) in enumerate(members):
        sub = metrics[metrics.member == i]
        for split, metric, step, value in zip(sub.split, sub.metric, sub.step, sub.value):
            rows.append({"noise": noise, "seed": s, "role": role, "step": int(step),
                         "split": names[role][split], "metric": metric, "value": float(value)})
        if role == "stopped":
            final = result.final().loc[i]
            rows.append({"noise": noise, "seed": s, "role": role, "step": int(result.best_step[i] or 0),
                         "split": "test", "metric": "restored_error", "value": float(final[("test", "error")])})
            rows.append({"noise": noise, "seed": s, "role": role, "step": int(result.stopped_step[i]),
                         "split": "train", "metric": "stopped_step", "value": float(result.stopped_step[i])})
    return TaskOutput(rows)


@dataclass(frozen=True)
class EarlyStoppingConfig(ExperimentConfig):
    """Settings of the early-stopping experiment."""

    owner: ClassVar[str] = "early-stopping"
    noise_levels: tuple = param((0.0, 0.15, 0.3), "fractions of wrong training and validation labels", kind=float,
                                many=True, low=0.0, high=0.9, includes=0.0)
    width: int = param(256, "hidden units of each of the MLP's two layers", low=1)
    n_steps: int = param(2000, "Adam steps of training to the end", low=1)
    lr: float = param(1e-3, "Adam learning rate", kind=float, low=0.0, low_open=True)
    batch_size: int = param(100, "examples per step (reshuffled every epoch)", low=1)
    eval_every: int = param(32, "steps between evaluations (32 = one epoch of 3200 examples)", low=1)
    patience: int = param(10, "evaluations without a lower validation error before stopping", low=1)
    n_train: int = param(4000, "MNIST-1D training examples before the 20 % validation split (at most 4000)",
                         low=10, high=4000)

    def check(self):
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps,
                       eval_every=self.eval_every, patience=self.patience)


def tasks(cfg: EarlyStoppingConfig, device: str) -> list[Task]:
    return [Task(noise_task, {"noise": p, "seeds": list(cfg.seeds), "width": cfg.width, "n_steps": cfg.n_steps,
                              "lr": cfg.lr, "batch_size": cfg.batch_size, "eval_every": cfg.eval_every,
                              "patience": cfg.patience, "n_train": None if cfg.n_train >= 4000 else cfg.n_train,
                              "device": device}, label=f"noise={p:g}")
            for p in sorted(cfg.noise_levels, reverse=True)]


def _curve(metrics, noise, seed, role, split, metric) -> pd.Series:
    m = metrics[(metrics.noise == noise) & (metrics.seed == seed) & (metrics.role == role) & (metrics.split == split)
                & (metrics.metric == metric)]
    return m.set_index("step").value.sort_index()


def gains(metrics: pd.DataFrame, noise: float, seeds) -> list[float]:
    """Per seed: test error (points) of training to the end minus that of the patience-stopped model."""
    out = []
    for s in seeds:
        end = _curve(metrics, noise, s, "full", "test", "error").iloc[-1]
        stopped = _curve(metrics, noise, s, "stopped", "test", "restored_error").iloc[0]
        out.append(100 * float(end - stopped))
    return out


def half_fit_step(fit: pd.Series) -> float:
    """First logged step at which at least half of the examples are predicted as labelled (inf if never)."""
    reached = fit.index[fit.to_numpy() >= 0.5]
    return float(reached[0]) if len(reached) else np.inf


def clean_first_ratios(metrics: pd.DataFrame, noise: float, seeds) -> list[float]:
    """Per seed: step at which half the mislabelled examples are fitted over that of half the clean ones."""
    out = []
    for s in seeds:
        clean = 1 - _curve(metrics, noise, s, "probe", "clean", "error")
        wrong = 1 - _curve(metrics, noise, s, "probe", "mislabelled", "error")
        out.append(half_fit_step(wrong) / max(half_fit_step(clean), 1.0))
    return out


def summarize(cfg: EarlyStoppingConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    levels = sorted(cfg.noise_levels)
    noisy = [p for p in levels if p > 0]
    claims, comparisons, headline = [], [], {}
    gain = {p: gains(metrics, p, seeds) for p in levels}
    claims.append(in_band("without label noise early stopping gains about nothing (test error points)", seeds, gain[0.0],
                          (-2.0, 2.0), kind="qualitative", source=SOURCE,
                          published="little improvement on realizable data", note=f"patience {cfg.patience} evaluations"))
    if noisy:
        top = max(noisy)
        claims.append(in_band(f"with {100 * top:g} % label noise early stopping gains (test error points)", seeds,
                              gain[top], (2.0, 100.0), kind="qualitative", source=SOURCE,
                              published="crucial with label noise (~8 points at 40 % noise, phenomena.md §11)"))
        growth = [b - a for a, b in zip(gain[0.0], gain[top])]
        claims.append(per_seed(f"the gain grows with the noise (gain at {100 * top:g} % minus gain at 0 %, points)", seeds,
                               growth, [g > 1.0 for g in growth], kind="qualitative", source=SOURCE,
                               published="the gain grows with noise", band=(1.0, np.inf)))
        for p in noisy:
            ratio = clean_first_ratios(metrics, p, seeds)
            claims.append(in_band(f"{100 * p:g} % noise: clean examples fitted first (step half the mislabelled are "
                                  f"fitted / step half the clean are)", seeds, ratio, (2.0, np.inf), kind="qualitative",
                                  source=SOURCE, published="clean data first, mislabelled data only subsequently"))
        memorized = [float(1 - _curve(metrics, top, s, "probe", "mislabelled", "error").iloc[-1]) for s in seeds]
        claims.append(in_band(f"{100 * top:g} % noise: trained to the end, the network interpolates the mislabelled "
                              "examples (fraction fitted)", seeds, memorized, (0.9, 1.0), kind="qualitative", source=SOURCE,
                              published="it subsequently interpolates the mislabelled data",
                              note=f"after {cfg.n_steps} steps"))
    for p in levels:
        end = [100 * float(_curve(metrics, p, s, "full", "test", "error").iloc[-1]) for s in seeds]
        stop = [100 * float(_curve(metrics, p, s, "stopped", "test", "restored_error").iloc[0]) for s in seeds]
        steps = [float(_curve(metrics, p, s, "stopped", "train", "stopped_step").iloc[0]) for s in seeds]
        headline[f"noise={p:g}"] = {"test_error_end": float(np.mean(end)), "test_error_stopped": float(np.mean(stop)),
                                    "gain_points": float(np.mean(gain[p])), "stopped_step": float(np.mean(steps))}
        comparisons.append(Comparison(f"{100 * p:g} % noise: test error trained to the end / early-stopped (%, mean)",
                                      float(np.mean(end)), f"stopped {np.mean(stop):.1f}",
                                      f"per seed end {np.round(end, 1).tolist()}, stopped {np.round(stop, 1).tolist()}"))
        comparisons.append(Comparison(f"{100 * p:g} % noise: step at which patience stopped (mean over seeds)",
                                      float(np.mean(steps)), f"of {cfg.n_steps}",
                                      f"per seed {[int(v) for v in steps]}: the time saved (D2L)"))
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    levels = sorted(metrics.noise.unique())
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    err = metrics[(metrics.role == "full") & (metrics.metric == "error") & metrics.split.isin(["val", "test"])]
    for k, p in enumerate(levels):
        for split, ls in (("val", "-"), ("test", "--")):
            g = err[(err.noise == p) & (err.split == split)].groupby("step").value
            m = 100 * g.mean()
            axes[0].plot(m.index, m, color=f"C{k}", ls=ls, label=f"{100 * p:g} % noise, {split}")
            axes[0].fill_between(m.index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.15, lw=0)
        stop = metrics[(metrics.noise == p) & (metrics.metric == "restored_error")]
        axes[0].scatter(stop.step, 100 * stop.value, color=f"C{k}", marker="v", zorder=3,
                        label=f"{100 * p:g} %: early-stopped (best step, test)")
    axes[0].set(xlabel="Adam step", ylabel="error (%)", title="validation (noisy) and test (clean) error, training to the end")
    axes[0].legend(fontsize=7, ncol=2)
    probe = metrics[(metrics.role == "probe") & (metrics.metric == "error") & metrics.split.isin(["clean", "mislabelled"])
                    & (metrics.step > 0)]  # log-scaled steps
    for k, p in enumerate(levels):
        for split, ls in (("clean", "-"), ("mislabelled", ":")):
            g = probe[(probe.noise == p) & (probe.split == split)].groupby("step").value
            if g.ngroups == 0:
                continue
            m = 100 * (1 - g.mean())
            axes[1].plot(m.index, m, color=f"C{k}", ls=ls, label=f"{100 * p:g} % noise: {split} examples")
            axes[1].fill_between(m.index, 100 * (1 - g.max()), 100 * (1 - g.min()), color=f"C{k}", alpha=0.15, lw=0)
    axes[1].set(xlabel="Adam step (log scale)", ylabel="training examples fitted to their label (%)", xscale="log",
                title="clean examples are fitted first; mean and range over seeds")
    axes[1].legend(fontsize=8)
    return save(fig, out_dir, "early_stopping")


register(Experiment(
    name="early-stopping",
    steps="n_steps",
    title="Early stopping with noisy labels: patience against training to the end, clean examples first",
    question="How much does patience-based early stopping gain as label noise grows, and are clean examples fitted "
    "before mislabelled ones?",
    metrics_doc="Rows per noise level, seed, role (full: trained to the end; stopped: patience on the validation error, "
    "best weights restored; probe: the same training evaluated on its clean and mislabelled training examples), step, "
    "split (train, val = noisy validation, test = clean test; clean / mislabelled for the probe) and metric (loss, "
    "error = fraction not predicted as labelled; restored_error = test error of the early-stopped weights at their "
    "best step; stopped_step).",
    config_cls=EarlyStoppingConfig,
    scales={"smoke": {"width": 32, "n_steps": 60, "eval_every": 6, "patience": 3, "n_train": 500},
            "quick": {},
            "paper": {"n_steps": 6400}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Early stopping",
    order=30,
    series=("noise", "seed", "role", "split"),
    # Measured (CPU-s of one process, 200 steps of each task, scaled to the steps each member trains):
    # 0.3 and 0.15 tasks ~93 CPU-s each, the 0 task ~50: two workers ~145 s on an idle 2-core CPU.
    # The quick run here took 2033 s wall on a machine shared at load average ~25.
    estimates={"smoke": "~8 s", "quick": "131 s (measured, load ~3; 34 min at load 25)",
               "paper": "~8 min (projected: 6400 steps, 5 seeds)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
