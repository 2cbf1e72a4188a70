"""mode-connectivity: solutions from different seeds are joined by low-loss curves (Garipov et al. 2018).

The lecture MLP (two hidden ReLU layers, Adam, MNIST-1D) is trained from ``n_members`` random
initializations per run seed (each its own init and batch order), all members of all seeds one
population of ``train_many``. The lecture's observation: the members reach similar final
training losses. Between the first two members of each seed the straight line
``(1 - t) w_1 + t w_2`` climbs a high barrier (permutation symmetry: the hidden units of two
independent solutions are not aligned), yet a quadratic Bezier curve
``phi(t) = (1 - t)^2 w_1 + 2 t (1 - t) theta + t^2 w_2`` whose control point ``theta`` is trained
(Garipov et al.: ``theta`` starts at the midpoint, each step descends the train loss at a
``t ~ U[0, 1]``; genlab.measure.bezier_curve) joins them at almost the ends' loss, and its test
error stays at the ends' test error.

The barrier of a path is ``max_t [L(t) - ((1 - t) L(0) + t L(1))]``: the largest rise of the loss
above the linear interpolation of the two ends' losses (Frankle et al. 2020, 'Linear mode
connectivity and the lottery ticket hypothesis'; Draxler et al. 2018 measure the rise above the
higher end, the same here up to the ends' small difference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab._checks import fail
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
from genlab.experiments.expressivity._sharpness_batch_size import _data
from genlab.measure import bezier_curve, curve_losses
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

GARIPOV = "Garipov et al. 2018 (NeurIPS), 'Loss surfaces, mode connectivity, and fast ensembling of DNNs'"
DRAXLER = "Draxler et al. 2018 (ICML), 'Essentially no barriers in neural network energy landscape'"
LECTURE = "lecture (seed 002), 'Non-convex optimization': different random seeds yield similar final train losses"
GARIPOV_TABLES = ("Garipov et al.'s tables of min / max train loss and test error along the curves (CIFAR-10 and "
                  "CIFAR-100), README of github.com/timgaripov/dnn-mode-connectivity")
COLUMNS = ["part", "path", "split", "seed", "member", "t", "metric", "value"]


@dataclass(frozen=True)
class ModeConnectivityConfig(ExperimentConfig):
    """Settings of the solutions and of the curves between them."""

    owner: ClassVar[str] = "mode-connectivity"
    n_train: int = param(4000, "MNIST-1D training examples (of 4000; the test set is the 1000 standard ones)",
                         low=10, high=4000)
    width: int = param(100, "hidden units of the 2-hidden-layer ReLU MLP (100: the lecture MLP)", low=1)
    n_members: int = param(2, "solutions per run seed (independent inits and batch orders); the curve joins the "
                              "first two", low=2)
    lr: float = param(1e-3, "Adam learning rate of the solutions", kind=float, low=0.0, low_open=True)
    batch_size: int = param(100, "minibatch of the solutions and of the curve", low=1)
    n_steps: int = param(6000, "Adam steps of each solution (150 epochs at 4000 examples: train error 0)", low=1)
    curve_steps: int = param(6000, "Adam steps of the Bezier control point (one t ~ U[0, 1] per step)", low=1)
    curve_lr: float = param(3e-3, "Adam learning rate of the control point (1e-3 left the barrier ~4x higher "
                                  "at 6000 steps)", kind=float, low=0.0, low_open=True)
    n_t: int = param(21, "points t in [0, 1] at which both paths are evaluated", low=3)

    def check(self):
        if self.batch_size > self.n_train:
            raise fail("batch_size", self.owner, f"an int of at most n_train = {self.n_train}", self.batch_size)
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps)


def _member_model(width: int, seed: int, k: int) -> MLP:
    return MLP(40, 10, width=width, depth=2, seed=1000 * seed + 10 + k)  # member k of run seed s: its own init


def solutions_task(seeds: list, n_members: int, n_train: int, width: int, lr: float, batch_size: int, n_steps: int,
                   curve_steps: int, curve_lr: float, n_t: int) -> TaskOutput:
    """Some run seeds x ``n_members`` as one population; then each seed's line and Bezier curve."""
    data = _data(n_train)
    members = [(s, k) for s in seeds for k in range(n_members)]
    models = [_member_model(width, s, k) for s, k in members]
    configs = [TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, n_steps=n_steps, eval_every=n_steps,
                           seed=1000 * s + 20 + k) for s, k in members]
    result = train_many(models, data, configs, progress=False)
    m = result.metrics
    rows = []
    for i, (s, k) in enumerate(members):
        for _, r in m[m.member == i].iterrows():
            step = "initial" if r.step == 0 else "final"
            rows.append({"part": "solutions", "path": "", "split": r.split, "seed": s, "member": k, "t": np.nan,
                         "metric": f"{step}_{r.metric}", "value": float(r.value)})
    test = (data.x_test, data.y_test)
    for s in seeds:
        a, b = (models[members.index((s, k))] for k in (0, 1))
        curve = bezier_curve(a, b, data, n_steps=curve_steps, lr=curve_lr, batch_size=batch_size, n_points=n_t,
                             seed=1000 * s + 30)
        paths = {("line", "train"): curve.line, ("bezier", "train"): curve.train,
                 ("line", "test"): curve_losses(a, b, test, n_points=n_t),
                 ("bezier", "test"): curve_losses(a, b, test, control=curve.control, n_points=n_t)}
        for (path, split), c in paths.items():
            for t, loss, err in zip(c.ts, c.losses, c.errors):
                rows.append({"part": "path", "path": path, "split": split, "seed": s, "member": -1, "t": float(t),
                             "metric": "loss", "value": float(loss)})
                rows.append({"part": "path", "path": path, "split": split, "seed": s, "member": -1, "t": float(t),
                             "metric": "error", "value": float(err)})
            for metric, value in (("barrier", c.barrier), ("error_barrier", c.error_barrier)):
                rows.append({"part": "barrier", "path": path, "split": split, "seed": s, "member": -1, "t": np.nan,
                             "metric": metric, "value": float(value)})
        for metric, value in (("distance", curve.distance), ("control_shift", curve.control_shift),
                              ("last_curve_batch_loss", float(np.mean(curve.history[-100:])))):
            rows.append({"part": "curve", "path": "bezier", "split": "train", "seed": s, "member": -1, "t": np.nan,
                         "metric": metric, "value": float(value)})
    return TaskOutput(rows)


