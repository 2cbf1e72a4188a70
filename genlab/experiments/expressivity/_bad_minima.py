"""bad-minima: minima that fit the training set perfectly yet generalize badly exist and are reachable.

The lecture (seed 002, "good and bad global minima", after Wu, Zhu and E 2017) says that a
typical network can represent global minima that generalize badly, yet gradient descent from a
random initialization avoids them, because good minima have wide basins. Two recipes reach such
minima on MNIST-1D with the lecture MLP (two hidden ReLU layers, Adam, no weight decay, no
augmentation), and a normal run is the reference:

* ``normal``: train on the clean training set.
* ``poisoned`` (Huang et al. 2019): train on the clean training set plus ``n_poison`` extra
  examples of the same distribution with uniform random labels; the same number of epochs.
* ``pretrained`` (Liu et al. 2020): first fit random labels of the training inputs, then train
  on the clean set from those weights as long as the normal run.

Each minimum is measured on the clean training set (accuracy, cross-entropy, the top Hessian
eigenvalue) and on the test set, and its basin size: along random filter-normalized directions
(Li et al. 2018, genlab.measure.loss_landscape; biases held fixed) the distance, in units of the
weights' own filter norms, at which the clean training accuracy first falls below
``basin_accuracy``. Filter normalization makes this distance blind to the ReLU rescaling that
fools the Hessian (Dinh et al. 2017). Every (variant, seed) pair is a population member.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from genlab._checks import fail
from genlab.data import make_mnist1d, with_random_labels
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
from genlab.measure import hessian_eigenvalues, loss_landscape
from genlab.models import MLP
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

VARIANTS = ("normal", "poisoned", "pretrained")
LABELS = {"normal": "normal run", "poisoned": "poisoned (extra random-label examples)",
          "pretrained": "pre-trained on random labels"}
HUANG = "Huang et al. 2019, 'Understanding generalization through visualizations' (arXiv 1906.03291)"
LIU = "Liu, Papailiopoulos and Achlioptas 2020, 'Bad global minima exist and SGD can reach them' (arXiv 1906.02613)"
LECTURE = "lecture (seed 002, 'good and bad global minima'; Wu, Zhu and E 2017)"


@dataclass(frozen=True)
class BadMinimaConfig(ExperimentConfig):
    """Settings of the normal, poisoned and random-label-pre-trained runs on MNIST-1D."""

    owner: ClassVar[str] = "bad-minima"
    n_train: int = param(4000, "clean training examples (MNIST-1D)", low=10)
    n_test: int = param(1000, "test examples", low=10)
    n_poison: int = param(8000, "extra examples with uniform random labels in the poisoned training set", low=1)
    width: int = param(256, "hidden units per layer (two hidden layers)", low=1)
    n_steps: int = param(4000, "Adam steps on the clean set (normal, and pretrained after pre-training); the "
                               "poisoned run takes as many epochs of its larger set", low=1)
    pretrain_steps: int = param(4000, "Adam steps of the pre-training on random labels", low=1)
    lr: float = param(1e-3, "Adam learning rate (no weight decay: Liu et al.'s effect needs none)", kind=float,
                      low=0.0, low_open=True)
    batch_size: int = param(100, "examples per step, reshuffled every epoch", low=1)
    eval_every: int = param(100, "steps between evaluations (the curves of the figure)", low=1)
    n_directions: int = param(8, "random filter-normalized directions of the basin radius", low=1)
    span: float = param(1.0, "the basin is searched up to this distance (in filter norms)", kind=float, low=0.0,
                        low_open=True)
    n_points: int = param(81, "grid points on [-span, span] along each direction (odd; 81: steps of 0.025 at span 1)", low=3)
    basin_accuracy: float = param(0.9, "the basin ends where the clean training accuracy falls below this",
                                  kind=float, low=0.0, high=1.0, low_open=True, high_open=True)
    hessian_steps: int = param(20, "Lanczos steps of the top Hessian eigenvalue (clean training loss)", low=2)

    def check(self):
        if self.n_points % 2 == 0:
            raise fail("n_points", self.owner, "an odd int (the minimum at the grid centre)", self.n_points)
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.batch_size, n_steps=self.n_steps,
                       eval_every=self.eval_every)


@functools.lru_cache(maxsize=8)
def clean_data(n_train: int, n_test: int, seed: int):
    """The clean training and test sets of run seed ``seed`` (its own data draw)."""
    n = n_train + n_test
    return make_mnist1d(n, train_split=n_train / n, seed=42 + seed)


def poisoned_data(n_train: int, n_test: int, n_poison: int, seed: int):
    """The clean set plus ``n_poison`` fresh MNIST-1D inputs with uniform random labels (appended)."""
    data = clean_data(n_train, n_test, seed)
    n_extra = 10 * (n_poison // 10 + 1)  # whole classes: make_mnist1d keeps n // 10 per class
    extra = make_mnist1d(n_extra, train_split=n_poison / n_extra + 1e-9, seed=100_000 + seed)
    x_poison = extra.x_train[:n_poison]
    y_poison = np.random.default_rng(1000 * seed + 17).integers(0, data.n_classes, n_poison)
    return dataclasses.replace(data, x_train=np.concatenate([data.x_train, x_poison]),
                               y_train=np.concatenate([data.y_train, y_poison]).astype(data.y_train.dtype))


def _model(width: int, seed: int) -> MLP:
    return MLP(40, 10, width=width, depth=2, seed=1000 * seed + 1)  # one init per run seed, shared by the variants


def _adam(cfg: dict, n_steps: int, seed: int) -> TrainConfig:
    return TrainConfig(optimizer="adam", lr=cfg["lr"], batch_size=cfg["batch_size"], n_steps=n_steps,
                       eval_every=cfg["eval_every"], seed=seed)


def _error(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The 0-1 loss: the basin is read in training accuracy, which a logit scale cannot move."""
    return (out.argmax(1) != y).float().mean()


