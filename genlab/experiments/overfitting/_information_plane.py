"""information-plane: I(X;T) and I(T;Y) of each layer over training, tanh against ReLU (seed 001,
"Tishby's bottleneck"; Shwartz-Ziv & Tishby 2017, Saxe et al. 2018).

The Tishby task: all 2^12 = 4096 binary patterns x of 12 inputs, each equally likely; the label is a
fixed spherically symmetric rule: the 12 inputs sit on the vertices v_i of an icosahedron and
y = [|sum_i x_i v_i|^2 > 2.5], which splits the patterns 2036 / 2060 (the paper's own rule, the file
``var_u.mat``, is not shipped: phenomena.md, section 8, says an equivalent rule keeps the qualitative
tanh / ReLU contrast while the bit values differ). Each seed draws its own 80 % training split and
initialization (Saxe's truncated normal, std 1 / sqrt(fan_out), zero biases; the ReLU network's hidden
biases start at 0.1 and it trains at lr 0.1 instead of 0.5: with Saxe's zero biases the 3-unit ReLU
layer of seed 1 died during training at lr 0.1 and 0.2, measured). The network is
12-10-7-5-4-3-2 with tanh or ReLU hidden units and a softmax output, trained by plain SGD on the
cross-entropy (full batch by default: Saxe et al. show compression without SGD noise, and full batch
is the cheap variant on a CPU). The seeds of one activation are one ``train_many`` population,
trained in segments between log-spaced epochs (SGD without momentum has no optimizer state, so the
segments are the same run as one call: tested); after each segment the hidden activations of all
4096 patterns are stored.

Mutual information by binning (``genlab.measure.mutual_information``): T is the vector of a layer's
bin indices; with a deterministic network and uniform distinct inputs I(X;T) = H(T) <= log2 4096 =
12 bits. Three binnings of the same activations:

- ``fixed``: 30 equal bins over a range fixed for the whole run: [-1, 1] for tanh (Shwartz-Ziv &
  Tishby), [0, the layer's largest activation over the whole run] for ReLU (Saxe et al.);
- ``fine``: ``n_fine_bins`` bins over the same range: the estimate moves towards the true I(X;T),
  which is 12 bits whenever the layer map is injective (the binning pitfall: the "compression" is a
  property of the coarse bins);
- ``adaptive``: 30 bins over each step's own activation range (min..max): as ReLU activations grow
  the bins widen and I(X;T) falls with no change in the representation (fake compression).

Claims per seed: tanh's last hidden layer falls from its peak I(X;T) by at least 1 bit (compression);
ReLU's does not (under 0.5 bit) with fixed bins but does (over 0.5 bit) with adaptive bins (the fake
compression); with fine bins tanh's fall shrinks to under half; the estimates obey
I(T;Y) <= H(Y) = I(X;Y) and I(X;T) <= H(X) = 12 bits (data processing: an estimator bug fails it);
the last hidden layer's I(T;Y) rises during training (the fitting phase).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from genlab._checks import check_choice, check_int, check_seed, fail
from genlab.data import ClassificationData
from genlab.experiments._claims import in_band
from genlab.experiments._framework import Comparison, Experiment, RunOutput, register
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.measure import mutual_information
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

N_INPUTS = 12
N_PATTERNS = 2**N_INPUTS
THRESHOLD = 2.5  #: |sum x_i v_i|^2 > 2.5 (between the values 2.21 and 2.89): 2036 of the 4096 patterns have y = 1
TISHBY = "Shwartz-Ziv & Tishby 2017 (arXiv 1703.00810), Fig. 2: I(X;T) of the deep tanh layers falls after the fitting phase"
SAXE = "Saxe et al. 2018 (ICLR), Fig. 1: tanh compresses, ReLU does not (same task and binning)"
SAXE_BINS = ("Saxe et al. 2018, sec. 2 and appendix: for a deterministic net on discrete inputs the true I(X;T) is "
             "H(X) = 12 bits; only the binned quantity moves")
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass(frozen=True)
class InformationPlaneConfig(ExperimentConfig):
    """Settings of the information-plane experiment."""

    owner: ClassVar[str] = "information-plane"
    widths: tuple = param((10, 7, 5, 4, 3), "hidden widths (Shwartz-Ziv & Tishby: 10-7-5-4-3)", many=True, low=1)
    activations: tuple = param(("tanh", "relu"), "hidden activations compared", kind=str, many=True,
                               choices=tuple(ACTIVATIONS))
    train_fraction: float = param(0.8, "fraction of the 4096 patterns used for training", kind=float, low=0.0,
                                  high=1.0, low_open=True, high_open=True)
    lr_tanh: float = param(0.5, "SGD learning rate of the tanh network", kind=float, low=0.0, low_open=True)
    lr_relu: float = param(0.1, "SGD learning rate of the ReLU network (at 0.5 with zero biases units of "
                           "its narrow layers died: measured, 2 of 3 seeds ended at chance)", kind=float, low=0.0, low_open=True)
    relu_bias: float = param(0.1, "initial hidden biases of the ReLU network (tanh: 0, as Saxe). With 0 the "
                             "3-unit layer of seed 1 died during training at lr 0.1 and 0.2 (measured)", kind=float)
    batch_size: int = param(0, "SGD minibatch size; 0 = full batch", low=0)
    n_epochs: int = param(3000, "training epochs (full batch: one step each)", low=1)
    n_logs: int = param(30, "log-spaced epochs at which the activations are stored (plus epoch 0)", low=2)
    n_bins: int = param(30, "bins per unit of the fixed and adaptive binnings (Tishby: 30)", low=2)
    n_fine_bins: int = param(90_000, "bins per unit of the fine binning (a multiple of n_bins: it refines the "
                             "fixed binning)", low=2)

    def check(self):
        if self.n_fine_bins <= self.n_bins or self.n_fine_bins % self.n_bins:
            raise fail("n_fine_bins", self.owner, f"a multiple of n_bins = {self.n_bins} above it", self.n_fine_bins)
        if len(set(self.activations)) != len(self.activations):
            raise fail("activations", self.owner, "distinct activations", list(self.activations))


def icosahedron() -> np.ndarray:
    """The 12 unit vertices of an icosahedron, (12, 3)."""
    phi = (1 + 5**0.5) / 2
    v = [p for a in (-1, 1) for b in (-1, 1) for p in ((0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a))]
    return np.array(v) / math.sqrt(1 + phi**2)


def tishby_task() -> tuple[np.ndarray, np.ndarray]:
    """All 4096 patterns x in {0, 1}^12, (4096, 12) float32, and labels y = [|x V|^2 > 2.5], (4096,) int64."""
    x = np.array(list(itertools.product((0, 1), repeat=N_INPUTS)), dtype=np.float64)
    y = ((x @ icosahedron()) ** 2).sum(1) > THRESHOLD
    return x.astype(np.float32), y.astype(np.int64)


class TishbyNet(nn.Module):
    """Fully connected ``12 - widths - 2`` network, Saxe's init: weights from a normal truncated at
    2 std with std 1 / sqrt(fan_out), zero biases (hidden biases ``bias``: a small positive value
    keeps narrow ReLU layers from dying)."""

    def __init__(self, widths=(10, 7, 5, 4, 3), activation: str = "tanh", *, bias: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        self.widths = tuple(check_int(w, "widths", "TishbyNet", low=1) for w in widths)
        self.activation = check_choice(activation, "activation", "TishbyNet", tuple(ACTIVATIONS))
        self.seed = check_seed(seed, "seed", "TishbyNet")
        sizes = (N_INPUTS, *self.widths, 2)
        g = torch.Generator().manual_seed(self.seed)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for lin in self.linears:
                std = 1 / math.sqrt(lin.out_features)
                lin.weight.copy_(torch.nn.init.trunc_normal_(torch.empty_like(lin.weight), std=std, a=-2 * std,
                                                             b=2 * std, generator=g))
                lin.bias.fill_(bias if lin is not self.linears[-1] else 0.0)
        self.act = ACTIVATIONS[self.activation]()

    def config(self) -> dict:  # the population engine batches only members with equal structure
        return {"widths": self.widths, "activation": self.activation, "seed": self.seed}

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden layer's activations, a list of (n, width)."""
        out = []
        for lin in self.linears[:-1]:
            x = self.act(lin(x))
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linears[-1](self.hidden(x)[-1])


