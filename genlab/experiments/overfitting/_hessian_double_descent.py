"""hessian-double-descent: the Hessian view of double descent (Singh et al. 2022, seed 001).

A one-hidden-layer ReLU network of width h (P = 12 h + 1 parameters) on N = 60 points of
scikit-learn's diabetes data (standardized with the training statistics; the other 382 rows
are the test set), trained to (near) interpolation by full-batch Adam on the mean squared
error, in float64. Along the width sweep, the smallest non-zero eigenvalue of the
training-loss Hessian at the end of training: at an interpolating minimum of the squared
error the Hessian is the Gauss-Newton matrix ``2 J^T J / N`` (``J`` the N x P Jacobian), so
``lambda_min^+`` is ``2 s_min^2 / N`` over the non-zero singular values of ``J``
(:func:`genlab.measure.gauss_newton_spectrum`). Singh et al.'s bound makes the test loss at
least proportional to ``1 / lambda_min^+``: it collapses where ``J`` first becomes square and
full rank (P ~ N, the interpolation threshold), and recovers past it -- the test loss peaks
in the same place. The seeds are population members (one population per width); each seed
draws its own 60 training points.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab.data import make_diabetes
from genlab.data._toys import RegressionData
from genlab.experiments._claims import in_band
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    register,
)
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save, threshold_line
from genlab.measure import gauss_newton_spectrum
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

SOURCE = "Singh, Lucchi, Hofmann, Schoelkopf 2022 (ICLR), 'Phenomenology of double descent in finite-width networks'"


@dataclass(frozen=True)
class HessianDDConfig(ExperimentConfig):
    """Settings of the Hessian view of double descent."""

    owner: ClassVar[str] = "hessian-double-descent"
    n_train: int = param(60, "training rows of the diabetes data (442 rows; the rest are the test set)", low=5, high=400)
    widths: tuple = param((1, 2, 3, 4, 5, 6, 7, 8, 10, 16, 48, 96), "hidden widths h (P = 12 h + 1), smallest first",
                          many=True, low=1)
    lr: float = param(0.01, "Adam learning rate (full batch)", kind=float, low=0.0, low_open=True)
    n_steps: int = param(5000, "full-batch Adam steps", low=1)
    rtol: float = param(1e-14, "relative cutoff below which a Gauss-Newton eigenvalue counts as zero", kind=float,
                        low=0.0, high=1e-3)

    def check(self):
        from genlab._checks import fail

        check_training(self.owner, lr=self.lr, n_steps=self.n_steps)
        if len(self.widths) < 3 or list(self.widths) != sorted(set(self.widths)):
            raise fail("widths", self.owner, "at least three distinct widths, smallest first", list(self.widths))


def n_params(width: int) -> int:
    return 12 * width + 1


@functools.lru_cache(maxsize=8)
def diabetes(n_train: int, seed: int) -> RegressionData:
    """Seed ``seed``'s split, inputs and targets standardized with the training statistics."""
    d = make_diabetes(n_train, seed=seed)
    mx, sx = d.x_train.mean(0), d.x_train.std(0)
    my, sy = d.y_train.mean(), d.y_train.std()
    return RegressionData((d.x_train - mx) / sx, ((d.y_train - my) / sy)[:, None], (d.x_test - mx) / sx,
                          ((d.y_test - my) / sy)[:, None], name="diabetes-standardized",
                          meta={"n_train": n_train, "seed": seed})


def width_task(width: int, seeds: list, n_train: int, lr: float, n_steps: int, rtol: float, device: str) -> TaskOutput:
    """One width: the run's seeds as one population, then each member's Gauss-Newton spectrum."""
    models = [MLP(10, 1, width=width, depth=1, seed=1000 * s + width).double() for s in seeds]
    datas = [diabetes(n_train, s) for s in seeds]
    configs = [TrainConfig(optimizer="adam", lr=lr, n_steps=n_steps, eval_every=n_steps, loss="mse", seed=s)
               for s in seeds]
    final = train_many(models, datas, configs, device=device, progress=False).final()
    rows = []
    for i, s in enumerate(seeds):
        spec = gauss_newton_spectrum(models[i].cpu(), datas[i].x_train, rtol=rtol)
        values = {"train_mse": final.loc[i][("train", "loss")], "test_mse": final.loc[i][("test", "loss")],
                  "inv_lambda_min": 1.0 / spec.min_nonzero, "lambda_max": spec.eigenvalues[0], "rank": spec.rank}
        rows += [{"width": width, "params": n_params(width), "seed": s, "metric": k, "value": float(v)}
                 for k, v in values.items()]
    return TaskOutput(rows)


def tasks(cfg: HessianDDConfig, device: str) -> list[Task]:
    return [Task(width_task, {"width": h, "seeds": list(cfg.seeds), "n_train": cfg.n_train, "lr": cfg.lr,
                              "n_steps": cfg.n_steps, "rtol": cfg.rtol, "device": device}, label=f"width {h}")
            for h in sorted(cfg.widths, reverse=True)]  # the largest first: it takes longest


