"""sharpness-batch-size: small- and large-batch minima at the same training loss (Keskar et al. 2017).

Both batch sizes start from the same initialization (per seed) and train with Adam at one
learning rate until the full-training-set cross-entropy is below ``stop_loss`` (each member stops
at its own first evaluation below it, ``TrainConfig.stop_loss``): equal training loss, not equal
epochs, which would confound "sharp" with "under-trained". At each minimum genlab.measure gives
the top Hessian eigenvalue (Lanczos), the Hessian trace (Hutch++), Keskar's epsilon-sharpness
(the box ``|u_i| <= eps (|w_i| + 1)``, projected sign-gradient ascent instead of L-BFGS-B) and
the loss along the line ``f(alpha w_LB + (1 - alpha) w_SB)``. A second population (plain SGD,
batch sizes x learning rates) asks the lecture's question: does a larger ``lr / B`` (the
magnitude of the gradient noise) find flatter minima? Dinh et al.'s pitfall is shown last:
rescaling ``(a W1, a b1, W2 / a)`` of a ReLU network leaves its function unchanged and its
top eigenvalue not.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from genlab._checks import fail
from genlab.data import make_mnist1d, subsample_train
from genlab.experiments._claims import in_band, per_seed
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    pack_models,
    register,
    unpack_models,
)
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.measure import hessian_eigenvalues, hessian_trace, interpolate, worst_case_sharpness
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

KESKAR = "Keskar et al. 2017 (ICLR), Sec. 2-3"
LECTURE = "lecture (seed 001): a high lr / batch size ratio leads to wider minima"
DINH = "Dinh et al. 2017, 'Sharp minima can generalize for deep nets', Sec. 4"


@dataclass(frozen=True)
class SharpnessConfig(ExperimentConfig):
    """Settings of the small- vs large-batch comparison and of the lr / B sweep."""

    owner: ClassVar[str] = "sharpness-batch-size"
    n_train: int = param(4000, "MNIST-1D training examples (of 4000; the test set is the 1000 standard ones)",
                         low=10, high=4000)
    width: int = param(100, "hidden units of the 2-hidden-layer ReLU MLP (100: the lecture MLP)", low=1)
    lr: float = param(1e-3, "Adam learning rate of both batch sizes (one LR policy: not scaled with B)",
                      kind=float, low=0.0, low_open=True)
    small_batch: int = param(32, "small batch (SB)", low=1)
    large_batch: int = param(2000, "large batch (LB; Keskar: 10 % of the training set; here half)", low=1)
    stop_loss: float = param(0.01, "train until the full-train cross-entropy is below this", kind=float,
                             low=0.0, low_open=True)
    max_steps: int = param(30000, "step cap; a member that does not reach stop_loss is reported so", low=1)
    keskar_eps: float = param(1e-3, "Keskar's box |u_i| <= eps (|w_i| + 1)", kind=float, low=0.0, low_open=True)
    ascent_steps: int = param(20, "projected sign-gradient ascent steps of the epsilon-sharpness", low=1)
    hessian_steps: int = param(20, "Lanczos steps (Hessian-vector products) of the top eigenvalue", low=2)
    trace_hvp: int = param(30, "Hutch++ budget of the Hessian trace (Hessian-vector products)", low=3)
    n_alpha: int = param(21, "points of the interpolation on alpha in [-0.5, 1.5]", low=5)
    rescale: float = param(4.0, "Dinh et al.'s factor a in (a W1, a b1, W2 / a)", kind=float, low=1.0,
                           low_open=True)
    # B = 16 at lr 0.2 and 0.4 never got below CE 0.05 in 20000 steps (the SGD noise floor; quick run, 3 seeds)
    sweep_batches: tuple = param((64, 256), "sweep: SGD batch sizes", many=True, low=1)
    sweep_lrs: tuple = param((0.1, 0.2, 0.4), "sweep: SGD learning rates", many=True, kind=float, low=0.0,
                             low_open=True)
    sweep_stop_loss: float = param(0.05, "sweep: train until the full-train cross-entropy is below this",
                                   kind=float, low=0.0, low_open=True)
    sweep_max_steps: int = param(20000, "sweep: step cap", low=1)

    def check(self):
        for b in (self.small_batch, self.large_batch, *self.sweep_batches):
            if b > self.n_train:
                raise fail("small_batch, large_batch and sweep_batches", self.owner,
                           f"batch sizes of at most n_train = {self.n_train}", b)
        if self.small_batch >= self.large_batch:
            raise fail("small_batch", self.owner, f"an int below large_batch = {self.large_batch}", self.small_batch)
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.small_batch, n_steps=self.max_steps,
                       stop_loss=self.stop_loss)
        check_training(self.owner, optimizer="sgd", lr=max(self.sweep_lrs), n_steps=self.sweep_max_steps,
                       stop_loss=self.sweep_stop_loss)


@functools.lru_cache(maxsize=4)
def _data(n_train: int):
    data = make_mnist1d()
    return data if n_train >= data.n_train else subsample_train(data, n_train, seed=0)


def _model(width: int, seed: int) -> MLP:
    return MLP(40, 10, width=width, depth=2, seed=1000 * seed + 1)  # one init per run seed: SB, LB and sweep share it


def _eval_every(n_train: int, batch_size: int) -> int:
    """About one evaluation per epoch (at least 10 steps apart): the stop lands within an epoch."""
    return max(10, n_train // batch_size)


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        logits = model(torch.tensor(np.array(x), dtype=torch.float32))  # a copy: datasets hold read-only arrays
        return float((logits.argmax(1) == torch.from_numpy(np.array(y))).float().mean())


def rescaled(model: MLP, a: float) -> MLP:
    """Dinh et al.'s reparameterization: (a W1, a b1, W2 / a) computes the same ReLU network."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        out.linears[0].weight.mul_(a)
        out.linears[0].bias.mul_(a)
        out.linears[1].weight.div_(a)
    return out