def log_epochs(n_epochs: int, n_logs: int) -> list[int]:
    """0 and about ``n_logs`` log-spaced epochs up to ``n_epochs`` (distinct, increasing)."""
    return sorted({0, *np.unique(np.round(np.logspace(0, math.log10(n_epochs), n_logs)).astype(int)).tolist()})


def split(seed: int, y: np.ndarray, train_fraction: float) -> np.ndarray:
    """Seed ``seed``'s training indices (a random ``train_fraction`` of the patterns)."""
    perm = np.random.default_rng(1000 * seed + 11).permutation(len(y))
    return np.sort(perm[: round(train_fraction * len(y))])


def train_logged(models, datas, epochs: list[int], lr: float, batch_size: int, seeds) -> tuple[list, pd.DataFrame]:
    """Train ``models`` (one population) by SGD, stopping at each of ``epochs`` to store activations.

    Segment j runs epochs[j-1] -> epochs[j] in one ``train_many`` call; SGD without momentum keeps no
    state, so with full batches the segments equal one long run (with minibatches each segment
    draws its epochs' batch orders from its own seed). Returns, per stored epoch, each model's hidden
    activations on all patterns as float64 arrays, and the engine's metrics with absolute epochs.
    """
    x_all = torch.from_numpy(tishby_task()[0])
    n_train = len(datas[0].y_train)
    bs = batch_size or None
    steps_per_epoch = 1 if bs is None else math.ceil(n_train / bs)

    def snapshot():
        with torch.no_grad():
            return [[a.numpy() for a in copy.deepcopy(m).double().hidden(x_all.double())] for m in models]

    stored, metrics = [snapshot()], []
    for j in range(1, len(epochs)):
        n_steps = (epochs[j] - epochs[j - 1]) * steps_per_epoch
        configs = [TrainConfig(optimizer="sgd", lr=lr, batch_size=bs, shuffle=bs is not None, n_steps=n_steps,
                               eval_every=n_steps, seed=1000 * s + j) for s in seeds]
        result = train_many(models, datas, configs, progress=False)
        m = result.metrics[result.metrics.step == n_steps].copy()
        m["epoch"] = epochs[j]
        metrics.append(m)
        stored.append(snapshot())
    return stored, pd.concat(metrics, ignore_index=True)


