"""overfitting-recipe: overfit 1, 10, 100 batches; find the capacity's overfitting threshold; double it.

Seed 001, "Overfitting in practice": never stop at "it runs"; try to overfit 1 batch, then 10,
then 100 (a model that cannot fit one batch has a bug); find the broad overfitting threshold of
the capacity; ask what doubling the capacity does; read the train/dev curves (cases C1-C8).

Here on MNIST-1D (4000 training examples, 20 % of them moved to a dev set, seed ``1000 s``):

1. **Batches.** The lecture MLP (40-100-100-10, ReLU) trained by Adam on the first 1, 10 and 100
   batches of 32 training examples (32, 320, 3200 examples), each until its budget of steps;
   the step at which every example of those batches is predicted as labelled is its "steps to
   fit". Beside the healthy 1-batch run, two broken pipelines on the same batch: a learning rate
   of 0 (the optimizer never moves) and inputs lost to a preprocessing bug (all zeros); and one
   that the 1-batch test cannot catch: labels shuffled relative to the inputs (32 random labels
   are memorized as easily as true ones; the dev accuracy tells).
2. **Capacity.** MLPs of two hidden layers of each width, Adam on the whole training split
   (3200 examples), the training and dev losses over the whole sets at every evaluation. The
   threshold is the smallest width whose final training accuracy reaches ``fit_accuracy``;
   the smallest width of the sweep (far left of it) and the doubled threshold width are read by
   the curve diagnosis :func:`genlab.measure.diagnose_curves` (every width's case is reported).

What quick scale shows (3 seeds): one batch is fitted in 24-30 steps, 10 in 192-216, 100 in
3120-3280; both broken pipelines stay at 3-25 %, while shuffled labels are memorized (100 %,
dev accuracy 11-14 %). The threshold is width 128 in every seed, and the curves say the
threshold is broad: width 64 (97.8 % training accuracy) already has a dev loss 57-62 % above
its minimum (C2) in every seed; widths 8-32 read C1, C2, C3 or C8 depending on the seed (their
dev loss rises by 0.3-5.6 %, about the diagnosis's 5 % line), so no claim is made about them.

Seeds are population members: every stage's seeds (and widths, and the broken pipelines) train
in one ``train_many`` call per task; seed ``s`` sets the dev split (``1000 s``), the
initialization (``1000 s + 1``) and the batch order (``1000 s + 2``).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from genlab._checks import fail
from genlab.experiments._claims import in_band, per_seed
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    check_training,
    register,
)
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.sweep import Task, TaskOutput

SOURCE = "lecture (seed 001), overfitting in practice"
#: The 1-batch runs: a healthy pipeline and three broken ones (see the module docstring).
CONDITIONS = ("healthy", "lr = 0", "zero inputs", "shuffled labels")
BUGS = ("lr = 0", "zero inputs")  # broken pipelines the 1-batch test must catch
#: Where a model past the threshold may land in the lecture's cases: dev loss rising (C2) or
#: training loss at zero (C5, checked first by the diagnosis); far below it: both losses still falling
#: together (C3) or a high plateau (C6).
PAST = ("C2", "C5")
BELOW = ("C3", "C6")


@functools.lru_cache(maxsize=8)
def dev_split(seed: int):
    """MNIST-1D (the reference's 4000 training / 1000 test examples) with 20 % of the training
    examples moved to the dev set (``seed`` = the run seed; the split's seed is ``1000 s``)."""
    from genlab.data import make_mnist1d, train_val_split

    return train_val_split(make_mnist1d(), 0.2, seed=1000 * seed)


def first_batches(data, n_examples: int):
    """The first ``n_examples`` training examples (the first batches of an unshuffled loader),
    the dev set kept as the validation split and the test split dropped in its favour."""
    return dataclasses.replace(data, x_train=data.x_train[:n_examples], y_train=data.y_train[:n_examples],
                               x_test=data.x_val, y_test=data.y_val, x_val=None, y_val=None)


def broken(data, condition: str, seed: int):
    """``data`` as a broken pipeline delivers it (the learning-rate bug lives in the config)."""
    if condition == "zero inputs":
        return dataclasses.replace(data, x_train=np.zeros_like(data.x_train))
    if condition == "shuffled labels":
        perm = np.random.default_rng(1000 * seed + 3).permutation(data.n_train)
        return dataclasses.replace(data, y_train=data.y_train[perm])
    return data


def _rows(result, members: list[dict], names: dict) -> list[dict]:
    """Tidy rows of a population's metrics, each member's labels first, splits renamed by ``names``."""
    rows = []
    metrics = result.metrics
    for i, member in enumerate(members):
        sub = metrics[metrics.member == i]
        for step, split, metric, value in zip(sub.step, sub.split, sub.metric, sub.value):
            rows.append({**member, "step": int(step), "split": names[split],
                         "metric": metric, "value": float(value)})
    return rows


def batches_task(n_batches: int, seeds: list, batch_size: int, n_steps: int, lr: float, device: str) -> TaskOutput:
    """The lecture MLP on the first ``n_batches`` batches, every seed (and, for one batch, the
    broken pipelines) as members of one population."""
    from genlab.models import lecture_mlp
    from genlab.train import TrainConfig, train_many

    models, datas, configs, members = [], [], [], []
    conditions = CONDITIONS if n_batches == 1 else ("healthy",)
    for s in seeds:
        data = first_batches(dev_split(s), n_batches * batch_size)
        for condition in conditions:
            models.append(lecture_mlp(seed=1000 * s + 1))
            datas.append(broken(data, condition, s))
            configs.append(TrainConfig(optimizer="adam", lr=0.0 if condition == "lr = 0" else lr, batch_size=batch_size,
                                       n_steps=n_steps, eval_every=max(1, n_steps // 50), seed=1000 * s + 2))
            members.append({"stage": "batches", "condition": condition, "n_batches": n_batches, "width": 100, "seed": s})
    result = train_many(models, datas, configs, device=device, progress=False)
    return TaskOutput(_rows(result, members, {"train": "train", "test": "dev"}))  # the dev set rides as "test"


def capacity_task(widths: list, seeds: list, n_steps: int, lr: float, batch_size: int, eval_every: int,
                  device: str) -> TaskOutput:
    """MLPs of two hidden layers of each width on the whole training split, every seed."""
    from genlab.models import MLP
    from genlab.train import TrainConfig, train_many

    models, datas, configs, members = [], [], [], []
    for w in widths:
        for s in seeds:
            models.append(MLP(40, 10, width=w, depth=2, seed=1000 * s + 1))
            datas.append(dev_split(s))
            configs.append(TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, n_steps=n_steps,
                                       eval_every=eval_every, seed=1000 * s + 2))
            members.append({"stage": "capacity", "condition": "healthy", "n_batches": 0, "width": w, "seed": s})
    result = train_many(models, datas, configs, device=device, progress=False)
    return TaskOutput(_rows(result, members, {"train": "train", "val": "dev", "test": "test"}))


@dataclass(frozen=True)
class RecipeConfig(ExperimentConfig):
    """Settings of the overfitting recipe."""

    owner: ClassVar[str] = "overfitting-recipe"
    n_batches: tuple = param((1, 10, 100), "numbers of batches to overfit, in increasing order", many=True, low=1,
                             high=125, includes=1)
    batch_steps: tuple = param((300, 1200, 4000), "Adam steps of each number of batches (one per n_batches)",
                               many=True, low=1)
    batch_size: int = param(32, "examples per batch (n_batches x batch_size <= 3200 training examples)", low=1)
    batch_lr: float = param(3e-3, "Adam learning rate of the batches stage", kind=float, low=0.0, low_open=True)
    widths: tuple = param((4, 8, 16, 32, 64, 128, 256), "hidden units per layer of the capacity sweep (doubling: the "
                          "doubled threshold must be in the sweep)", many=True, low=1)
    n_steps: int = param(3000, "Adam steps of the capacity sweep", low=1)
    lr: float = param(2e-3, "Adam learning rate of the capacity sweep", kind=float, low=0.0, low_open=True)
    capacity_batch_size: int = param(100, "examples per step of the capacity sweep", low=1)
    eval_every: int = param(50, "steps between evaluations of the capacity sweep (the curves the diagnosis reads)",
                            low=1)
    fit_accuracy: float = param(0.99, "training accuracy that counts as fitting the training set", kind=float,
                                low=0.5, high=1.0)

    def check(self):
        if list(self.n_batches) != sorted(self.n_batches) or len(self.batch_steps) != len(self.n_batches):
            raise fail("batch_steps", self.owner, f"one step budget per entry of n_batches {list(self.n_batches)} "
                       "(in increasing order)", list(self.batch_steps))
        if max(self.n_batches) * self.batch_size > 3200:
            raise fail("batch_size", self.owner, f"an int with max(n_batches) x batch_size <= 3200 (max(n_batches) = "
                       f"{max(self.n_batches)})", self.batch_size)
        if list(self.widths) != sorted(self.widths) or len(self.widths) < 3:
            raise fail("widths", self.owner, "at least 3 widths in increasing order", list(self.widths))
        check_training(self.owner, optimizer="adam", lr=self.batch_lr, batch_size=self.batch_size)
        check_training(self.owner, optimizer="adam", lr=self.lr, batch_size=self.capacity_batch_size,
                       n_steps=self.n_steps, eval_every=self.eval_every)


def tasks(cfg: RecipeConfig, device: str) -> list[Task]:
    seeds = list(cfg.seeds)
    out = [Task(batches_task, {"n_batches": k, "seeds": seeds, "batch_size": cfg.batch_size, "n_steps": n,
                               "lr": cfg.batch_lr, "device": device}, label=f"{k} batch(es)")
           for k, n in zip(cfg.n_batches, cfg.batch_steps)]
    # The wide half of the sweep costs about as much as the narrow half: two tasks for two workers.
    half = (len(cfg.widths) + 1) // 2
    for part in (cfg.widths[:half], cfg.widths[half:]):
        out.append(Task(capacity_task, {"widths": list(part), "seeds": seeds, "n_steps": cfg.n_steps, "lr": cfg.lr,
                                        "batch_size": cfg.capacity_batch_size, "eval_every": cfg.eval_every,
                                        "device": device}, label=f"widths {part[0]}-{part[-1]}"))
    return out


# ---------------------------------------------------------------- reading the stored metrics

def curve(metrics: pd.DataFrame, split: str, metric: str, **where) -> pd.Series:
    """One stored curve (value by step) of the member selected by ``where`` (stage, seed, ...)."""
    m = metrics[(metrics.split == split) & (metrics.metric == metric)]
    for key, value in where.items():
        m = m[m[key] == value]
    return m.set_index("step").value.sort_index()


def steps_to_fit(accuracy: pd.Series, level: float = 1.0) -> float:
    """First evaluated step at which the training accuracy reaches ``level`` (inf if never)."""
    reached = accuracy.index[accuracy.to_numpy() >= level - 1e-9]
    return float(reached[0]) if len(reached) else np.inf


def batch_accuracy(metrics: pd.DataFrame, seed: int, n_batches: int, condition: str = "healthy") -> pd.Series:
    """Training accuracy on the batches, by step."""
    return 1 - curve(metrics, "train", "error", stage="batches", seed=seed, n_batches=n_batches, condition=condition)


def final_train_accuracy(metrics: pd.DataFrame, seed: int, widths) -> np.ndarray:
    """Final training accuracy of each width of the capacity sweep."""
    return np.array([1 - curve(metrics, "train", "error", stage="capacity", seed=seed, width=w).iloc[-1] for w in widths])


def threshold_width(widths, accuracies, level: float) -> float:
    """The smallest width whose training accuracy reaches ``level`` (NaN if none does)."""
    fits = [w for w, a in zip(widths, accuracies) if a >= level]
    return float(min(fits)) if fits else np.nan


def diagnosis(metrics: pd.DataFrame, seed: int, width: float):
    """The curve diagnosis (C1-C8) of one width of the capacity sweep (None if not in the sweep)."""
    from genlab.measure import diagnose_curves

    if not np.isfinite(width):
        return None
    train = curve(metrics, "train", "loss", stage="capacity", seed=seed, width=int(width))
    dev = curve(metrics, "dev", "loss", stage="capacity", seed=seed, width=int(width))
    if train.empty:
        return None
    return diagnose_curves(train.to_numpy(), dev.to_numpy(), train.index.to_numpy())


def recipe_claims(cfg: RecipeConfig, metrics: pd.DataFrame) -> tuple[list, list, dict]:
    """The claims, further numbers and headline read from the stored metrics."""
    seeds = list(cfg.seeds)
    ks, budgets = list(cfg.n_batches), dict(zip(cfg.n_batches, cfg.batch_steps))
    claims, comparisons, headline = [], [], {}
    fit = {(s, k): steps_to_fit(batch_accuracy(metrics, s, k)) for s in seeds for k in ks}
    end = {(s, k): 100 * float(batch_accuracy(metrics, s, k).iloc[-1]) for s in seeds for k in ks}
    for k in ks:
        claims.append(in_band(f"{k} batch(es) of {cfg.batch_size} fitted: training accuracy after {budgets[k]} steps (%)",
                              seeds, [end[(s, k)] for s in seeds], (100.0, 100.0), kind="qualitative", source=SOURCE,
                              published="a working model overfits 1 batch, then 10, then 100",
                              note=f"steps to fit per seed: {[fit[(s, k)] for s in seeds]}"))
    if len(ks) > 1:
        # "grows": each number of batches takes more steps than the one before (inf = never fitted).
        ratios = [min(fit[(s, b)] / max(fit[(s, a)], 1.0) for a, b in zip(ks, ks[1:])) for s in seeds]
        claims.append(per_seed(f"the steps to fit grow with the number of batches ({', '.join(map(str, ks))}): "
                               "smallest ratio of consecutive steps to fit", seeds, ratios, [r > 1.0 for r in ratios],
                               kind="qualitative", source=SOURCE, published="more batches take longer to overfit",
                               band=(1.0, np.inf)))
    for bug in BUGS:
        best = [100 * float(batch_accuracy(metrics, s, 1, bug).max()) for s in seeds]
        claims.append(in_band(f"bug check: a broken pipeline ({bug}) does not fit 1 batch: best training accuracy (%)",
                              seeds, best, (0.0, 50.0), kind="qualitative", source=SOURCE,
                              published="a model that cannot overfit 1 batch has a bug",
                              note="the healthy run on the same batch reaches 100 %"))
    shuffled = [100 * float(batch_accuracy(metrics, s, 1, "shuffled labels").iloc[-1]) for s in seeds]
    shuffled_dev = [100 * float(1 - curve(metrics, "dev", "error", stage="batches", seed=s, n_batches=1,
                                          condition="shuffled labels").iloc[-1]) for s in seeds]
    comparisons.append(Comparison("labels shuffled relative to the inputs: training accuracy on 1 batch at the end (%, "
                                  "mean)", float(np.mean(shuffled)), "not caught by the 1-batch test",
                                  f"per seed {np.round(shuffled, 1).tolist()}; dev accuracy {np.round(shuffled_dev, 1).tolist()} "
                                  "(chance 10 %): 32 random labels are memorized; the dev curve shows the bug"))

    widths = list(cfg.widths)
    acc = {s: final_train_accuracy(metrics, s, widths) for s in seeds}
    thr = {s: threshold_width(widths, acc[s], cfg.fit_accuracy) for s in seeds}
    headline["threshold_width"] = {str(s): thr[s] if np.isfinite(thr[s]) else None for s in seeds}
    claims.append(per_seed(f"an overfitting threshold inside the sweep: smallest width fitting the training set "
                           f"(train accuracy >= {100 * cfg.fit_accuracy:g} %)", seeds, [thr[s] for s in seeds],
                           [widths[0] < thr[s] < widths[-1] for s in seeds], kind="qualitative", source=SOURCE,
                           published="find the broad overfitting threshold", band=(float(widths[1]), float(widths[-2])),
                           note="the smallest width must not fit and the doubled threshold must be in the sweep"))
    above = [100 * float(np.min(acc[s][np.array(widths) >= thr[s]])) if np.isfinite(thr[s]) else np.nan for s in seeds]
    claims.append(in_band("at and above the threshold every width fits the training set: lowest final training "
                          "accuracy (%)", seeds, above, (100 * cfg.fit_accuracy, 100.0), kind="qualitative",
                          source=SOURCE, published="capacity above the threshold fits the training set"))
    # The curve diagnosis: the smallest width (far left of the threshold) and the doubled threshold.
    roles = {s: {"smallest": float(widths[0]), "threshold": thr[s], "doubled": 2 * thr[s]} for s in seeds}
    cases = {(s, role): diagnosis(metrics, s, w) if w in widths else None for s in seeds for role, w in roles[s].items()}
    for role, allowed, text in (("smallest", BELOW, f"the smallest width ({widths[0]}) underfits"),
                                ("doubled", PAST, "the doubled threshold width is past the threshold")):
        got = [cases[(s, role)].case if cases[(s, role)] is not None else "none" for s in seeds]
        rise = [100 * cases[(s, role)].evidence["val_rise"] if cases[(s, role)] is not None else np.nan for s in seeds]
        claims.append(per_seed(f"curve diagnosis: {text} ({' or '.join(allowed)}): dev loss rise above its minimum (%)",
                               seeds, rise, [g in allowed for g in got], kind="qualitative", source=SOURCE,
                               published=" / ".join(f"{c}: {_short(c)}" for c in allowed),
                               note="diagnosis per seed: " + ", ".join(f"s{s}: {g}" for s, g in zip(seeds, got))))
    for w in widths:
        ds = [diagnosis(metrics, s, w) for s in seeds]
        comparisons.append(Comparison(f"width {w}: final training accuracy (%, mean over seeds)",
                                      float(np.mean([100 * acc[s][widths.index(w)] for s in seeds])),
                                      "diagnosis per seed: " + ", ".join(d.case for d in ds),
                                      "dev loss rise above its minimum per seed (%): "
                                      + ", ".join(f"{100 * d.evidence['val_rise']:.1f}" for d in ds)))
    for s in seeds:
        for role, w in roles[s].items():
            if cases[(s, role)] is not None:
                headline[f"seed{s}/{role}"] = {"width": int(w), "case": cases[(s, role)].case}
    return claims, comparisons, headline


def _short(case: str) -> str:
    from genlab.measure._curves import CASES

    return CASES[case][0]


def summarize(cfg: RecipeConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    claims, comparisons, headline = recipe_claims(cfg, metrics)
    return RunOutput(metrics, claims, comparisons, headline)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    acc = metrics[(metrics.split == "train") & (metrics.metric == "error") & (metrics.stage == "batches")]
    styles = [(k, "healthy") for k in sorted(acc.n_batches.unique())] + [(1, c) for c in CONDITIONS[1:]]
    for j, (k, condition) in enumerate(styles):
        g = acc[(acc.n_batches == k) & (acc.condition == condition) & (acc.step > 0)].groupby("step").value
        if g.ngroups == 0:
            continue
        m = 100 * (1 - g.mean())
        axes[0].plot(m.index, m, color=f"C{j}", ls="-" if condition == "healthy" else "--",
                     label=f"{k} batch(es)" + ("" if condition == "healthy" else f", {condition}"))
        axes[0].fill_between(m.index, 100 * (1 - g.max()), 100 * (1 - g.min()), color=f"C{j}", alpha=0.15, lw=0)
    axes[0].set(xlabel="Adam step (log scale)", xscale="log", ylabel="training accuracy on the batches (%)",
                title="1. overfit 1, 10, 100 batches (lecture MLP)")
    axes[0].legend(fontsize=8)
    cap = metrics[(metrics.stage == "capacity") & (metrics.metric == "error")]
    last = cap[cap.step == cap.step.max()]
    for j, split in enumerate(("train", "dev")):
        g = last[last.split == split].groupby("width").value
        m = 100 * (1 - g.mean())
        axes[1].plot(m.index, m, "o-", color=f"C{j}", label=f"{split} accuracy at the end")
        axes[1].fill_between(m.index, 100 * (1 - g.max()), 100 * (1 - g.min()), color=f"C{j}", alpha=0.2, lw=0)
    # The threshold and the diagnoses, recomputed from the stored curves as the claims compute them.
    widths = [int(w) for w in sorted(cap.width.unique())]
    seeds = sorted(int(s) for s in cap.seed.unique())
    level = float(summary["config"]["fit_accuracy"])
    thr = {s: threshold_width(widths, final_train_accuracy(metrics, s, widths), level) for s in seeds}
    for s in seeds:
        if np.isfinite(thr[s]):
            axes[1].axvline(thr[s], color="k", ls=":", lw=1)
    axes[1].set(xlabel="hidden units per layer (log scale)", xscale="log", ylabel="accuracy (%)",
                title=f"2. capacity: dotted = threshold per seed (train >= {100 * level:g} %)")
    axes[1].legend(fontsize=8)
    loss = metrics[(metrics.stage == "capacity") & (metrics.metric == "loss")]
    for j, role in enumerate(("smallest", "threshold", "doubled")):
        for s in seeds:
            w = {"smallest": widths[0], "threshold": thr[s], "doubled": 2 * thr[s]}[role]
            d = diagnosis(metrics, s, w) if w in widths else None
            if d is None:
                continue
            for split, ls in (("train", "--"), ("dev", "-")):
                c = loss[(loss.seed == s) & (loss.width == w) & (loss.split == split)].set_index("step").value
                first = split == "dev" and s == seeds[0]
                axes[2].plot(c.index, c, color=f"C{j}", ls=ls, lw=1, alpha=0.8,
                             label=f"{role} (s{s}: width {int(w)}, {d.case})" if first else None)
    axes[2].set(xlabel="Adam step", ylabel="cross-entropy (nats; dashed train, solid dev)", yscale="log",
                title="3. smallest, threshold and doubled width, each seed")
    axes[2].legend(fontsize=8)
    return save(fig, out_dir, "overfitting_recipe")


register(Experiment(
    name="overfitting-recipe",
    steps=("n_steps", "batch_steps"),
    title="The overfitting recipe: overfit 1, 10, 100 batches, find the capacity threshold, double it",
    question="Does a working model overfit one batch, then 10, then 100, and a broken pipeline not? Where is the "
    "capacity's overfitting threshold, and what do the train/dev curves say below it and at twice it?",
    metrics_doc="Rows per stage (batches: the lecture MLP on the first n_batches batches; capacity: the width sweep on "
    "the whole training split), condition (healthy; lr = 0, zero inputs, shuffled labels: broken 1-batch pipelines), "
    "n_batches, width, seed, step, split (train: the batches or the training split; dev: the 800 held-out examples) and "
    "metric (loss: mean cross-entropy over the whole split; error: fraction misclassified).",
    config_cls=RecipeConfig,
    scales={"smoke": {"batch_steps": (30, 40, 50), "widths": (4, 8, 16, 32), "n_steps": 80, "eval_every": 8},
            "quick": {},
            "paper": {"n_steps": 6000, "batch_steps": (600, 2400, 8000), "widths": (4, 8, 16, 32, 64, 128, 256, 512)}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 5},
    section="Overfitting in practice",
    order=50,
    series=("stage", "condition", "n_batches", "width", "seed", "split"),
    # Measured on this 2-core CPU at load average 15-18 (other agents' runs): smoke 12.5 CPU-s for the whole
    # `genlab run`, ~9 of them imports (as `genlab list`). Quick: the tasks' CPU times, each run in-process
    # (1 torch thread): 1 batch 5.6 s, 10 batches 6.3 s, 100 batches 21.7 s, widths 4-32 41.8 s, widths
    # 64-256 81.0 s: the busier of two workers ~87 s, so ~100 s idle with start-up; wall 10.7 and 20 min at
    # that load. Paper: 2x the steps, 5/3 the members and a width-512 group: ~9 min for the wide task (projected).
    estimates={"smoke": "~5 s", "quick": "~100 s (projected from measured task CPU times; 10.7 min wall at load 15)",
               "paper": "~10 min (projected from quick's task CPU times)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