def minima_task(batch_size: int, seeds: list, n_train: int, width: int, lr: float, stop_loss: float, max_steps: int,
                keskar_eps: float, ascent_steps: int, hessian_steps: int, trace_hvp: int, rescale: float | None) -> TaskOutput:
    """One batch size, every seed as a member: Adam until train CE < stop_loss, then the curvature measures."""
    data = _data(n_train)
    train = (data.x_train, data.y_train)
    models = [_model(width, s) for s in seeds]
    configs = [TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, n_steps=max_steps,
                           eval_every=_eval_every(len(data.y_train), batch_size), stop_loss=stop_loss,
                           seed=1000 * s + 500 + batch_size % 500) for s in seeds]
    result = train_many(models, data, configs, progress=False)
    final = result.final()
    rows = []
    for i, (s, model) in enumerate(zip(seeds, models)):
        model.eval()
        eig = hessian_eigenvalues(model, train, k=1, n_steps=hessian_steps, seed=s)
        trace = hessian_trace(model, train, n_hvp=trace_hvp, seed=s)
        sharp = worst_case_sharpness(model, train, radius=keskar_eps, norm="linf", magnitude_aware=True, eps=1.0,
                                     n_steps=ascent_steps, seed=s)
        values = {
            "steps": result.stopped_step[i], "train_loss": final.loc[i, ("train", "loss")],
            "reached": float(final.loc[i, ("train", "loss")] < stop_loss),
            "train_accuracy": _accuracy(model, data.x_train, data.y_train),
            "test_accuracy": _accuracy(model, data.x_test, data.y_test),
            "test_loss": final.loc[i, ("test", "loss")],
            "lambda_max": eig.eigenvalues[0], "lambda_max_residual": eig.residuals[0],
            "trace": trace.trace, "trace_stderr": trace.stderr,
            "keskar_sharpness": 100 * sharp.sharpness / (1 + sharp.loss),  # Keskar's phi, in %
        }
        if rescale is not None:  # Dinh et al.'s reparameterization (on the small batch)
            other = rescaled(model, rescale)
            x_test = torch.tensor(np.array(data.x_test), dtype=torch.float32)
            with torch.no_grad():
                values["rescaled_max_output_change"] = float((other(x_test) - model(x_test)).abs().max())
            values["rescaled_lambda_max"] = hessian_eigenvalues(other, train, k=1, n_steps=hessian_steps, seed=s).eigenvalues[0]
        for metric, value in values.items():
            rows.append({"part": "minima", "batch_size": batch_size, "lr": lr, "seed": s, "alpha": np.nan,
                         "metric": metric, "value": float(value)})
    return TaskOutput(rows, blob=pack_models({f"seed{s}": m for s, m in zip(seeds, models)}))


