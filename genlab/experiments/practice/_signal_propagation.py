"""initialization and gradient-flow: seed 003's He-init and gradient-flow explorers, measured.

The lecture's net: input 128, 4 hidden layers of 128 units, a linear 128-wide output, zero
biases, weights ``scale * N(0, 2/128)`` (He at scale 1); genlab's :class:`~genlab.models.MLP`
with ``init='he_scaled'``. The demo pushes one input vector through one net; here each seed
pools ``n_networks`` nets (init seed ``1000 s + k``) and ``n_inputs`` inputs per net, so a
per-seed statistic is not one 128-unit histogram's luck. Every measured spread is checked
against an independent estimate, the mean-field variance recursion
(:func:`genlab.measure.mean_field_profile`, Gauss-Hermite quadrature, no network involved).

genlab's LayerNorm (``MLP(norm='layer')``) normalizes the pre-activation and keeps its gain
and shift (1 and 0 at init); the lecture's demo normalizes the activation itself, so where the
lecture sees sigma = 1 after LayerNorm, ReLU(N(0, 1)) has sigma = sqrt(1/2 - 1/(2 pi)) = 0.584.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from genlab.experiments._claims import in_band, per_seed
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.measure import (
    LayerSignal,
    activation_curves,
    activation_stats,
    gradient_stats,
    mean_field_profile,
)
from genlab.models import ACTIVATIONS, MLP
from genlab.sweep import Task, TaskOutput

SOURCE = "lecture (seed 003): He initialization and gradient-flow demos"
MF_SOURCE = ("genlab.measure.mean_field_profile: the He et al. 2015 / Poole et al. 2016 variance recursion by quadrature "
             "(theory computed by genlab, no network; not a published number)")
RELU_LN_STD = math.sqrt(0.5 - 1 / (2 * math.pi))  # std of ReLU(z), z ~ N(0, 1): after pre-activation LayerNorm
SCHEMES = ("default", "he_normal", "xavier")


def weight_variance(init: str, scale: float, width: int) -> tuple[float, float]:
    """(n_in Var(W), Var(b)) of a square layer under each scheme, from the schemes' formulas."""
    if init in ("he_normal", "he_scaled"):
        return 2.0 * scale**2, 0.0  # Var = 2 / n_in
    if init == "xavier":
        return 1.0, 0.0  # Var = 2 / (n_in + n_out)
    return 1.0 / 3.0, 1.0 / (3.0 * width)  # kaiming_uniform(a=sqrt 5): U(+-1/sqrt n); bias U(+-1/sqrt n)


def net_signals(seed: int, k: int = 0, *, activation: str = "relu", init: str = "he_scaled", scale: float = 1.0,
                norm: str | None = None, input_mean: float = 0.0, input_std: float = 1.0, width: int = 128, depth: int = 4,
                n_inputs: int = 256, gradients: bool = True, reuse: bool = False) -> tuple[LayerSignal, LayerSignal | None]:
    """Net ``k`` of seed ``seed`` (init seed ``1000 seed + k``) on ``n_inputs`` fresh inputs: (activations, gradients).

    The unit of :func:`profile`; the web explorer's init and gradient-flow demos show net 0 with
    ``n_inputs=1`` (the lecture's one vector through one net). ``gradients=False`` gives ``None``.
    ``reuse=True`` (the web demos) keeps the built net for the next call with the same settings.
    """
    build = _shared_net if reuse else _new_net
    net, lock = build(width, depth, activation, init, scale, norm, 1000 * seed + k)
    g = torch.Generator().manual_seed(1000 * seed + 500 + k)
    x = input_mean + input_std * torch.randn(n_inputs, width, generator=g)  # (B, 128)
    with lock:  # a shared net measures one request at a time (the measurements attach hooks)
        acts = activation_stats(net, x)
        return acts, gradient_stats(net, x, seed=1000 * seed + 700 + k) if gradients else None


def _new_net(width, depth, activation, init, scale, norm, seed):
    net = MLP(width, width, width=width, depth=depth, activation=activation, init=init,
              init_scale=scale if init == "he_scaled" else 1.0, norm=norm, seed=seed)
    return net, contextlib.nullcontext()


