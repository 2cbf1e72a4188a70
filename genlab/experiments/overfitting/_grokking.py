"""grokking: test accuracy jumps long after train accuracy reaches 100 % (seed 001, "Grokking").

Modular addition y = (a + b) mod p on all p^2 pairs, a random fraction of them for training (each
seed its own split; the splits of the fractions are nested prefixes of one permutation), the rest
the test set. Gromov's (2023) two-layer MLP without biases and with a quadratic activation:
out = W (U[a] + V[b])^2, the first layer as embedding look-ups (the same maths as one-hot inputs
times a (2p, N) matrix), MSE on one-hot targets, full-batch AdamW (phenomena.md, section 7A, at its
faster learning rate 1e-2: at 3e-3 test accuracy took 3000 steps to pass 95 % in one of 3 seeds).

Per seed and (train fraction, weight decay) condition: train and test accuracy and the total weight
norm on a log-spaced grid of steps. Claims (main condition: ``train_fraction``, ``weight_decay``):
train accuracy reaches 99 % more than 10x earlier than test accuracy reaches 95 % (the delay);
with weight decay the test accuracy ends above 95 %; without weight decay it stays low within the
same budget; at a larger training fraction the delay (nearly) vanishes; with weight decay the weight
norm falls from its peak as the test accuracy rises (a progress measure). The grid over all
fractions x weight decays is the phase diagram.

Why not ``train_many``: the engine logs loss (and error only with cross-entropy) at its
evaluation steps; grokking needs the accuracy under the MSE loss and the weight norm over
training. The members of one (fraction, weight decay) condition are one stacked population
instead: parameters (M, ...) with a batched matmul and ``torch.optim.AdamW``, whose update is
elementwise, so each member trains exactly as alone (tested against a per-model plain loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from genlab._checks import fail
from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.sweep import Task, TaskOutput

POWER = "Power et al. 2022, Fig. 1 (left): train accuracy ~100 % orders of magnitude of steps before validation accuracy"
GROMOV = "Gromov 2023 (arXiv 2301.02679): the quadratic MLP groks modular addition with AdamW and weight decay"
WD_SOURCE = "Power et al. 2022, Fig. 2 (weight decay the most effective intervention); Omnigrok (Liu et al. 2023)"
NANDA = "Nanda et al. 2023 (ICLR), progress measures: the total weight norm falls during circuit formation and cleanup"
FIT, GENERALIZE = 0.99, 0.95  #: accuracy thresholds: "fitted" the training set, "generalized" to the test set


@dataclass(frozen=True)
class GrokkingConfig(ExperimentConfig):
    """Settings of the grokking experiment."""

    owner: ClassVar[str] = "grokking"
    modulus: int = param(59, "p: the task is (a + b) mod p on all p^2 pairs", low=3, high=257)
    width: int = param(256, "hidden units N of the quadratic MLP", low=1)
    train_fraction: float = param(0.3, "training fraction of the main condition (the delay claims)", kind=float,
                                  low=0.0, high=1.0, low_open=True, high_open=True)
    weight_decay: float = param(1.0, "AdamW weight decay of the main condition", kind=float, low=0.0, low_open=True)
    fractions: tuple = param((0.3, 0.5), "training fractions of the grid (with train_fraction and a larger one)",
                             kind=float, many=True, low=0.0, high=1.0, low_open=True, high_open=True)
    weight_decays: tuple = param((1.0, 0.0), "weight decays of the grid (with weight_decay and 0)", kind=float,
                                 many=True, low=0.0)
    n_steps: int = param(1500, "full-batch AdamW steps (the budget)", low=1)
    lr: float = param(1e-2, "AdamW learning rate", kind=float, low=0.0, low_open=True)
    n_evals: int = param(150, "evaluations, log-spaced over the steps (plus step 0)", low=2)

    def check(self):
        if self.train_fraction not in self.fractions or not any(f > self.train_fraction for f in self.fractions):
            raise fail("fractions", self.owner, f"a list holding train_fraction = {self.train_fraction} and a larger "
                       "fraction", list(self.fractions))
        if self.weight_decay not in self.weight_decays or 0.0 not in self.weight_decays:
            raise fail("weight_decays", self.owner, f"a list holding weight_decay = {self.weight_decay} and 0",
                       list(self.weight_decays))
        if min(self.fractions) * self.modulus**2 < 1:
            raise fail("fractions", self.owner, f"fractions of at least 1 / p^2 = {1 / self.modulus**2:.3g}",
                       list(self.fractions))


def pairs(modulus: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All p^2 pairs (a, b) in row-major order and their labels (a + b) mod p, each (p^2,)."""
    a = torch.arange(modulus).repeat_interleave(modulus)
    b = torch.arange(modulus).repeat(modulus)
    return a, b, (a + b) % modulus