def binned(acts: np.ndarray, y: np.ndarray, n_bins: int, bin_range) -> tuple[float, float]:
    r = mutual_information(acts, y, n_bins=n_bins, bin_range=bin_range)
    return r.i_xt, r.i_ty


def activation_task(activation: str, seeds: list, widths: list, train_fraction: float, lr: float, batch_size: int,
                    n_epochs: int, n_logs: int, n_bins: int, n_fine_bins: int, bias: float = 0.0) -> TaskOutput:
    """One activation's population (one member per seed): training, then I(X;T), I(T;Y) per layer,
    stored epoch and binning."""
    x, y = tishby_task()
    datas, models = [], []
    for s in seeds:
        tr = split(s, y, train_fraction)
        te = np.setdiff1d(np.arange(len(y)), tr)
        datas.append(ClassificationData(x[tr], y[tr], x[te], y[te], n_classes=2, name="tishby-12bit"))
        models.append(TishbyNet(widths, activation, bias=bias, seed=1000 * s + 1))
    epochs = log_epochs(n_epochs, n_logs)
    stored, metrics = train_logged(models, datas, epochs, lr, batch_size, seeds)
    rows = []
    for i, s in enumerate(seeds):
        for layer in range(len(widths)):
            run = [snap[i][layer] for snap in stored]  # (n_epochs_logged) x (4096, width)
            lo, hi = (-1.0, 1.0) if activation == "tanh" else (0.0, max(float(a.max()) for a in run))
            hi = hi if hi > lo else lo + 1.0  # a dead ReLU layer: every activation 0
            for epoch, a in zip(epochs, run):
                for binning, nb, rng in (("fixed", n_bins, (lo, hi)), ("fine", n_fine_bins, (lo, hi)),
                                         ("adaptive", n_bins, None)):
                    i_xt, i_ty = binned(a, y, nb, rng)
                    base = {"activation": activation, "seed": s, "epoch": epoch, "layer": layer + 1, "binning": binning}
                    rows += [{**base, "metric": "i_xt", "value": i_xt}, {**base, "metric": "i_ty", "value": i_ty}]
    for (member, epoch, sp, metric), g in metrics.groupby(["member", "epoch", "split", "metric"]):
        if metric == "error":
            rows.append({"activation": activation, "seed": seeds[member], "epoch": epoch, "layer": 0,
                         "binning": "none", "metric": f"{sp}_error", "value": float(g.value.iloc[0])})
    return TaskOutput(rows)


