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

- trained nets of equal parameter count (361): one hidden layer of 120 units against four of 10,
  fitted to sin(4 pi x) on [-1, 1] (1001 grid points, tested on the 1000 midpoints) by full-batch
  Adam with a cosine-decayed lr, 8 inits each, all 16 in one ``train_many`` population. The lecture's
  "for a fixed param budget, deeper is better" is scored on the best of the inits (lowest TRAIN
  MSE): the claim is about what the budget can reach, and the deep net's median init is a poor
  local fit (its median test MSE is about twice the shallow's, a comparison row says so) -- the
  known pitfall that GD often misses the deep solution. At quick scale (seeds 0-4) the best deep
  net's test MSE is 0.04-0.36 of the best shallow's. Its exact linear pieces (26-48) lie between the
  target's 8 monotone stretches + 1 and the shallow net's maximum 121: depth wins by where it puts
  its pieces, not by having more. Regions of the same nets at init and after training, counted
  exactly: the shallow net keeps about 60 of its 120 possible, the deep one goes from about 13 to
  about 30 (40 neurons) -- training adds regions to the deep net, but stays at O(1) per neuron
  (Hanin & Rolnick 2019). An earlier probe at 40-70 parameters (target Delta^4) left every
  deep-narrow net at the constant fit; a few hundred parameters and a smooth target do not.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from types import SimpleNamespace
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
from genlab.train import TrainConfig, train_many

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
    fit_architectures: tuple = param(("1x120", "4x10"), "'DEPTHxWIDTH' of the trained networks (361 parameters "
                                     "each; the first of depth 1)", kind=str, many=True)
    periods: float = param(4.0, "the trained target is sin(pi * periods * x) on [-1, 1]", kind=float, low=0.5, high=32.0)
    n_points: int = param(1000, "training grid: n_points + 1 equispaced x in [-1, 1]; test: the midpoints", low=8)
    n_inits: int = param(8, "random inits per trained architecture and seed (the best one is scored)", low=1)
    fit_steps: int = param(2000, "full-batch Adam steps (cosine-decayed lr)", low=1)
    fit_lr: float = param(1e-2, "Adam's initial learning rate", kind=float, low=0.0, low_open=True, high=1.0)

    def check(self):
        for name in ("architectures", "fit_architectures"):
            _check_archs(name, self.owner, getattr(self, name))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(depth, width) of each architecture."""
        return [tuple(int(v) for v in a.split("x")) for a in self.architectures]


def _check_archs(name: str, owner: str, given: tuple) -> None:
    archs = []
    for a in given:
        parts = a.split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
            raise fail(name, owner, "'DEPTHxWIDTH' strings of integers >= 1 (e.g. '4x8')", given)
        archs.append((int(parts[0]), int(parts[1])))
    if len(archs) < 2 or archs[0][0] != 1 or len({d for d, _ in archs}) != len(archs):
        raise fail(name, owner, "at least two pairs of distinct depths, the first of depth 1 (the shallow reference)", given)
    counts = [n_params(d, w) for d, w in archs]
    if max(counts) > 1.1 * min(counts):
        raise fail(name, owner, "architectures whose parameter counts agree within 10 %", given,
                   got=f"{given} with {counts} parameters")


def shapes_of(archs) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in a.split("x")) for a in archs]


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


def trained_task(seed: int, architectures: list, periods: float, n_points: int, n_inits: int, n_steps: int,
                 lr: float, device: str = "cpu") -> TaskOutput:
    """One seed: ``n_inits`` nets per architecture fitted to sin(pi periods x) in one population.

    Rows per net: train/test MSE and the exact activation regions and pieces on [-1, 1] at init and
    after training; plus the predictions of each architecture's best net (lowest train MSE) on 401
    points (part 'fit', x in column k) for the figure.
    """
    x = np.linspace(-1.0, 1.0, n_points + 1)
    x_test = (x[:-1] + x[1:]) / 2  # the midpoints: never trained on
    target = lambda v: np.sin(np.pi * periods * v)  # noqa: E731
    data = SimpleNamespace(x_train=x[:, None], y_train=target(x)[:, None], x_test=x_test[:, None],
                           y_test=target(x_test)[:, None])
    members = [(d, w, i) for d, w in architectures for i in range(n_inits)]
    models = [MLP(1, 1, width=w, depth=d, seed=10_000 * seed + 1000 * d + i) for d, w, i in members]
    at_init = [exact_pieces(copy.deepcopy(m).double(), -1.0, 1.0) for m in models]
    cfg = TrainConfig(optimizer="adam", lr=lr, schedule="cosine", batch_size=None, n_steps=n_steps,
                      eval_every=n_steps, loss="mse")
    final = train_many(models, data, cfg, device=device, progress=False).final()
    rows, best = [], {}
    for j, ((d, w, i), model, (r0, p0)) in enumerate(zip(members, models, at_init)):
        model = model.cpu().double().eval()
        r1, p1 = exact_pieces(model, -1.0, 1.0)
        arch = f"{d}x{w}"
        mse = {split: float(final.loc[j, (split, "loss")]) for split in ("train", "test")}
        rows += [_row("trained", seed, f"{split}_mse", v, arch=arch, net=i) for split, v in mse.items()]
        rows += [_row("trained", seed, metric, v, arch=arch, net=i) for metric, v in
                 (("regions_init", r0), ("pieces_init", p0), ("regions_trained", r1), ("pieces_trained", p1),
                  ("neurons", d * w), ("params", n_params(d, w)))]
        if arch not in best or mse["train"] < best[arch][0]:
            best[arch] = (mse["train"], model)
    grid = np.linspace(-1.0, 1.0, 401)
    rows += [_row("fit", seed, "prediction", y, k=v, arch="target") for v, y in zip(grid, target(grid))]
    for arch, (_, model) in best.items():
        with torch.no_grad():
            pred = model(torch.as_tensor(grid)[:, None])[:, 0].numpy()
        rows += [_row("fit", seed, "prediction", y, k=v, arch=arch) for v, y in zip(grid, pred)]
    return TaskOutput(rows)


def tasks(cfg: ExpressivityConfig, device: str) -> list[Task]:
    fit = {"architectures": [list(a) for a in shapes_of(cfg.fit_architectures)], "periods": cfg.periods,
           "n_points": cfg.n_points, "n_inits": cfg.n_inits, "n_steps": cfg.fit_steps, "lr": cfg.fit_lr, "device": device}
    return [Task(seed_task, {"seed": s, "tent_depths": list(cfg.tent_depths), "grid_log2": cfg.grid_log2,
                             "n_steps": cfg.n_steps, "ramp": cfg.ramp, "architectures": [list(a) for a in cfg.shapes],
                             "n_nets": cfg.n_nets}, label=f"seed {s}") for s in cfg.seeds] + [
        Task(trained_task, {"seed": s, **fit}, label=f"trained, seed {s}") for s in cfg.seeds]


def best_of_inits(metrics: pd.DataFrame, seed: int, arch: str) -> pd.Series:
    """The trained net of ``arch`` with the lowest TRAIN MSE in ``seed``: its metrics by name."""
    t = metrics[(metrics.part == "trained") & (metrics.seed == seed) & (metrics.arch == arch)]
    table = t.pivot_table(index="net", columns="metric", values="value")
    return table.loc[table.train_mse.idxmin()]


def trained_claims(seeds, metrics: pd.DataFrame, periods: float) -> list:
    trained = metrics[metrics.part == "trained"]
    archs = list(dict.fromkeys(trained.arch))
    shallow, deep = archs[0], archs[-1]
    best = {s: {a: best_of_inits(metrics, s, a) for a in archs} for s in seeds}
    ratio = [best[s][deep].test_mse / best[s][shallow].test_mse for s in seeds]
    pieces = [best[s][deep].pieces_trained for s in seeds]
    max_shallow = int(shallow.split("x")[1]) + 1
    n_monotone = int(np.ceil(2 * periods))  # sin(pi P x) on [-1, 1] has 2P monotone stretches (more if P is not whole)
    per_neuron = []
    for s in seeds:
        t = trained[trained.seed == s].pivot_table(index=["arch", "net"], columns="metric", values="value")
        per_neuron.append(float((t.regions_trained / t.neurons).groupby(level="arch").mean().max()))
    n = len(trained[(trained.seed == seeds[0]) & (trained.arch == deep) & (trained.metric == "test_mse")])
    return [
        in_band(f"trained, equal budget: test MSE of the best of {n} inits, {deep} / {shallow}", seeds, ratio, (0.0, 0.5),
                kind="qualitative", source=f"{SEED_TEXT}: 'For a fixed param budget, deeper is better' (Montufar et al. 2014)",
                published="deeper fits better",
                note=f"target sin(pi {periods:g} x) on [-1, 1], full-batch Adam, cosine lr; best = lowest TRAIN MSE "
                "(the lecture's claim is about what the budget can reach; the median init of the deep net is often a "
                "poor local fit, see the comparison rows)"),
        in_band(f"trained {deep} (best init): exact linear pieces on [-1, 1], between the target's monotone stretches "
                f"+ 1 and the shallow net's maximum {shallow.split('x')[1]} + 1", seeds, pieces,
                (n_monotone + 1, max_shallow), kind="qualitative", source=HANIN,
                published="the deep fit oscillates as the target, with fewer pieces than the shallow net may have",
                note="counted from the weights by breakpoint propagation, independent of the MSE: depth wins by where "
                "it puts its pieces, not by having exponentially many"),
        in_band("trained nets: max over architectures of mean regions on [-1, 1] / neurons", seeds, per_neuron, (0.0, 2.0),
                kind="qualitative", source=HANIN, published="O(1) regions per neuron after training too",
                note="the same exact counter as for the random nets; the tent map has 2^(k-1) regions per neuron"),
    ]


def expressivity_claims(seeds, metrics: pd.DataFrame, grid_log2: int, periods: float = 4.0) -> list:
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
    ] + (trained_claims(seeds, metrics, periods) if (metrics.part == "trained").any() else [])


def summarize(cfg: ExpressivityConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = expressivity_claims(cfg.seeds, metrics, cfg.grid_log2, cfg.periods)
    random = metrics[(metrics.part == "random") & (metrics.metric == "regions")]
    comparisons = [Comparison(f"regions on [-3, 3] at init, {a} ({n_params(*map(int, a.split('x')))} params), "
                              "mean over nets and seeds", float(g.value.mean()), "phenomena.md: 1x32 26-32, 4x8 16-21, 8x8 20-25",
                              f"range {g.value.min():.0f}-{g.value.max():.0f}")
                   for a, g in random.groupby("arch", sort=False)]
    trained = metrics[metrics.part == "trained"]
    for a, g in trained.groupby("arch", sort=False):
        per_seed = g[g.metric == "test_mse"].groupby("seed").value
        best = [best_of_inits(metrics, s, a).test_mse for s in cfg.seeds]
        comparisons.append(Comparison(f"trained {a} ({n_params(*map(int, a.split('x')))} params): test MSE, median over "
                                      "inits, mean over seeds", float(per_seed.median().mean()), "no reference (measured)",
                                      f"best of inits {np.mean(best):.2g} (mean over seeds)"))
        for when in ("init", "trained"):
            v = g[g.metric == f"regions_{when}"].value
            comparisons.append(Comparison(f"{a}: regions on [-1, 1] {'at init' if when == 'init' else 'after training'}, "
                                          "mean over nets and seeds", float(v.mean()), HANIN, f"range {v.min():.0f}-{v.max():.0f}"))
    tent = metrics[(metrics.part == "tent") & (metrics.metric == "pieces_exact")]
    headline = {"tent_pieces": {int(k): float(v) for k, v in tent.groupby("k").value.min().items()}}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    trained = metrics[metrics.part == "trained"]
    fig, axes = plt.subplots(1, 4 if len(trained) else 2, figsize=(22 if len(trained) else 11, 4))
    a, b = axes[0], axes[1]
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
    if len(trained):
        c, d = axes[2], axes[3]
        fit = metrics[(metrics.part == "fit") & (metrics.seed == metrics.seed.min())]
        for arch, g in fit.groupby("arch", sort=False):
            mse = "" if arch == "target" else f" (test MSE {best_of_inits(metrics, int(g.seed.iloc[0]), arch).test_mse:.2g})"
            c.plot(g.k, g.value, "k:" if arch == "target" else "-", lw=2 if arch == "target" else 1.2,
                   label=f"{arch}{mse}" if arch == "target" else f"{arch}, best init{mse}")
        c.set(xlabel="x", ylabel="y", title=f"Trained fits at equal parameter count (seed {int(fit.seed.min())})")
        c.legend(fontsize=8)
        archs = list(dict.fromkeys(trained.arch))
        for j, when in enumerate(("init", "trained")):
            g = trained[trained.metric == f"regions_{when}"].groupby("arch").value
            d.bar(np.arange(len(archs)) + 0.4 * j - 0.2, [g.mean()[x] for x in archs], 0.4, color=f"C{j}",
                  yerr=[[g.mean()[x] - g.min()[x] for x in archs], [g.max()[x] - g.mean()[x] for x in archs]],
                  capsize=4, label=f"{'random (at init)' if when == 'init' else 'after training'}: mean, range")
        d.set_xticks(range(len(archs)), [f"{x}\n({int(x.split('x')[0]) * int(x.split('x')[1])} neurons)" for x in archs])
        d.set(ylabel="activation regions along [-1, 1]", title="Regions of the trained nets: random vs trained")
        d.legend(fontsize=8)
    return save(fig, out_dir, "expressivity")


register(Experiment(
    name="expressivity",
    steps="fit_steps",
    title="What ReLU networks can represent: steps, the tent map, linear regions, depth at equal budget",
    question="Which functions do ReLU networks represent exactly, and what does depth buy: 2^k pieces from 2k units, "
    "how many regions do random and trained networks of equal size have, and does the deeper one fit an "
    "oscillating target better?",
    metrics_doc="Part 'tent' (per seed and k): pieces_exact and regions_exact of Delta^k on [0, 1] by breakpoint "
    "propagation, pieces_grid from nonzero second differences on the dyadic grid. Part 'step': max |net - target| "
    "divided by the largest step height, off and on the ramps; n_relus. Part 'random' (per seed, architecture "
    "'depthxwidth' and net): activation regions and linear pieces along [-3, 3] at PyTorch's default init, "
    "neurons, params. Part 'trained' (per seed, architecture and init 'net'): train_mse and test_mse on "
    "sin(pi periods x), regions_init/pieces_init and regions_trained/pieces_trained on [-1, 1] (exact), neurons, "
    "params. Part 'fit': predictions on 401 points of [-1, 1] (x in column k) of each architecture's best init "
    "(lowest train MSE) and of the target (arch 'target').",
    config_cls=ExpressivityConfig,
    scales={"smoke": {"tent_depths": (1, 2, 3, 4, 5), "grid_log2": 12, "n_nets": 2, "n_points": 100, "n_inits": 2,
                      "fit_steps": 20},
            "quick": {},
            "paper": {"tent_depths": tuple(range(1, 17)), "grid_log2": 22, "n_nets": 100, "n_inits": 32,
                      "fit_steps": 4000, "n_points": 2000}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Expressivity",
    order=60,
    series=("part", "seed", "arch", "metric"),
    # Measured on this 2-core machine while it was loaded by other agents: quick 61.7 s wall (3 seed tasks, 2 workers;
    # a seed task took 8 s unloaded for the tent counts and ~10 s in all); smoke ~2-5 s. Paper: 100 nets x 3
    # architectures and k <= 16 on a 2^22 grid, projected ~4x the quick work per seed, 5 seeds.
    # The trained part adds ~20.5 CPU-s per seed at quick (16 members x 2000 full-batch Adam steps, 1 thread), ~2 s at smoke.
    estimates={"smoke": "~5 s", "quick": "~90 s", "paper": "~15 min"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