@lru_cache(maxsize=128)  # a slider's values (0.05 steps) x LayerNorm on/off, ~0.3 MB each
def _shared_net(width, depth, activation, init, scale, norm, seed):
    """The same net as :func:`_new_net`, built once (the measurements change no weight)."""
    return _new_net(width, depth, activation, init, scale, norm, seed)[0], threading.Lock()


def profile(seed: int, *, activation: str = "relu", init: str = "he_scaled", scale: float = 1.0, norm: str | None = None,
            input_mean: float = 0.0, input_std: float = 1.0, width: int = 128, depth: int = 4, n_networks: int = 8,
            n_inputs: int = 256, gradients: bool = True) -> dict:
    """Pooled per-layer statistics of ``n_networks`` nets (x, h1..h_depth, y): activations and injected gradients."""
    acts, grads = [], []
    for k in range(n_networks):
        a, gr = net_signals(seed, k, activation=activation, init=init, scale=scale, norm=norm, input_mean=input_mean,
                            input_std=input_std, width=width, depth=depth, n_inputs=n_inputs, gradients=gradients)
        acts.append(a.values)
        if gradients:
            grads.append(gr.values)
    pooled = lambda vals, k: np.concatenate([v[k] for v in vals])  # noqa: E731
    n = depth + 2
    out = {"act_std": [float(pooled(acts, k).std()) for k in range(n)],
           "act_mean": [float(pooled(acts, k).mean()) for k in range(n)],
           "frac_zero": [float(np.mean(pooled(acts, k) == 0)) for k in range(n)]}
    if gradients:
        out["grad_std"] = [float(pooled(grads, k).std()) for k in range(n)]
    return out


def _rows(seed: int, cond: dict, stats: dict, width: int, depth: int) -> list[dict]:
    names = ["x"] + [f"h{k}" for k in range(1, depth + 1)] + ["y"]
    out = dict(stats)
    if cond.get("norm") is None:
        wv, bv = weight_variance(cond["init"], cond["scale"], width)
        mf = mean_field_profile(cond["activation"], depth, weight_var=wv, bias_var=bv, input_mean=cond["input_mean"],
                                input_std=cond["input_std"], grad_out_var=1.0 / width)
        out["pred_act_std"], out["pred_grad_std"] = mf.act_std.tolist(), mf.grad_std.tolist()
    rows = []
    for metric, values in out.items():
        for k, v in enumerate(values):
            rows.append({**cond, "norm": cond.get("norm") or "none", "seed": seed, "layer": k, "name": names[k],
                         "metric": metric, "value": v})
    return rows


# ---------------------------------------------------------------------------------- initialization
@dataclass(frozen=True)
class InitConfig(ExperimentConfig):
    """Settings of the initialization experiment (the lecture's He-init explorer)."""

    owner: ClassVar[str] = "initialization"
    width: int = param(128, "units of the input, every hidden layer and the output", low=2)
    depth: int = param(4, "hidden layers (ReLU)", low=2)
    scales: tuple = param((0.25, 0.5, 1.0, 2.0, 4.0), "multiples of the He standard deviation", kind=float, many=True,
                          low=0.0, low_open=True, includes=1.0)
    input_means: tuple = param((0.0, 2.0, 5.0), "input means mu of x ~ N(mu, sigma^2)", kind=float, many=True,
                               includes=0.0)
    input_stds: tuple = param((1.0, 3.0), "input stds sigma", kind=float, many=True, low=0.0, low_open=True, includes=1.0)
    n_networks: int = param(8, "independent nets pooled per seed (the demo: 1)", low=1)
    n_inputs: int = param(128, "input vectors per net (the demo: 1)", low=1)