def tasks(cfg: ModeConnectivityConfig, device: str) -> list[Task]:
    seeds = list(cfg.seeds)
    groups = [seeds[i::2] for i in range(min(2, len(seeds)))]  # one population per worker
    common = {"n_members": cfg.n_members, "n_train": cfg.n_train, "width": cfg.width, "lr": cfg.lr,
              "batch_size": cfg.batch_size, "n_steps": cfg.n_steps, "curve_steps": cfg.curve_steps,
              "curve_lr": cfg.curve_lr, "n_t": cfg.n_t}
    return [Task(solutions_task, {"seeds": g, **common}, label=f"seeds {', '.join(map(str, g))}") for g in groups]


def claims_of(cfg: ModeConnectivityConfig, metrics: pd.DataFrame) -> tuple[list, list, dict]:
    """The claims, comparisons and headline read from the tidy metrics."""
    seeds = list(cfg.seeds)
    sol = metrics[(metrics.part == "solutions") & (metrics.split == "train")]
    bar = metrics[metrics.part == "barrier"].set_index(["path", "split", "seed", "metric"]).value
    spread, initial, final = [], [], []
    for s in seeds:
        g = sol[sol.seed == s]
        fin = g[g.metric == "final_loss"].value.to_numpy()
        init = float(g[g.metric == "initial_loss"].value.mean())
        spread.append(float(fin.max() - fin.min()) / init)
        initial.append(init)
        final.append(fin)
    claims, comparisons = [], []
    claims.append(in_band(f"the {cfg.n_members} solutions of a seed reach similar train losses (spread of the final "
                          "train CE / the initial train CE)", seeds, spread, (0.0, 0.05), kind="qualitative",
                          source=LECTURE, published="similar final train losses",
                          note="max - min over the seed's members of the final full-train cross-entropy, divided by "
                               "their mean initial one (~ln 10); a member that did not train would give ~1; final "
                               "losses " + "; ".join(", ".join(f"{v:.3g}" for v in f) for f in final)))
    line = np.array([bar[("line", "train", s, "barrier")] for s in seeds])
    bez = np.array([bar[("bezier", "train", s, "barrier")] for s in seeds])
    claims.append(in_band("the straight line between two solutions has a barrier (train CE above the ends' linear "
                          "interpolation, nats)", seeds, line, (1.0, float("inf")), kind="qualitative",
                          source=f"{GARIPOV}, Sec. 1 and Fig. 1 (left); Goodfellow et al. 2015",
                          published="the loss is high along the line segment between two optima",
                          note="barrier = max over t of L(t) - ((1 - t) L(0) + t L(1)); > 1 nat, ~50x the ends' loss"))
    ratio = bez / line
    claims.append(in_band("the trained Bezier curve has (almost) no barrier (its barrier / the line's)", seeds, ratio,
                          (0.0, 0.1), kind="qualitative",
                          source=f"{GARIPOV}, Sec. 3-4 and Fig. 2; {GARIPOV_TABLES} (max train loss along the "
                                 f"Bezier curve = the endpoints'); {DRAXLER}", published="train loss and accuracy nearly constant along the "
                                                                    "curve ('essentially no barriers')",
                          note="the same barrier definition on both paths; line "
                               + ", ".join(f"{v:.3g}" for v in line) + ", Bezier " + ", ".join(f"{v:.3g}" for v in bez)
                               + " nats"))
    test_bar = np.array([100 * bar[("bezier", "test", s, "error_barrier")] for s in seeds])
    line_test_bar = np.array([100 * bar[("line", "test", s, "error_barrier")] for s in seeds])
    claims.append(in_band("test error along the Bezier curve stays at the ends' (its largest rise above their linear "
                          "interpolation, points)", seeds, test_bar, (-100.0, 5.0), kind="qualitative",
                          source=f"{GARIPOV}, abstract and Fig. 2; {GARIPOV_TABLES} (max test error along the "
                                 "Bezier curve 0.2-2.6 points above the endpoints')",
                          published="test accuracy nearly constant along the curve",
                          note="within 5 points (seed noise of one model's MNIST-1D test error is 1-2 points); the "
                               "straight line's rise: " + ", ".join(f"{v:.1f}" for v in line_test_bar) + " points"))
    comparisons.append(Comparison("train CE barrier of the straight line, mean over seeds (nats)", float(line.mean()),
                                  f"{GARIPOV}: a high-loss line segment (Fig. 1 left, not tabulated as a barrier)",
                                  "per seed " + ", ".join(f"{v:.3g}" for v in line)))
    comparisons.append(Comparison("train CE barrier of the Bezier curve, mean over seeds (nats)", float(bez.mean()),
                                  f"{GARIPOV}: near-constant train loss along the curve (Fig. 2); {DRAXLER}: "
                                  "'essentially no barriers' on CIFAR-10/100 ResNets and DenseNets",
                                  "per seed " + ", ".join(f"{v:.3g}" for v in bez)))
    comparisons.append(Comparison("rise of the test error above the ends' along the straight line, mean (points)",
                                  float(line_test_bar.mean()), "the line's barrier in test error, for contrast",
                                  "per seed " + ", ".join(f"{v:.1f}" for v in line_test_bar)))
    paths = metrics[(metrics.part == "path") & (metrics.path == "bezier")]
    if not paths.empty:  # the published tables' quantities: the curve's maximum against the ends'
        loss_ratio, err_rise = [], []
        for s in seeds:
            tr = paths[(paths.seed == s) & (paths.split == "train") & (paths.metric == "loss")]
            te = paths[(paths.seed == s) & (paths.split == "test") & (paths.metric == "error")]
            loss_ratio.append(tr.value.max() / tr[tr.t.isin([0.0, 1.0])].value.max())
            err_rise.append(100 * (te.value.max() - te[te.t.isin([0.0, 1.0])].value.max()))
        comparisons.append(Comparison(
            "max train loss along the Bezier curve / the higher end's, mean over seeds", float(np.mean(loss_ratio)),
            f"{GARIPOV_TABLES}: 1.00 for every network (CIFAR-10 Bezier max 0.24, 0.18, 0.09 = the endpoints' for "
            "VGG16, PreResNet164, WideResNet28x10; CIFAR-100 0.89, 0.49, 0.21 = the endpoints')",
            "per seed " + ", ".join(f"{v:.3g}" for v in loss_ratio) + "; their train loss includes the L2 penalty "
            "(weight decay 3e-4 to 5e-4), which keeps their ends well above 0; ours is the plain cross-entropy at ~0.02, "
            "so a rise of 0.07 nats is a ratio of ~5"))
        comparisons.append(Comparison(
            "max test error along the Bezier curve minus the higher end's, mean over seeds (points)",
            float(np.mean(err_rise)),
            f"{GARIPOV_TABLES}: CIFAR-10 +0.8, +0.2, +0.2 (VGG16 7.75 vs 6.94, PreResNet164 4.97 vs 4.75, "
            "WideResNet28x10 3.88 vs 3.73); CIFAR-100 +2.6, +1.7, +0.3 (30.1 vs 27.5, 23.4 vs 21.7, 19.2 vs 18.9)",
            "per seed " + ", ".join(f"{v:.1f}" for v in err_rise) + "; MNIST-1D's test error is ~38 %, so one "
            "point is ~10 test examples of 1000"))
    headline = {"line_barrier": float(line.mean()), "bezier_barrier": float(bez.mean()),
                "bezier_test_error_rise_points": float(test_bar.mean())}
    return claims, comparisons, headline