def tasks(cfg: InformationPlaneConfig, device: str) -> list[Task]:
    kw = {"seeds": list(cfg.seeds), "widths": list(cfg.widths), "train_fraction": cfg.train_fraction,
          "batch_size": cfg.batch_size, "n_epochs": cfg.n_epochs, "n_logs": cfg.n_logs, "n_bins": cfg.n_bins,
          "n_fine_bins": cfg.n_fine_bins}
    lrs = {"tanh": cfg.lr_tanh, "relu": cfg.lr_relu}
    biases = {"tanh": 0.0, "relu": cfg.relu_bias}
    return [Task(activation_task, {"activation": a, "lr": lrs[a], "bias": biases[a], **kw}, label=a)
            for a in cfg.activations]


def last_layer(metrics: pd.DataFrame, activation: str, seed: int, binning: str, metric: str = "i_xt") -> pd.Series:
    """The last hidden layer's ``metric`` over the stored epochs (a Series indexed by epoch)."""
    m = metrics[(metrics.activation == activation) & (metrics.seed == seed) & (metrics.binning == binning)
                & (metrics.metric == metric)]
    m = m[m.layer == m.layer.max()]
    return m.set_index("epoch").value.sort_index()


def fall_from_peak(curve: pd.Series) -> float:
    """Peak minus final value (bits): how much the curve fell after its maximum."""
    return float(curve.max() - curve.iloc[-1])


def label_entropy() -> float:
    """H(Y) = I(X;Y) in bits (Y is a function of X), from the label counts."""
    p = np.bincount(tishby_task()[1]) / N_PATTERNS
    return float(-(p * np.log2(p)).sum())


