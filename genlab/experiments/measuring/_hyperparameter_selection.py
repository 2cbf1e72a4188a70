"""hyperparameter-selection: choose on a validation set, test once -- and what choosing on the test set costs.

A random search of 128 configurations (width of a one-hidden-layer MLP, Adam learning rate,
weight decay, initialization) trains as ONE population on MNIST-1D (train_many). The held-out
data is split into a pool of small test sets (n_test = 25..400 examples each, disjoint) and a
large fresh test set that nothing looks at. Picking, among k configurations, the one with the
lowest error on a small test set and reporting that error flatters it: the *selection optimism*
is its reported test error minus its fresh error, minus the same difference for the average
configuration on that test set (what a blind pick shows: the pool and the fresh set are two
finite samples). It is measured for k = 1, 2, 4, ..., 128 (averaged over random subsets of the
configurations and over the disjoint test sets) and for each test-set size, and compared with
its expected value from the spread of the estimates: each configuration's test error modelled
as its fresh error plus Gaussian noise of covariance Sigma / n_test, Sigma the covariance of the
configurations' per-example mistakes on the fresh set (diagonal: the binomial p (1 - p);
off-diagonal: mistakes the configurations share, which make the optimism smaller than the
independent-binomial estimate). The configuration picked on the validation set is honest: its
test error is its fresh error, as for a blind pick.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab._checks import ParameterError, fail
from genlab.data import make_mnist1d, train_val_split
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
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

OWNER = "hyperparameter-selection"
MAIN_N_TEST = 100  #: the small test set of the claims on the number of configurations


@dataclass(frozen=True)
class HyperparameterConfig(ExperimentConfig):
    """Settings of the hyperparameter-selection experiment."""

    owner: ClassVar[str] = OWNER
    n_configs: int = param(128, "configurations of the random search (one population per seed)", low=2)
    widths: tuple = param((16, 32, 64, 128), "hidden widths the search draws from", many=True, low=1)
    lr_range: tuple = param((1e-3, 3e-2), "Adam learning rates: log-uniform between these two", kind=float, many=True,
                            low=0.0, low_open=True)
    weight_decay_range: tuple = param((1e-5, 1e-2), "weight decay: log-uniform between these two", kind=float, many=True,
                                      low=0.0, low_open=True)
    n_steps: int = param(500, "Adam steps of every configuration", low=1)
    batch_size: int = param(100, "examples per step", low=1)
    n_train: int = param(4000, "MNIST-1D training signals (the validation set is taken from them)", low=20)
    val_fraction: float = param(0.2, "fraction of the training signals held out for validation", kind=float, low=0.0,
                                high=1.0, low_open=True, high_open=True)
    n_pool: int = param(4000, "held-out signals split into disjoint small test sets", low=10)
    n_fresh: int = param(4000, "held-out signals of the fresh test set (the honest reference)", low=10)
    test_sizes: tuple = param((25, 50, 100, 200, 400), "sizes of the small test sets", many=True, low=1,
                              includes=MAIN_N_TEST)
    n_subsets: int = param(200, "random subsets of k configurations per test set", low=1)
    n_sims: int = param(20_000, "simulated test sets of the expected optimism (Monte Carlo)", low=100)

    def check(self):
        check_training(OWNER, optimizer="adam", lr=min(self.lr_range), batch_size=self.batch_size, n_steps=self.n_steps)
        for name in ("lr_range", "weight_decay_range"):
            value = getattr(self, name)
            if len(value) != 2:
                raise fail(name, OWNER, "two distinct positive floats (low, high)", list(value))
        if max(self.test_sizes) > self.n_pool:
            raise ParameterError(f"The 'test_sizes' parameter of {OWNER} must hold sizes of at most n_pool = {self.n_pool}. "
                                 f"Got {list(self.test_sizes)} instead.")


def subset_sizes(n_configs: int) -> list[int]:
    """k = 1, 2, 4, ... up to ``n_configs`` (included)."""
    ks = [1 << j for j in range(int(np.log2(n_configs)) + 1)]
    return ks if ks[-1] == n_configs else ks + [n_configs]


def selection_optimism(test_err: np.ndarray, fresh_err: np.ndarray, subsets: np.ndarray) -> np.ndarray:
    """Selection optimism of the test-set pick within each subset, per test set, (T,).

    ``test_err`` (M, T): each configuration's error on T test sets; ``fresh_err`` (M,): on the
    fresh set; ``subsets`` (S, k): S subsets of k configurations (in random order, so that ties
    break at random). The pick has the lowest test error; the value is ``fresh - test`` of the
    pick minus the mean ``fresh - test`` of all configurations on that set (a blind pick's),
    averaged over the subsets: positive when the reported error flatters.
    """
    gap = fresh_err[:, None] - test_err  # (M, T)
    t = np.arange(test_err.shape[1])
    picked = subsets[np.arange(len(subsets))[:, None], np.argmin(test_err[subsets], axis=1)]  # (S, T)
    return gap[picked, t].mean(0) - gap.mean(0)


def mistake_noise(mistakes: np.ndarray, n_sims: int, rng, independent: bool = False) -> np.ndarray:
    """Draws (M, n_sims) of the configurations' test-error noise for a test set of ONE example
    (divide by sqrt(n_test)): Gaussian with the covariance of the 0/1 ``mistakes`` (M, N) on the
    fresh set, or only its diagonal p (1 - p) (``independent``: the binomial spread alone)."""
    p = mistakes.mean(1)
    cov = np.diag(p * (1 - p)) if independent else np.cov(mistakes, bias=True)
    w, v = np.linalg.eigh(cov)
    return (v * np.sqrt(np.clip(w, 0, None))) @ rng.standard_normal((len(p), n_sims))


def expected_optimism(fresh_err: np.ndarray, noise: np.ndarray, subsets: np.ndarray) -> tuple[float, float]:
    """Expected selection optimism (mean, Monte Carlo standard error) from the spread of the estimates.

    Simulated test set j gives configuration i the error ``fresh_err[i] + noise[i, j]``
    (``noise`` (M, S), already scaled to the test-set size) and is searched over ``subsets[j]``
    (S, k); the value is as :func:`selection_optimism` measures it.
    """
    cols = np.arange(noise.shape[1])
    picked = subsets[cols, np.argmin(noise[subsets, cols[:, None]] + fresh_err[subsets], axis=1)]
    values = noise.mean(0) - noise[picked, cols]  # fresh - test of the pick, minus a blind pick's
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def random_search(n_configs: int, widths, lr_range, weight_decay_range, seed: int) -> list[dict]:
    """The search's configurations: width uniform over ``widths``, lr and weight decay log-uniform."""
    rng = np.random.default_rng(seed)
    lo, hi = np.log(sorted(lr_range)), np.log(sorted(weight_decay_range))
    return [{"config": i, "width": int(rng.choice(widths)), "lr": float(np.exp(rng.uniform(*lo))),
             "weight_decay": float(np.exp(rng.uniform(*hi)))} for i in range(n_configs)]


def population_task(seed: int, n_configs: int, widths: list, lr_range: list, weight_decay_range: list, n_steps: int,
                    batch_size: int, n_train: int, val_fraction: float, n_pool: int, n_fresh: int, test_sizes: list,
                    n_subsets: int, n_sims: int, device: str) -> TaskOutput:
    """One seed: its data draw, its random search trained as one population, and the selection statistics."""
    import torch

    n = n_train + n_pool + n_fresh
    data = train_val_split(make_mnist1d(n, train_split=n_train / n, seed=1000 * seed + 42), val_fraction, seed=seed)
    held_x, held_y = data.x_test, data.y_test
    # train_many evaluates on x_test at the end: give it a few signals; the held-out errors are computed below.
    fit_data = dataclasses.replace(data, x_test=held_x[:10], y_test=held_y[:10])
    search = random_search(n_configs, widths, lr_range, weight_decay_range, 1000 * seed + 7)
    models = [MLP(40, 10, width=c["width"], depth=1, seed=100_000 * seed + c["config"]) for c in search]
    configs = [TrainConfig(optimizer="adam", lr=c["lr"], weight_decay=c["weight_decay"], batch_size=batch_size,
                           n_steps=n_steps, eval_every=n_steps, seed=100_000 * seed + c["config"]) for c in search]
    result = train_many(models, fit_data, configs, device=device, progress=False)
    final = result.final()
    x = torch.tensor(held_x, dtype=torch.float32, device=device)
    with torch.no_grad():
        mistakes = np.stack([(mdl.eval()(x).argmax(1).cpu().numpy() != held_y) for mdl in result.models]).astype(float)
    pool, fresh = mistakes[:, :n_pool], mistakes[:, n_pool:]  # (M, n_pool), (M, n_fresh)
    fresh_err = fresh.mean(1)
    rows = []
    for c, val_err, train_err, pool_err, f_err in zip(search, final[("val", "error")], final[("train", "error")],
                                                      pool.mean(1), fresh_err):
        for metric, value in (("train_error", train_err), ("val_error", val_err), ("pool_error", pool_err),
                              ("fresh_error", f_err)):
            rows.append({"part": "configs", "seed": seed, **c, "k": np.nan, "n_test": np.nan, "metric": metric,
                         "value": float(value)})
    rng = np.random.default_rng(1000 * seed + 11)
    m = len(search)
    # Nested random subsets: the first k configurations of random orders (S, M).
    orders = np.argsort(rng.random((n_subsets, m)), axis=1)
    sim_orders = np.argsort(rng.random((n_sims, m)), axis=1)
    base = {"expected": mistake_noise(fresh, n_sims, rng), "expected_independent": mistake_noise(fresh, n_sims, rng, True)}

    def add(k, n_test, metric, value):
        rows.append({"part": "optimism", "seed": seed, "config": np.nan, "width": np.nan, "lr": np.nan,
                     "weight_decay": np.nan, "k": k, "n_test": n_test, "metric": metric, "value": float(value)})

    for n_test in test_sizes:
        t = n_pool // n_test
        test_err = pool[:, : t * n_test].reshape(m, t, n_test).mean(2)  # (M, T): disjoint test sets
        for k in subset_sizes(n_configs):
            per_set = selection_optimism(test_err, fresh_err, orders[:, :k])  # (T,)
            add(k, n_test, "measured", per_set.mean())
            add(k, n_test, "measured_se", per_set.std(ddof=1) / np.sqrt(t) if t > 1 else np.nan)
            for metric, noise in base.items():
                mean, se = expected_optimism(fresh_err, noise / np.sqrt(n_test), sim_orders[:, :k])
                add(k, n_test, metric, mean)
                add(k, n_test, f"{metric}_se", se)
        # the raw difference (without the blind-pick baseline) of the pick among all configurations
        picked = np.argmin(test_err, axis=0)
        add(n_configs, n_test, "raw_gap_test_pick", np.mean(fresh_err[picked] - test_err[picked, np.arange(t)]))
    # The validation pick: its test - fresh gap against the spread of that gap over all configurations.
    gap = pool.mean(1) - fresh_err
    by_val = int(np.argmin(final[("val", "error")].to_numpy()))
    add(1, n_pool, "val_pick_gap_z", (gap[by_val] - gap.mean()) / gap.std(ddof=1))
    add(1, n_pool, "val_pick_gap", gap[by_val] - gap.mean())
    add(1, n_pool, "val_pick_fresh_error", fresh_err[by_val])
    add(1, n_pool, "val_pick_val_error", final[("val", "error")].iloc[by_val])
    add(1, n_pool, "best_fresh_error", fresh_err.min())
    return TaskOutput(rows)


def tasks(cfg: HyperparameterConfig, device: str) -> list[Task]:
    shared = {"n_configs": cfg.n_configs, "widths": list(cfg.widths), "lr_range": list(cfg.lr_range),
              "weight_decay_range": list(cfg.weight_decay_range), "n_steps": cfg.n_steps, "batch_size": cfg.batch_size,
              "n_train": cfg.n_train, "val_fraction": cfg.val_fraction, "n_pool": cfg.n_pool, "n_fresh": cfg.n_fresh,
              "test_sizes": list(cfg.test_sizes), "n_subsets": cfg.n_subsets, "n_sims": cfg.n_sims, "device": device}
    return [Task(population_task, {"seed": s, **shared}, label=f"random search, seed {s}") for s in cfg.seeds]


SOURCE = "lecture (seed 000, 'Choosing hyperparameters': choose on validation, test once)"


def optimism_table(metrics: pd.DataFrame, seed: int, metric: str = "measured") -> pd.DataFrame:
    """k x n_test table of one seed's optimism (``measured``, ``expected``, ...), in error fraction."""
    o = metrics[(metrics.part == "optimism") & (metrics.seed == seed) & (metrics.metric == metric)]
    return o.pivot(index="k", columns="n_test", values="value").sort_index()


def selection_claims(metrics: pd.DataFrame, seeds) -> list:
    """The claims, each evaluated on every seed, from the metrics table alone."""
    seeds = list(seeds)
    meas = [optimism_table(metrics, s) for s in seeds]
    exp_ = [optimism_table(metrics, s, "expected") for s in seeds]
    se = [optimism_table(metrics, s, "measured_se") for s in seeds]
    exp_se = [optimism_table(metrics, s, "expected_se") for s in seeds]
    k_all = [int(t.index.max()) for t in meas]
    n = MAIN_N_TEST
    at_all = [100 * t.loc[k, n] for t, k in zip(meas, k_all)]
    growth = [100 * float(np.min(np.diff(t[n].to_numpy()))) for t in meas]
    shrink = []
    for t, k in zip(meas, k_all):
        row = t.loc[k].sort_index().to_numpy()
        shrink.append(float(np.max(row[1:] / row[:-1])) if np.all(row > 0) else np.inf)
    z = []
    for t, e, s1, s2, k in zip(meas, exp_, se, exp_se, k_all):
        zs = (t.loc[k] - e.loc[k]) / np.sqrt(s1.loc[k] ** 2 + s2.loc[k] ** 2)
        z.append(float(zs.abs().max()))
    val = metrics[(metrics.part == "optimism") & (metrics.metric == "val_pick_gap_z")].set_index("seed").value
    sizes = sorted(meas[0].columns)
    return [
        in_band(f"choosing on a test set of {n} flatters: selection optimism with all configurations (points)", seeds, at_all,
                (1.0, 100.0), kind="qualitative", source=SOURCE, published="> 0 (never choose on the test set)",
                note="reported test error of the pick - its fresh error, minus the same for a blind pick"),
        per_seed(f"the optimism grows with the number of configurations tried (n_test = {n}): smallest increase "
                 "from k to 2k (points)", seeds, growth, [g > 0 for g in growth], kind="qualitative", source=SOURCE,
                 published="grows with k", band=(0.0, np.inf), note="k = 1, 2, 4, ... (nested random subsets); "
                 "> 0 strictly; the optimism at k = 1 is 0 in expectation"),
        in_band(f"the optimism shrinks with a larger test set: largest ratio between consecutive sizes {sizes} "
                "(all configurations)", seeds, shrink, (0.0, 0.95), kind="qualitative", source=SOURCE,
                published="~ 1 / sqrt(n_test): 0.71 per doubling"),
        in_band("measured optimism = expected from the spread of the estimates (Gaussian, the mistakes' covariance on the "
                "fresh set): largest |z| over test sizes (all configurations)", seeds, z, (0.0, 3.0), kind="qualitative",
                source="expected maximum of noisy estimates (independent Monte Carlo on the fresh set)",
                published="|z| < 3", note="z = (measured - expected) / combined standard error, the largest of 5 sizes; "
                "z leans positive (~ +0.8 on average over seeds 0-5: the model takes the fresh errors, noise included, as the "
                "truth, which spreads the configurations and lowers the expectation a few %); the independent-binomial "
                "estimate (no shared mistakes) is ~1.6x the measured value and shown beside it"),
        in_band("the validation pick is honest: its test - fresh gap vs. a blind pick's, z over the configurations' spread",
                seeds, [float(val.loc[s]) for s in seeds], (-3.0, 3.0), kind="qualitative", source=SOURCE,
                published="test error of the validation pick ~ its fresh error"),
    ]


def summarize(cfg: HyperparameterConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    claims = selection_claims(metrics, seeds)
    n, k = MAIN_N_TEST, cfg.n_configs
    o = metrics[metrics.part == "optimism"]

    def mean_of(metric, **where):
        sel = o[o.metric == metric]
        for col, value in where.items():
            sel = sel[sel[col] == value]
        return float(sel.value.mean())

    comparisons = [
        Comparison(f"selection optimism, {k} configurations, n_test = {n}: measured (points, mean over seeds)",
                   100 * mean_of("measured", k=k, n_test=n),
                   f"expected {100 * mean_of('expected', k=k, n_test=n):.2f} (with shared mistakes)",
                   f"independent-binomial estimate {100 * mean_of('expected_independent', k=k, n_test=n):.2f}: it ignores "
                   "that the configurations err on the same examples, and overestimates"),
        Comparison(f"raw gap fresh - reported of the test pick, n_test = {n} (points)", 100 * mean_of("raw_gap_test_pick", n_test=n),
                   "-", "without subtracting the blind pick's gap"),
        Comparison("fresh test error of the validation pick (mean over seeds)", mean_of("val_pick_fresh_error"),
                   f"best configuration's fresh error {mean_of('best_fresh_error'):.3f}",
                   f"its validation error {mean_of('val_pick_val_error'):.3f} (optimistic: the validation set chose it)"),
        Comparison("configurations per seed (one population)", float(k), "100+ (issue #20)"),
    ]
    headline = {"optimism_points": [c for c in claims[0].values], "val_pick_fresh_error": mean_of("val_pick_fresh_error")}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    o = metrics[metrics.part == "optimism"]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    n = MAIN_N_TEST if MAIN_N_TEST in set(o.n_test.dropna()) else sorted(o.n_test.dropna().unique())[0]
    for metric, style, label in (("measured", "o-", "measured (test sets of the pool)"),
                                 ("expected", "s--", "expected: Gaussian, shared mistakes"),
                                 ("expected_independent", "^:", "expected: independent binomial")):
        g = o[(o.metric == metric) & (o.n_test == n)].groupby("k").value
        a.plot(g.mean().index, 100 * g.mean(), style, label=label)
        a.fill_between(g.mean().index, 100 * g.min(), 100 * g.max(), alpha=0.2, lw=0)  # seeds' range
    a.set(xscale="log", xlabel="configurations compared on the test set (k)", ylabel="selection optimism (points)",
          title=f"Choosing on a test set of {int(n)}: mean and range over seeds")
    a.legend(fontsize=8)
    k = o.k.max()
    for metric, style, label in (("measured", "o-", "measured"), ("expected", "s--", "expected (shared mistakes)")):
        g = o[(o.metric == metric) & (o.k == k)].groupby("n_test").value
        b.plot(g.mean().index, 100 * g.mean(), style, label=label)
        b.fill_between(g.mean().index, 100 * g.min(), 100 * g.max(), alpha=0.2, lw=0)
    sizes = sorted(o.n_test[o.k == k].dropna().unique())
    b.set(xscale="log", xlabel="test-set size n_test (examples)", ylabel="selection optimism (points)",
          title=f"Larger test sets flatter less ({int(k)} configurations)")
    b.set_xticks(sizes, [str(int(v)) for v in sizes])
    b.minorticks_off()
    b.legend(fontsize=8)
    cf = metrics[metrics.part == "configs"].pivot_table(index=["seed", "config"], columns="metric", values="value")
    c.scatter(100 * cf.val_error, 100 * cf.fresh_error, s=8, alpha=0.6)
    lo, hi = 100 * cf[["val_error", "fresh_error"]].min().min(), 100 * cf[["val_error", "fresh_error"]].max().max()
    c.plot([lo, hi], [lo, hi], color="0.4", ls=":", lw=1, label="y = x")
    c.set(xlabel="validation error (%)", ylabel="fresh test error (%)", title="The random search: every configuration, all seeds")
    c.legend(fontsize=8)
    return save(fig, out_dir, "hyperparameter_selection")


register(Experiment(
    name="hyperparameter-selection",
    steps="n_steps",
    title="Choosing hyperparameters: train, validation, test",
    question="How much does choosing hyperparameters on the test set flatter the reported error, and how does that grow "
    "with the number of configurations tried and shrink with the test-set size?",
    metrics_doc="Part 'configs': per seed and configuration (width, lr, weight_decay) the final train, validation, pool and "
    "fresh test error. Part 'optimism': per seed, k (configurations compared) and n_test the selection optimism of the "
    "test-set pick (fresh - reported error, minus a blind pick's), measured over the pool's disjoint test sets "
    "('measured', with its standard error) and expected from the spread of the estimates ('expected': Gaussian with the "
    "configurations' mistake covariance on the fresh set; 'expected_independent': binomial, independent); the "
    "validation pick's gap ('val_pick_gap_z': z over the configurations).",
    config_cls=HyperparameterConfig,
    scales={"smoke": {"n_configs": 8, "widths": (8, 16), "n_steps": 20, "n_train": 400, "n_pool": 400, "n_fresh": 400,
                      "test_sizes": (50, 100), "n_subsets": 20, "n_sims": 500},
            "quick": {},
            "paper": {"n_configs": 256, "n_steps": 2000, "widths": (16, 32, 64, 128, 256), "n_pool": 8000, "n_fresh": 8000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Choosing hyperparameters",
    order=80,
    series=("part", "seed", "metric", "n_test"),
    # Measured as task CPU seconds (one thread) on this 2-core machine, 2 workers: quick = 3 populations of 15.8 s;
    # the same run took 358 s wall while the machine was loaded ~25x. Paper projected from it: 2x configurations,
    # 4x steps, ~1.65x mean width: ~210 s per seed, 5 seeds.
    estimates={"smoke": "~3 s", "quick": "~40 s", "paper": "~11 min"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
