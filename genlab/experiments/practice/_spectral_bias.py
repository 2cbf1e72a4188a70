"""spectral-bias: seed 003's spectral-bias demo (Rahaman et al. 2019), measured.

MLP [1, 64, 64, 64, 64, 1] with GELU on 60 noisy samples of sin(2 pi x) (sigma 0.45, x ~ U[-1, 1]),
a second noisy set of 60 for validation, full-batch Adam lr 1e-3 (the setting of
../shared/reference/phenomena.md section 6). The fit at several moments of training comes from
members of one population that stop at those steps: full-batch training is deterministic and
each member trains as if alone, so the member stopped at step T *is* the long run's fit at T.
Its Fourier content is read on a 512-point grid of [-1, 1): amplitude of the target's
frequency (2 cycles) and the energy at >= ``high_k`` cycles (none in the target: fitted noise).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from genlab.data import RegressionData, make_noisy_sine
from genlab.experiments._claims import in_band, rise_above_running_min
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    register,
)
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

SOURCE = "lecture (seed 003): spectral-bias demo; Rahaman et al. 2019"
GRID = np.linspace(-1, 1, 512, endpoint=False)  # periodic grid for the FFT
TARGET_K = 2  # sin(2 pi x) makes 2 cycles on [-1, 1)


def fourier_amplitudes(values: np.ndarray) -> np.ndarray:
    """Amplitude of each frequency (cycles per the interval [-1, 1)) of values on ``GRID``."""
    f = np.fft.rfft(np.asarray(values, dtype=np.float64))
    a = 2 * np.abs(f) / len(values)
    a[0] /= 2
    return a


@dataclass(frozen=True)
class SpectralConfig(ExperimentConfig):
    """Settings of the spectral-bias experiment."""

    owner: ClassVar[str] = "spectral-bias"
    snapshots: tuple = param((50, 100, 200, 400, 800, 1500, 3000), "steps at which the fit is kept (the last is the "
                             "run's length)", many=True, low=1)
    lr: float = param(1e-3, "full-batch Adam learning rate", kind=float, low=0.0, low_open=True)
    eval_every: int = param(50, "steps between logged train and validation losses", low=1)
    width: int = param(64, "hidden units per layer (4 hidden layers)", low=1)
    high_k: int = param(6, "frequencies >= high_k cycles count as fitted noise", low=3)

    def check(self):
        check_training(self.owner, optimizer="adam", lr=self.lr, n_steps=max(self.snapshots), eval_every=self.eval_every)


def spectral_data(seed: int) -> RegressionData:
    """The demo's 60 train and 60 validation points (x as a column); the test set is the clean sine on ``GRID``."""
    d = make_noisy_sine(60, noise_std=0.45, n_val=60, seed=seed)
    col = lambda v: v[:, None]  # noqa: E731  (n,) -> (n, 1)
    return dataclasses.replace(d, x_train=col(d.x_train), x_val=col(d.x_val), x_test=col(GRID), y_test=np.sin(2 * np.pi * GRID))


def spectral_mlp(seed: int, width: int = 64) -> MLP:
    """The demo's MLP [1, width x 4, 1] with GELU and PyTorch's default init (init seed ``1000 seed + 5``)."""
    return MLP(1, 1, width=width, depth=4, activation="gelu", seed=1000 * seed + 5)


def spectral_task(seed: int, snapshots: list, lr: float, eval_every: int, width: int) -> TaskOutput:
    """One seed: members stopping at each snapshot, the fit on the grid and the longest member's curves."""
    d = make_noisy_sine(60, noise_std=0.45, n_val=60, seed=seed)
    data = spectral_data(seed)
    models = [spectral_mlp(seed, width) for _ in snapshots]
    init = spectral_mlp(seed, width)
    configs = [TrainConfig(optimizer="adam", lr=lr, batch_size=None, n_steps=t, eval_every=min(eval_every, t), loss="mse",
                           seed=seed) for t in snapshots]
    res = train_many(models, data, configs, progress=False)
    rows = []
    longest = int(np.argmax(snapshots))
    for split, name in (("train", "train_mse"), ("val", "val_mse"), ("test", "clean_mse")):
        c = res.curve(longest, split, "loss")
        rows += [{"seed": seed, "step": int(t), "metric": name, "value": float(v)} for t, v in zip(c.step, c.value)]
    for split, xs, ys in (("train", d.x_train, d.y_train), ("val", d.x_val, d.y_val)):  # for the figure
        rows += [{"seed": seed, "step": 0, "metric": f"{split}_point", "x": float(x), "value": float(v)} for x, v in zip(xs, ys)]
    grid = torch.as_tensor(GRID[:, None], dtype=torch.float32)
    for t, m in [(0, init)] + list(zip(snapshots, models)):
        with torch.no_grad():
            pred = m.eval()(grid)[:, 0].double().numpy()
        rows += [{"seed": seed, "step": int(t), "metric": "fit", "x": float(x), "value": float(v)} for x, v in zip(GRID, pred)]
        amp = fourier_amplitudes(pred)
        rows += [{"seed": seed, "step": int(t), "metric": "amplitude", "k": k, "value": float(a)} for k, a in enumerate(amp[:33])]
    return TaskOutput(rows)


