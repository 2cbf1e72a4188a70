"""optimizers: seed 003's Adam demo, its exponential moving average, and schedules on MNIST-1D.

1. The demo: ``y = w1 x + w2 x^3`` fitted to 500 samples of sin(pi x) + N(0, 0.2^2) by
   mini-batch descent from the origin with the demo's four presets of one Adam-family rule
   (:func:`adam_family_path`: beta1 = beta2 = 0 is SGD, beta1 = 0.9 momentum as an EMA,
   beta2 = 0.999 RMSprop-like, both Adam; bias-corrected as in Adam) and the demo's learning rates,
   at several batch sizes, against the analytic (least-squares) optimum.
2. The EMA: ``m_t = beta m_{t-1} + (1 - beta) g_t`` of the demo's mini-batch gradients at a fixed
   point, against the full-batch gradient: its noise, and the bias of the first steps with and
   without the correction ``1 / (1 - beta^t)``.
3. The same optimizers (torch.optim's, via :func:`genlab.train.train_many`) and learning-rate
   schedules (step, cosine, warm-up + cosine) on the MNIST-1D lecture MLP (40-100-100-10),
   final test error mean +- std over seeds.
Seeds: the data draw of 1-2 (``make_optimizer_data(seed=s)``), batch orders, the MLP's init.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab.data import make_mnist1d, make_optimizer_data
from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.models import lecture_mlp
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

SOURCE = "lecture (seed 003): Adam demo"
#: The demo's presets (its "Next" button): learning rate and the two moment decay rates.
PRESETS = {"sgd": (0.1, 0.0, 0.0), "momentum": (0.1, 0.9, 0.0), "rmsprop": (0.05, 0.0, 0.999), "adam": (0.05, 0.9, 0.999)}


def features(x: np.ndarray) -> np.ndarray:
    """``(x, x^3)`` per sample, shape (n, 2): the demo's model is linear in (w1, w2)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return np.stack([x, x**3], axis=1)