def summarize(cfg: ModeConnectivityConfig, outputs: list[TaskOutput]) -> RunOutput:
    rows = [row for out in outputs for row in out.records]
    metrics = pd.DataFrame(rows, columns=COLUMNS).sort_values(["part", "path", "split", "seed", "member", "t", "metric"],
                                                               kind="stable").reset_index(drop=True)
    claims, comparisons, headline = claims_of(cfg, metrics)
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    paths = metrics[metrics.part == "path"]
    styles = {"line": ("C3", "straight line"), "bezier": ("C0", "Bezier curve (trained)")}
    for ax, metric, ylabel in ((axes[0], "loss", "cross-entropy (nats)"), (axes[1], "error", "error (%)")):
        scale = 100 if metric == "error" else 1
        for path, (color, label) in styles.items():
            for split, ls in (("train", "-"), ("test", "--")):
                g = paths[(paths.path == path) & (paths.split == split) & (paths.metric == metric)].groupby("t").value
                mean = g.mean() * scale
                ax.plot(mean.index, mean, color=color, ls=ls, label=f"{label}, {split}")
                ax.fill_between(mean.index, g.min() * scale, g.max() * scale, color=color, alpha=0.15, lw=0)
        ax.set(xlabel="t  (0: solution 1, 1: solution 2)", ylabel=ylabel,
               title=f"{metric} along the two paths: mean and range over seeds")
        if metric == "loss":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    return save(fig, out_dir, "mode_connectivity")