def sweep_task(batch_size: int, seeds: list, lrs: list, n_train: int, width: int, stop_loss: float, max_steps: int,
               hessian_steps: int) -> TaskOutput:
    """One SGD batch size, seeds x learning rates as members, each trained to the same train CE."""
    data = _data(n_train)
    members = [(s, lr) for s in seeds for lr in lrs]
    models = [_model(width, s) for s, _ in members]
    configs = [TrainConfig(optimizer="sgd", lr=lr, batch_size=batch_size, n_steps=max_steps,
                           eval_every=_eval_every(len(data.y_train), batch_size), stop_loss=stop_loss,
                           seed=1000 * s + 700 + k) for k, (s, lr) in enumerate(members)]
    result = train_many(models, data, configs, progress=False)
    final = result.final()
    rows = []
    for i, ((s, lr), model) in enumerate(zip(members, models)):
        eig = hessian_eigenvalues(model, (data.x_train, data.y_train), k=1, n_steps=hessian_steps, seed=s)
        values = {"steps": result.stopped_step[i], "train_loss": final.loc[i, ("train", "loss")],
                  "reached": float(final.loc[i, ("train", "loss")] < stop_loss and not result.diverged[i]),
                  "test_accuracy": 1 - final.loc[i, ("test", "error")], "lambda_max": eig.eigenvalues[0]}
        for metric, value in values.items():
            rows.append({"part": "sweep", "batch_size": batch_size, "lr": lr, "seed": s, "alpha": np.nan,
                         "metric": metric, "value": float(value)})
    return TaskOutput(rows)


def tasks(cfg: SharpnessConfig, device: str) -> list[Task]:
    common = {"seeds": list(cfg.seeds), "n_train": cfg.n_train, "width": cfg.width}
    minima = {"lr": cfg.lr, "stop_loss": cfg.stop_loss, "max_steps": cfg.max_steps, "keskar_eps": cfg.keskar_eps,
              "ascent_steps": cfg.ascent_steps, "hessian_steps": cfg.hessian_steps, "trace_hvp": cfg.trace_hvp}
    out = [Task(minima_task, {"batch_size": b, **common, **minima, "rescale": a}, label=f"{name} B={b}")
           for name, b, a in (("large batch", cfg.large_batch, None), ("small batch", cfg.small_batch, cfg.rescale))]
    for b in sorted(cfg.sweep_batches, reverse=True):  # the slowest first
        out.append(Task(sweep_task, {"batch_size": b, "lrs": list(cfg.sweep_lrs), **common, "stop_loss": cfg.sweep_stop_loss,
                                     "max_steps": cfg.sweep_max_steps, "hessian_steps": cfg.hessian_steps},
                        label=f"sweep B={b}"))
    return out


def interpolation_rows(sb: MLP, lb: MLP, data, seed: int, n_alpha: int) -> list[dict]:
    """Train and test loss at ``alpha w_LB + (1 - alpha) w_SB`` for alpha in [-0.5, 1.5] (0: SB, 1: LB)."""
    rows = []
    for split in ("train", "test"):
        line = interpolate(sb, lb, (getattr(data, f"x_{split}"), getattr(data, f"y_{split}")), n_points=n_alpha,
                           alpha_range=(-0.5, 1.5))
        for a, loss in zip(line.alphas, line.losses):
            rows.append({"part": "interpolation", "batch_size": np.nan, "lr": np.nan, "seed": seed, "alpha": float(a),
                         "metric": f"{split}_loss", "value": float(loss)})
        # the largest rise above the chord between alpha = 0 and 1 (0 for a convex path)
        rows.append({"part": "interpolation", "batch_size": np.nan, "lr": np.nan, "seed": seed, "alpha": np.nan,
                     "metric": f"{split}_barrier", "value": float(line.barrier)})
    return rows


