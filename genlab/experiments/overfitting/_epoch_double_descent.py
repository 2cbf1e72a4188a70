"""epoch-double-descent: test error against training steps, and against the number of samples
(Nakkiran et al. 2020, "Deep Double Descent", Secs. 6 and 7).

The setting is the linear model in which Heckel & Yilmaz (ICLR 2021, "Early stopping in deep
networks: double descent and how to eliminate it", Sec. 3) explain epoch-wise double descent:
least-squares regression ``y = x . theta* + noise`` on Gaussian features of two scales, trained
by full-batch gradient descent from zero. ``n_fast`` features have unit scale, ``n_slow``
features scale ``kappa`` << 1, so GD learns the fast ones about ``1 / kappa^2`` times sooner.
Both groups carry signal (``signal_fast`` and ``signal_slow``: their share of the target's
variance); ``noise`` is the standard deviation of the label noise added to the training targets.

Why test error rises and falls again: each group is its own bias-variance trade-off in time. The
fast group first learns its signal (first descent), then fits the residual -- the label noise
and the slow group's not-yet-learned signal -- with ``n_fast / n_train`` close to 1, i.e. near
its own interpolation threshold, where fitting noise is costly (the rise). Later the slow group
learns its signal, which also explains away the residual the fast group had fitted (the second
descent). Nakkiran et al. see this in large ResNets and CNNs with label noise; Heckel & Yilmaz
show the same superposition of trade-offs in these networks (their layers learn at different
speeds) and that equalizing the speeds removes the bump. This model is their mechanism made
exact and cheap: every curve here is a closed form, not a simulation.

Label noise: the residual the fast features fit is the label noise plus the slow features'
not-yet-learned signal, so in this model the epoch-wise bump shrinks without label noise but
does not vanish (the run reports both curves: quick scale, median rise 0.81 with noise sd 1 and
0.63 with noise-free labels). The sample-wise spike at n = d needs the noise: with noise-free
labels the n = d fit is exact (``--set noise=0`` makes the "more data hurts" claim fail, ratio
~1e-26). What Nakkiran et al. show is qualitative (figures, no printed numbers for these curves),
so every claim here is qualitative: the shape, not a height.

Everything is exact: with ``X / sqrt(n) = U S V^T``, GD with step ``lr`` on
``|X theta - y|^2 / (2 n)`` gives ``theta_t = V diag((1 - (1 - lr s^2)^t) / s) U^T y / sqrt(n)``,
and the test error is the population risk ``(theta_t - theta*)^T Sigma (theta_t - theta*) +
noise^2`` (no test-set sampling error). As ``t -> inf`` this is the minimum-norm least-squares
fit GD from zero converges to: the sample-wise sweep uses it for models "trained to completion"
(Nakkiran et al. Sec. 7) on nested training sets of growing n, whose interpolation threshold
is n = d = n_fast + n_slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab.experiments._claims import in_band, per_seed
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save, threshold_line
from genlab.sweep import Task, TaskOutput

NAKKIRAN = "Nakkiran et al. 2020 (ICLR), 'Deep Double Descent'"
EPOCH_FIG = (f"{NAKKIRAN}, Sec. 6, figure 'training dynamics for models in three regimes' (ResNet18, CIFAR-10, "
             "20% label noise: the large model's test error falls, rises, falls) and Fig. 1 right / Fig. 2")
SAMPLE_FIG = (f"{NAKKIRAN}, Sec. 7, figures 'sample-wise non-monotonicity' (Transformers on IWSLT'14) and "
              "test error over (model size x samples) for 5-layer CNNs, CIFAR-10, 20% noise: the ridge of high error "
              "lies on the interpolation threshold")
HECKEL = "Heckel & Yilmaz 2021 (ICLR), Sec. 3: differently scaled features give superposed bias-variance trade-offs"


@dataclass(frozen=True)
class EpochDDConfig(ExperimentConfig):
    """Settings of epoch-wise and sample-wise double descent in the two-scale linear model."""

    owner: ClassVar[str] = "epoch-double-descent"
    n_train: int = param(300, "training examples of the epoch-wise run", low=2)
    n_fast: int = param(200, "features of unit scale (learned first)", low=1)
    n_slow: int = param(20, "features of scale kappa (learned ~1/kappa^2 times later)", low=1)
    kappa: float = param(0.03, "scale of the slow features", kind=float, low=0.0, high=1.0, low_open=True)
    signal_fast: float = param(4.0, "variance of the target explained by the fast features", kind=float, low=0.0)
    signal_slow: float = param(4.0, "variance of the target explained by the slow features", kind=float, low=0.0)
    noise: float = param(1.0, "standard deviation of the label noise on the training targets", kind=float, low=0.0)
    lr: float = param(0.2, "GD step size (stable below 2 / largest eigenvalue of X^T X / n, which is <= 4 "
                      "for unit-scale features with n >= d)", kind=float, low=0.0, high=0.5, low_open=True)
    max_step: int = param(10_000_000, "last GD step of the epoch-wise curve (the slow features need ~1 / (lr kappa^2))",
                          low=10)
    n_times: int = param(241, "log-spaced steps 1..max_step at which the curve is evaluated", low=10)
    sample_ratios: tuple = param((0.25, 0.5, 0.75, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0),
                                 "training-set sizes of the sample-wise sweep, as multiples of d = n_fast + n_slow",
                                 kind=float, many=True, low=0.0, low_open=True, includes=1.0)

    def check(self):
        from genlab._checks import fail

        if self.n_train <= self.n_fast:
            raise fail("n_train", self.owner, f"an int > n_fast = {self.n_fast} (the fast features alone must not "
                       "interpolate)", self.n_train)


def draw_problem(seed: int, cfg: EpochDDConfig, n_rows: int):
    """Seed ``seed``'s target ``theta*`` (d,), feature scales (d,), ``n_rows`` inputs (n_rows, d) and noise (n_rows,).

    Training sets of different sizes are the first rows of one draw (nested: more data adds rows).
    """
    rng = np.random.default_rng([seed, 7])
    scale = np.r_[np.ones(cfg.n_fast), np.full(cfg.n_slow, cfg.kappa)]
    # per-feature coefficients so that group g explains signal_g of the target's variance
    theta = np.r_[rng.standard_normal(cfg.n_fast) * np.sqrt(cfg.signal_fast / cfg.n_fast),
                  rng.standard_normal(cfg.n_slow) * np.sqrt(cfg.signal_slow / cfg.n_slow) / cfg.kappa]
    x = rng.standard_normal((n_rows, scale.size)) * scale
    eps = rng.standard_normal(n_rows)
    return theta, scale, x, eps


def population_risk(theta_hat: np.ndarray, theta: np.ndarray, scale: np.ndarray, noise: float) -> np.ndarray:
    """E (x . theta_hat - y)^2 on fresh data, for x ~ N(0, diag(scale^2)): (..., d) -> (...)."""
    return ((theta_hat - theta) ** 2 * scale ** 2).sum(-1) + noise ** 2


def gd_path(x: np.ndarray, y: np.ndarray, steps: np.ndarray, lr: float, rcond: float = 1e-12) -> np.ndarray:
    """Parameters of GD from zero on ``|x theta - y|^2 / (2 n)`` after each of ``steps``: (T, d).

    ``steps`` may hold ``np.inf``: the limit, the minimum-norm least-squares solution.
    """
    n = x.shape[0]
    u, s, vt = np.linalg.svd(x / np.sqrt(n), full_matrices=False)
    keep = s > rcond * s.max()
    u, s, vt = u[:, keep], s[keep], vt[keep]
    z = u.T @ y / np.sqrt(n)  # (r,) targets in the singular basis
    steps = np.asarray(steps, dtype=float)[:, None]
    with np.errstate(over="ignore"):
        # fraction of each singular direction learned after t steps; 1 at t = inf
        learned = np.where(np.isinf(steps), 1.0, 1.0 - (1.0 - lr * s ** 2) ** np.where(np.isinf(steps), 0, steps))
    return (learned * (z / s)) @ vt


def time_grid(max_step: int, n_times: int) -> np.ndarray:
    return np.unique(np.geomspace(1, max_step, n_times).astype(np.int64))


def seed_task(seed: int, config: dict) -> TaskOutput:
    """One seed: its epoch-wise curve (noisy and noise-free labels) and its sample-wise sweep."""
    cfg = EpochDDConfig(**config)
    d = cfg.n_fast + cfg.n_slow
    sizes = sorted({max(1, int(round(r * d))) for r in cfg.sample_ratios})
    theta, scale, x, eps = draw_problem(seed, cfg, max(cfg.n_train, sizes[-1]))
    clean = x @ theta
    rows = []
    xs, ys = x[:cfg.n_train], clean[:cfg.n_train] + cfg.noise * eps[:cfg.n_train]
    steps = time_grid(cfg.max_step, cfg.n_times)
    for labels, target in (("noisy", ys), ("clean", clean[:cfg.n_train])):
        path = gd_path(xs, target, steps, cfg.lr)
        test = population_risk(path, theta, scale, cfg.noise)
        train = ((path @ xs.T - target) ** 2).mean(1)
        for t, te, tr in zip(steps, test, train):
            rows += [{"sweep": "epoch", "seed": seed, "labels": labels, "step": int(t), "n": cfg.n_train,
                      "metric": k, "value": float(v)} for k, v in (("test_mse", te), ("train_mse", tr))]
    for n in sizes:  # trained to completion: the t -> inf limit (minimum-norm least squares)
        y = clean[:n] + cfg.noise * eps[:n]
        coef = gd_path(x[:n], y, np.array([np.inf]), cfg.lr)[0]
        for k, v in (("test_mse", population_risk(coef, theta, scale, cfg.noise)),
                     ("train_mse", np.mean((x[:n] @ coef - y) ** 2))):
            rows.append({"sweep": "sample", "seed": seed, "labels": "noisy", "step": -1, "n": n, "metric": k,
                         "value": float(v)})
    return TaskOutput(rows)


def tasks(cfg: EpochDDConfig, device: str) -> list[Task]:
    config = {k: v for k, v in cfg.__dict__.items() if k != "seeds"}
    return [Task(seed_task, {"seed": s, "config": config}, label=f"seed {s}") for s in cfg.seeds]


def epoch_shape(steps: np.ndarray, test: np.ndarray) -> dict:
    """The double-descent shape of one test-error curve over steps.

    The peak is the point that climbs highest above the curve's running minimum; the first
    minimum is the lowest point before it; ``rise`` = peak / first minimum - 1 and ``fall`` =
    1 - (error at the last step) / peak. A curve without a bump has rise 0 (and then fall 0).
    """
    test = np.asarray(test, dtype=float)
    i_peak = int(np.argmax(test - np.minimum.accumulate(test)))
    i_min = int(np.argmin(test[:i_peak + 1]))
    return {"step_min": int(steps[i_min]), "step_peak": int(steps[i_peak]), "first_min": float(test[i_min]),
            "peak": float(test[i_peak]), "final": float(test[-1]), "rise": float(test[i_peak] / test[i_min] - 1.0),
            "fall": float(1.0 - test[-1] / test[i_peak]) if i_peak > i_min else 0.0}


def sample_shape(n: np.ndarray, test: np.ndarray, d: int) -> dict:
    """Sample-wise: where the min-norm test error peaks in n, and how much more data hurts there.

    ``hurt`` = error at the peak / lowest error at any smaller n (> 1: more data hurts).
    """
    n, test = np.asarray(n, dtype=float), np.asarray(test, dtype=float)
    i_peak = int(np.argmax(test))
    hurt = test[i_peak] / test[:i_peak].min() if i_peak > 0 else 0.0
    return {"peak_ratio": float(n[i_peak] / d), "hurt": float(hurt), "peak": float(test[i_peak])}


def _curve(metrics: pd.DataFrame, sweep: str, metric: str, labels: str = "noisy") -> pd.DataFrame:
    m = metrics[(metrics.sweep == sweep) & (metrics.metric == metric) & (metrics.labels == labels)]
    return m.pivot_table(index="step" if sweep == "epoch" else "n", columns="seed", values="value")


def summarize(cfg: EpochDDConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    d = cfg.n_fast + cfg.n_slow
    epoch, sample = _curve(metrics, "epoch", "test_mse"), _curve(metrics, "sample", "test_mse")
    shapes = [epoch_shape(epoch.index.to_numpy(), epoch[s].to_numpy()) for s in seeds]
    first_step = int(epoch.index.min())
    clean = _curve(metrics, "epoch", "test_mse", "clean")
    clean_shapes = [epoch_shape(clean.index.to_numpy(), clean[s].to_numpy()) for s in seeds]
    samples = [sample_shape(sample.index.to_numpy(), sample[s].to_numpy(), d) for s in seeds]
    quarter = sample.index.to_numpy()[np.argmin(np.abs(sample.index.to_numpy() - d / 4))]
    hurt = [float(sample.loc[d, s] / sample.loc[quarter, s]) if d in sample.index else float("nan") for s in seeds]
    claims = [
        per_seed("epoch-wise: after a first minimum the test MSE climbs to a peak (peak / first minimum - 1)", seeds,
                 [sh["rise"] for sh in shapes], [sh["rise"] >= 0.2 and sh["step_min"] > first_step for sh in shapes],
                 band=(0.2, np.inf), kind="qualitative", source=f"{EPOCH_FIG}; {HECKEL}",
                 published="test error falls, rises, then falls again",
                 note="holds when the curve first falls (minimum after the first step) and then climbs; the fast "
                      "features fit the label noise (and the slow features' unlearned signal) near their own "
                      f"threshold n_fast / n_train = {cfg.n_fast / cfg.n_train:.2f}"),
        per_seed("epoch-wise: second descent, 1 - (test MSE at the last step) / peak", seeds,
                 [sh["fall"] for sh in shapes], [sh["fall"] >= 0.2 and sh["step_peak"] < cfg.max_step for sh in shapes],
                 kind="qualitative", source=f"{EPOCH_FIG}; {HECKEL}", published="test error falls again after the peak",
                 band=(0.2, 1.0), note=f"last step {cfg.max_step:g}: trained until the slow features are learned"),
        in_band("sample-wise: the min-norm test MSE peaks at n = d (n at the peak / d)", seeds,
                [sh["peak_ratio"] for sh in samples], (0.9, 1.1), kind="qualitative", source=SAMPLE_FIG,
                published="peak at the interpolation threshold",
                note=f"d = n_fast + n_slow = {d}; trained to completion (the GD limit)"),
        in_band("sample-wise: more data hurts, test MSE at n = d / test MSE at n ~ d/4", seeds, hurt,
                (2.0, np.inf), kind="qualitative", source=f"{SAMPLE_FIG}; abstract",
                published="near the threshold even quadrupling the number of train samples hurts (abstract)",
                note=f"nested training sets: the first {int(quarter)} rows, then all {d}"),
    ]
    comparisons = [
        Comparison("step of the first minimum, median over seeds", float(np.median([sh["step_min"] for sh in shapes])),
                   "-", "fast features learned"),
        Comparison("step of the peak, median over seeds", float(np.median([sh["step_peak"] for sh in shapes])), "-",
                   "fast features have fitted the residual; slow ones not yet learned"),
        *[Comparison(f"test MSE at the {what}, median over seeds", float(np.median([sh[k] for sh in shapes])),
                     "-", f"noise floor {cfg.noise ** 2:g}") for k, what in
          (("first_min", "first minimum"), ("peak", "peak"), ("final", "last step"))],
        Comparison("epoch-wise rise with label noise (peak / first minimum - 1), median",
                   float(np.median([sh["rise"] for sh in shapes])), "the bump is largest with label noise",
                   f"noise sd {cfg.noise:g}"),
        Comparison("epoch-wise rise of the same seeds with noise-free labels, median",
                   float(np.median([sh["rise"] for sh in clean_shapes])), "smaller or no bump without label noise",
                   "here not zero: the slow features' unlearned signal is a residual the fast features fit too"),
        Comparison("sample-wise: peak test MSE over the largest n's, median", float(np.median(
            [sample[s].max() / sample[s].iloc[-1] for s in seeds])), "-", "height of the sample-wise spike"),
    ]
    headline = {"epoch_rise_median": float(np.median([sh["rise"] for sh in shapes])),
                "epoch_fall_median": float(np.median([sh["fall"] for sh in shapes])),
                "sample_hurt_median": float(np.median(hurt))}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    ax, top = axes[0], 0.0
    for labels, color in (("noisy", "C0"), ("clean", "C2")):
        for metric, ls in (("test_mse", "-"), ("train_mse", ":")):
            c = _curve(metrics, "epoch", metric, labels)
            ax.plot(c.index, c.median(axis=1), ls, color=color, label=f"{metric.split('_')[0]}, {labels} labels")
            ax.fill_between(c.index, c.min(axis=1), c.max(axis=1), color=color, alpha=0.15, lw=0)
            top = max(top, float(c.max().max()) if metric == "test_mse" else 0.0)
    ax.set(xscale="log", ylim=(0, 1.05 * top), xlabel="GD step", ylabel="MSE (median over seeds, range shaded)",
           title="epoch-wise: two feature scales, label noise")
    ax.legend(fontsize=8)
    ax = axes[1]
    m = metrics[metrics.sweep == "sample"]
    for metric, ls in (("test_mse", "o-"), ("train_mse", "s:")):
        c = m[m.metric == metric].pivot_table(index="n", columns="seed", values="value")
        ax.plot(c.index, c.median(axis=1), ls, ms=3, color="C1", label=f"{metric.split('_')[0]} (median)")
        ax.fill_between(c.index, c.min(axis=1), c.max(axis=1), color="C1", alpha=0.2, lw=0)
    cfg = summary.get("config", {})
    if cfg.get("n_fast") and cfg.get("n_slow"):
        threshold_line(ax, cfg["n_fast"] + cfg["n_slow"], "n = d")
    ax.set(xscale="log", xlabel="training examples n", ylabel="MSE, trained to completion (symlog)",
           title="sample-wise: the minimum-norm fit GD converges to")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return save(fig, out_dir, "epoch_double_descent")


register(Experiment(
    name="epoch-double-descent",
    not_projectable="closed forms of the training dynamics at n_times times: no training steps",
    title="Epoch-wise and sample-wise double descent (Nakkiran et al. 2020)",
    question="Near the interpolation threshold with label noise, can training longer first hurt and then help, "
             "and can more data hurt?",
    metrics_doc="sweep 'epoch': per seed, labels ('noisy' training targets or 'clean' ones) and GD step: test_mse (exact "
    "population risk, noise floor included) and train_mse of the n_train-example fit. sweep 'sample' (step -1): per seed "
    "and training-set size n, the same for the minimum-norm fit GD converges to (trained to completion).",
    config_cls=EpochDDConfig,
    scales={"smoke": {"n_train": 60, "n_fast": 40, "n_slow": 5, "n_times": 61, "sample_ratios": (0.5, 1.0, 2.0)},
            "quick": {},
            "paper": {"n_train": 3000, "n_fast": 2000, "n_slow": 200, "n_times": 401}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 10},
    section="Double descent",
    order=15,
    series=("sweep", "labels", "seed"),
    estimates={"smoke": "0.01 CPU-s per seed of closed forms (a run is ~10 CPU-s with process start and imports)",
               "quick": "0.2 CPU-s per seed; 11 CPU-s for the whole run with imports (141 s wall measured at load ~20)",
               "paper": "one seed measured: 445 s wall at load ~20 (all 4 claims held); projected ~1 CPU-min per seed "
                        "idle, so ~10 CPU-min for 10 seeds (~5 min on 2 idle cores)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