def information_claims(seeds, metrics: pd.DataFrame) -> list:
    acts = set(metrics.activation)
    claims = []
    if "tanh" in acts:
        claims.append(in_band(
            "tanh, last hidden layer, 30 fixed bins: fall of I(X;T) from its peak (bits)", seeds,
            [fall_from_peak(last_layer(metrics, "tanh", s, "fixed")) for s in seeds], (1.0, np.inf),
            kind="qualitative", source=TISHBY, published="compression phase (Saxe Fig. 1A: several bits)",
            note="peak over the stored epochs minus the final value; phenomena.md's full-batch Adam run of the "
                 "paper's own task: 7.0 -> 2.5 bits"))
    if "relu" in acts:
        claims.append(in_band(
            "ReLU, last hidden layer, 30 fixed bins: fall of I(X;T) from its peak (bits)", seeds,
            [fall_from_peak(last_layer(metrics, "relu", s, "fixed")) for s in seeds], (-np.inf, 0.5),
            kind="qualitative", source=SAXE, published="no compression (Saxe Fig. 1B)",
            note="bins over [0, the layer's largest activation of the whole run]; phenomena.md: 5.3 -> 5.2 bits"))
    if "tanh" in acts:
        claims.append(in_band(
            "tanh, last hidden layer: fall of I(X;T) with fine bins / fall with 30 bins", seeds,
            [fall_from_peak(last_layer(metrics, "tanh", s, "fine")) / fall_from_peak(last_layer(metrics, "tanh", s, "fixed"))
             for s in seeds], (-np.inf, 0.5), kind="qualitative", source=SAXE_BINS,
            published="finer bins: I(X;T) -> H(X) = 12 bits, the compression fades",
            note="the same activations binned into n_fine_bins instead of 30 bins over [-1, 1]"))
    if "relu" in acts:
        claims.append(in_band(
            "ReLU, last hidden layer, 30 adaptive bins (each epoch's own range): fall of I(X;T) from its peak (bits)",
            seeds, [fall_from_peak(last_layer(metrics, "relu", s, "adaptive")) for s in seeds], (0.5, np.inf),
            kind="qualitative", source=SAXE, published="bins that widen with the activations fake a compression "
            "(phenomena.md: 4.3 -> 3.2 bits)",
            note="the same activations as the fixed-bin claim above, whose fall stays under 0.5 bit: only the binning "
                 "differs"))
    h_y = label_entropy()
    ity = metrics[metrics.metric == "i_ty"]
    ixt = metrics[metrics.metric == "i_xt"]
    claims.append(in_band(
        "data processing: max over layers, epochs, binnings of I(T;Y) - H(Y) and I(X;T) - H(X) (bits)", seeds,
        [max(float((ity[ity.seed == s].value - h_y).max()), float((ixt[ixt.seed == s].value - N_INPUTS).max()))
         for s in seeds], (-np.inf, 1e-9), kind="qualitative",
        source="data processing inequality: T is a function of X, so I(T;Y) <= I(X;Y) = H(Y), I(X;T) <= H(X) = 12",
        published=f"<= 0 (H(Y) = {h_y:.4f} bits from the label counts)",
        note="checked on the estimates: a binning or entropy bug (e.g. natural logs, unnormalized counts) breaks it"))
    if "tanh" in acts:
        claims.append(in_band(
            "tanh, last hidden layer, 30 fixed bins: rise of I(T;Y) from epoch 0 to the end (bits)", seeds,
            [float(c.iloc[-1] - c.iloc[0]) for c in (last_layer(metrics, "tanh", s, "fixed", "i_ty") for s in seeds)],
            (0.3, np.inf), kind="qualitative", source=TISHBY, published="fitting phase: I(T;Y) rises towards H(Y)",
            note=f"H(Y) = {h_y:.3f} bits"))
    return claims