def basin_radii(model, data, *, n_directions: int, span: float, n_points: int, basin_accuracy: float,
                seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance to the basin's edge along each of ``n_directions`` random directions.

    Returns ``(radii, coords, accuracy)``: ``radii[k]`` is the mean over the two signs of the
    first ``|t|`` where the clean training accuracy at ``theta + t d_k`` falls below
    ``basin_accuracy`` (``span`` where it never does); ``accuracy[k]`` the accuracy on the grid.
    """
    radii, curves = [], []
    for k in range(n_directions):
        land = loss_landscape(model, (data.x_train, data.y_train), dims=1, n_points=n_points, span=span,
                              loss=_error, seed=1000 * seed + 300 + k)
        acc = 1.0 - land.losses
        c = n_points // 2
        sides = []
        for side in (acc[c:], acc[:c + 1][::-1]):  # from the minimum outward
            out = np.flatnonzero(side < basin_accuracy)
            sides.append(abs(land.coords[c + out[0]]) if len(out) else span)
        radii.append(float(np.mean(sides)))
        curves.append(acc)
    return np.array(radii), land.coords, np.array(curves)


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        logits = model(torch.tensor(np.array(x), dtype=torch.float32))  # a copy: datasets hold read-only arrays
        return float((logits.argmax(1) == torch.from_numpy(np.array(y))).float().mean())


def _cross_entropy(model, x, y) -> float:
    with torch.no_grad():
        out = model(torch.tensor(np.array(x), dtype=torch.float32))
        return float(torch.nn.functional.cross_entropy(out, torch.from_numpy(np.array(y)).long()))


def _curve_rows(result, members, phase) -> list[dict]:
    """Train (on the member's own training set) and test accuracy over the steps of one phase."""
    m = result.metrics
    m = m[m.metric == "error"]
    rows = []
    for i, (v, s) in enumerate(members):
        for split in ("train", "test"):
            sub = m[(m.member == i) & (m.split == split)]
            rows += [{"part": "curve", "variant": v, "phase": phase(v), "seed": s, "step": int(t), "radius": np.nan,
                      "metric": f"{split}_accuracy", "value": 1.0 - float(val)} for t, val in zip(sub.step, sub.value)]
    return rows


def variants_task(variants: list, seeds: list, n_train: int, n_test: int, n_poison: int, width: int, n_steps: int,
                  pretrain_steps: int, lr: float, batch_size: int, eval_every: int, n_directions: int, span: float,
                  n_points: int, basin_accuracy: float, hessian_steps: int) -> TaskOutput:
    """Some variants x the run's seeds as one population, then the measurements of each minimum."""
    opt = {"lr": lr, "batch_size": batch_size, "eval_every": eval_every}
    members = [(v, s) for v in variants for s in seeds]
    models = [_model(width, s) for _, s in members]
    datas, configs = [], []
    for v, s in members:  # phase 1: normal and poisoned to their end, pretrained on random labels
        if v == "normal":
            datas.append(clean_data(n_train, n_test, s))
            configs.append(_adam(opt, n_steps, 1000 * s + 2))
        elif v == "poisoned":
            datas.append(poisoned_data(n_train, n_test, n_poison, s))
            configs.append(_adam(opt, round(n_steps * (n_train + n_poison) / n_train), 1000 * s + 2))  # equal epochs
        else:
            datas.append(with_random_labels(clean_data(n_train, n_test, s), seed=1000 * s + 7))
            configs.append(_adam(opt, pretrain_steps, 1000 * s + 4))
    result = train_many(models, datas, configs, progress=False)
    rows = _curve_rows(result, members, lambda v: "pretrain" if v == "pretrained" else "train")
    pre = [i for i, (v, _) in enumerate(members) if v == "pretrained"]
    pre_fit = {members[i][1]: _accuracy(models[i], datas[i].x_train, datas[i].y_train) for i in pre}
    if pre:  # phase 2: the pre-trained weights trained on the clean set (fresh Adam state)
        sub = [members[i] for i in pre]
        result = train_many([models[i] for i in pre], [clean_data(n_train, n_test, s) for _, s in sub],
                            [_adam(opt, n_steps, 1000 * s + 2) for _, s in sub], progress=False)
        rows += _curve_rows(result, sub, lambda v: "train")
    for (v, s), model in zip(members, models):
        model.eval()
        data = clean_data(n_train, n_test, s)
        radii, coords, acc = basin_radii(model, data, n_directions=n_directions, span=span, n_points=n_points,
                                         basin_accuracy=basin_accuracy, seed=s)
        eig = hessian_eigenvalues(model, (data.x_train, data.y_train), k=1, n_steps=hessian_steps, seed=s)
        values = {"train_accuracy": _accuracy(model, data.x_train, data.y_train),
                  "test_accuracy": _accuracy(model, data.x_test, data.y_test),
                  "train_loss": _cross_entropy(model, data.x_train, data.y_train),
                  "test_loss": _cross_entropy(model, data.x_test, data.y_test),
                  "basin_radius": float(np.median(radii)), "lambda_max": eig.eigenvalues[0],
                  "weight_norm": float(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).norm())}
        if v == "pretrained":
            values["pretrain_fit"] = pre_fit[s]  # random labels fitted before the clean phase
        rows += [{"part": "minimum", "variant": v, "phase": "", "seed": s, "step": np.nan, "radius": np.nan,
                  "metric": k, "value": float(x)} for k, x in values.items()]
        rows += [{"part": "basin", "variant": v, "phase": "", "seed": s, "step": np.nan, "radius": float(t),
                  "metric": "train_accuracy", "value": float(a)} for t, a in zip(coords, acc.mean(0))]
    return TaskOutput(rows, blob=pack_models({f"{v}_seed{s}": m for (v, s), m in zip(members, models)}))


def tasks(cfg: BadMinimaConfig, device: str) -> list[Task]:
    common = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "seeds"}
    common["seeds"] = list(cfg.seeds)
    # the poisoned run takes (n_train + n_poison) / n_train times the steps: it gets one worker alone
    return [Task(variants_task, {"variants": group, **common}, label="+".join(group))
            for group in (["poisoned"], ["normal", "pretrained"])]