def peaks(metrics: pd.DataFrame, n_train: int, seeds) -> dict:
    """Per seed: P / N at the test-MSE peak and at the 1/lambda_min^+ peak, and the fall past them."""
    table = metrics.pivot_table(index=["seed", "params"], columns="metric", values="value")
    out = {}
    for s in seeds:
        t = table.loc[s]
        p_test, p_hess = t.test_mse.idxmax(), t.inv_lambda_min.idxmax()
        widest = t.index.max()
        full = t.index[t["rank"] >= n_train]
        out[s] = {"test_peak": p_test / n_train, "hessian_peak": p_hess / n_train, "peak_ratio": p_hess / p_test,
                  "hessian_fall": t.inv_lambda_min[widest] / t.inv_lambda_min.max(),
                  "test_fall": t.test_mse[widest] / t.test_mse.max(),
                  "first_full_rank": (full.min() / n_train) if len(full) else np.nan,
                  "peak_test_mse": t.test_mse.max(), "peak_inv_lambda": t.inv_lambda_min.max()}
    return out


def summarize(cfg: HessianDDConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([r for out in outputs for r in out.records]).sort_values(["metric", "seed", "width"])
    seeds = list(cfg.seeds)
    pk = peaks(metrics, cfg.n_train, seeds)

    def col(key):
        return [pk[s][key] for s in seeds]

    claims = [
        in_band("test MSE peaks near the interpolation threshold (P / N at the peak)", seeds, col("test_peak"), (0.8, 2.0),
                kind="qualitative", source=SOURCE, published="the test loss peaks where P ~ N",
                note="P = 12 h + 1; slightly right of P = N: dead units and ReLU rescalings remove directions"),
        in_band("1 / lambda_min^+ of the Hessian peaks near the interpolation threshold (P / N at the peak)", seeds,
                col("hessian_peak"), (0.8, 2.0), kind="qualitative", source=SOURCE,
                published="lambda_min^+ collapses at the threshold",
                note="Gauss-Newton form 2 J^T J / N at the end of training (equal to the Hessian at interpolation)"),
        in_band("the two peaks coincide (P at the 1 / lambda_min^+ peak / P at the test-MSE peak)", seeds,
                col("peak_ratio"), (0.5, 2.0), kind="qualitative", source=SOURCE,
                published="the Hessian quantity and the test loss peak together",
                note="within one octave of parameters: the grid's neighbouring widths"),
        in_band("past the threshold 1 / lambda_min^+ recovers (widest / peak)", seeds, col("hessian_fall"), (0.0, 0.1),
                kind="qualitative", source=SOURCE, published="lambda_min^+ grows again with width"),
        in_band("past the threshold the test MSE falls again (widest / peak)", seeds, col("test_fall"), (0.0, 0.8),
                kind="qualitative", source=SOURCE, published="the second descent",
                note="diabetes is noisy: the second descent does not beat the smallest model (phenomena.md)"),
    ]
    comparisons = [
        Comparison("P / N where the Jacobian first has full row rank N, per seed", float(np.nanmean(col("first_full_rank"))),
                   None, ", ".join(f"s{s}: {v:.2f}" for s, v in zip(seeds, col("first_full_rank")))),
        Comparison("largest test MSE over widths, mean over seeds", float(np.mean(col("peak_test_mse"))),
                   "2.84 (phenomena.md's median at h = 7: genlab's own reference run, not published)", None),
        Comparison("largest 1 / lambda_min^+ over widths, mean over seeds", float(np.mean(col("peak_inv_lambda"))),
                   "3.4e4 (phenomena.md's median at h = 6: genlab's own reference run, not published)", None),
    ]
    headline = {"test_peak_p_over_n": float(np.median(col("test_peak"))),
                "hessian_peak_p_over_n": float(np.median(col("hessian_peak")))}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    n = summary["config"]["n_train"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    for ax, metric, label, log in ((axes[0], "test_mse", "test MSE (standardized targets)", False),
                                   (axes[1], "inv_lambda_min", "1 / lambda_min^+ of the Hessian", True),
                                   (axes[2], "train_mse", "train MSE", True)):
        sub = metrics[metrics.metric == metric]
        for k, (s, g) in enumerate(sub.groupby("seed")):
            ax.plot(g.params / n, g.value, "o-", ms=3, color=f"C{k}", alpha=0.8, label=f"seed {s:g}")
        med = sub.groupby("params").value.median()
        ax.plot(med.index / n, med, "k-", lw=2, label="median over seeds")
        threshold_line(ax, 1.0, "P = N")
        ax.set(xscale="log", yscale="log" if log else "linear", xlabel="parameters / training points (P / N)",
               ylabel=label, title=label)
        ax.legend(fontsize=7)
    return save(fig, out_dir, "hessian-double-descent")


register(Experiment(
    name="hessian-double-descent",
    steps="n_steps",
    title="The Hessian view of double descent (Singh et al. 2022)",
    question="Where the test loss of a width sweep peaks, what happens to the curvature of the training loss?",
    metrics_doc="Per width (params = 12 h + 1) and seed: train_mse and test_mse at the end of training, "
    "inv_lambda_min = 1 / lambda_min^+ and lambda_max of the Gauss-Newton matrix 2 J^T J / N on the training points "
    "(the Hessian at interpolation), rank = numerical rank of J.",
    config_cls=HessianDDConfig,
    scales={"smoke": {"widths": (2, 5, 16), "n_steps": 200},
            "quick": {},
            "paper": {"widths": (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 24, 32, 48, 64, 96), "n_steps": 20_000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 10},
    section="Double descent: the Hessian view",
    order=20,
    series=("seed", "metric"),
    estimates={"smoke": "~3 s", "quick": "~60 s on 2 idle cores (phenomena.md: 93 CPU-s for this grid)",
               "paper": "~15 min (17 widths, 10 seeds, 4x the steps: ~20x the quick work)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
