"""expressivity: what ReLU networks can represent, counted exactly (seed 002).

Three constructions of the lecture, each built from real ``nn.Linear`` layers (genlab's MLP with
its weights set by hand) and measured, never assumed:

- a step function from four ReLUs per step: ``h/eps (relu(x-a) - relu(x-a-eps) - relu(x-b) +
  relu(x-b-eps))`` is the rectangle of height h on [a + eps, b]; a sum of them is any step function.
  The network's output is compared with the target on a grid, away from the ramps of width eps.
- the triangle (tent) map Delta(x) = 2 relu(x) - 4 relu(x - 1/2) composed k times (depth k, width 2)
  has 2^k linear pieces (Telgarsky 2016). Counted twice, independently: by propagating the exact
  breakpoints of the piecewise-linear function layer by layer, and by the nonzero second
  differences of the network's output on a dyadic grid of 2^20 + 1 points (exact in float64: every
  number involved is dyadic). Each seed rescales the hidden units by random powers of two
  (relu(c z) = c relu(z) for c > 0, undone in the next layer): other weights, the same function.
- the number of linear (activation) regions along the input line [-3, 3] of random ReLU networks of
  about the same parameter count but different depth, counted exactly by breakpoint propagation
  (and checked against a dense-grid count of activation patterns in the tests). Montufar et al.
  (2014) show a deep network *can* have exponentially many regions; Hanin and Rolnick (2019) show that
  at initialization the count grows with the number of neurons, not exponentially with depth, so at
  equal parameter count the deep-narrow network (fewer neurons) has fewer regions than the shallow one.

Not done yet (issue #15): the trained comparison "deep fits the oscillating target better than
shallow at equal budget" -- a probe with Adam (3000 full-batch steps, 8 inits each, budget 40-70
parameters, target Delta^4) left every deep-narrow net at the constant fit (test MSE 0.0835 = the
target's variance), the known pitfall that GD rarely finds the 2^k-piece solution from random init.
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
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput

LINE = (-3.0, 3.0)  #: the input segment along which regions are counted (phenomena.md, section 10)
SEED_TEXT = "lecture (seed 002)"
TELGARSKY = "Telgarsky 2016, 'Benefits of depth in neural networks' (COLT), the sawtooth Delta^k with 2^(k-1) teeth"
HANIN = "Hanin & Rolnick 2019, 'Complexity of linear regions in deep networks' (ICML): regions ~ number of neurons"


@dataclass(frozen=True)
class ExpressivityConfig(ExperimentConfig):
    """Settings of the expressivity experiment."""

    owner: ClassVar[str] = "expressivity"
    tent_depths: tuple = param(tuple(range(1, 11)), "numbers k of composed tent maps (depth k, width 2)",
                               many=True, low=1, high=16)
    grid_log2: int = param(20, "the dyadic grid of [0, 1] has 2^grid_log2 + 1 points", low=4, high=24)
    n_steps: int = param(5, "steps of the random step function (4 ReLUs each)", low=1, high=200)
    ramp: float = param(1e-3, "width eps of each ReLU ramp", kind=float, low=0.0, low_open=True, high=0.05)
    architectures: tuple = param(("1x80", "4x8", "8x5"), "'DEPTHxWIDTH' of the random networks (about the same "
                                 "parameter count; the first of depth 1)", kind=str, many=True)
    n_nets: int = param(10, "random networks per architecture and seed", low=1)

    def check(self):
        archs = []
        for a in self.architectures:
            parts = a.split("x")
            if len(parts) != 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
                raise fail("architectures", self.owner, "'DEPTHxWIDTH' strings of integers >= 1 (e.g. '4x8')",
                           self.architectures)
            archs.append((int(parts[0]), int(parts[1])))
        if len(archs) < 2 or archs[0][0] != 1 or len({d for d, _ in archs}) != len(archs):
            raise fail("architectures", self.owner, "at least two pairs of distinct depths, the first of depth 1 "
                       "(the shallow reference)", self.architectures)
        counts = [n_params(d, w) for d, w in archs]
        if max(counts) > 1.1 * min(counts):
            raise fail("architectures", self.owner, "architectures whose parameter counts agree within 10 %",
                       self.architectures, got=f"{self.architectures} with {counts} parameters")

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(depth, width) of each architecture."""
        return [tuple(int(v) for v in a.split("x")) for a in self.architectures]