def summarize(cfg: InformationPlaneConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims = information_claims(cfg.seeds, metrics)
    final = metrics[metrics.epoch == metrics.epoch.max()]
    comparisons = []
    for a in cfg.activations:
        for sp, ref in (("train", {"tanh": "99.9 %", "relu": "97.1 %"}), ("test", {"tanh": "97.9 %", "relu": "94.0 %"})):
            acc = 100 * (1 - final[(final.activation == a) & (final.metric == f"{sp}_error")].value)
            comparisons.append(Comparison(f"{a}: {sp} accuracy at the end (%), mean over seeds", float(acc.mean()),
                                          f"{ref[a]} (phenomena.md, full-batch Adam on var_u.mat, one run)"))
        for b in ("fixed", "fine", "adaptive"):
            curves = [last_layer(metrics, a, s, b) for s in cfg.seeds]
            comparisons.append(Comparison(
                f"{a}, last hidden layer, {b} bins: I(X;T) peak -> end (bits), mean over seeds",
                float(np.mean([fall_from_peak(c) for c in curves])),
                {("tanh", "fixed"): "7.0 -> 2.5", ("relu", "fixed"): "5.3 -> 5.2", ("relu", "adaptive"): "4.3 -> 3.2"}.get(
                    (a, b), "-") + " (phenomena.md, var_u.mat)",
                note="peak " + ", ".join(f"{c.max():.2f}" for c in curves) + "; end "
                     + ", ".join(f"{c.iloc[-1]:.2f}" for c in curves)))
    headline = {f"{a}_last_layer_fall_bits": [fall_from_peak(last_layer(metrics, a, s, "fixed")) for s in cfg.seeds]
                for a in cfg.activations}
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    acts = [a for a in ACTIVATIONS if a in set(metrics.activation)]
    info = metrics[metrics.binning == "fixed"]
    fig, axes = plt.subplots(1, len(acts), figsize=(5.5 * len(acts), 4.2), squeeze=False)
    epochs = np.sort(info.epoch.unique())
    norm = plt.matplotlib.colors.LogNorm(vmin=max(1, epochs[1] if len(epochs) > 1 else 1), vmax=max(2, epochs[-1]))
    for ax, a in zip(axes[0], acts):
        mean = info[info.activation == a].groupby(["layer", "epoch", "metric"]).value.mean().unstack("metric")
        for layer, g in mean.groupby(level="layer"):
            g = g.droplevel("layer")
            ax.plot(g.i_xt, g.i_ty, "-", color="0.6", lw=0.8, zorder=1)
            sc = ax.scatter(g.i_xt, g.i_ty, c=np.maximum(g.index, 1), cmap="viridis", norm=norm, s=18, zorder=2)
            ax.annotate(f"layer {layer}", (g.i_xt.iloc[-1], g.i_ty.iloc[-1]), fontsize=8, xytext=(3, -10),
                        textcoords="offset points")
        ax.set(xlabel="I(X;T) (bits)", ylabel="I(T;Y) (bits)", title=f"{a}: information plane, 30 fixed bins "
               "(mean over seeds)")
        fig.colorbar(sc, ax=ax, label="epoch (0 drawn at 1)")
    names = save(fig, out_dir, "information_plane")

    fig, axes = plt.subplots(1, len(acts), figsize=(5.5 * len(acts), 4), squeeze=False)
    for ax, a in zip(axes[0], acts):
        m = metrics[(metrics.activation == a) & (metrics.metric == "i_xt")]
        m = m[m.layer == m.layer.max()]
        for j, b in enumerate(("fixed", "fine", "adaptive")):
            g = m[m.binning == b].groupby("epoch").value
            x = np.maximum(g.mean().index, 1)
            ax.plot(x, g.mean(), "o-", ms=3, color=f"C{j}", label=f"{b} bins (mean over seeds)")
            ax.fill_between(x, g.min(), g.max(), color=f"C{j}", alpha=0.2, lw=0)
        ax.axhline(N_INPUTS, ls=":", color="0.3", label="H(X) = 12 bits")
        ax.set(xscale="log", xlabel="epoch (0 drawn at 1)", ylabel="I(X;T) of the last hidden layer (bits)",
               title=f"{a}: the estimate depends on the binning")
        ax.legend(fontsize=8)
    return names + save(fig, out_dir, "binning")


register(Experiment(
    name="information-plane",
    not_projectable="n_logs evaluations at log-spaced steps: a short probe evaluates at almost every step, unlike the full run",
    title="The information plane: compression with tanh, none with ReLU, and the binning that decides it",
    question="Does a deep network first fit (I(T;Y) rises) and then compress (I(X;T) falls)? Is the compression "
    "a property of learning or of the saturating tanh and of the binning used to estimate mutual information?",
    metrics_doc="Per activation (tanh, relu), seed, stored epoch, hidden layer (1 = first) and binning (fixed: 30 "
    "bins over [-1, 1] for tanh, [0, whole-run max] for ReLU; fine: n_fine_bins over the same range; adaptive: "
    "30 bins over each epoch's own min..max): i_xt = I(X;T) = H(T) and i_ty = I(T;Y) in bits, over all 4096 "
    "patterns. Layer 0 rows (binning none): train_error and test_error of the network.",
    config_cls=InformationPlaneConfig,
    scales={"smoke": {"n_epochs": 10, "n_logs": 3},
            "quick": {},
            "paper": {"n_epochs": 10_000, "n_logs": 60}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 50},
    section="Tishby's information bottleneck",
    order=75,
    series=("activation", "binning", "layer", "seed", "metric"),
    # Measured: quick 508 s wall under load ~16 (two tasks of ~65-70 CPU-s each, 3000 full-batch steps of 3 members
    # plus the binning); paper: 10,000 epochs and 50 seeds, projected from the quick task time.
    estimates={"smoke": "~5 s", "quick": "~140 CPU-s (508 s wall on the loaded machine)", "paper": "~1.5 h"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