def tasks(cfg: SpectralConfig, device: str) -> list[Task]:
    return [Task(spectral_task, {"seed": s, "snapshots": sorted(cfg.snapshots), "lr": cfg.lr, "eval_every": cfg.eval_every,
                                 "width": cfg.width}, label=f"seed {s}") for s in cfg.seeds]


def content(metrics: pd.DataFrame, high_k: int) -> pd.DataFrame:
    """Per (seed, step): amplitude of the target frequency and the RMS amplitude at >= high_k cycles."""
    a = metrics[metrics.metric == "amplitude"]
    low = a[a.k == TARGET_K].set_index(["seed", "step"]).value
    high = a[a.k >= high_k].groupby(["seed", "step"]).value.apply(lambda v: math.sqrt(float(np.sum(v**2))))
    return pd.DataFrame({"target": low, "high": high})


def summarize(cfg: SpectralConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    c = content(metrics, cfg.high_k)
    val = metrics[metrics.metric == "val_mse"].pivot_table(index="seed", columns="step", values="value")
    train = metrics[metrics.metric == "train_mse"].pivot_table(index="seed", columns="step", values="value")
    best_step = val.idxmin(axis=1).loc[seeds]
    last = max(cfg.snapshots)
    snaps = [0] + sorted(cfg.snapshots)

    def first_reaching(series: pd.Series, frac: float) -> float:
        """First snapshot step at which ``series`` reaches ``frac`` of its final value."""
        s = series.droplevel("seed")
        return float(s.index[np.argmax(s.to_numpy() >= frac * s.iloc[-1])])

    t_low = [first_reaching(c.target.loc[[s]], 0.8) for s in seeds]
    t_high = [first_reaching(c.high.loc[[s]], 0.8) for s in seeds]
    claims = [in_band("low frequencies first: step where the noise (>= "
                      f"{cfg.high_k} cycles) reaches 80 % of its final energy / step where the target frequency reaches 80 % "
                      "of its final amplitude", seeds, np.array(t_high) / np.array(t_low), (4.0, math.inf),
                      kind="qualitative", source=SOURCE, published="low-frequency (smooth) features first, "
                      "high-frequency noise later", note=f"snapshot steps {snaps}")]
    at_best = []
    for s in seeds:
        near = min(snaps, key=lambda t: abs(t - best_step[s]))  # the snapshot closest to early stopping
        at_best.append((c.loc[(s, near), "target"], c.loc[(s, near), "high"] / c.loc[(s, last), "high"]))
    claims.append(in_band("at the early-stopping point the sine is already learned: amplitude of sin(2 pi x) in the fit",
                          seeds, [a for a, _ in at_best], (0.6, 1.2), kind="qualitative", source=SOURCE,
                          published="early in training the network produces a good fit (amplitude 1)"))
    claims.append(in_band("... while little of the noise is: noise energy there / at the end", seeds, [h for _, h in at_best],
                          (0.0, 0.5), kind="qualitative", source=SOURCE, published="noise memorization comes later"))
    claims.append(in_band(f"validation loss turns up (early stopping pays): val MSE at step {last} / at its minimum", seeds,
                          (val[last] / val.min(axis=1)).loc[seeds], (1.2, math.inf), kind="qualitative", source=SOURCE,
                          published="validation loss first decreases, then increases"))
    claims.append(in_band(f"training loss keeps falling: train MSE at step {last} / at the early-stopping step", seeds,
                          [train.loc[s, last] / train.loc[s, best_step[s]] for s in seeds], (0.0, 0.8), kind="qualitative",
                          source=SOURCE, published="training loss decreases monotonically",
                          note="largest rise above the running minimum (full batch): "
                          + ", ".join(f"{rise_above_running_min(train.loc[s].dropna()):.3g}" for s in seeds)))
    comparisons = [
        Comparison("early-stopping step (best validation MSE), mean over seeds", float(best_step.mean()),
                   "~200 (genlab reference run, phenomena.md section 6; not published)",
                   f"per seed {', '.join(str(int(v)) for v in best_step)}"),
        Comparison("best validation MSE, mean over seeds", float(val.min(axis=1).loc[seeds].mean()),
                   "0.31 (genlab reference run, phenomena.md section 6); noise floor 0.2025", ""),
        Comparison(f"validation MSE at step {last}, mean over seeds", float(val[last].loc[seeds].mean()),
                   "0.47 at step 2000, 0.74 at 20000 (genlab reference run)", ""),
    ]
    headline = {"best_step": float(best_step.mean()), "best_val_mse": float(val.min(axis=1).mean())}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    s0 = int(metrics.seed.min())
    fit = metrics[(metrics.metric == "fit") & (metrics.seed == s0)]
    steps = sorted(fit.step.unique())
    cmap = plt.get_cmap("viridis")
    for k, t in enumerate(steps):
        f = fit[fit.step == t].sort_values("x")
        axes[0].plot(f.x, f.value, color=cmap(k / max(1, len(steps) - 1)), lw=1, label=f"step {t}")
    for split, color in (("train", "C0"), ("val", "C1")):
        pts = metrics[(metrics.metric == f"{split}_point") & (metrics.seed == s0)]
        axes[0].plot(pts.x, pts.value, "o", color=color, ms=3, label=split)
    axes[0].plot(GRID, np.sin(2 * np.pi * GRID), "k--", lw=1, label="sin(2 pi x)")
    axes[0].set(xlabel="x", ylabel="y", title=f"the fit during training (seed {s0})", ylim=(-2.5, 2.5))
    axes[0].legend(fontsize=7, ncol=2)
    c = content(metrics, 6).reset_index()
    for col, color, label in (("target", "C2", "amplitude at 2 cycles (the sine)"), ("high", "C3", "noise: RMS amplitude >= 6 cycles")):
        g = c.groupby("step")[col]
        axes[1].plot(g.mean().index, g.mean(), color=color, marker="o", ms=3, label=label)
        axes[1].fill_between(g.mean().index, g.min(), g.max(), color=color, alpha=0.2, lw=0)  # seeds' range
    axes[1].set(xscale="symlog", xlabel="Adam step", ylabel="Fourier amplitude of the fit", title="Fourier content over time")
    axes[1].legend(fontsize=8)
    for name, color in (("train_mse", "C0"), ("val_mse", "C1"), ("clean_mse", "0.4")):
        g = metrics[metrics.metric == name].groupby("step").value
        axes[2].plot(g.mean().index, g.mean(), color=color, label=name.replace("_mse", ""))
        axes[2].fill_between(g.mean().index, g.min(), g.max(), color=color, alpha=0.2, lw=0)
    best = metrics[metrics.metric == "val_mse"].pivot_table(index="seed", columns="step", values="value").idxmin(axis=1)
    for b in best:
        axes[2].axvline(b, color="C1", ls=":", lw=1)
    axes[2].axhline(0.45**2, color="0.3", ls="--", lw=1, label="noise 0.2025")
    axes[2].set(yscale="log", xlabel="Adam step", ylabel="MSE", title="train vs validation (dotted: early stopping)")
    axes[2].legend(fontsize=8)
    return save(fig, out_dir, "spectral_bias")


register(Experiment(
    name="spectral-bias",
    steps="snapshots",
    title="Spectral bias: the noisy sine's low frequency is learned before the noise",
    question="Does the network fit the smooth sine before the noise, and does the validation loss show the moment to stop?",
    metrics_doc="Per seed: train_mse, val_mse (a second noisy draw) and clean_mse (to the noiseless sine on the grid) at "
    "every logged step; fit (the prediction on a 512-point grid of [-1, 1), column x) and amplitude (its Fourier "
    "amplitude at k cycles per [-1, 1), column k) at each snapshot step (0 = init); train_point / val_point: the data.",
    config_cls=SpectralConfig,
    scales={"smoke": {"snapshots": (10, 20, 40), "eval_every": 10, "width": 16}, "quick": {},
            "paper": {"snapshots": (50, 100, 200, 400, 1000, 2000, 5000, 20000)}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Why deep learning works",
    order=50,
    series=("seed",),
    estimates={"smoke": "3 s", "quick": "~400 s measured with the 2 cores shared (load ~20); ~18k member-steps",
               "paper": "~1 h at that load (3x the quick steps, 5 seeds)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