def n_params(depth: int, width: int) -> int:
    """Parameters of an MLP(1, 1, width, depth)."""
    return 2 * width + (depth - 1) * (width * width + width) + width + 1


def _set(model: MLP, layers) -> MLP:
    with torch.no_grad():
        for lin, (w, b) in zip(model.linears, layers):
            lin.weight.copy_(torch.as_tensor(np.asarray(w, float).reshape(lin.weight.shape)))
            lin.bias.copy_(torch.as_tensor(np.asarray(b, float).reshape(lin.bias.shape)))
    return model


def tent_network(k: int, rng: np.random.Generator | None = None) -> MLP:
    """Delta^k as an MLP of depth k and width 2 (float64); ``rng`` draws power-of-two unit rescalings."""
    model = MLP(1, 1, width=2, depth=k).double()
    scale = np.ones((k, 2)) if rng is None else 2.0 ** rng.integers(-3, 4, (k, 2))
    out_w = np.array([2.0, -4.0])  # Delta(x) = 2 relu(x) - 4 relu(x - 1/2)
    layers, prev = [], np.ones(1)
    for layer in range(k):
        w_in = np.array([[1.0], [1.0]]) if layer == 0 else np.outer([1.0, 1.0], out_w / prev)  # next Delta of the last
        b = np.array([0.0, -0.5])
        layers.append((w_in * scale[layer][:, None], b * scale[layer]))
        prev = scale[layer]
    layers.append(((out_w / prev)[None, :], np.zeros(1)))
    return _set(model, layers)


def step_network(edges: np.ndarray, heights: np.ndarray, eps: float) -> MLP:
    """Four ReLUs per step: the rectangle of height h on [a + eps, b] for each (a, b) in ``edges``."""
    a, b = edges[:, 0], edges[:, 1]
    shifts = np.stack([a, a + eps, b, b + eps], 1).ravel()
    signs = np.tile([1.0, -1.0, -1.0, 1.0], len(a)) * np.repeat(heights / eps, 4)
    model = MLP(1, 1, width=4 * len(a), depth=1).double()
    return _set(model, [(np.ones(4 * len(a)), -shifts), (signs, np.zeros(1))])


def layers_of(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy()) for lin in model.linears]


def exact_pieces(model: MLP, lo: float, hi: float, rtol: float = 1e-9) -> tuple[int, int]:
    """(activation regions, linear pieces of the output) of a 1-input ReLU MLP on [lo, hi], exactly.

    Every pre-activation is affine between consecutive breakpoints; a ReLU adds a breakpoint where
    its input changes sign strictly inside a segment. Regions: segments whose pattern of active units
    differs from the previous one, plus one. Pieces: slope changes of the output beyond ``rtol``
    (relative to the largest slope), plus one.
    """
    layers = layers_of(model)
    t = np.array([lo, hi], float)
    h = t[:, None]
    patterns = []
    for w, b in layers[:-1]:
        z = h @ w.T + b  # (n, width), affine on each segment
        za, zb = z[:-1], z[1:]
        cross = za * zb < 0
        seg, unit = np.nonzero(cross)
        roots = t[seg] + (t[seg + 1] - t[seg]) * za[seg, unit] / (za[seg, unit] - zb[seg, unit])
        new_t = np.unique(np.concatenate([t, roots]))
        z = np.stack([np.interp(new_t, t, z[:, j]) for j in range(z.shape[1])], 1)
        patterns = [np.stack([np.interp(new_t, t, p[:, j]) for j in range(p.shape[1])], 1) for p in patterns]
        t, h = new_t, np.maximum(z, 0.0)
        patterns.append(z)
    mid = (t[:-1] + t[1:]) / 2
    active = np.concatenate([np.stack([np.interp(mid, t, p[:, j]) for j in range(p.shape[1])], 1) > 0
                             for p in patterns], 1) if patterns else np.zeros((len(mid), 0), bool)
    regions = 1 + int(np.sum(np.any(active[1:] != active[:-1], axis=1)))
    w, b = layers[-1]
    y = (h @ w.T + b)[:, 0]
    slope = np.diff(y) / np.diff(t)
    tol = rtol * max(1.0, float(np.max(np.abs(slope))))
    return regions, 1 + int(np.sum(np.abs(np.diff(slope)) > tol))


