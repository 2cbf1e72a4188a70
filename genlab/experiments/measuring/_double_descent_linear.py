"""double-descent-linear: "Double Descent Demystified" (Schaeffer et al. 2023).

Minimum-norm linear regression spikes where the number of parameters P equals the number of
training points N: the smallest non-zero singular value of the training features is tiniest
there, and the fit divides by it. Two settings: Legendre features of 15 noiseless points of
y = 2x + cos(25x) (test error against P), and scikit-learn's diabetes data with its 10
features (test error against N, so against P/N). A small ridge removes the peak.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab._checks import fail
from genlab.data import make_demystified
from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save, threshold_line
from genlab.models._closed_form import min_norm_lstsq
from genlab.sweep import Task, TaskOutput

DEFAULT_P = tuple(range(1, 26)) + (30, 40, 50, 100, 200)
REPO = "Schaeffer et al. 2023, polynomial_regression.py, its saved mse.csv (30 repeats)"
PAPER = "Schaeffer et al. 2023 (Diabetes figures: spike at P/N = 1, smallest singular value smallest there)"
NOTES = "genlab reference notes' run of Schaeffer et al.'s Diabetes protocol (50 repeats; phenomena.md)"


@dataclass(frozen=True)
class DDLinearConfig(ExperimentConfig):
    """Settings of the linear double-descent experiment."""

    owner: ClassVar[str] = "double-descent-linear"
    n_points: int = param(15, "training points of the polynomial problem", low=2)
    feature_counts: tuple = param(DEFAULT_P, "P values (Legendre degrees 1..P)", many=True, low=1)
    diabetes_sizes: tuple = param(tuple(range(1, 40)), "N values of the diabetes data (P = 10; it has 442 rows)",
                                  many=True, low=1, high=441)
    n_repeats: int = param(30, "random draws (points or train/test splits) per setting and seed", low=1)
    ridge: float = param(1e-3, "ridge penalty of the comparison curve", kind=float, low=0.0, low_open=True)

    def check(self):
        if self.n_points not in self.feature_counts:  # P = N (the interpolation threshold) is what the claims read
            raise fail("feature_counts", self.owner, f"a non-empty list of distinct ints in the range [1, inf) that "
                       f"includes n_points = {self.n_points}", list(self.feature_counts))


def _smallest_nonzero(s: np.ndarray) -> float:
    s = s[s > 1e-12 * max(s.max(), 1e-300)]
    return float(s.min()) if s.size else float("nan")


def _rows(problem: str, seed: int, p: int, n: int, mse, mse_ridge, smin) -> list[dict]:
    return [{"problem": problem, "seed": seed, "P": p, "N": n, "metric": metric, "value": float(value)}
            for metric, value in (("test_mse_median", np.median(mse)), ("test_mse_mean", np.mean(mse)),
                                  ("ridge_test_mse_median", np.median(mse_ridge)),
                                  ("smallest_singular_value", np.median(smin)))]


def _legendre(x: np.ndarray, p: int) -> np.ndarray:
    """Legendre polynomials of degree 1..p at ``x`` (as :func:`genlab.data.legendre_features`, by
    NumPy's recurrence: O(n p) instead of one basis polynomial at a time)."""
    return np.polynomial.legendre.legvander(x, p)[:, 1:]


@functools.lru_cache(maxsize=1)
def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


def _diabetes_split(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """:func:`genlab.data.make_diabetes` ``(n, seed=seed)``'s split, the data read once per process."""
    x, y = _diabetes()
    perm = np.random.default_rng(seed).permutation(len(y))
    tr, te = perm[:n], perm[n:]
    return x[tr], y[tr], x[te], y[te]


def legendre_task(seed: int, n_points: int, feature_counts: list, n_repeats: int, ridge: float) -> TaskOutput:
    """Legendre features of y = 2x + cos(25x): sweep P with N fixed (one seed; each P its own stream)."""
    rows = []
    for p in feature_counts:
        rng = np.random.default_rng([seed, 0, p])
        mse, mse_ridge, smin = [], [], []
        phi_test = None
        for _ in range(n_repeats):
            d = make_demystified(n_points, seed=int(rng.integers(2**31)))
            phi = _legendre(d.x_train, p)
            if phi_test is None:  # the test set is the same 1000-point grid in every draw
                phi_test = _legendre(d.x_test, p)
            w, s = min_norm_lstsq(phi, d.y_train)
            w_r, _ = min_norm_lstsq(phi, d.y_train, ridge=ridge)
            mse.append(np.mean((phi_test @ w - d.y_test) ** 2))
            mse_ridge.append(np.mean((phi_test @ w_r - d.y_test) ** 2))
            smin.append(_smallest_nonzero(s))
        rows += _rows("legendre", seed, p, n_points, mse, mse_ridge, smin)
    return TaskOutput(rows)


def diabetes_task(seed: int, diabetes_sizes: list, n_repeats: int, ridge: float) -> TaskOutput:
    """Diabetes, P = 10 features, sweep N (no intercept, no standardisation; one seed)."""
    rows = []
    for n in diabetes_sizes:
        rng = np.random.default_rng([seed, 1, n])
        mse, mse_ridge, smin = [], [], []
        for _ in range(n_repeats):
            x_train, y_train, x_test, y_test = _diabetes_split(n, int(rng.integers(2**31)))
            w, s = min_norm_lstsq(x_train, y_train)
            w_r, _ = min_norm_lstsq(x_train, y_train, ridge=ridge)
            mse.append(np.mean((x_test @ w - y_test) ** 2))
            mse_ridge.append(np.mean((x_test @ w_r - y_test) ** 2))
            smin.append(_smallest_nonzero(s))
        rows += _rows("diabetes", seed, 10, n, mse, mse_ridge, smin)
    return TaskOutput(rows)


def tasks(cfg: DDLinearConfig, device: str) -> list[Task]:
    out = []
    for s in cfg.seeds:
        out.append(Task(legendre_task, {"seed": s, "n_points": cfg.n_points, "feature_counts": list(cfg.feature_counts),
                                        "n_repeats": cfg.n_repeats, "ridge": cfg.ridge}, label=f"seed {s} legendre"))
        out.append(Task(diabetes_task, {"seed": s, "diabetes_sizes": list(cfg.diabetes_sizes), "n_repeats": cfg.n_repeats,
                                        "ridge": cfg.ridge}, label=f"seed {s} diabetes"))
    return out


def _table(metrics: pd.DataFrame, problem: str, seed: int) -> pd.DataFrame:
    sub = metrics[(metrics.problem == problem) & (metrics.seed == seed)]
    return sub.pivot(index="P" if problem == "legendre" else "N", columns="metric", values="value").sort_index()


def claims_of(cfg: DDLinearConfig, metrics: pd.DataFrame) -> list:
    seeds, n = list(cfg.seeds), cfg.n_points
    leg = {s: _table(metrics, "legendre", s) for s in seeds}
    dia = {s: _table(metrics, "diabetes", s) for s in seeds}
    claims = [
        in_band("Legendre: P of the median test-MSE peak", seeds, [int(leg[s]["test_mse_median"].idxmax()) for s in seeds],
                (n, n), kind="published", source=REPO, published=f"{n} (= N)"),
        in_band("Legendre: log10 median test MSE at P = N", seeds, [np.log10(leg[s].loc[n, "test_mse_median"]) for s in seeds],
                (5.3, 8.3), kind="published", source=REPO, published="6.83 (6.7e6)",
                note="band: 6.7e6 within a factor 30 either way; the seeds span 5.7-7.2 (10 seeds, medians of 100 draws: "
                     "heavy-tailed); without the spike it is below 2"),
        in_band("Legendre: ridge / min-norm median test MSE at P = N (ridge removes the peak)", seeds,
                [leg[s].loc[n, "ridge_test_mse_median"] / leg[s].loc[n, "test_mse_median"] for s in seeds], (0.0, 1e-3),
                kind="qualitative", source="Schaeffer et al. 2023: ablating small singular values removes the spike",
                published="<< 1"),
    ]
    if 30 in leg[seeds[0]].index:
        claims.insert(2, in_band("Legendre: median test MSE at P = 30 (past the peak)", seeds,
                                 [leg[s].loc[30, "test_mse_median"] for s in seeds], (0.3, 0.45), kind="published",
                                 source=REPO, published=0.35, note="band from the seeds' spread at quick scale (0.35-0.39 over 10 seeds)"))
    if {9, 10, 11} <= set(dia[seeds[0]].index):
        claims.append(in_band("Diabetes: N of the median test-MSE peak (P = 10)", seeds,
                              [int(dia[s]["test_mse_median"].idxmax()) for s in seeds], (10, 10), kind="published",
                              source=PAPER, published="10 (P/N = 1)"))
        claims.append(in_band("Diabetes: N of the smallest non-zero singular value", seeds,
                              [int(dia[s]["smallest_singular_value"].idxmin()) for s in seeds], (10, 10), kind="published",
                              source=PAPER, published=10))
        claims.append(in_band("Diabetes: median smallest non-zero singular value at N = 10", seeds,
                              [dia[s].loc[10, "smallest_singular_value"] for s in seeds], (0.0013, 0.0032), kind="reference",
                              source=NOTES, published=0.0022, note="band from the seeds' spread at quick scale"))
        n_max = max(cfg.diabetes_sizes)
        if n_max >= 30:
            claims.append(in_band(f"Diabetes: median test MSE at N = 10 / at N = {n_max} (the spike)", seeds,
                                  [dia[s].loc[10, "test_mse_median"] / dia[s].loc[n_max, "test_mse_median"] for s in seeds],
                                  (6.0, 60.0), kind="reference", source=NOTES, published="13 (4.9e5 / 3.8e4, N = 39)",
                                  note="band from the seeds' spread at quick scale"))
    return claims


def summarize(cfg: DDLinearConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = claims_of(cfg, metrics)
    leg = metrics[metrics.problem == "legendre"].groupby(["P", "metric"]).value.median().unstack()
    comparisons = [
        Comparison("Legendre: median over seeds of the median test MSE at P = 1, 5, 10, 17, 20, 25", float(leg.loc[1, "test_mse_median"])
                   if 1 in leg.index else float("nan"), "0.51, 0.79, 14, 255, 30, 0.46 (their mse.csv)",
                   ", ".join(f"P={p}: {leg.loc[p, 'test_mse_median']:.3g}" for p in (1, 5, 10, 17, 20, 25) if p in leg.index)),
    ]
    peak = [c for c in claims if c.name.startswith("Legendre: P of")][0]
    return RunOutput(metrics, claims, comparisons, {"legendre_peak_P": list(peak.values)})


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    n = int(metrics[metrics.problem == "legendre"].N.iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, problem, key, xlabel, thr, title in (
        (axes[0], "legendre", "P", "number of Legendre features P", n, f"y = 2x + cos(25x), N = {n} points"),
        (axes[1], "diabetes", "N", "parameters / training points (P/N), P = 10", 1.0, "Diabetes, min-norm least squares"),
    ):
        sub = metrics[metrics.problem == problem]

        def seeds_of(metric: str, sub=sub, key=key) -> pd.DataFrame:
            table = sub[sub.metric == metric].pivot(index=key, columns="seed", values="value").sort_index()
            if key == "N":
                table.index = 10 / table.index.to_numpy()
            return table.sort_index()

        twin = ax.twinx()
        for axis, metric, style, color, label in (
            (ax, "test_mse_median", "o-", "C0", "min-norm: median test MSE"),
            (ax, "ridge_test_mse_median", "s-", "C1", "ridge: median test MSE"),
            (twin, "smallest_singular_value", "--", "C2", "smallest non-zero singular value"),
        ):
            table = seeds_of(metric)
            axis.plot(table.index, table.median(axis=1), style, ms=3, color=color, label=label + " (median over seeds)")
            axis.fill_between(table.index, table.min(axis=1), table.max(axis=1), color=color, alpha=0.2, lw=0)  # seeds' range
        threshold_line(ax, thr)
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="test mean squared error", title=title)
        twin.set(yscale="log", ylabel="smallest non-zero singular value")
        twin.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left" if ax is axes[1] else "upper right")
    return save(fig, out_dir, "double_descent_linear")


register(Experiment(
    name="double-descent-linear",
    steps="n_repeats",
    title="Double descent demystified: minimum-norm linear regression",
    question="Why does minimum-norm regression spike at P = N, and what removes the spike?",
    metrics_doc="Per seed and P (Legendre) or N (diabetes): median and mean test MSE of the min-norm fit, median test MSE of the "
    "ridge fit, and the median smallest non-zero singular value of the training features.",
    config_cls=DDLinearConfig,
    scales={"smoke": {"n_repeats": 10, "feature_counts": (1, 5, 10, 14, 15, 16, 20, 30), "diabetes_sizes": (2, 5, 9, 10, 11, 20, 39)},
            "quick": {"n_repeats": 100}, "paper": {"n_repeats": 50}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 3},
    section="Double descent",
    order=60,
    series=("problem", "seed"),
    estimates={"smoke": "2 s", "quick": "15 s", "paper": "10 s"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