def train_indices(modulus: int, fraction: float, split_seed: int) -> torch.Tensor:
    """Indices (into :func:`pairs`) of the training pairs: the first round(fraction p^2) of a seeded
    permutation, so that a larger fraction's split contains a smaller one's."""
    perm = torch.randperm(modulus**2, generator=torch.Generator().manual_seed(split_seed))
    return perm[: max(1, round(fraction * modulus**2))]


def init_weights(modulus: int, width: int, init_seed: int, dtype=torch.float32) -> list[torch.Tensor]:
    """U, V (p, N) and W (N, p), entries N(0, std^2) with std = 0.5 / (2N)^(1/3) (Doshi et al.'s scripts)."""
    g = torch.Generator().manual_seed(init_seed)
    std = 0.5 / (2 * width) ** (1 / 3)
    shapes = ((modulus, width), (modulus, width), (width, modulus))
    return [(torch.randn(s, generator=g, dtype=torch.float64) * std).to(dtype) for s in shapes]


def log_steps(n_steps: int, n_evals: int) -> list[int]:
    """Step 0 and ``n_evals`` log-spaced steps from 1 to ``n_steps`` (distinct integers, ``n_steps`` last)."""
    grid = np.unique(np.round(np.geomspace(1, n_steps, n_evals)).astype(int))
    return [0, *grid.tolist()]


def train_condition(modulus: int, width: int, fraction: float, weight_decay: float, seeds: list, n_steps: int,
                    lr: float, n_evals: int, betas: tuple = (0.9, 0.98), dtype: str = "float32") -> TaskOutput:
    """One (fraction, weight decay) condition: the run's seeds as one stacked population.

    Seed s: split seed 1000 s, init seed 1000 s + 1 (the same for every condition, so that the
    conditions of a seed differ only in the knob). Returns long records per seed, step and metric.
    """
    torch_dtype = getattr(torch, dtype)
    a, b, y = pairs(modulus)
    m = len(seeds)
    train = torch.stack([train_indices(modulus, fraction, 1000 * s) for s in seeds])  # (M, n)
    in_train = torch.zeros(m, modulus**2, dtype=torch.bool).scatter_(1, train, True)  # (M, p^2)
    params = [torch.stack(ws).requires_grad_() for ws in
              zip(*(init_weights(modulus, width, 1000 * s + 1, torch_dtype) for s in seeds))]
    u, v, w = params  # (M, p, N), (M, p, N), (M, N, p)
    opt = torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)
    rows_idx = torch.arange(m)[:, None]
    a_tr, b_tr = a[train], b[train]  # (M, n)
    target = torch.nn.functional.one_hot(y[train], modulus).to(torch_dtype)  # (M, n, p)

    def forward(ia: torch.Tensor, ib: torch.Tensor) -> torch.Tensor:
        h = u[rows_idx, ia] + v[rows_idx, ib] if ia.dim() == 2 else u[:, ia] + v[:, ib]  # (M, n, N)
        return torch.bmm(h * h, w)  # (M, n, p)

    records = []

    @torch.no_grad()
    def evaluate(step: int) -> None:
        out = forward(a, b)  # every pair at once: (M, p^2, p); no dropout or state, so train = eval mode
        correct = (out.argmax(-1) == y).to(torch.float64)
        loss = ((out - torch.nn.functional.one_hot(y, modulus).to(out.dtype)) ** 2).mean(2).to(torch.float64)
        n_tr = in_train.sum(1)
        values = {
            "train_accuracy": (correct * in_train).sum(1) / n_tr,
            "test_accuracy": (correct * ~in_train).sum(1) / (modulus**2 - n_tr),
            "train_loss": (loss * in_train).sum(1) / n_tr,
            "weight_norm": torch.sqrt(sum(p.to(torch.float64).pow(2).flatten(1).sum(1) for p in params)),
        }
        for i, s in enumerate(seeds):
            for metric, vals in values.items():
                records.append({"fraction": fraction, "weight_decay": weight_decay, "seed": s, "step": step,
                                "metric": metric, "value": float(vals[i])})

    steps = set(log_steps(n_steps, n_evals))
    for step in range(n_steps + 1):
        if step in steps:
            evaluate(step)
        if step == n_steps:
            break
        loss = ((forward(a_tr, b_tr) - target) ** 2).mean((1, 2))  # (M,): each member's MSE
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # members are independent: the sum's gradient is each member's own
        opt.step()
    return TaskOutput(records)


def tasks(cfg: GrokkingConfig, device: str) -> list[Task]:
    # One population per (fraction, weight decay), the largest fraction first (the longest tasks).
    return [Task(train_condition, {"modulus": cfg.modulus, "width": cfg.width, "fraction": f, "weight_decay": wd,
                                   "seeds": list(cfg.seeds), "n_steps": cfg.n_steps, "lr": cfg.lr,
                                   "n_evals": cfg.n_evals},
                 label=f"fraction={f}, wd={wd}")
            for f in sorted(cfg.fractions, reverse=True) for wd in cfg.weight_decays]


