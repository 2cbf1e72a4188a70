"""generalization-measures: which measures rank a population's generalization gaps (Jiang et al. 2020).

A population of MNIST-1D MLPs varies five hyperparameters on a grid (width, depth, batch size,
weight decay, label noise); every member trains with Adam at one learning rate until its
full-train cross-entropy is below ``stop_loss`` (Jiang et al. stop at 0.01, so that every model
is compared at the same training loss). Per member, genlab.measure gives norm measures (products
of spectral and Frobenius norms, path norm, distance from initialization), margin measures (the
inverse squared 10th-percentile margin, Bartlett et al.'s spectrally normalized margin),
worst-case sharpness, magnitude-aware PAC-Bayes flatness and the Hessian trace, on the member's
own (noisy) training set. Each measure is ranked against the measured gap (test error minus
train error) with Kendall's tau over the whole population of a seed, and with the paper's
granulated score: for each hyperparameter, the mean tau inside the groups of members that differ
in that hyperparameter only; Psi is the mean over hyperparameters. The tau values are reported
as they come out: descriptive rows beside the paper's, not verdicts. The claims check what must
hold for the comparison to mean anything: the stopping criterion was met, the gap varies, label
noise orders it, and the flatness bisection agrees with an independent Monte-Carlo estimate.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.stats import rankdata

from genlab._checks import fail
from genlab.data import make_mnist1d, subsample_train, with_label_noise
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
from genlab.measure import hessian_trace, norm_measures, pac_bayes_flatness, worst_case_sharpness
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

JIANG = "Jiang et al. 2020, 'Fantastic generalization measures and where to find them' (ICLR)"
AXES = ("width", "depth", "batch_size", "weight_decay", "label_noise")
# name -> (label, the measure of Jiang et al. it stands for, their finding as recalled in
# ../shared/reference/measures.md Sec. 7); each is oriented as a complexity: larger should mean a larger gap
MEASURES = {
    "log_prod_spectral": ("log prod of spectral norms", "log.prod.of.spec", "negative when depth/width vary"),
    "log_prod_frobenius": ("log prod of Frobenius norms", "log.prod.of.fro", "weak"),
    "sum_frobenius_sq": ("sum of squared Frobenius norms", "params.norm", "weak"),
    "distance_from_init": ("distance from initialization", "frob.distance", "comparatively good among norms"),
    "path_norm": ("path norm", "path.norm", "comparatively good among norms"),
    "inverse_margin": ("inverse squared margin 1/gamma^2", "inverse.margin", "weak"),
    "log_spectral_over_margin": ("log prod of spectral norms over gamma^2", "log.prod.of.spec.over.margin",
                                 "negative"),
    "bft_complexity": ("Bartlett et al.'s spectrally normalized margin bound", "log.spec.orig.main", "weak or negative"),
    "sharpness": ("worst-case sharpness (magnitude-aware box)", "sharpness.mag.flatness (1/alpha'^2)",
                  "among the most predictive"),
    "flatness": ("PAC-Bayes flatness 1/sigma'^2 (magnitude-aware)", "pacbayes.mag.flatness", "among the most predictive"),
    "hessian_trace": ("Hessian trace", "not in the study", "-"),
    "n_params": ("number of parameters", "params", "negative"),
    "steps": ("optimizer steps to the stop loss", "step#", "surprisingly predictive"),
}


@dataclass(frozen=True)
class GeneralizationMeasuresConfig(ExperimentConfig):
    """The population grid, its training to a fixed loss, and the measures' budgets."""

    owner: ClassVar[str] = "generalization-measures"
    n_train: int = param(500, "MNIST-1D training examples per seed (drawn from the 4000; test: the 1000 standard)",
                         low=10, high=4000)
    widths: tuple = param((64, 256), "hidden units per layer", many=True, low=1)
    depths: tuple = param((1, 2), "hidden layers", many=True, low=1)
    batch_sizes: tuple = param((32, 128), "minibatch sizes", many=True, low=1)
    weight_decays: tuple = param((0.0, 1e-4), "Adam weight decay (added to the gradient)", many=True, kind=float, low=0.0)
    label_noises: tuple = param((0.0, 0.1, 0.2), "fraction of training labels redrawn uniformly", many=True,
                                kind=float, low=0.0, high=1.0)
    lr: float = param(1e-2, "Adam learning rate of every member", kind=float, low=0.0, low_open=True)
    stop_loss: float = param(0.01, "train until the full-train cross-entropy is below this (Jiang et al.: 0.01)",
                             kind=float, low=0.0, low_open=True)
    max_steps: int = param(20000, "step cap; a member that does not reach stop_loss fails the stopping claim", low=1)
    sharpness_radius: float = param(0.05, "worst-case sharpness box |u_i| <= r (|w_i| + 1e-3)", kind=float, low=0.0,
                                    low_open=True)
    sharpness_steps: int = param(10, "projected sign-gradient ascent steps of the sharpness", low=1)
    flat_tolerance: float = param(0.1, "PAC-Bayes flatness: largest sigma' raising the train CE by at most this (nats)",
                                  kind=float, low=0.0, low_open=True)
    flat_draws: int = param(10, "Monte-Carlo weight-noise draws per bisection step", low=2)
    flat_bisect: int = param(12, "bisection steps on sigma'", low=1)
    check_draws: int = param(40, "fresh noise draws of the independent Monte-Carlo check at the found sigma'", low=2)
    trace_hvp: int = param(12, "Hutch++ budget of the Hessian trace (Hessian-vector products)", low=3)

    def check(self):
        if max(self.batch_sizes) > self.n_train:
            raise fail("batch_sizes", self.owner, f"batch sizes of at most n_train = {self.n_train}", max(self.batch_sizes))
        for name in ("widths", "depths", "batch_sizes", "weight_decays", "label_noises"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise fail(name, self.owner, "distinct values", values)
        check_training(self.owner, optimizer="adam", lr=self.lr, n_steps=self.max_steps, stop_loss=self.stop_loss,
                       batch_size=min(self.batch_sizes))


@functools.lru_cache(maxsize=8)
def _data(n_train: int, seed: int, noise: float):
    """The seed's training draw; label noise drawn once per (seed, level), shared by its members."""
    data = subsample_train(make_mnist1d(), n_train, seed=seed)
    return data if noise == 0 else with_label_noise(data, noise, seed=1000 * seed + 17)


def _tensors(data):
    x = torch.tensor(np.array(data.x_train), dtype=torch.float32)
    return x, torch.from_numpy(np.array(data.y_train)).long()


def monte_carlo_increase(model, x, y, sigma: float, n_draws: int, seed: int, eps: float = 1e-3) -> float:
    """Mean train-CE increase under magnitude-aware Gaussian weight noise ``sigma (|w| + eps) z``.

    An independent check of :func:`genlab.measure.pac_bayes_flatness`: plain module copies and
    fresh draws (another generator), not the measurement's Objective or its noise.
    """
    gen = torch.Generator().manual_seed(seed)
    model = model.eval()
    with torch.no_grad():
        base = float(F.cross_entropy(model(x), y))
        noisy = copy.deepcopy(model)
        ups = []
        for _ in range(n_draws):
            for p, q in zip(model.parameters(), noisy.parameters()):
                q.copy_(p + sigma * (p.abs() + eps) * torch.randn(p.shape, generator=gen))
            ups.append(float(F.cross_entropy(noisy(x), y)) - base)
    return float(np.mean(ups))


def _measures(model: MLP, init: MLP, x, y, cfg: dict, seed: int) -> dict:
    """Every measure of one trained member on its own training set (oriented: larger = more complex)."""
    norms = norm_measures(model, init=init, data=(x, y), margin_percentile=10.0)
    gamma = norms.margin
    sharp = worst_case_sharpness(model, (x, y), radius=cfg["sharpness_radius"], norm="linf", magnitude_aware=True,
                                 n_steps=cfg["sharpness_steps"], seed=seed)
    flat = pac_bayes_flatness(model, (x, y), tolerance=cfg["flat_tolerance"], n_draws=cfg["flat_draws"],
                              magnitude_aware=True, n_bisect=cfg["flat_bisect"], seed=seed)
    trace = hessian_trace(model, (x, y), n_hvp=cfg["trace_hvp"], seed=seed)
    check = monte_carlo_increase(model, x, y, flat.sigma, cfg["check_draws"], seed=seed + 7919)
    return {
        "log_prod_spectral": norms.log_prod_spectral, "log_prod_frobenius": norms.log_prod_frobenius,
        "sum_frobenius_sq": norms.sum_frobenius_sq, "distance_from_init": norms.distance_from_init,
        "path_norm": norms.path_norm, "margin": gamma,
        "inverse_margin": 1 / gamma**2 if gamma > 0 else math.inf,
        "log_spectral_over_margin": 2 * norms.log_prod_spectral - 2 * math.log(gamma) if gamma > 0 else math.inf,
        "bft_complexity": norms.bft_complexity, "sharpness": sharp.sharpness, "flatness": flat.flatness,
        "flat_sigma": flat.sigma, "flat_increase": flat.loss_increase, "flat_check_increase": check,
        "hessian_trace": trace.trace, "n_params": float(sum(p.numel() for p in model.parameters())),
    }


def population_task(batch_size: int, depth: int, seeds: list, cfg: dict) -> TaskOutput:
    """One batch size and depth: every seed x width x weight decay x label noise trained as one population."""
    members = list(itertools.product(seeds, cfg["widths"], cfg["weight_decays"], cfg["label_noises"]))
    arch = {w: k for k, w in enumerate(cfg["widths"])}
    # members that differ only in weight decay, noise or batch size share an initialization
    init_seed = [1000 * s + 10 * depth + arch[w] for s, w, _, _ in members]
    models = [MLP(40, 10, width=w, depth=depth, seed=i) for (_, w, _, _), i in zip(members, init_seed)]
    inits = [copy.deepcopy(m) for m in models]
    datas = [_data(cfg["n_train"], s, nz) for s, _, _, nz in members]
    configs = [TrainConfig(optimizer="adam", lr=cfg["lr"], weight_decay=wd, batch_size=batch_size,
                           n_steps=cfg["max_steps"], eval_every=max(10, cfg["n_train"] // batch_size),
                           stop_loss=cfg["stop_loss"], seed=1000 * s + 500 + batch_size % 400)
               for s, _, wd, _ in members]
    result = train_many(models, datas, configs, progress=False)
    final = result.final()
    rows = []
    for i, ((s, w, wd, nz), model) in enumerate(zip(members, models)):
        x, y = _tensors(datas[i])
        values = {"train_loss": final.loc[i, ("train", "loss")], "train_error": final.loc[i, ("train", "error")],
                  "test_error": final.loc[i, ("test", "error")], "steps": float(result.stopped_step[i]),
                  "diverged": float(result.diverged[i])}
        values["gap"] = values["test_error"] - values["train_error"]
        values.update(_measures(model, inits[i], x, y, cfg, seed=1000 * s + i))
        for metric, value in values.items():
            rows.append({"seed": s, "width": w, "depth": depth, "batch_size": batch_size, "weight_decay": wd,
                         "label_noise": nz, "metric": metric, "value": float(value)})
    return TaskOutput(rows)


def tasks(cfg: GeneralizationMeasuresConfig, device: str) -> list[Task]:
    shared = {k: getattr(cfg, k) for k in ("n_train", "lr", "stop_loss", "max_steps", "sharpness_radius",
                                           "sharpness_steps", "flat_tolerance", "flat_draws", "flat_bisect",
                                           "check_draws", "trace_hvp")}
    shared.update({k: list(getattr(cfg, k)) for k in ("widths", "weight_decays", "label_noises")})
    return [Task(population_task, {"batch_size": b, "depth": d, "seeds": list(cfg.seeds), "cfg": shared},
                 label=f"B={b} depth={d}")
            for b in sorted(cfg.batch_sizes) for d in cfg.depths]  # the small (slow) batch first


def _mean(values) -> float:
    """Mean of the defined (non-NaN) values; NaN when there are none."""
    vals = np.asarray(values, float)
    vals = vals[~np.isnan(vals)]
    return float(vals.mean()) if vals.size else float("nan")


def _tau(a, b) -> float:
    """Kendall's tau-b (as ``scipy.stats.kendalltau``, tested against it) by pairwise signs: the
    granulated score takes thousands of small groups, where scipy's per-call overhead dominates.
    NaN when either side is constant (no ranking to compare)."""
    a, b = rankdata(a), rankdata(b)  # tau depends on the ranks only; an infinite measure ranks last
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    i, j = np.triu_indices(len(a), 1)
    da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    return float((da * db).sum() / math.sqrt(np.count_nonzero(da) * np.count_nonzero(db)))


def granulated_taus(table: pd.DataFrame, measures, target: str = "gap", axes=AXES) -> dict:
    """Jiang et al.'s granulated Kendall coefficient of each of ``measures``: per axis, the mean tau
    of the measure with ``target`` inside each group of rows equal on every other axis; ``Psi``
    the mean over axes (axes without a defined tau are left out). ``table``: one row per member."""
    out = {m: {} for m in measures}
    for axis in axes:
        groups = [idx for idx in table.groupby([a for a in axes if a != axis]).indices.values() if len(idx) > 1]
        y = table[target].to_numpy(float)
        for m in measures:
            x = table[m].to_numpy(float)
            out[m][axis] = _mean([_tau(x[idx], y[idx]) for idx in groups])
    for m in measures:
        out[m]["Psi"] = _mean(list(out[m].values()))
    return out


def granulated_tau(table: pd.DataFrame, measure: str, target: str = "gap", axes=AXES) -> dict:
    """:func:`granulated_taus` of one measure: ``{axis: tau, ..., 'Psi': mean}``."""
    return granulated_taus(table, [measure], target, axes)[measure]


def member_table(metrics: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One row per member of ``seed``: its hyperparameters and every metric as a column."""
    m = metrics[metrics.seed == seed]
    return m.pivot_table(index=list(AXES), columns="metric", values="value").reset_index()


def claims_of(cfg: GeneralizationMeasuresConfig, metrics: pd.DataFrame) -> tuple[list, list, dict]:
    seeds = list(cfg.seeds)
    tables = {s: member_table(metrics, s) for s in seeds}
    claims, comparisons = [], []
    worst = [float(t.train_loss.max()) if not bool((t.diverged > 0).any()) else math.inf for t in tables.values()]
    n_members = len(next(iter(tables.values())))
    claims.append(in_band(f"every member trained to full-train CE < {cfg.stop_loss:g} (the largest over the population)",
                          seeds, worst, (0.0, cfg.stop_loss), kind="qualitative",
                          source=f"{JIANG}, Sec. 4: every model trained to cross-entropy 0.01",
                          published=f"< {cfg.stop_loss:g}",
                          note=f"{n_members} members per seed; the comparison is at equal training loss; step cap "
                               f"{cfg.max_steps}, no member diverged"))
    spread = [100 * float(t.gap.max() - t.gap.min()) for t in tables.values()]
    claims.append(in_band("the generalization gap varies across the population (max - min, points)", seeds, spread,
                          (10.0, 100.0), kind="qualitative", source=f"{JIANG}, Fig. 2 (right): the gaps spread",
                          published="a spread to rank",
                          note="gap = test error (clean test set) - train error (on the member's own, possibly noisy, "
                               "labels); a range below 10 points would leave the taus ranking noise"))
    noise_tau = [granulated_tau(t.assign(noise_level=t.label_noise), "noise_level")["label_noise"] for t in tables.values()]
    claims.append(in_band("label noise orders the gap (granulated tau of the noise level with the gap, noise axis)",
                          seeds, noise_tau, (0.5, 1.0), kind="qualitative",
                          source="Zhang et al. 2017 (memorizing noisy labels raises the test error); lecture (seed 002)",
                          published="more noise, larger gap",
                          note="mean Kendall tau inside the groups that differ only in label noise "
                               f"({', '.join(f'{v:g}' for v in cfg.label_noises)})"))
    ratios = []
    for t in tables.values():
        ok = t[t.flat_sigma > 0]
        ratios.append(float(np.median(ok.flat_check_increase / cfg.flat_tolerance)) if len(ok) else float("nan"))
    claims.append(in_band("PAC-Bayes flatness: an independent Monte-Carlo estimate of the loss increase at the found "
                          "sigma' / the tolerance (median over members)", seeds, ratios, (0.5, 1.5), kind="qualitative",
                          source=f"{JIANG}, Sec. 6 / App. C.3: sigma' is where the noise raises the loss by the tolerance",
                          published=1.0,
                          note=f"{cfg.check_draws} fresh draws on plain module copies (not the measurement's own "
                               f"{cfg.flat_draws} draws); noise sigma' (|w| + 1e-3) z on every parameter"))
    psis = {}
    all_gran = [granulated_taus(t, list(MEASURES)) for t in tables.values()]
    for name, (label, jiang_name, finding) in MEASURES.items():
        overall = [_tau(t[name], t.gap) for t in tables.values()]
        gran = [g[name] for g in all_gran]
        psi = [g["Psi"] for g in gran]
        psis[name] = _mean(psi)
        per_axis = "; ".join(f"{a} {_mean([g[a] for g in gran]):+.2f}" for a in AXES)
        comparisons.append(Comparison(
            f"Kendall tau of {label} with the gap (overall, mean over seeds)", _mean(overall),
            f"{JIANG}, Table 2 (CIFAR-10 convnets), row '{jiang_name}': {finding} (recalled; the printed tau "
            "was searched for and not retrieved, so no number is quoted)",
            f"per seed {', '.join(f'{v:+.2f}' for v in overall)}; granulated Psi {psis[name]:+.2f} "
            f"(per seed {', '.join(f'{v:+.2f}' for v in psi)}); per axis: {per_axis}"))
    defined = {n: v for n, v in psis.items() if not math.isnan(v)}
    best = max(defined, key=defined.get) if defined else "none"
    headline = {"n_members_per_seed": n_members, "gap_range_points": float(np.mean(spread)),
                "best_psi_measure": best}
    return claims, comparisons, headline


def summarize(cfg: GeneralizationMeasuresConfig, outputs: list[TaskOutput]) -> RunOutput:
    rows = [row for out in outputs for row in out.records]
    metrics = pd.DataFrame(rows, columns=["seed", *AXES, "metric", "value"])
    claims, comparisons, headline = claims_of(cfg, metrics)
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    seeds = sorted(metrics.seed.unique())
    tables = [member_table(metrics, s) for s in seeds]
    names = list(MEASURES)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    ax = axes[0]
    overall = np.array([[_tau(t[n], t.gap) for n in names] for t in tables])
    psi = np.array([[g[n]["Psi"] for n in names] for g in (granulated_taus(t, names) for t in tables)])
    xs = np.arange(len(names))
    for k, (vals, label) in enumerate(((overall, "tau over the whole population"), (psi, "granulated Psi"))):
        filled = np.where(np.isnan(vals), 0.0, vals)  # an undefined tau (a constant measure) drawn as 0
        mean = filled.mean(0)
        ax.bar(xs + 0.4 * (k - 0.5), mean, width=0.4, color=f"C{k}", label=label,
               yerr=np.vstack([mean - filled.min(0), filled.max(0) - mean]), capsize=2)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(xs, [MEASURES[n][0] for n in names], rotation=60, ha="right", fontsize=7)
    ax.set(ylabel="Kendall tau with the gap", title="mean over seeds; bars: the seeds' range")
    ax.legend(fontsize=8)
    pooled = pd.concat(tables)
    for ax, name in zip(axes[1:], ("flatness", "path_norm")):
        for k, nz in enumerate(sorted(pooled.label_noise.unique())):
            g = pooled[pooled.label_noise == nz]
            ax.scatter(g[name], 100 * g.gap, s=10, color=f"C{k}", label=f"label noise {nz:g}")
        ax.set(xscale="log", xlabel=MEASURES[name][0], ylabel="gap: test - train error (points)",
               title="each dot one member (all seeds)")
        ax.legend(fontsize=7)
    return save(fig, out_dir, "generalization_measures")


register(Experiment(
    name="generalization-measures",
    not_projectable="trains to a target loss (stop_loss): the steps per run vary, max_steps only caps them",
    title="Generalization measures: which ones rank a population's generalization gaps",
    question="Trained to the same training loss, which norm, margin, sharpness and flatness measures rank the "
             "generalization gaps of models that differ in width, depth, batch size, weight decay and label noise?",
    metrics_doc="One row per member (seed, width, depth, batch_size, weight_decay, label_noise) and metric: "
                "train_loss (full-train CE at the stop), train_error (on its own, possibly noisy, labels), test_error, "
                "gap (test_error - train_error), steps (to the stop loss), diverged; the measures on the member's training "
                "set: log_prod_spectral, log_prod_frobenius, sum_frobenius_sq, distance_from_init, path_norm, margin "
                "(10th percentile of correct minus best other logit), inverse_margin (1/margin^2), "
                "log_spectral_over_margin (log prod ||W||_2^2 / margin^2), bft_complexity (Bartlett et al.), sharpness "
                "(worst-case CE increase in the magnitude-aware box), flatness (1/sigma'^2, magnitude-aware PAC-Bayes), "
                "flat_sigma, flat_increase (the bisection's own estimate at sigma'), flat_check_increase (the "
                "independent Monte-Carlo estimate), hessian_trace (Hutch++), n_params.",
    config_cls=GeneralizationMeasuresConfig,
    scales={"smoke": {"n_train": 100, "widths": (8, 16), "depths": (1,), "batch_sizes": (50,), "weight_decays": (0.0,),
                      "label_noises": (0.0, 0.3), "stop_loss": 1.0, "max_steps": 60, "sharpness_steps": 2,
                      "flat_draws": 3, "flat_bisect": 4, "check_draws": 4, "trace_hvp": 3},
            "quick": {},
            "paper": {"n_train": 4000, "widths": (32, 64, 128), "depths": (1, 2, 3), "batch_sizes": (32, 128, 512),
                      "weight_decays": (0.0, 1e-4, 1e-3), "label_noises": (0.0, 0.1, 0.2), "max_steps": 100000,
                      "flat_draws": 20, "flat_bisect": 15, "check_draws": 100, "trace_hvp": 30}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 3},
    section="Bounds: measuring generalization",
    order=70,
    series=("seed", *AXES),
    # quick (3 seeds), measured 2026-12-02 with --backend serial, 1 torch thread, load ~5: 112.6 CPU-s
    # (87.4 user + 25.2 sys), 3:10 wall (the default local backend, 2 workers: 1:53 wall, the same bytes); 5 seeds (0-4): 191.4 CPU-s (145.2 + 46.2), 5:06 wall. The seeds
    # train side by side and seeds 0-2 come out byte-identical in the 3- and the 5-seed run. B = 32 at
    # depth 2 dominates (one seed: 14.5 CPU-s, 10.2 of it training, 6.4 of that Adam steps). paper: a rough
    # projection, not measured.
    estimates={"smoke": "5 s", "quick": "~2 min", "paper": "~5 h (projection)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