def claims_of(cfg: SharpnessConfig, metrics: pd.DataFrame) -> tuple[list, list, dict]:
    """The claims, comparisons and headline read from the tidy metrics."""
    seeds = list(cfg.seeds)
    m = metrics[metrics.part == "minima"].set_index(["batch_size", "seed", "metric"]).value
    sb, lb = cfg.small_batch, cfg.large_batch

    def both(metric):
        return np.array([m[(sb, s, metric)] for s in seeds]), np.array([m[(lb, s, metric)] for s in seeds])

    claims, comparisons = [], []
    sb_loss, lb_loss = both("train_loss")
    worst = np.maximum(sb_loss, lb_loss)
    claims.append(in_band(f"both batch sizes trained to full-train CE < {cfg.stop_loss:g} (the larger of SB and LB)",
                          seeds, worst, (0.0, cfg.stop_loss), kind="qualitative", source=f"{KESKAR}: both trained to ~100 % train accuracy",
                          published=f"< {cfg.stop_loss:g}",
                          note=f"the fair comparison: equal training loss, not equal epochs; the step cap is {cfg.max_steps}"))
    ref = "genlab reference (phenomena.md, width 256, one draw; not published): "
    for metric, label, text in (("lambda_max", "top Hessian eigenvalue", "2.1 vs 5.8"),
                                ("trace", "Hessian trace", "39 vs 99"),
                                ("keskar_sharpness", "Keskar epsilon-sharpness", "5.4 vs 20.8")):
        a, b = both(metric)
        ratio = b / a
        pub = ("LB sharper, by 1-2 orders of magnitude on their networks (Tables 3-4; other datasets)"
               if metric == "keskar_sharpness" else "LB sharper (qualitative)")
        claims.append(per_seed(f"LB's {label} above SB's (ratio LB / SB)", seeds, ratio, ratio > 1, kind="qualitative",
                               source=KESKAR, published=pub, band=(1.0, float("inf")),
                               note=f"SB {', '.join(f'{v:.3g}' for v in a)}; LB {', '.join(f'{v:.3g}' for v in b)}"))
        comparisons.append(Comparison(f"{label}: SB / LB, mean over seeds", float(a.mean()), ref + text,
                                      f"LB mean {b.mean():.3g}; per seed SB {', '.join(f'{v:.3g}' for v in a)}"))
    a, b = both("test_accuracy")
    gap = 100 * (a - b)
    claims.append(per_seed("SB test accuracy above LB's (points)", seeds, gap, gap > 0, kind="qualitative", source=KESKAR,
                           published="SB generalizes better (a few points on their networks)", band=(0.0, float("inf")),
                           note="seed noise on one model's test accuracy is +-1-2 points (phenomena.md): the gap is also "
                                "given as mean +- std below"))
    sd = float(gap.std(ddof=1)) if len(gap) > 1 else 0.0
    comparisons.append(Comparison("SB minus LB test accuracy, mean over seeds (points)", float(gap.mean()),
                                  ref + "65.8 - 61.0 = 4.8", f"std {sd:.2f} over {len(gap)} seeds; SB "
                                  f"{', '.join(f'{100 * v:.1f}' for v in a)} %, LB {', '.join(f'{100 * v:.1f}' for v in b)} %"))
    # The line between the two minima.
    line = metrics[(metrics.part == "interpolation") & (metrics.metric == "train_barrier")].set_index("seed").value
    bars = [line[s] for s in seeds]
    claims.append(in_band("a barrier on the line between the SB and LB minima (train CE above the chord, nats)", seeds, bars,
                          (10 * cfg.stop_loss, float("inf")), kind="qualitative",
                          source=f"{KESKAR}, Fig. 3 (1-D parametric plots f(alpha w_LB + (1 - alpha) w_SB))",
                          published="the shape is decided by measuring here",
                          note="barrier > 10x the stop loss; a monotone rise toward LB would give ~0"))
    # The sweep: lr / B against the top eigenvalue, one Spearman rank correlation per seed.
    sw = metrics[metrics.part == "sweep"].pivot_table(index=["seed", "batch_size", "lr"], columns="metric", values="value")
    rhos, reached = [], []
    for s in seeds:
        g = sw.loc[s].reset_index()
        rhos.append(float(spearmanr(g.lr / g.batch_size, g.lambda_max).statistic) if len(g) > 2 else float("nan"))
        reached.append(float(g.train_loss.max()) if bool((g.reached > 0).all()) else float("inf"))
    claims.append(in_band(f"sweep: every member trained to full-train CE < {cfg.sweep_stop_loss:g} (the largest)", seeds,
                          reached, (0.0, cfg.sweep_stop_loss), kind="qualitative", source=LECTURE,
                          published=f"< {cfg.sweep_stop_loss:g}", note="plain SGD; equal training loss across the sweep"))
    claims.append(in_band("sweep: sharpness falls as lr / B grows (Spearman rank correlation of lr / B with lambda_max)",
                          seeds, rhos, (-1.0, -0.5), kind="qualitative", source=LECTURE, published="< 0",
                          note=f"{len(cfg.sweep_batches)} batch sizes x {len(cfg.sweep_lrs)} learning rates per seed; "
                               "the band asks for a clearly negative rank correlation (< -0.5); B = 16 at lr >= 0.2 "
                               "does not reach the stop loss (SGD's noise floor), so the grid starts at B = 64"))
    # Dinh et al.: a reparameterization of the same function with another top eigenvalue.
    change = np.array([m[(sb, s, "rescaled_max_output_change")] for s in seeds])
    lam_ratio = np.array([m[(sb, s, "rescaled_lambda_max")] / m[(sb, s, "lambda_max")] for s in seeds])
    claims.append(in_band(f"rescaling (a W1, a b1, W2 / a), a = {cfg.rescale:g}, keeps the SB network's function "
                          "(largest change of a test logit)", seeds, change, (0.0, 1e-4), kind="qualitative", source=DINH,
                          published="the same function", note="float32 round-off only"))
    claims.append(in_band(f"... but moves its top Hessian eigenvalue (rescaled / original, a = {cfg.rescale:g})", seeds,
                          lam_ratio, (2.0, float("inf")), kind="qualitative", source=DINH,
                          published="sharpness can be made arbitrarily large", note="sharpness is not invariant to "
                          "reparameterization: compare minima of one parameterization only"))
    headline = {"sb_lambda_max": float(both("lambda_max")[0].mean()), "lb_lambda_max": float(both("lambda_max")[1].mean()),
                "test_accuracy_gap_points": float(gap.mean())}
    return claims, comparisons, headline