def least_squares_optimum(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The analytic optimum of the MSE (the demo's green star)."""
    return np.linalg.lstsq(phi, y, rcond=None)[0]


def adam_family_path(phi: np.ndarray, y: np.ndarray, *, lr: float, beta1: float, beta2: float, batch_size: int,
                     n_steps: int, seed: int, eps: float = 1e-8, w0=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Mini-batch path of the demo's rule: ``(path (n_steps + 1, 2), mini-batch MSE (n_steps,))``.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``, step ``m / (1 - b1^t)``, divided by
    ``sqrt(v / (1 - b2^t)) + eps`` when ``b2 > 0`` (``b2 = 0`` keeps the plain step: the demo's
    SGD and momentum presets). With ``b2 > 0`` this is torch.optim.Adam (tested). Batches are
    drawn without replacement within a step, independently across steps. A path that leaves
    |w| < 1e6 or turns non-finite stops there (the rest is NaN).
    """
    rng = np.random.default_rng(seed)
    w, m, v = np.array(w0, dtype=np.float64), np.zeros(2), np.zeros(2)
    path, loss = np.full((n_steps + 1, 2), np.nan), np.full(n_steps, np.nan)
    path[0] = w
    for t in range(1, n_steps + 1):
        idx = rng.choice(len(y), size=batch_size, replace=False)
        r = phi[idx] @ w - y[idx]  # (B,)
        loss[t - 1] = np.mean(r**2)
        g = 2 * phi[idx].T @ r / batch_size
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        step = m / (1 - beta1**t)
        if beta2 > 0:
            step = step / (np.sqrt(v / (1 - beta2**t)) + eps)
        w = w - lr * step
        if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e6:
            break
        path[t] = w
    return path, loss


def ema(values: np.ndarray, beta: float, *, correct: bool) -> np.ndarray:
    """The EMA along axis 0 from ``m_0 = 0`` (bias-corrected by ``1 - beta^t`` if ``correct``)."""
    out, m = np.empty_like(values, dtype=np.float64), np.zeros(values.shape[1:])
    for t in range(len(values)):
        m = beta * m + (1 - beta) * values[t]
        out[t] = m / (1 - beta ** (t + 1)) if correct else m
    return out


@dataclass(frozen=True)
class OptimizersConfig(ExperimentConfig):
    """Settings of the optimizers experiment."""

    owner: ClassVar[str] = "optimizers"
    batch_sizes: tuple = param((8, 32, 128), "mini-batch sizes of the demo (its slider: powers of 2)", many=True, low=1,
                               high=500)
    demo_steps: int = param(200, "steps of each demo path", low=20)
    beta: float = param(0.9, "EMA decay rate of part 2 (window ~ 1/(1 - beta))", kind=float, low=0.0, high=1.0,
                        low_open=True, high_open=True)
    ema_batch: int = param(32, "mini-batch size of the EMA's gradients", low=1, high=500)
    ema_steps: int = param(200, "steps of each EMA run", low=10)
    ema_runs: int = param(200, "independent EMA runs per seed", low=1)
    mnist_steps: int = param(1500, "steps on MNIST-1D", low=10)
    mnist_batch: int = param(100, "MNIST-1D batch size", low=1)
    eval_every: int = param(250, "steps between logged MNIST-1D test errors", low=1)


def demo_task(seeds: list, batch_sizes: list, demo_steps: int, beta: float, ema_batch: int, ema_steps: int,
              ema_runs: int) -> TaskOutput:
    """Parts 1 and 2 for every seed (NumPy; seconds)."""
    rows = []
    for s in seeds:
        d = make_optimizer_data(seed=s)
        phi, y = features(d.x_train), np.asarray(d.y_train, dtype=np.float64)
        w_star = least_squares_optimum(phi, y)
        rows += [{"part": "optimum", "seed": s, "metric": f"w{k + 1}", "value": float(w_star[k])} for k in range(2)]
        # The MSE is the quadratic w^T A w - 2 b^T w + c: its coefficients draw the contours.
        a, bvec = phi.T @ phi / len(y), phi.T @ y / len(y)
        quad = {"a11": a[0, 0], "a12": a[0, 1], "a22": a[1, 1], "b1": bvec[0], "b2": bvec[1], "c": float(y @ y / len(y))}
        rows += [{"part": "quadratic", "seed": s, "metric": k, "value": float(v)} for k, v in quad.items()]
        for b in batch_sizes:
            for name, (lr, b1, b2) in PRESETS.items():
                path, loss = adam_family_path(phi, y, lr=lr, beta1=b1, beta2=b2, batch_size=b, n_steps=demo_steps,
                                              seed=100_000 * s + 10 * b + list(PRESETS).index(name))
                key = {"part": "path", "optimizer": name, "batch_size": b, "seed": s}
                for t in range(len(path)):
                    rows.append({**key, "step": t, "metric": "w1", "value": float(path[t, 0])})
                    rows.append({**key, "step": t, "metric": "w2", "value": float(path[t, 1])})
                    if t:
                        rows.append({**key, "step": t, "metric": "batch_mse", "value": float(loss[t - 1])})
        # Part 2: the EMA of mini-batch gradients at the origin against the full-batch gradient.
        rng = np.random.default_rng(100_000 * s + 99_999)
        g_full = -2 * phi.T @ y / len(y)  # gradient of the MSE at w = 0, shape (2,)
        g = np.empty((ema_steps, ema_runs, 2))
        for t in range(ema_steps):
            for r in range(ema_runs):
                idx = rng.choice(len(y), size=ema_batch, replace=False)
                g[t, r] = -2 * phi[idx].T @ y[idx] / ema_batch
        for label, series in (("raw", g), ("ema_corrected", ema(g, beta, correct=True)),
                              ("ema_uncorrected", ema(g, beta, correct=False))):
            e = np.linalg.norm(series - g_full, axis=-1) / np.linalg.norm(g_full)  # (T, R)
            rows += [{"part": "ema", "series": label, "seed": s, "step": t + 1, "metric": "rel_error_rms",
                      "value": float(np.sqrt(np.mean(e[t] ** 2)))} for t in range(ema_steps)]
            rows += [{"part": "ema", "series": label, "seed": s, "step": t + 1, "metric": "first_component",
                      "value": float(series[t, :, 0].mean() / g_full[0])} for t in range(ema_steps)]
    return TaskOutput(rows)


def mnist_members(n_steps: int) -> dict[str, TrainConfig]:
    """The optimizers (constant rate) and Adam's schedules on MNIST-1D (torch.optim's rules)."""
    base = TrainConfig(n_steps=n_steps, loss="cross_entropy")
    adam = base.replace(optimizer="adam", lr=0.01)
    return {
        "sgd": base.replace(optimizer="sgd", lr=0.1),
        "momentum": base.replace(optimizer="sgd", lr=0.01, momentum=0.9),  # torch form: lr / (1 - beta) = 0.1 effective
        "rmsprop": base.replace(optimizer="rmsprop", lr=0.001),
        "adam": adam,
        "adam+step": adam.replace(schedule="step", step_every=max(1, n_steps // 3), gamma=0.3),
        "adam+cosine": adam.replace(schedule="cosine"),
        "adam+warmup_cosine": adam.replace(schedule="warmup_cosine", warmup_steps=max(1, n_steps // 10)),
    }


def mnist_task(seeds: list, names: list, n_steps: int, batch_size: int, eval_every: int, device: str) -> TaskOutput:
    """MNIST-1D: each (member, seed) trained side by side (init seed 1000 s + 3, batch order s)."""
    data = make_mnist1d()
    kinds = mnist_members(n_steps)
    runs = [(n, s) for n in names for s in seeds]
    models = [lecture_mlp(seed=1000 * s + 3) for _, s in runs]
    configs = [kinds[n].replace(batch_size=batch_size, eval_every=eval_every, seed=s) for n, s in runs]
    res = train_many(models, data, configs, device=device, progress=False)
    rows = []
    for i, (n, s) in enumerate(runs):
        for split, metric in (("test", "error"), ("train", "loss"), ("test", "loss")):
            c = res.curve(i, split, metric)
            rows += [{"part": "mnist1d", "optimizer": n, "seed": s, "step": int(t), "metric": f"{split}_{metric}",
                      "value": float(v)} for t, v in zip(c.step, c.value)]
        rows.append({"part": "mnist1d", "optimizer": n, "seed": s, "step": n_steps, "metric": "diverged",
                     "value": float(res.diverged[i])})
    return TaskOutput(rows)


def tasks(cfg: OptimizersConfig, device: str) -> list[Task]:
    names = list(mnist_members(cfg.mnist_steps))
    mn = {"seeds": list(cfg.seeds), "n_steps": cfg.mnist_steps, "batch_size": cfg.mnist_batch, "eval_every": cfg.eval_every,
          "device": device}
    return [Task(demo_task, {"seeds": list(cfg.seeds), "batch_sizes": list(cfg.batch_sizes), "demo_steps": cfg.demo_steps,
                             "beta": cfg.beta, "ema_batch": cfg.ema_batch, "ema_steps": cfg.ema_steps,
                             "ema_runs": cfg.ema_runs}, label="demo + EMA"),
            Task(mnist_task, {**mn, "names": names[:4]}, label="MNIST-1D optimizers"),
            Task(mnist_task, {**mn, "names": names[4:]}, label="MNIST-1D schedules")]


def _paths(metrics: pd.DataFrame) -> dict:
    """(optimizer, batch, seed) -> path array (T + 1, 2)."""
    p = metrics[(metrics.part == "path") & metrics.metric.isin(["w1", "w2"])]
    wide = p.pivot_table(index=["optimizer", "batch_size", "seed", "step"], columns="metric", values="value")
    return {k: g[["w1", "w2"]].to_numpy() for k, g in wide.groupby(level=[0, 1, 2])}


def distance_at_end(path: np.ndarray, w_star: np.ndarray, last: int = 20) -> float:
    """Mean distance to the optimum over the last ``last`` points (inf if the path stopped)."""
    if not np.isfinite(path).all():
        return math.inf
    return float(np.linalg.norm(path[-last:] - w_star, axis=1).mean())


def tortuosity(path: np.ndarray) -> float:
    """Path length / net displacement (1 for a straight path; mini-batch noise makes it longer)."""
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    return float(steps.sum() / np.linalg.norm(path[-1] - path[0]))


def gd_distance(phi: np.ndarray, y: np.ndarray, lr: float, n_steps: int) -> float:
    """Distance to the optimum after ``n_steps`` of full-batch gradient descent from 0: ||(I - lr H)^t w*||."""
    h = 2 * phi.T @ phi / len(y)  # Hessian of the MSE
    w_star = least_squares_optimum(phi, y)
    return float(np.linalg.norm(np.linalg.matrix_power(np.eye(2) - lr * h, n_steps) @ (0 - w_star)))


def _final(metrics: pd.DataFrame, name: str, metric: str) -> pd.Series:
    m = metrics[(metrics.part == "mnist1d") & (metrics.optimizer == name) & (metrics.metric == metric)]
    return m[m.step == m.groupby("seed").step.transform("max")].set_index("seed").value


def summarize(cfg: OptimizersConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds, bs = list(cfg.seeds), sorted(cfg.batch_sizes)
    opt = metrics[metrics.part == "optimum"].pivot_table(index="seed", columns="metric", values="value")
    w_star = {s: opt.loc[s, ["w1", "w2"]].to_numpy() for s in seeds}
    paths = _paths(metrics)
    dist = {(o, b, s): distance_at_end(paths[(o, b, s)], w_star[s]) for o in PRESETS for b in bs for s in seeds}
    tort = {(o, b, s): tortuosity(paths[(o, b, s)]) for o in PRESETS for b in bs for s in seeds}
    claims, comparisons = [], []
    for name, label in (("adam", "Adam"), ("rmsprop", "RMSprop-like (beta1 = 0)")):
        worst = [max(dist[(name, b, s)] / dist[("sgd", b, s)] for b in bs) for s in seeds]
        claims.append(in_band(f"{label} ends far closer to the optimum than vanilla SGD in {cfg.demo_steps} steps: worst "
                              f"distance ratio over batch sizes {bs}", seeds, worst, (0.0, 0.5), kind="qualitative",
                              source=SOURCE, published="vanilla SGD is noisy and slow; the second moment adapts step sizes "
                              "to the loss geometry"))
    b0, b1 = bs[0], bs[-1]
    claims.append(in_band(f"momentum smooths the trajectory: path length / displacement, SGD / momentum (batch {b0})", seeds,
                          [tort[("sgd", b0, s)] / tort[("momentum", b0, s)] for s in seeds], (1.15, math.inf),
                          kind="qualitative", source=SOURCE, published="momentum smooths the trajectory"))
    claims.append(in_band(f"Adam's first moment smooths RMSprop's path too: path length / displacement, RMSprop-like / Adam "
                          f"(batch {b0})", seeds, [tort[("rmsprop", b0, s)] / tort[("adam", b0, s)] for s in seeds],
                          (1.15, math.inf), kind="qualitative", source=SOURCE,
                          published="full Adam combines both for fast, stable convergence"))
    if b1 > b0:
        claims.append(in_band(f"larger batches, less noise: Adam's end distance, batch {b1} / batch {b0}", seeds,
                              [dist[("adam", b1, s)] / dist[("adam", b0, s)] for s in seeds], (0.0, 0.5),
                              kind="qualitative", source="lecture (seed 003): 'SGD is noisy due to mini-batch sampling'",
                              published="noise shrinks with the batch size"))
    # SGD's slowness is the full-batch recursion's: the flat direction of H (x and x^3 nearly collinear).
    sgd_lr = PRESETS["sgd"][0]
    pred, meas = [], []
    for s in seeds:
        d = make_optimizer_data(seed=s)
        phi, y = features(d.x_train), np.asarray(d.y_train, dtype=np.float64)
        pred.append(gd_distance(phi, y, sgd_lr, cfg.demo_steps))
        p = paths[("sgd", b1, s)]
        meas.append(float(np.linalg.norm(p[-1] - w_star[s])))
    claims.append(in_band(f"vanilla SGD is slow as the full-batch recursion (I - lr H)^t predicts: end distance / predicted "
                          f"(batch {b1}, lr {sgd_lr:g})", seeds, np.array(meas) / np.array(pred), (0.9, 1.1),
                          kind="reference", source="closed form ||(I - lr H)^t w*|| computed by genlab (theory, not a run)",
                          published="H = 2 Phi^T Phi / n; its small eigenvalue (x and x^3 nearly collinear) sets the pace",
                          note=f"predicted distances {', '.join(f'{v:.2f}' for v in pred)} of |w*| ~ "
                          f"{np.mean([np.linalg.norm(w) for w in w_star.values()]):.2f}"))
    for o in PRESETS:
        for b in bs:
            comparisons.append(Comparison(f"demo {o}, batch {b}: distance to the optimum over the last 20 of "
                                          f"{cfg.demo_steps} steps (mean over seeds)", float(np.mean([dist[(o, b, s)] for s in seeds])),
                                          "0 = the analytic optimum", f"path length / displacement "
                                          f"{np.mean([tort[(o, b, s)] for s in seeds]):.2f}"))
    # Part 2: the EMA.
    e = metrics[metrics.part == "ema"]
    rms = e[e.metric == "rel_error_rms"].pivot_table(index=["series", "seed"], columns="step", values="value")
    late = [t for t in rms.columns if t > cfg.ema_steps // 2]
    ratio = (rms.loc["ema_corrected"][late].mean(axis=1) / rms.loc["raw"][late].mean(axis=1)).loc[seeds]
    beta = cfg.beta
    pred_ratio = math.sqrt((1 - beta) / (1 + beta))
    claims.append(in_band(f"the EMA (beta {beta:g}) cuts the mini-batch gradient noise by sqrt((1 - beta) / (1 + beta)) = "
                          f"{pred_ratio:.3f}: RMS error of the EMA / of one mini-batch", seeds, ratio,
                          (0.85 * pred_ratio, 1.15 * pred_ratio), kind="qualitative",
                          source="lecture (seed 003): EMA slide ('more smoothing, but more lag')",
                          published=f"{pred_ratio:.3f} (the EMA of white noise)",
                          note="noise-wise the EMA averages (1 + beta) / (1 - beta) steps; the lecture's window "
                          "1/(1 - beta) is its lag (the mean age of its weights)"))
    window = max(1, round(1 / (1 - beta)))
    first = e[e.metric == "first_component"].pivot_table(index=["series", "seed"], columns="step", values="value")
    early = list(range(1, window + 1))
    bias_u = (1 - first.loc["ema_uncorrected"][early]).mean(axis=1).loc[seeds]
    pred_bias = float(np.mean([beta**t for t in early]))
    claims.append(in_band(f"without bias correction the first {window} EMA values are pulled toward m_0 = 0 by beta^t: "
                          f"mean bias / mean beta^t", seeds, bias_u / pred_bias, (0.9, 1.1), kind="qualitative",
                          source="lecture (seed 003): EMA details, bias correction", published="m_t biased towards zero; "
                          f"mean beta^t over t = 1..{window} is {pred_bias:.3f}"))
    bias_c = (1 - first.loc["ema_corrected"][early]).mean(axis=1).abs().loc[seeds]
    claims.append(in_band(f"dividing by 1 - beta^t removes it: |mean bias| over the first {window} steps", seeds, bias_c,
                          (0.0, 0.05), kind="qualitative", source="lecture (seed 003): EMA details, bias correction",
                          published="m_hat = m / (1 - beta^t) is unbiased"))
    comparisons.append(Comparison("noise-equivalent EMA window 1 / (RMS ratio)^2, mean over seeds", float((1 / ratio**2).mean()),
                                  f"{(1 + beta) / (1 - beta):.0f} = (1 + beta) / (1 - beta); lecture: ~{1 / (1 - beta):.0f}",
                                  "the lecture's 1/(1 - beta) is the EMA's lag"))
    # Part 3: MNIST-1D.
    names = list(mnist_members(cfg.mnist_steps))
    err = {n: _final(metrics, n, "test_error").loc[seeds] * 100 for n in names}
    tl = {n: _final(metrics, n, "train_loss").loc[seeds] for n in names}
    claims.append(in_band(f"Adam beats plain SGD on the MNIST-1D MLP in {cfg.mnist_steps} steps: final test error, SGD - Adam "
                          "(points)", seeds, err["sgd"] - err["adam"], (0.0, math.inf), kind="qualitative",
                          source="lecture (seed 003): 'Adam is the default optimizer'", published="> 0"))
    scheds = [n for n in names if n.startswith("adam+")]

    def end_jitter(name: str) -> pd.Series:
        """Largest |change| of the test error over the last two logged intervals (points), per seed."""
        t = metrics[(metrics.part == "mnist1d") & (metrics.optimizer == name) & (metrics.metric == "test_error")]
        wide = t.pivot_table(index="seed", columns="step", values="value") * 100
        last = wide[wide.columns[-3:]]
        return last.diff(axis=1).abs().max(axis=1)

    jit = {n: end_jitter(n) for n in ["adam"] + scheds}
    claims.append(in_band(f"a decayed rate ends steadily: largest |change of the test error| over the last two logged "
                          f"intervals, worst of {scheds} (points)", seeds, [max(jit[n][s] for n in scheds) for s in seeds],
                          (0.0, 1.0), kind="qualitative",
                          source="lecture (seed 003): schedules give 'convergent, low-noise results in the final stages'",
                          published="low noise at the end",
                          note=f"Adam at a constant 0.01: {', '.join(f'{v:.1f}' for v in jit['adam'].loc[seeds])} points"))
    gap = [max(abs(err[n][s] - err["adam"][s]) for n in scheds) for s in seeds]
    comparisons.append(Comparison("largest |final test error, schedule - constant| (points), mean over seeds",
                                  float(np.mean(gap)), "lecture: scheduling is 'good practice but fine-tuning'",
                                  f"per seed {', '.join(f'{v:.1f}' for v in gap)}"))
    for n in names:
        v = err[n]
        comparisons.append(Comparison(f"MNIST-1D {n}: final test error (%), mean +- std over {len(v)} seeds", float(v.mean()),
                                      "Greydanus 2020 Table 1: MLP 68 +- 2 % accuracy (a residual MLP, Adam 0.01, 6000 steps)",
                                      f"std {v.std(ddof=1) if len(v) > 1 else 0:.2f}; final train loss {tl[n].mean():.3f}, "
                                      f"test loss {_final(metrics, n, 'test_loss').loc[seeds].mean():.2f}"))
    headline = {f"mnist1d/{n}": {"test_error_mean": float(err[n].mean()),
                                 "test_error_std": float(err[n].std(ddof=1)) if len(seeds) > 1 else 0.0} for n in names}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    files = []
    paths = _paths(metrics)
    opt = metrics[metrics.part == "optimum"].pivot_table(index="seed", columns="metric", values="value")
    s0 = int(opt.index.min())
    bs = sorted({k[1] for k in paths})
    fig, axes = plt.subplots(1, len(bs), figsize=(4.2 * len(bs), 4), squeeze=False)
    q = metrics[(metrics.part == "quadratic") & (metrics.seed == s0)].set_index("metric").value
    g1, g2 = np.meshgrid(np.linspace(-1, 6, 80), np.linspace(-6, 2, 80))
    mse = q.a11 * g1**2 + 2 * q.a12 * g1 * g2 + q.a22 * g2**2 - 2 * (q.b1 * g1 + q.b2 * g2) + q.c
    rmse = np.sqrt(np.maximum(mse, 0))
    for ax, b in zip(axes[0], bs):
        ax.contour(g1, g2, rmse, levels=np.r_[0.25, 0.3, 0.4, 0.6, 0.8, np.arange(1, 11)], colors="0.7", linewidths=0.7)
        for k, o in enumerate(PRESETS):
            p = paths[(o, b, s0)]
            ax.plot(p[:, 0], p[:, 1], color=f"C{k}", lw=1, label=o)
        ax.plot(opt.loc[s0, "w1"], opt.loc[s0, "w2"], marker="*", color="green", ms=14, ls="none", label="optimum")
        ax.set(xlabel="w1", ylabel="w2", title=f"batch {int(b)}, seed {s0}: sqrt(MSE) contours")
        ax.legend(fontsize=8)
    files += save(fig, out_dir, "optimizer_paths")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    e = metrics[metrics.part == "ema"]
    for k, ser in enumerate(("raw", "ema_uncorrected", "ema_corrected")):
        for ax, metric in zip(axes, ("first_component", "rel_error_rms")):
            g = e[(e.series == ser) & (e.metric == metric)].groupby("step").value
            ax.plot(g.mean().index, g.mean(), color=f"C{k}", label=ser)
            ax.fill_between(g.mean().index, g.min(), g.max(), color=f"C{k}", alpha=0.2, lw=0)  # seeds' range
    axes[0].set(xscale="log", xlabel="step t", ylabel="mean over runs of m_t[0] / g_full[0]", title="bias of the EMA's start")
    axes[1].set(xscale="log", yscale="log", xlabel="step t", ylabel="RMS of |m_t - g_full| / |g_full|",
                title="noise of the EMA against one mini-batch")
    for ax in axes:
        ax.legend(fontsize=8)
    files += save(fig, out_dir, "ema")
    fig, ax = plt.subplots(figsize=(7, 4))
    mn = metrics[(metrics.part == "mnist1d") & (metrics.metric == "test_error")]
    for k, n in enumerate(dict.fromkeys(mn.optimizer)):
        g = mn[mn.optimizer == n].groupby("step").value
        ax.plot(g.mean().index, 100 * g.mean(), color=f"C{k}", label=n, ls="--" if "+" in n else "-")
        ax.fill_between(g.mean().index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.15, lw=0)
    ax.set(xlabel="step", ylabel="test error (%)", title="MNIST-1D lecture MLP: mean and range over seeds")
    ax.legend(fontsize=8)
    files += save(fig, out_dir, "mnist1d_optimizers")
    return files


register(Experiment(
    name="optimizers",
    steps="mnist_steps",
    title="Optimizers: SGD, momentum, RMSprop-like and Adam on the demo's bowl, the EMA, schedules on MNIST-1D",
    question="How do momentum and Adam's second moment change the path to the optimum, what does the EMA do to gradient "
    "noise and to its first steps, and what do optimizers and schedules give on MNIST-1D?",
    metrics_doc="part=optimum: the analytic w1, w2 per seed; part=quadratic: the MSE's coefficients (a11, a12, a22, b1, b2, c). part=path: w1, w2 per optimizer preset, batch size, seed and "
    "step, batch_mse. part=ema: per series (raw mini-batch gradient, EMA uncorrected, EMA corrected), seed and step: "
    "rel_error_rms (RMS over runs of |m_t - g_full| / |g_full|), first_component (mean over runs of m_t[0] / g_full[0]). "
    "part=mnist1d: test_error, train_loss, test_loss per optimizer/schedule, seed and logged step; diverged.",
    config_cls=OptimizersConfig,
    scales={"smoke": {"batch_sizes": (8, 128), "demo_steps": 40, "ema_runs": 8, "ema_steps": 30, "mnist_steps": 30,
                      "eval_every": 15},
            "quick": {}, "paper": {"mnist_steps": 6000, "ema_runs": 1000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Making training work",
    order=40,
    series=("part", "optimizer", "batch_size", "series", "seed"),
    estimates={"smoke": "4 s", "quick": "~170 s (measured with the 2 cores shared; MNIST-1D dominates)",
               "paper": "~10 min"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