def grid_pieces(model: MLP, grid_log2: int) -> int:
    """Linear pieces of the output on [0, 1] from the nonzero second differences on a dyadic grid."""
    x = torch.arange(2**grid_log2 + 1, dtype=torch.float64)[:, None] / 2**grid_log2
    with torch.no_grad():
        y = model(x)[:, 0].numpy()
    return 1 + int(np.count_nonzero(y[2:] - 2 * y[1:-1] + y[:-2]))


def random_steps(rng: np.random.Generator, n_steps: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Random adjacent steps on [-2.5, 2.5]: sorted cut points at least 10 eps apart, heights N(0, 1)."""
    while True:
        cuts = np.sort(rng.uniform(-2.5, 2.5, n_steps + 1))
        if np.min(np.diff(cuts)) > 10 * eps:
            return np.stack([cuts[:-1], cuts[1:]], 1), rng.normal(0, 1, n_steps)


def step_target(x: np.ndarray, edges: np.ndarray, heights: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(target on x, mask of the points away from the ramps) of the step function."""
    y, keep = np.zeros_like(x), np.ones(len(x), bool)
    for (a, b), h in zip(edges, heights):
        y += h * ((x >= a + eps) & (x <= b))
        keep &= ~(((x > a) & (x < a + eps)) | ((x > b) & (x < b + eps)))
    return y, keep


def _row(part, seed, metric, value, k=np.nan, arch="", net=np.nan) -> dict:
    return {"part": part, "seed": seed, "k": k, "arch": arch, "net": net, "metric": metric, "value": float(value)}


def seed_task(seed: int, tent_depths: list, grid_log2: int, n_steps: int, ramp: float, architectures: list,
              n_nets: int) -> TaskOutput:
    """One seed: the tent counts, the step function's error, the regions of random networks."""
    rng = np.random.default_rng(1000 * seed + 1)
    rows = []
    for k in tent_depths:
        net = tent_network(int(k), rng)
        regions, pieces = exact_pieces(net, 0.0, 1.0)
        rows += [_row("tent", seed, "pieces_exact", pieces, k), _row("tent", seed, "regions_exact", regions, k),
                 _row("tent", seed, "pieces_grid", grid_pieces(net, grid_log2), k)]
    edges, heights = random_steps(rng, n_steps, ramp)
    net = step_network(edges, heights, ramp)
    x = np.linspace(*LINE, 200_001)
    with torch.no_grad():
        out = net(torch.as_tensor(x)[:, None])[:, 0].numpy()
    y, keep = step_target(x, edges, heights, ramp)
    err = np.abs(out - y)
    rows += [_row("step", seed, "max_error_off_ramps", err[keep].max() / np.abs(heights).max()),
             _row("step", seed, "max_error_on_ramps", err[~keep].max() / np.abs(heights).max() if (~keep).any() else 0.0),
             _row("step", seed, "n_relus", net.width), _row("step", seed, "n_steps", n_steps)]
    for depth, width in architectures:
        for i in range(n_nets):
            model = MLP(1, 1, width=width, depth=depth, seed=1000 * seed + 100 * depth + i).double()
            regions, pieces = exact_pieces(model, *LINE)
            arch = f"{depth}x{width}"
            rows += [_row("random", seed, "regions", regions, arch=arch, net=i),
                     _row("random", seed, "pieces", pieces, arch=arch, net=i),
                     _row("random", seed, "neurons", depth * width, arch=arch, net=i),
                     _row("random", seed, "params", n_params(depth, width), arch=arch, net=i)]
    return TaskOutput(rows)


def tasks(cfg: ExpressivityConfig, device: str) -> list[Task]:
    return [Task(seed_task, {"seed": s, "tent_depths": list(cfg.tent_depths), "grid_log2": cfg.grid_log2,
                             "n_steps": cfg.n_steps, "ramp": cfg.ramp, "architectures": [list(a) for a in cfg.shapes],
                             "n_nets": cfg.n_nets}, label=f"seed {s}") for s in cfg.seeds]


def expressivity_claims(seeds, metrics: pd.DataFrame, grid_log2: int) -> list:
    def value(part, metric, s, **sel):
        m = metrics[(metrics.part == part) & (metrics.metric == metric) & (metrics.seed == s)]
        for col, v in sel.items():
            m = m[m[col] == v]
        return m.value.to_numpy()

    tent = metrics[metrics.part == "tent"]
    ks = sorted(tent.k.unique())
    resolved = [k for k in ks if k <= grid_log2 - 4]  # the grid must resolve every piece (>= 16 points each)
    worst_exact = [max(abs(np.log2(value("tent", "pieces_exact", s, k=k)[0]) - k) for k in ks) for s in seeds]
    worst_grid = [max(abs(np.log2(value("tent", "pieces_grid", s, k=k)[0]) - k) for k in resolved) if resolved else np.nan
                  for s in seeds]
    step_err = [value("step", "max_error_off_ramps", s)[0] for s in seeds]
    random = metrics[metrics.part == "random"]
    archs = list(dict.fromkeys(random.arch))
    shallow, deepest = archs[0], archs[-1]
    ratio = [value("random", "regions", s, arch=deepest).mean() / value("random", "regions", s, arch=shallow).mean()
             for s in seeds]
    per_neuron = [max(value("random", "regions", s, arch=a).mean() / value("random", "neurons", s, arch=a)[0] for a in archs[1:])
                  for s in seeds]
    return [
        in_band(f"tent map: max over k = {int(ks[0])}..{int(ks[-1])} of |log2(exact pieces of Delta^k) - k|", seeds, worst_exact,
                (0.0, 0.0), kind="published", source=TELGARSKY, published="2^k pieces exactly",
                note="breakpoints propagated layer by layer; each seed rescales the hidden units by random powers of 2"),
        in_band(f"tent map: same, counted on a dyadic grid of 2^{grid_log2} + 1 points (k <= {max(resolved, default=0):g})", seeds, worst_grid,
                (0.0, 0.0), kind="published", source=TELGARSKY, published="2^k pieces exactly",
                note="an independent count: nonzero second differences of the network's output (exact: dyadic numbers)"),
        in_band("step function from 4 ReLUs per step: max |net - target| / max |height| away from the ramps", seeds, step_err,
                (0.0, 1e-9), kind="qualitative", source=f"{SEED_TEXT}: rect(x, a, b, h) from four ReLUs",
                published="exact away from the ramps", note="random steps and heights per seed; 200,001 points on [-3, 3]"),
        in_band(f"random nets at init, equal parameter count: mean regions on [-3, 3] of {deepest} / of {shallow}", seeds, ratio,
                (0.0, 0.9), kind="qualitative", source=HANIN,
                published="fewer regions for the deep-narrow net (fewer neurons), not exponentially more",
                note="Montufar et al. 2014's maximum for the deep net is exponential in depth; random nets are far from it"),
        in_band("random deep nets at init: max over deep architectures of mean regions / neurons", seeds, per_neuron,
                (0.0, 2.0), kind="qualitative", source=HANIN, published="O(1) regions per neuron along a line",
                note="the tent construction reaches 2^k regions with 2k neurons; random weights do not"),
    ]


def summarize(cfg: ExpressivityConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = expressivity_claims(cfg.seeds, metrics, cfg.grid_log2)
    random = metrics[(metrics.part == "random") & (metrics.metric == "regions")]
    comparisons = [Comparison(f"regions on [-3, 3] at init, {a} ({n_params(*map(int, a.split('x')))} params), "
                              "mean over nets and seeds", float(g.value.mean()), "phenomena.md: 1x32 26-32, 4x8 16-21, 8x8 20-25",
                              f"range {g.value.min():.0f}-{g.value.max():.0f}")
                   for a, g in random.groupby("arch", sort=False)]
    tent = metrics[(metrics.part == "tent") & (metrics.metric == "pieces_exact")]
    headline = {"tent_pieces": {int(k): float(v) for k, v in tent.groupby("k").value.min().items()}}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    tent = metrics[metrics.part == "tent"]
    for j, (metric, label, style) in enumerate((("pieces_exact", "exact breakpoints", "o-"), ("pieces_grid", "dyadic grid", "x--"))):
        g = tent[tent.metric == metric].groupby("k").value
        a.plot(g.mean().index, g.mean(), style, color=f"C{j}", label=f"{label} (mean over seeds)")
        a.fill_between(g.mean().index, g.min(), g.max(), color=f"C{j}", alpha=0.2, lw=0)
    ks = np.array(sorted(tent.k.unique()))
    a.plot(ks, 2.0**ks, ":", color="0.3", label="2^k (Telgarsky)")
    a.set(yscale="log", xlabel="k (composed tent maps = depth, width 2)", ylabel="linear pieces on [0, 1]",
          title="Tent map Delta^k: 2^k pieces from 2k ReLUs")
    a.legend(fontsize=8)
    random = metrics[(metrics.part == "random") & (metrics.metric == "regions")]
    archs = list(dict.fromkeys(random.arch))
    per_seed = random.groupby(["arch", "seed"]).value.mean().unstack()
    means = [per_seed.loc[x].mean() for x in archs]
    b.bar(range(len(archs)), means, color="C2", label="mean over nets, mean over seeds")
    b.errorbar(range(len(archs)), means, yerr=[[m - per_seed.loc[x].min() for m, x in zip(means, archs)],
                                               [per_seed.loc[x].max() - m for m, x in zip(means, archs)]],
               fmt="none", color="k", capsize=4, label="seeds' range")
    b.set_xticks(range(len(archs)), [f"{x}\n({int(x.split('x')[0]) * int(x.split('x')[1])} neurons)" for x in archs])
    b.set(xlabel="depth x width (about equal parameter count)", ylabel="activation regions along [-3, 3]",
          title="Random ReLU nets at init: regions follow neurons")
    b.legend(fontsize=8)
    return save(fig, out_dir, "expressivity")


register(Experiment(
    name="expressivity",
    title="What ReLU networks can represent: steps, the tent map, linear regions",
    question="Which functions do ReLU networks represent exactly, and what does depth buy: 2^k pieces from 2k units, "
    "and how many regions do random networks of equal size have?",
    metrics_doc="Part 'tent' (per seed and k): pieces_exact and regions_exact of Delta^k on [0, 1] by breakpoint "
    "propagation, pieces_grid from nonzero second differences on the dyadic grid. Part 'step': max |net - target| "
    "divided by the largest step height, off and on the ramps; n_relus. Part 'random' (per seed, architecture "
    "'depthxwidth' and net): activation regions and linear pieces along [-3, 3] at PyTorch's default init, "
    "neurons, params.",
    config_cls=ExpressivityConfig,
    scales={"smoke": {"tent_depths": (1, 2, 3, 4, 5), "grid_log2": 12, "n_nets": 2},
            "quick": {},
            "paper": {"tent_depths": tuple(range(1, 17)), "grid_log2": 22, "n_nets": 100}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Expressivity",
    order=60,
    series=("part", "seed", "arch", "metric"),
    # Measured on this 2-core machine while it was loaded by other agents: quick 61.7 s wall (3 seed tasks, 2 workers;
    # a seed task took 8 s unloaded for the tent counts and ~10 s in all); smoke ~2-5 s. Paper: 100 nets x 3
    # architectures and k <= 16 on a 2^22 grid, projected ~4x the quick work per seed, 5 seeds.
    estimates={"smoke": "~3 s", "quick": "~60 s", "paper": "~5 min"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