def claims_of(cfg: BadMinimaConfig, metrics: pd.DataFrame) -> tuple[list, list, dict]:
    """The claims, comparisons and headline read from the tidy metrics."""
    seeds = list(cfg.seeds)
    m = metrics[metrics.part == "minimum"].set_index(["variant", "seed", "metric"]).value

    def col(v, metric):
        return np.array([m[(v, s, metric)] for s in seeds])

    claims = []
    worst = np.min([100 * col(v, "train_accuracy") for v in VARIANTS], axis=0)
    claims.append(in_band("every minimum fits the clean training set: lowest train accuracy over the three (%)", seeds,
                          worst, (99.5, 100.0), kind="published",
                          source=f"{LIU}, abstract ('will reach zero training error'); {HUANG}, Fig. 1 caption "
                                 "('near perfect train accuracy')", published=100.0,
                          note="normal, poisoned and pretrained, each on the clean training examples only"))
    normal = 100 * col("normal", "test_accuracy")
    gap_p = normal - 100 * col("poisoned", "test_accuracy")
    claims.append(in_band("poisoned minimum generalizes worse: normal minus poisoned test accuracy (points)", seeds,
                          gap_p, (10.0, 100.0), kind="qualitative",
                          source=f"{HUANG}, Fig. 1 caption (bad minima, reached by training on poisoned data: "
                                 "'near perfect train accuracy, but with test accuracy below 53 %', chance 50 %)",
                          published="far below the normal run (near chance in their Fig. 1)",
                          note=f"{cfg.n_poison} random-label examples beside {cfg.n_train} clean ones; 1000 test "
                               "examples: binomial std ~1.6 points per model"))
    gap_r = normal - 100 * col("pretrained", "test_accuracy")
    claims.append(in_band("pre-training on random labels leads to a worse minimum: normal minus pretrained test "
                          "accuracy (points)", seeds, gap_r, (3.0, 100.0), kind="qualitative",
                          source=f"{LIU}, abstract (arXiv v1): without explicit regularization",
                          published="'a test accuracy degradation of up to 40 %' (CIFAR, CINIC10, Restricted ImageNet)",
                          note="the band asks for about twice the binomial std of one model's test accuracy; Liu et al. "
                               "find no degradation once data augmentation is used: none is used here"))
    for v in ("poisoned", "pretrained"):
        ratio = col(v, "basin_radius") / col("normal", "basin_radius")
        claims.append(per_seed(f"{v} minimum has the smaller basin: basin radius {v} / normal", seeds, ratio, ratio < 1.0,
                               kind="qualitative", source=f"{LECTURE}: 'good global minimizers have a wide attractor "
                               f"basin'; {HUANG} (good minima in wide basins of large volume, bad ones in small)",
                               published="< 1",
                               band=(0.0, 1.0),
                               note=f"median over {cfg.n_directions} filter-normalized directions of the distance where "
                                    f"clean train accuracy falls below {100 * cfg.basin_accuracy:g} %; normal "
                                    f"{', '.join(f'{x:.3g}' for x in col('normal', 'basin_radius'))}, {v} "
                                    f"{', '.join(f'{x:.3g}' for x in col(v, 'basin_radius'))}"))
    comparisons = [
        Comparison(f"{LABELS[v]}: test accuracy, mean over {len(seeds)} seeds (%)", float(100 * col(v, "test_accuracy").mean()),
                   pub, f"per seed {', '.join(f'{100 * x:.1f}' for x in col(v, 'test_accuracy'))}")
        for v, pub in (("normal", "~45 at 1000 examples, ~63 at 4000 (phenomena.md, genlab's own runs; not published)"),
                       ("poisoned", f"{HUANG}, Fig. 1: bad minima below 53 % with chance 50 % (2 classes)"),
                       ("pretrained", f"{LIU}: up to 40 points below the random initialization (CIFAR10 etc.)"))]
    comparisons += [Comparison(f"{LABELS[v]}: top Hessian eigenvalue of the clean training loss, mean over seeds",
                               float(col(v, "lambda_max").mean()), "bad minima sharper (Huang et al., qualitative)",
                               f"clean train CE {', '.join(f'{x:.2g}' for x in col(v, 'train_loss'))}: the eigenvalue "
                               "of a cross-entropy minimum shrinks with its loss, so it is not a claim here")
                    for v in VARIANTS]
    comparisons += [Comparison(f"{LABELS[v]}: weight norm, mean over seeds", float(col(v, "weight_norm").mean()),
                               "larger for the memorizing minima (Liu et al.: complex models)", "") for v in VARIANTS]
    if ("pretrained", seeds[0], "pretrain_fit") in m.index:
        comparisons.append(Comparison("random labels fitted by the pre-training, lowest over seeds (%)",
                                      float(100 * col("pretrained", "pretrain_fit").min()), 100.0,
                                      f"{cfg.pretrain_steps} Adam steps"))
    headline = {"test_accuracy_normal": float(normal.mean()), "test_accuracy_gap_poisoned": float(gap_p.mean()),
                "test_accuracy_gap_pretrained": float(gap_r.mean())}
    return claims, comparisons, headline


