"""rnn-temperature: seed 001's RNN exercise on Seattle's daily maximum temperature.

Train on 2012, test on 2013 (vega_datasets' bundled copy, no download): a plain tanh RNN with a
linear read-out predicts the next day's temperature from the previous ``window`` days
(standardized with the training year's mean and std), hidden size 1 against 100, each with
several initializations per run seed to show the run-to-run variability the exercise asks
about, against the naive "same as yesterday" forecast. Full-batch Adam, MSE; all members of a
run train as one population (recurrent members run one by one inside each step).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

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
from genlab.sweep import Task, TaskOutput

SOURCE = "lecture (seed 001): the RNN exercise (h = 1 against h = 100, rerun several times)"


@functools.lru_cache(maxsize=4)
def windows(window: int):
    """(x_train, y_train, x_test, y_test, std): ``window`` standardized past days -> the next day."""
    from genlab.data import make_seattle_temperature

    d = make_seattle_temperature()
    mu, sd = float(d.y_train.mean()), float(d.y_train.std())

    def cut(y):
        z = (np.asarray(y, dtype=np.float64) - mu) / sd
        x = np.stack([z[i : i + window] for i in range(len(z) - window)])  # (N, window)
        return x.astype(np.float32), z[window:].astype(np.float32)

    return (*cut(d.y_train), *cut(d.y_test), sd)


def persistence_mse(x: np.ndarray, y: np.ndarray, sd: float) -> float:
    """MSE (degrees C squared) of "tomorrow = today"."""
    return float(np.mean((x[:, -1].astype(np.float64) - y) ** 2) * sd**2)


def size_task(hidden: int, seeds: list, n_inits: int, window: int, n_steps: int, lr: float, eval_every: int,
              device: str) -> TaskOutput:
    """One hidden size: ``n_inits`` initializations per run seed (init seed 1000 s + 10 k + hidden % 10)."""
    from genlab.data import RegressionData
    from genlab.models import RNNRegressor
    from genlab.train import TrainConfig, train_many

    x, y, xt, yt, sd = windows(window)
    data = RegressionData(x, y, xt, yt)
    members = [(s, k) for s in seeds for k in range(n_inits)]
    models = [RNNRegressor(hidden, seed=1000 * s + 10 * k + hidden % 10) for s, k in members]
    cfg = TrainConfig(optimizer="adam", lr=lr, batch_size=None, n_steps=n_steps, eval_every=eval_every, loss="mse")
    result = train_many(models, data, cfg, device=device, progress=False)
    rows = []
    m = result.metrics
    for i, (s, k) in enumerate(members):
        sub = m[m.member == i]
        for split, step, value in zip(sub.split, sub.step, sub.value):
            rows.append({"hidden": hidden, "seed": s, "init": k, "step": int(step), "split": split,
                         "mse": float(value) * sd**2})  # back to degrees C squared
    return TaskOutput(rows)


@dataclass(frozen=True)
class RNNTemperatureConfig(ExperimentConfig):
    """Settings of the RNN temperature exercise."""

    owner: ClassVar[str] = "rnn-temperature"
    n_inits: int = param(3, "initializations per hidden size and run seed (the exercise's reruns)", low=2)
    window: int = param(14, "past days the RNN reads", low=2, high=300)
    n_steps: int = param(600, "full-batch Adam steps", low=1)
    lr: float = param(3e-3, "Adam learning rate", kind=float, low=0.0, low_open=True)
    eval_every: int = param(50, "steps between logged MSEs", low=1)

    def check(self):
        check_training(self.owner, optimizer="adam", lr=self.lr, n_steps=self.n_steps, eval_every=self.eval_every)


def tasks(cfg: RNNTemperatureConfig, device: str) -> list[Task]:
    return [Task(size_task, {"hidden": h, "seeds": list(cfg.seeds), "n_inits": cfg.n_inits, "window": cfg.window,
                             "n_steps": cfg.n_steps, "lr": cfg.lr, "eval_every": cfg.eval_every, "device": device},
                 label=f"hidden={h}") for h in (100, 1)]


def final_mse(metrics: pd.DataFrame, hidden: int, seed: int, split: str) -> np.ndarray:
    """Last logged MSE of each initialization (degrees C squared)."""
    m = metrics[(metrics.hidden == hidden) & (metrics.seed == seed) & (metrics.split == split)]
    last = m[m.step == m.step.max()]
    return last.sort_values("init").mse.to_numpy()


def summarize(cfg: RNNTemperatureConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    x, y, xt, yt, sd = windows(cfg.window)
    base_train, base_test = persistence_mse(x, y, sd), persistence_mse(xt, yt, sd)

    def med(h, split):
        return [float(np.median(final_mse(metrics, h, s, split))) for s in seeds]

    claims = [
        in_band("hidden size 100 overfits: test MSE / train MSE (median over inits)", seeds,
                [te / tr for te, tr in zip(med(100, "test"), med(100, "train"))], (3.0, np.inf), kind="qualitative",
                source=SOURCE, published="explore underfitting / overfitting"),
        in_band("hidden size 100 fits the training year far better than 'same as yesterday' (median train MSE / "
                "the baseline's)", seeds, [v / base_train for v in med(100, "train")], (0.0, 0.5), kind="qualitative",
                source=SOURCE, published="h = 100: enough capacity to memorize one year",
                note=f"baseline train MSE {base_train:.2f} degC^2"),
        in_band("hidden size 1 underfits: median train MSE / the baseline's", seeds,
                [v / base_train for v in med(1, "train")], (0.8, np.inf), kind="qualitative", source=SOURCE,
                published="h = 1: too little capacity", note="one state unit cannot do better than persistence"),
        in_band("run-to-run variability: largest / smallest test MSE over the inits at hidden size 1", seeds,
                [float(final_mse(metrics, 1, s, "test").max() / final_mse(metrics, 1, s, "test").min()) for s in seeds],
                (1.1, np.inf), kind="qualitative", source=SOURCE,
                published="rerun multiple times: what's the variability and why?",
                note=f"{cfg.n_inits} inits per seed; only the initialization differs (full batch, same data)"),
    ]
    comparisons, headline = [], {"persistence_test_mse": base_test, "persistence_train_mse": base_train}
    for h in (1, 100):
        for split, base in (("train", base_train), ("test", base_test)):
            vals = np.concatenate([final_mse(metrics, h, s, split) for s in seeds])
            headline[f"hidden={h}/{split}_mse_median"] = float(np.median(vals))
            comparisons.append(Comparison(f"hidden size {h}: {split} MSE, median over {vals.size} runs (degC^2)",
                                          float(np.median(vals)), f"same as yesterday {base:.2f}",
                                          f"range {vals.min():.2f}-{vals.max():.2f}"))
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for k, h in enumerate(sorted(metrics.hidden.unique())):
        for split, ls in (("train", "-"), ("test", "--")):
            g = metrics[(metrics.hidden == h) & (metrics.split == split)].groupby("step").mse
            m = g.median()
            ax.plot(m.index, m, color=f"C{k}", ls=ls, label=f"hidden {h}, {split} (median over runs)")
            ax.fill_between(m.index, g.min(), g.max(), color=f"C{k}", alpha=0.15, lw=0)
    base = summary["metrics"]
    ax.axhline(base["persistence_test_mse"], color="0.3", ls=":", label="same as yesterday, test year")
    ax.set(xlabel="full-batch Adam step", ylabel="MSE (degrees C squared, log scale)", yscale="log",
           title="Seattle daily max temperature: train 2012, test 2013; range over all runs")
    ax.legend(fontsize=8)
    return save(fig, out_dir, "rnn_temperature")


register(Experiment(
    name="rnn-temperature",
    steps="n_steps",
    title="The RNN exercise: next-day temperature with hidden size 1 and 100",
    question="Does a plain RNN beat 'same as yesterday' on next year's temperatures, which hidden size under- or "
    "overfits, and how much do reruns vary?",
    metrics_doc="mse (degrees C squared) per hidden size, run seed, initialization, step and split (train = 2012, "
    "test = 2013), of the next-day forecast from the previous `window` days.",
    config_cls=RNNTemperatureConfig,
    scales={"smoke": {"n_inits": 2, "n_steps": 20, "eval_every": 5},
            "quick": {},
            "paper": {"n_inits": 10, "n_steps": 3000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 3},
    section="Overfitting in practice",
    order=55,
    series=("hidden", "seed", "init", "split"),
    # Measured: 8 members x 600 steps = 60 CPU-s (loop mode); the quick run took 582 s wall at load ~20.
    estimates={"smoke": "~5 s", "quick": "109 s (measured, load ~3)", "paper": "~10 min (projected: 10 inits, 3000 steps)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