def summarize(cfg: SharpnessConfig, outputs: list[TaskOutput]) -> RunOutput:
    data = _data(cfg.n_train)
    lb_models, sb_models = unpack_models(outputs[0].blob), unpack_models(outputs[1].blob)
    rows = [row for out in outputs for row in out.records]
    for s in cfg.seeds:  # the line between the two minima of each seed (cheap: forward passes only)
        rows += interpolation_rows(sb_models[f"seed{s}"], lb_models[f"seed{s}"], data, s, cfg.n_alpha)
    metrics = pd.DataFrame(rows, columns=["part", "batch_size", "lr", "seed", "alpha", "metric", "value"])
    claims, comparisons, headline = claims_of(cfg, metrics)
    models = {f"{name}_seed{s}": group[f"seed{s}"] for name, group in (("sb", sb_models), ("lb", lb_models))
              for s in cfg.seeds}  # saved under models/ (genlab measure reads them)
    return RunOutput(metrics, claims, comparisons, headline, models)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    mins = metrics[metrics.part == "minima"]
    bs = sorted(mins.batch_size.unique())
    ax = axes[0]
    for k, metric in enumerate(("lambda_max", "trace", "keskar_sharpness")):
        for j, b in enumerate(bs):
            v = mins[(mins.metric == metric) & (mins.batch_size == b)].value.to_numpy()
            base = mins[(mins.metric == metric) & (mins.batch_size == bs[0])].value.mean()
            ax.scatter(np.full(len(v), k + 0.2 * (j - 0.5)), v / base, color=f"C{j}", s=18,
                       label=f"B = {int(b)}" if k == 0 else None)
    ax.set_xticks(range(3), ["top eigenvalue", "Hessian trace", "Keskar sharpness"])
    ax.set(ylabel="value / mean of the small batch", title="at equal training loss: each dot one seed")
    ax.legend(fontsize=8)
    ax = axes[1]
    line = metrics[metrics.part == "interpolation"]
    for k, split in enumerate(("train", "test")):
        g = line[line.metric == f"{split}_loss"].groupby("alpha").value
        mean = g.mean()
        ax.plot(mean.index, mean, color=f"C{k}", label=f"{split} loss")
        ax.fill_between(mean.index, g.min(), g.max(), color=f"C{k}", alpha=0.2, lw=0)  # seeds' range
    ax.axvline(0, color="k", lw=0.6, ls=":")
    ax.axvline(1, color="k", lw=0.6, ls=":")
    ax.set(yscale="log", xlabel="alpha  (0: small-batch minimum, 1: large-batch minimum)", ylabel="cross-entropy (nats)",
           title="f(alpha w_LB + (1 - alpha) w_SB): mean and range over seeds")
    ax.legend(fontsize=8)
    ax = axes[2]
    sw = metrics[(metrics.part == "sweep") & (metrics.metric == "lambda_max")].copy()
    sw["ratio"] = sw.lr / sw.batch_size
    g = sw.groupby("ratio").value
    mean = g.mean()
    ax.plot(mean.index, mean, "o-", color="C2", label="mean over seeds and (lr, B) pairs")
    ax.fill_between(mean.index, g.min(), g.max(), color="C2", alpha=0.2, lw=0)
    ax.set(xscale="log", yscale="log", xlabel="learning rate / batch size", ylabel="top Hessian eigenvalue",
           title="plain SGD trained to equal training loss")
    ax.legend(fontsize=8)
    return save(fig, out_dir, "sharpness_batch_size")