def init_task(seed: int, width: int, depth: int, scales: list, input_means: list, input_stds: list, n_networks: int,
              n_inputs: int) -> TaskOutput:
    """Every condition of one seed: He scale sweep (with and without LayerNorm), schemes, input shifts."""
    conds = []
    for norm in (None, "layer"):
        conds += [{"part": "scale", "init": "he_scaled", "scale": s, "norm": norm, "input_mean": 0.0, "input_std": 1.0}
                  for s in scales]
        conds += [{"part": "input", "init": "he_scaled", "scale": 1.0, "norm": norm, "input_mean": m, "input_std": sd}
                  for m in input_means for sd in input_stds if (m, sd) != (0.0, 1.0)]
    conds += [{"part": "scheme", "init": init, "scale": 1.0, "norm": None, "input_mean": 0.0, "input_std": 1.0}
              for init in SCHEMES]
    rows = []
    for cond in conds:
        cond = {"activation": "relu", **cond}
        stats = profile(seed, width=width, depth=depth, n_networks=n_networks, n_inputs=n_inputs, gradients=False,
                        **{k: cond[k] for k in ("activation", "init", "scale", "norm", "input_mean", "input_std")})
        rows += _rows(seed, cond, stats, width, depth)
    return TaskOutput(rows)


def init_tasks(cfg: InitConfig, device: str) -> list[Task]:
    return [Task(init_task, {"seed": s, "width": cfg.width, "depth": cfg.depth, "scales": list(cfg.scales),
                             "input_means": list(cfg.input_means), "input_stds": list(cfg.input_stds),
                             "n_networks": cfg.n_networks, "n_inputs": cfg.n_inputs}, label=f"seed {s}")
            for s in cfg.seeds]


def _table(metrics: pd.DataFrame, metric: str, **where) -> pd.DataFrame:
    """Rows (seed, layer) of ``metric`` for one condition, as a seeds x layers array (DataFrame)."""
    m = metrics[metrics.metric == metric]
    for k, v in where.items():
        m = m[m[k] == v]
    return m.pivot_table(index="seed", columns="layer", values="value")


def factor_per_layer(std: pd.DataFrame, depth: int) -> pd.Series:
    """Geometric growth of the spread per hidden layer, h1 -> h_depth (per seed)."""
    return (std[depth] / std[1]) ** (1.0 / (depth - 1))