def first_step(curve: pd.DataFrame, threshold: float) -> float:
    """The first logged step whose value is >= ``threshold`` (NaN if none)."""
    hit = curve[curve.value >= threshold]
    return float(hit.step.min()) if len(hit) else float("nan")


def milestones(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (fraction, weight_decay, seed): steps to fit (train >= 99 %), to generalize (test >= 95 %),
    their ratio, the final test accuracy (%), the weight norm's peak and its final value."""
    rows = []
    for (f, wd, s), g in metrics.groupby(["fraction", "weight_decay", "seed"]):
        g = g.sort_values("step")
        fit = first_step(g[g.metric == "train_accuracy"], FIT)
        gen = first_step(g[g.metric == "test_accuracy"], GENERALIZE)
        test = g[g.metric == "test_accuracy"]
        norm = g[g.metric == "weight_norm"]
        rows.append({"fraction": f, "weight_decay": wd, "seed": s, "steps_to_fit": fit, "steps_to_generalize": gen,
                     "delay": gen / fit if fit > 0 else float("nan"), "final_test": 100 * float(test.value.iloc[-1]),
                     "norm_peak": float(norm.value.max()), "norm_final": float(norm.value.iloc[-1])})
    return pd.DataFrame(rows).set_index(["fraction", "weight_decay", "seed"])


def claims_of(cfg: GrokkingConfig, metrics: pd.DataFrame) -> list:
    """The experiment's claims, read from the long metrics."""
    ms = milestones(metrics)
    seeds = list(cfg.seeds)
    f0, wd0, big = cfg.train_fraction, cfg.weight_decay, max(cfg.fractions)

    def col(f, wd, name):
        return [ms.loc[(f, wd, s), name] for s in seeds]

    budget = f"{cfg.n_steps} steps, p = {cfg.modulus}"
    fits, gens = col(f0, wd0, "steps_to_fit"), col(f0, wd0, "steps_to_generalize")
    return [
        in_band(f"fraction {f0}, wd {wd0}: delay, steps to 95 % test / steps to 99 % train accuracy", seeds,
                col(f0, wd0, "delay"), (10.0, np.inf), kind="qualitative", source=f"{POWER}; {GROMOV}",
                published="generalization long after fitting",
                note=f"steps to fit {', '.join(f'{v:.0f}' for v in fits)}; to generalize "
                     f"{', '.join(f'{v:.0f}' for v in gens)} (NaN: not within {budget})"),
        in_band(f"fraction {f0}, wd {wd0}: test accuracy at the end of the budget (%)", seeds, col(f0, wd0, "final_test"),
                (95.0, 100.0), kind="qualitative", source=GROMOV, published="test accuracy ~100 % after grokking",
                note=budget),
        in_band(f"fraction {f0}, wd 0: test accuracy at the end of the same budget (%)", seeds, col(f0, 0.0, "final_test"),
                (0.0, 50.0), kind="qualitative", source=WD_SOURCE, published="no weight decay: memorization only",
                note=f"{budget}; chance is {100 / cfg.modulus:.1f} %"),
        in_band(f"fraction {big}, wd {wd0}: delay, steps to 95 % test / steps to 99 % train accuracy", seeds,
                col(big, wd0, "delay"), (0.0, 5.0), kind="qualitative",
                source="Power et al. 2022, Fig. 1 (right): the steps to generalize fall steeply with the data fraction",
                published="little or no delay at a large training fraction",
                note="NaN: test accuracy never reached 95 %"),
        in_band(f"fraction {f0}, wd {wd0}: the weight norm falls from its peak by the end (% of the peak)", seeds,
                [100 * (1 - fin / peak) for fin, peak in zip(col(f0, wd0, "norm_final"), col(f0, wd0, "norm_peak"))],
                (3.0, 100.0), kind="qualitative", source=NANDA, published="the total weight norm falls as the model groks",
                note="without weight decay: " + ", ".join(
                    f"{100 * (1 - fin / peak):.1f} %" for fin, peak in
                    zip(col(f0, 0.0, "norm_final"), col(f0, 0.0, "norm_peak")))),
    ]


def summarize(cfg: GrokkingConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = claims_of(cfg, metrics)
    ms = milestones(metrics)
    comparisons, headline = [], {}
    for (f, wd), g in ms.groupby(level=["fraction", "weight_decay"]):
        key = f"fraction={f}/wd={wd}"
        headline[key] = {"final_test_mean": float(g.final_test.mean()), "steps_to_fit": g.steps_to_fit.tolist(),
                         "steps_to_generalize": g.steps_to_generalize.tolist()}
        comparisons.append(Comparison(
            f"fraction {f}, wd {wd}: final test accuracy, mean over {len(g)} seeds (%)", float(g.final_test.mean()),
            "phenomena.md 7A (genlab's own check, one seed): lr 1e-2, wd 1, 30 %: train 100 % at step 25, test > 95 % at "
            "step 475; lr 3e-3, wd 0: test 2.6 % after 3000 steps",
            f"steps to fit {g.steps_to_fit.tolist()}, to generalize {g.steps_to_generalize.tolist()}; weight norm "
            f"peak {g.norm_peak.mean():.1f}, final {g.norm_final.mean():.1f}"))
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    cfg = summary["config"]
    f0, wd0 = cfg["train_fraction"], cfg["weight_decay"]
    big = max(cfg["fractions"])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))

    def band(ax, f, wd, metric, color, label, scale=100.0, ls="-"):
        g = metrics[(metrics.fraction == f) & (metrics.weight_decay == wd) & (metrics.metric == metric)]
        g = g[g.step > 0].groupby("step").value  # step 0 has no place on a log axis
        mean = scale * g.mean()
        ax.plot(mean.index, mean, color=color, ls=ls, label=label)
        ax.fill_between(mean.index, scale * g.min(), scale * g.max(), color=color, alpha=0.2, lw=0)  # seeds' range

    ax = axes[0]
    band(ax, f0, wd0, "train_accuracy", "C0", f"train, fraction {f0}, wd {wd0}")
    band(ax, f0, wd0, "test_accuracy", "C3", f"test, fraction {f0}, wd {wd0}")
    band(ax, f0, 0.0, "test_accuracy", "C7", f"test, fraction {f0}, wd 0", ls="--")
    band(ax, big, wd0, "test_accuracy", "C2", f"test, fraction {big}, wd {wd0}", ls=":")
    ax.set(xscale="log", xlabel="AdamW step (log)", ylabel="accuracy (%)", ylim=(0, 101),
           title=f"(a + b) mod {cfg['modulus']}: mean and range over seeds")
    ax.legend(fontsize=8, loc="center left")
    ax = axes[1]
    for k, wd in enumerate(sorted(cfg["weight_decays"], reverse=True)):
        band(ax, f0, wd, "weight_norm", f"C{k}", f"fraction {f0}, wd {wd}", scale=1.0)
    ax.set(xscale="log", xlabel="AdamW step (log)", ylabel="total weight norm ||(U, V, W)||", title="weight norm")
    ax.legend(fontsize=8)
    ax = axes[2]
    last = metrics[(metrics.metric == "test_accuracy") & (metrics.step == metrics.step.max())]
    grid = 100 * last.groupby(["weight_decay", "fraction"]).value.mean().unstack("fraction")  # (wd, fraction)
    im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", vmin=0, vmax=100, cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{f:g}" for f in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{wd:g}" for wd in grid.index])
    for (i, j), val in np.ndenumerate(grid.to_numpy()):
        ax.text(j, i, f"{val:.0f}", ha="center", va="center", color="w" if val < 60 else "k", fontsize=9)
    ax.set(xlabel="training fraction", ylabel="weight decay", title="final test accuracy (%), mean over seeds")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="test accuracy (%)")
    return save(fig, out_dir, "grokking")