register(Experiment(
    name="sharpness-batch-size",
    not_projectable="trains to a target loss (stop_loss, sweep_stop_loss): the steps per run vary, max_steps only caps them",
    title="Sharp and flat minima: small against large batch at the same training loss",
    question="Does a large batch find a sharper minimum that generalizes worse, at equal training loss, and does "
             "the learning-rate-to-batch-size ratio decide the sharpness?",
    metrics_doc="part=minima: per batch size and seed, steps (to the stop loss), train_loss, reached (1 if below it), "
                "train/test_accuracy, test_loss, lambda_max (top Hessian eigenvalue of the full training loss, with "
                "lambda_max_residual), trace (Hutch++, trace_stderr), keskar_sharpness (Keskar's phi in %: "
                "100 (max f(w + u) - f(w)) / (1 + f(w)) over |u_i| <= eps (|w_i| + 1)), rescaled_lambda_max and "
                "rescaled_max_output_change (Dinh et al.'s rescaling, on the small batch). part=interpolation: "
                "train/test_loss at alpha (0: SB, 1: LB). part=sweep: per SGD batch size, lr and seed, steps, "
                "train_loss, reached, test_accuracy, lambda_max.",
    config_cls=SharpnessConfig,
    scales={"smoke": {"n_train": 300, "width": 16, "lr": 0.01, "small_batch": 10, "large_batch": 150, "stop_loss": 0.5,
                      "max_steps": 300, "ascent_steps": 3, "hessian_steps": 20, "trace_hvp": 6, "n_alpha": 7,
                      "sweep_batches": (10, 50), "sweep_lrs": (0.1, 0.3), "sweep_stop_loss": 1.0,
                      "sweep_max_steps": 200},
            "quick": {},
            "paper": {"width": 256, "hessian_steps": 30, "trace_hvp": 90, "sweep_batches": (64, 256, 1024),
                      "sweep_lrs": (0.05, 0.1, 0.2, 0.4), "sweep_stop_loss": 0.01, "sweep_max_steps": 100000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Sharp and flat minima",
    order=20,
    series=("part", "batch_size", "lr", "seed"),
    # quick: 22 min wall at load average ~18 on the 2 cores; ~2 min from the workers' CPU time (not an idle run).
    # paper: a rough projection from quick's step costs (5x the arithmetic per step, 5 seeds, the 1024 sweep), not measured.
    estimates={"smoke": "5 s", "quick": "~2 min", "paper": "~3 h (projection)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