def init_summarize(cfg: InitConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds, d = list(cfg.seeds), cfg.depth
    plain = dict(part="scale", norm="none")
    he1 = _table(metrics, "act_std", scale=1.0, **plain)
    claims = [in_band(f"He 1x keeps the spread across layers: std(h{d}) / std(h1)", seeds, (he1[d] / he1[1]).loc[seeds],
                      (0.8, 1.25), kind="qualitative", source=SOURCE, published="similar spread across all layers",
                      note="mean field: exactly 1 (ReLU halves E[z^2], He's factor 2 restores it)")]
    comparisons = []
    for label, pick in (("below 1 vanish", lambda s: s < 1), ("above 1 explode", lambda s: s > 1)):
        chosen = [s for s in cfg.scales if pick(s)]
        if not chosen:
            continue
        worst = pd.concat([(factor_per_layer(_table(metrics, "act_std", scale=s, **plain), d) / s - 1).abs()
                           for s in chosen], axis=1).max(axis=1)
        claims.append(in_band(f"He scales {label} geometrically: worst |growth per layer / scale - 1| over {chosen}", seeds,
                              worst.loc[seeds], (0.0, 0.1), kind="qualitative", source=SOURCE,
                              published="activations collapse (scale < 1) or grow exponentially (scale > 1)",
                              note="mean field: growth = scale per layer; ReLU is positively homogeneous, so with zero "
                              "biases this checks that init_scale reaches every layer and no bias is drawn"))
        for s in chosen:
            f = factor_per_layer(_table(metrics, "act_std", scale=s, **plain), d)
            comparisons.append(Comparison(f"{s}x He: growth of the spread per layer (mean over seeds)", float(f.mean()),
                                          f"{s} (mean field)", f"std(h{d}) / std(h1) = {f.mean() ** (d - 1):.3g}"))
    # Every plain condition against the mean-field recursion (an independent estimate).
    mf_err = []
    plain_rows = metrics[(metrics.norm == "none") & (metrics.layer > 0)]
    meas = plain_rows[plain_rows.metric == "act_std"].set_index(["part", "init", "scale", "input_mean", "input_std", "seed", "layer"]).value
    pred = plain_rows[plain_rows.metric == "pred_act_std"].set_index(meas.index.names).value
    rel = (meas / pred.loc[meas.index] - 1).abs()
    mf_err = rel.groupby(level="seed").max()
    claims.append(in_band("every layer's spread matches the mean-field variance recursion (all scales, schemes, input "
                          "shifts): worst |measured / predicted - 1|", seeds, mf_err.loc[seeds], (0.0, 0.1),
                          kind="reference", source=MF_SOURCE, published="Var(z_l+1) = n Var(W) E[g(z_l)^2] + Var(b)"))
    xav = factor_per_layer(_table(metrics, "act_std", part="scheme", init="xavier"), d)
    claims.append(in_band("Xavier on a ReLU net loses 1/sqrt(2) per layer (He's factor 2 missing): growth per layer", seeds,
                          xav.loc[seeds], (0.64, 0.78), kind="qualitative",
                          source="lecture (seed 003): He 'accounts for half the neurons being zeroed', Xavier is for tanh",
                          published=f"{1 / math.sqrt(2):.3f}"))
    dflt = factor_per_layer(_table(metrics, "act_std", part="scheme", init="default"), d)
    wv, bv = weight_variance("default", 1.0, cfg.width)
    mf_d = mean_field_profile("relu", d, weight_var=wv, bias_var=bv)
    comparisons.append(Comparison("PyTorch default on the ReLU net: growth of the spread per layer", float(dflt.mean()),
                                  f"{(mf_d.act_std[d] / mf_d.act_std[1]) ** (1 / (d - 1)):.3f} (mean field)",
                                  "Var(W) = 1/(3 n): 1/sqrt(6) = 0.41 per layer, slowed by the U(+-1/sqrt n) biases; "
                                  "the lecture: 'not a principled choice'"))
    claims.append(in_band("PyTorch's default shrinks a ReLU net's signal layer by layer: growth per layer", seeds,
                          dflt.loc[seeds], (0.0, 0.6), kind="qualitative",
                          source="lecture (seed 003): the default is 'a historical convention, not a principled choice'",
                          published="< 1 (Var(W) = 1/(3 n_in), a third of Xavier's)"))
    # LayerNorm: every hidden layer, every scale and input shift.
    ln = metrics[(metrics.norm == "layer") & (metrics.metric == "act_std") & metrics.layer.between(1, d)]
    ln_err = (ln.value / RELU_LN_STD - 1).abs().groupby(ln.seed).max()
    claims.append(in_band(f"LayerNorm holds every hidden layer at one spread for every scale {list(cfg.scales)} and input "
                          f"shift: worst |std(h) / {RELU_LN_STD:.3f} - 1|", seeds, ln_err.loc[seeds], (0.0, 0.1),
                          kind="qualitative", source=SOURCE + " (LayerNorm toggle)", published="sigma ~ 1 at every layer",
                          note="genlab normalizes before the ReLU, so the ReLU output has std(ReLU(N(0,1))) = 0.584 "
                          "(the lecture normalizes after it: 1)"))
    spread = ln[ln.part == "scale"].groupby(["seed", "scale"]).value.mean().groupby("seed").agg(lambda v: v.max() / v.min())
    comparisons.append(Comparison("LayerNorm: largest / smallest mean hidden spread over the scales (mean over seeds)",
                                  float(spread.mean()), "1", "without LayerNorm the same ratio is "
                                  f"{(max(cfg.scales) / min(cfg.scales)) ** d:.3g} at h{d}"))
    # Shifted inputs: the He analysis assumes E[x] = 0, Var(x) = 1; every layer scales with sqrt(mu^2 + sigma^2).
    shifts = [(m, s) for m in cfg.input_means for s in cfg.input_stds if (m, s) != (0.0, 1.0)]
    if shifts:
        errs = []
        for m, s in shifts:
            t = _table(metrics, "act_std", part="input", norm="none", input_mean=m, input_std=s)
            errs.append((t[d] / he1[d] / math.hypot(m, s) - 1).abs())
        worst = pd.concat(errs, axis=1).max(axis=1)
        claims.append(in_band(f"shifted or scaled inputs multiply every layer's spread by sqrt(mu^2 + sigma^2): worst "
                              f"|std(h{d}) ratio / sqrt(mu^2 + sigma^2) - 1| over {shifts}", seeds, worst.loc[seeds],
                              (0.0, 0.1), kind="qualitative", source=SOURCE + " (input mu, sigma sliders)",
                              published="He/Xavier assume zero mean, unit variance inputs",
                              note="mean field: E[x^2] = mu^2 + sigma^2 enters q_1 and every layer after it"))
    headline = {"he1_ratio": float((he1[d] / he1[1]).mean()), "xavier_growth": float(xav.mean()),
                "default_growth": float(dflt.mean()), "layernorm_worst_dev": float(ln_err.max())}
    return RunOutput(metrics, claims, comparisons, headline)


def _layer_axis(ax, names):
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("layer")


def init_plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    a = metrics[metrics.metric == "act_std"]
    names = list(a.sort_values("layer").drop_duplicates("layer").name)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))

    def curve(ax, sel, label, color, ls="-", pred=None):
        g = sel.groupby("layer").value
        ax.plot(g.mean().index, g.mean(), color=color, ls=ls, marker="o", ms=3, label=label)
        ax.fill_between(g.mean().index, g.min(), g.max(), color=color, alpha=0.2, lw=0)  # seeds' range
        if pred is not None:
            p = pred.groupby("layer").value.mean()
            ax.plot(p.index, p, color=color, ls="none", marker="x", ms=6)

    ax = axes[0]
    for k, s in enumerate(sorted(a.scale.unique())):
        sel = a[(a.part == "scale") & (a.scale == s)]
        curve(ax, sel[sel.norm == "none"], f"{s:g}x He", f"C{k}")
        curve(ax, sel[sel.norm == "layer"], None, f"C{k}", ls="--")
    ax.set(yscale="log", ylabel="std of the layer's entries", title="He scale: solid plain, dashed LayerNorm")
    ax.legend(fontsize=8)
    ax = axes[1]
    pred = metrics[metrics.metric == "pred_act_std"]
    for k, init in enumerate(SCHEMES):
        curve(ax, a[(a.part == "scheme") & (a.init == init)], init, f"C{k}",
              pred=pred[(pred.part == "scheme") & (pred.init == init)])
    ax.set(yscale="log", ylabel="std of the layer's entries", title="schemes at 1x (x: mean-field prediction)")
    ax.legend(fontsize=8)
    ax = axes[2]
    inp = a[(a.part.isin(["input", "scale"])) & (a.scale == 1.0) & (a.init == "he_scaled")]
    combos = sorted({(m, s) for m, s in zip(inp.input_mean, inp.input_std)})
    for k, (m, s) in enumerate(combos):
        sel = inp[(inp.input_mean == m) & (inp.input_std == s)]
        curve(ax, sel[sel.norm == "none"], f"x ~ N({m:g}, {s:g}^2)", f"C{k}")
        curve(ax, sel[sel.norm == "layer"], None, f"C{k}", ls="--")
    ax.set(yscale="log", ylabel="std of the layer's entries", title="input shift, He 1x: solid plain, dashed LayerNorm")
    ax.legend(fontsize=8)
    for ax in axes:
        _layer_axis(ax, names)
    return save(fig, out_dir, "initialization")