def summarize(cfg: BadMinimaConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records],
                           columns=["part", "variant", "phase", "seed", "step", "radius", "metric", "value"])
    claims, comparisons, headline = claims_of(cfg, metrics)
    models = {name: model for out in outputs if out.blob for name, model in unpack_models(out.blob).items()}
    return RunOutput(metrics, claims, comparisons, headline, models)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    curves = metrics[(metrics.part == "curve") & (metrics.phase == "train")]
    for k, v in enumerate(VARIANTS):
        for ax, metric in zip(axes[:2], ("train_accuracy", "test_accuracy")):
            g = curves[(curves.variant == v) & (curves.metric == metric)].groupby("step").value
            mean = 100 * g.mean()
            ax.plot(mean.index, mean, color=f"C{k}", label=LABELS[v])
            ax.fill_between(mean.index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.2, lw=0)
        g = metrics[(metrics.part == "basin") & (metrics.variant == v)].groupby("radius").value
        mean = 100 * g.mean()
        axes[2].plot(mean.index, mean, color=f"C{k}", label=LABELS[v])
        axes[2].fill_between(mean.index, 100 * g.min(), 100 * g.max(), color=f"C{k}", alpha=0.2, lw=0)
    axes[0].set(xlabel="Adam step (pretrained: after the random-label phase)",
                ylabel="train accuracy on its own training set (%)", title="every run fits its training set")
    axes[1].set(xlabel="Adam step (pretrained: after the random-label phase)", ylabel="test accuracy (%)",
                title="the bad minima generalize worse (mean, range over seeds)")
    basin = summary.get("config", {}).get("basin_accuracy")
    if basin:
        axes[2].axhline(100 * basin, color="k", lw=0.6, ls=":")
    axes[2].set(xlabel="distance along a random filter-normalized direction (filter norms)",
                ylabel="clean train accuracy (%), mean over directions", title="basins: the good one is wider")
    axes[0].legend(fontsize=8, loc="lower right")
    return save(fig, out_dir, "bad_minima")