register(Experiment(
    name="mode-connectivity",
    steps=("n_steps", "curve_steps"),
    title="Mode connectivity: independent solutions joined by a low-loss curve",
    question="Do different seeds reach similar training losses, and are their solutions isolated minima (a barrier on "
             "the straight line between them) or connected by a simple low-loss curve?",
    metrics_doc="part=solutions: per seed and member, initial_loss/initial_error and final_loss/final_error of the "
                "train and test splits (full sets). part=path: loss and error at t along the straight line "
                "(path=line) and the trained quadratic Bezier curve (path=bezier) between members 0 and 1, on the "
                "train and test sets. part=barrier: max over t of the loss (error) minus the linear interpolation "
                "of the ends' values, per path and split. part=curve: distance ||w_2 - w_1||, control_shift "
                "(||theta - midpoint||) and last_curve_batch_loss (mean minibatch loss of the last 100 curve steps).",
    config_cls=ModeConnectivityConfig,
    scales={"smoke": {"n_train": 200, "width": 32, "lr": 3e-3, "batch_size": 50, "n_steps": 150, "curve_steps": 100,
                      "curve_lr": 1e-2, "n_t": 11},
            "quick": {},
            "paper": {"n_members": 5, "n_steps": 20000, "curve_steps": 20000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Sharp and flat minima",
    order=30,
    series=("part", "path", "split", "seed", "member"),
    # quick: seeds 3 and 4 in one process (--backend serial) took 103 CPU-s, i.e. ~50 CPU-s a seed (two solutions of
    # 6000 steps ~27 s, the curve ~22 s): ~150 CPU-s for 3 seeds, ~100 s wall on 2 idle cores (groups {0, 2} and {1}).
    # paper: projected from those step costs (5 members, 20000 steps each and for the curve, 5 seeds), not measured.
    estimates={"smoke": "4 s", "quick": "~100 s", "paper": "~12 min (projection)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