register(Experiment(
    name="grokking",
    not_projectable="n_evals evaluations at log-spaced steps: a short probe evaluates at almost every step, unlike the full run",
    title="Grokking: generalization long after memorization (modular addition)",
    question="When a small network fits (a + b) mod p on part of the pairs, does test accuracy follow train "
    "accuracy, or come much later, and what do weight decay and the training fraction change?",
    metrics_doc="Per training fraction, weight decay, seed and logged step (log-spaced): train_accuracy and "
    "test_accuracy (fractions of the training / held-out pairs predicted right, argmax of the outputs), "
    "train_loss (MSE on one-hot targets over the training pairs) and weight_norm (L2 norm of all weights).",
    config_cls=GrokkingConfig,
    scales={"smoke": {"modulus": 23, "width": 64, "n_steps": 200, "n_evals": 20},
            "quick": {},
            "paper": {"fractions": (0.2, 0.3, 0.4, 0.5, 0.6), "weight_decays": (3.0, 1.0, 0.3, 0.0),
                      "n_steps": 10000, "n_evals": 300}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Grokking",
    order=80,
    series=("fraction", "weight_decay", "seed"),
    # smoke: 27 s measured at load 8-13 (worker start-up dominates); quick: 972 s measured at load 15-18
    # on the shared 2 cores (~25-35 CPU-s per task idle: ~1-2 min);
    # paper: 20 populations, ~0.7 CPU-s per step idle (projected from 150-step timings), 10000 steps
    estimates={"smoke": "~5 s", "quick": "~1-2 min idle", "paper": "~1 h (projection)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