register(Experiment(
    name="bad-minima",
    steps=("n_steps", "pretrain_steps"),
    title="Good and bad global minima: poisoned data and random-label pre-training",
    question="Do minima exist that fit the training set perfectly yet generalize badly, can training reach them, and "
             "are their basins narrower than a good minimum's?",
    metrics_doc="part=minimum: per variant (normal, poisoned, pretrained) and seed, train_accuracy and train_loss on "
                "the clean training set, test_accuracy, test_loss, basin_radius (median over random filter-normalized "
                "directions of the distance, in filter norms, where the clean train accuracy first falls below "
                "basin_accuracy), lambda_max (top Hessian eigenvalue of the clean training cross-entropy), weight_norm, "
                "pretrain_fit (pretrained: random labels fitted before the clean phase). part=basin: clean train "
                "accuracy at each distance (radius, negative: the opposite sign), mean over directions. part=curve: "
                "train accuracy (on the member's own training set) and test accuracy per step of each phase "
                "(phase=pretrain: the random-label phase; phase=train: the run that ends in the minimum).",
    config_cls=BadMinimaConfig,
    scales={"smoke": {"n_train": 100, "n_test": 200, "n_poison": 100, "width": 32, "n_steps": 100,
                      "pretrain_steps": 100, "lr": 3e-3, "batch_size": 50, "eval_every": 25, "n_directions": 2,
                      "n_points": 11, "hessian_steps": 5},
            "quick": {"n_train": 1000, "n_poison": 2000, "width": 128, "n_steps": 1500, "pretrain_steps": 1500},
            "paper": {}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 3},
    section="Sharp and flat minima",
    order=25,
    series=("part", "variant", "phase", "seed"),
    # quick: 69 CPU-s of task work (35.8 poisoned, 33.1 normal + pretrained; one thread, measured), 390-500 s wall
    # at load average ~20. paper: projected from quick (2.7x steps, 3.4x the arithmetic per step), not measured.
    estimates={"smoke": "3 CPU-s", "quick": "70 CPU-s (~40 s on 2 idle cores)", "paper": "~10 CPU-min (projection)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