register(Experiment(
    name="initialization",
    not_projectable="measures networks at initialization: no training steps",
    title="Initialization: activation spread per layer against He scale, scheme, LayerNorm and input shift",
    question="Does He initialization keep the activations' spread constant across layers, and what do smaller and "
    "larger scales, other schemes, LayerNorm and unnormalized inputs do to it?",
    metrics_doc="Per seed, condition (part: scale / scheme / input; init, scale, norm, input_mean, input_std) and layer "
    "(0 = x, 1..depth = h_l after the ReLU, depth+1 = the linear output y): act_std, act_mean, frac_zero (entries "
    "exactly 0), pooled over n_networks nets x n_inputs inputs; pred_act_std is the mean-field prediction (no LayerNorm).",
    config_cls=InitConfig,
    scales={"smoke": {"n_networks": 1, "n_inputs": 16, "scales": (0.5, 1.0, 2.0), "input_means": (0.0, 2.0),
                      "input_stds": (1.0,)},
            "quick": {}, "paper": {"n_networks": 32, "n_inputs": 1024}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Making gradients flow",
    order=10,
    series=("part", "init", "scale", "norm", "input_mean", "input_std", "seed"),
    estimates={"smoke": "2 s", "quick": "5 s", "paper": "~1 min"},
    tasks=init_tasks,
    summarize=init_summarize,
    plot=init_plot,
))


# ---------------------------------------------------------------------------------- gradient flow
@dataclass(frozen=True)
class GradFlowConfig(ExperimentConfig):
    """Settings of the gradient-flow experiment (the lecture's gradient-flow explorer)."""

    owner: ClassVar[str] = "gradient-flow"
    width: int = param(128, "units of the input, every hidden layer and the output", low=2)
    depth: int = param(4, "hidden layers", low=2)
    activations: tuple = param(tuple(ACTIVATIONS), "activations compared", kind=str, many=True, choices=list(ACTIVATIONS),
                               includes="sigmoid")
    scale: float = param(1.0, "multiple of the He standard deviation", kind=float, low=0.0, low_open=True)
    n_networks: int = param(8, "independent nets pooled per seed (the demo: 1)", low=1)
    n_inputs: int = param(256, "input vectors per net, each with its own unit output gradient (the demo: 1)", low=1)
    z_max: float = param(5.0, "the activation curves are drawn on [-z_max, z_max]", kind=float, low=0.0, low_open=True)

    def check(self):
        from genlab._checks import fail

        if not {"relu", "tanh"} <= set(self.activations):
            raise fail("activations", self.owner, "a list that includes 'relu', 'tanh' and 'sigmoid'", list(self.activations))


def curve_grid(z_max: float, n_points: int = 401) -> np.ndarray:
    """The z at which the activation curves are drawn: ``n_points`` evenly spaced on [-z_max, z_max]."""
    return np.linspace(-z_max, z_max, n_points)


def gradflow_task(seed: int, width: int, depth: int, activations: list, scale: float, n_networks: int, n_inputs: int,
                  z_max: float) -> TaskOutput:
    """One seed: injected-gradient statistics per layer for each activation, and the activation curves."""
    rows = []
    z = curve_grid(z_max)
    for act in activations:
        cond = {"part": "network", "activation": act, "init": "he_scaled", "scale": scale, "input_mean": 0.0,
                "input_std": 1.0}
        stats = profile(seed, width=width, depth=depth, n_networks=n_networks, n_inputs=n_inputs,
                        **{k: cond[k] for k in ("activation", "init", "scale", "input_mean", "input_std")})
        rows += _rows(seed, cond, stats, width, depth)
        g, dg = activation_curves(act, z)  # seed-independent; each seed's task stores them (small)
        rows += [{"part": "curve", "activation": act, "seed": seed, "z": float(zi), "metric": m, "value": float(v)}
                 for m, vals in (("g", g), ("dg", dg)) for zi, v in zip(z, vals)]
    return TaskOutput(rows)


def gradflow_tasks(cfg: GradFlowConfig, device: str) -> list[Task]:
    return [Task(gradflow_task, {"seed": s, "width": cfg.width, "depth": cfg.depth, "activations": list(cfg.activations),
                                 "scale": cfg.scale, "n_networks": cfg.n_networks, "n_inputs": cfg.n_inputs,
                                 "z_max": cfg.z_max}, label=f"seed {s}")
            for s in cfg.seeds]


def attenuation(metrics: pd.DataFrame, activation: str, depth: int) -> pd.Series:
    """std(dE/dx) / std(dE/dh_depth) per seed: what the hidden layers do to the gradient on its way to the input."""
    t = _table(metrics, "grad_std", part="network", activation=activation)
    return t[0] / t[depth]


def gradflow_summarize(cfg: GradFlowConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds, d = list(cfg.seeds), cfg.depth
    curves = metrics[metrics.part == "curve"]
    dmax = {a: float(curves[(curves.activation == a) & (curves.metric == "dg")].groupby("seed").value.max().max())
            for a in cfg.activations}
    sig_max = curves[(curves.activation == "sigmoid") & (curves.metric == "dg")].groupby("seed").value.max()
    claims = [in_band("sigmoid'(z) <= 0.25: the largest derivative on the grid (autograd)", seeds, sig_max.loc[seeds],
                      (0.2495, 0.2500001), kind="qualitative", source="lecture (seed 003): vanishing gradients slide",
                      published=0.25)]
    att = {a: attenuation(metrics, a, d) for a in cfg.activations}
    bound = (math.sqrt(2.0) * cfg.scale * 0.25) ** d  # each layer: He gain sqrt(2) * scale times sigmoid' <= 0.25
    claims.append(in_band(f"sigmoid: the gradient decays toward the input at least as fast as (sqrt(2) x 0.25)^{d}: "
                          f"std(dE/dx) / std(dE/dh{d})", seeds, att["sigmoid"].loc[seeds], (0.0, bound),
                          kind="qualitative", source=SOURCE, published=f"<= {bound:.3g} (0.25^L times the He gain)"))
    claims.append(in_band(f"ReLU keeps the gradient's scale under He init: std(dE/dx) / std(dE/dh{d})", seeds,
                          att["relu"].loc[seeds], (0.8, 1.25), kind="qualitative", source=SOURCE,
                          published="flat (g'(z) = 1 for active units, He's factor 2 for the zeroed half)",
                          note=f"at scale {cfg.scale:g}" if cfg.scale != 1 else ""))
    # tanh: the lecture says it shrinks exponentially like sigmoid; measure what it does at this depth.
    wv, _ = weight_variance("he_scaled", cfg.scale, cfg.width)
    mf = {a: mean_field_profile(a, d, weight_var=wv, grad_out_var=1.0 / cfg.width) for a in cfg.activations}
    tanh_pred = mf["tanh"].grad_std[0] / mf["tanh"].grad_std[d]
    per_layer_tanh = att["tanh"] ** (1 / d)
    per_layer_sig = att["sigmoid"] ** (1 / d)
    claims.append(in_band(f"tanh at depth {d} under He init: std(dE/dx) / std(dE/dh{d}) (measured, against mean field "
                          f"{tanh_pred:.3f})", seeds, att["tanh"].loc[seeds], (0.9 * tanh_pred, 1.1 * tanh_pred),
                          kind="reference", source=MF_SOURCE, published=f"{tanh_pred:.3f}",
                          note="the lecture says tanh's gradient 'shrinks exponentially toward the input'; under He "
                          "init (Var = 2/n) tanh sits in the chaotic phase: the gradient stays near flat through the "
                          "hidden layers and loses ~20 % at the first layer: far from sigmoid's vanishing"))
    ratio = (per_layer_tanh / per_layer_sig).loc[seeds]
    claims.append(in_band("tanh vanishes far less than sigmoid: per-layer gradient factor, tanh / sigmoid", seeds, ratio,
                          (2.0, math.inf), kind="qualitative", source=SOURCE + " (sigmoid' <= 0.25, tanh' <= 1)",
                          published="tanh' = 1 - tanh^2 reaches 1 at 0; sigmoid' only 0.25"))
    # Every activation, every layer: measured gradient spread against the mean-field recursion.
    g = metrics[(metrics.part == "network") & metrics.metric.isin(["grad_std", "pred_grad_std"]) & (metrics.layer <= d)]
    wide = g.pivot_table(index=["activation", "seed", "layer"], columns="metric", values="value")
    worst = (wide.grad_std / wide.pred_grad_std - 1).abs().groupby(level="seed").max()
    claims.append(in_band(f"every layer's gradient spread matches the mean-field recursion ({', '.join(cfg.activations)}): "
                          "worst |measured / predicted - 1|", seeds, worst.loc[seeds], (0.0, 0.1), kind="reference",
                          source=MF_SOURCE, published="Var(dE/dh_l-1) = n Var(W) E[g'(z_l)^2] Var(dE/dh_l)"))
    others = [a for a in cfg.activations if a != "sigmoid"]
    gap = [min(att[a][s] for a in others) / att["sigmoid"][s] for s in seeds]
    claims.append(per_seed("sigmoid loses the most gradient of all activations: smallest other attenuation / sigmoid's",
                           seeds, gap, [v > 1 for v in gap], kind="qualitative", source=SOURCE,
                           published="switch to sigmoid: the gradient shrinks exponentially toward the input", band=(1.0, math.inf)))
    comparisons = []
    for a in cfg.activations:
        pred = mf[a].grad_std[0] / mf[a].grad_std[d]
        comparisons.append(Comparison(f"{a}: std(dE/dx) / std(dE/dh{d}), mean over seeds", float(att[a].mean()),
                                      f"{pred:.3f} (mean field)", f"largest g'(z) on the grid {dmax[a]:.3f}"
                                      + ("; nn.LeakyReLU's slope is 0.01 (the lecture's demo uses 0.1)" if a == "leaky_relu" else "")))
    headline = {a: float(att[a].mean()) for a in cfg.activations}
    return RunOutput(metrics, claims, comparisons, headline)


def gradflow_plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    curves = metrics[metrics.part == "curve"]
    net = metrics[metrics.part == "network"]
    acts = list(dict.fromkeys(net.activation))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for k, a in enumerate(acts):
        c = curves[(curves.activation == a) & (curves.seed == curves.seed.min())]
        for ax, m in zip(axes[:2], ("g", "dg")):
            sel = c[c.metric == m].sort_values("z")
            ax.plot(sel.z, sel.value, color=f"C{k}", label=a)
        g = net[(net.activation == a) & (net.metric == "grad_std")].groupby("layer").value
        axes[2].plot(g.mean().index, g.mean(), color=f"C{k}", marker="o", ms=3, label=a)
        axes[2].fill_between(g.mean().index, g.min(), g.max(), color=f"C{k}", alpha=0.2, lw=0)  # seeds' range
        p = net[(net.activation == a) & (net.metric == "pred_grad_std")].groupby("layer").value.mean()
        axes[2].plot(p.index, p, color=f"C{k}", ls="none", marker="x", ms=6)
    axes[0].set(xlabel="z", ylabel="g(z)", title="activations", ylim=(-1.5, 5))
    axes[1].axhline(0.25, color="0.3", ls=":", lw=1)
    axes[1].set(xlabel="z", ylabel="g'(z)", title="their derivatives (dotted: 0.25)")
    names = list(net.sort_values("layer").drop_duplicates("layer").name)
    axes[2].set(yscale="log", ylabel="std of dE/d(layer)", title="injected unit gradient, He init (x: mean field)")
    _layer_axis(axes[2], names)
    for ax in axes:
        ax.legend(fontsize=8)
    return save(fig, out_dir, "gradient_flow")


register(Experiment(
    name="gradient-flow",
    not_projectable="measures networks at initialization: no training steps",
    title="Gradient flow: a random unit gradient injected at the output, per activation",
    question="How does the gradient's spread change from the output back to the input for ReLU, LeakyReLU, ELU, GELU, "
    "sigmoid and tanh under He initialization?",
    metrics_doc="part=network: per seed, activation and layer (0 = dE/dx, 1..depth = dE/dh_l, depth+1 = the injected "
    "dE/dy, a random unit vector per input): grad_std (pooled over n_networks nets x n_inputs inputs), pred_grad_std "
    "(mean field), act_std, act_mean, frac_zero, pred_act_std. part=curve: g(z) and g'(z) (autograd) on a grid of z.",
    config_cls=GradFlowConfig,
    scales={"smoke": {"n_networks": 1, "n_inputs": 16}, "quick": {}, "paper": {"n_networks": 32, "n_inputs": 1024}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Making gradients flow",
    order=20,
    series=("part", "activation", "seed"),
    estimates={"smoke": "2 s", "quick": "5 s", "paper": "~1 min"},
    tasks=gradflow_tasks,
    summarize=gradflow_summarize,
    plot=gradflow_plot,
))
