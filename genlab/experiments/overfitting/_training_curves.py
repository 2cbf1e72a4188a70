"""training-curves: the lecture's train/dev curve cases C1-C8, each produced on purpose, diagnosed.

Seed 001, "Overfitting in practice": interpreting the train and dev loss curves is an art; the
lecture names eight cases (C1 a model around the overfitting threshold ... C8 a dev loss not
averaged over the corpus). Each case here is a real MNIST-1D training run with a setting known to
cause it, diagnosed by :func:`genlab.measure.diagnose_curves` from the two curves alone. The
settings are those of tests/measure/test_curves.py, not re-tuned: the tuning set's for C2-C4 and
C6-C8, the held-out set's for C1 (the tuning C1, Adam 2e-3, read C8 on 1 of 6 seeds here and is
that file's KNOWN_MISSES; momentum SGD at lr 0.01 read C1 on all 6) and for C5 (the tuning C5's
width-256 full-batch run costs ten times more). The rule's thresholds were fitted on those
settings' first seeds (data draw = init = seed 0-6); here data, init and batch order come from
``1000 * s + 500`` for run seed ``s``, so every run is one the rule has never seen.

Beside the cases: "computing the loss" (the training loss of one run averaged over the whole set,
per batch, as a running mean since the epoch began, and over the last n batches), "train vs eval
mode" (the same dropout model's loss with masks and without), and "dev loss or accuracy" (a dev
loss that rises from over-confidence while the dev accuracy still rises).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from genlab.data import make_mnist1d, subsample_train, train_val_split
from genlab.experiments._claims import in_band, per_seed
from genlab.experiments._framework import (
    Comparison,
    Experiment,
    RunOutput,
    pack_models,
    register,
    unpack_models,
)
from genlab.experiments._params import ExperimentConfig, param
from genlab.experiments._plots import plt, save
from genlab.measure import diagnose_curves
from genlab.measure._curves import CASES as CASE_TEXT
from genlab.measure._curves import running_median
from genlab.models import MLP, LogisticRegression
from genlab.sweep import Task, TaskOutput
from genlab.train import TrainConfig, train_many

CASE_NAMES = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8")
SOURCE = "lecture (seed 001), train/dev loss curves"


def member_seed(run_seed: int) -> int:
    """Data draw, init and batch order of run seed ``s``: unseen by the diagnosis rule's fit (0-10)."""
    return 1000 * int(run_seed) + 500


@functools.lru_cache(maxsize=8)
def mnist1d(seed: int, n_samples: int):
    """The run seed's MNIST-1D draw (80 % train, 20 % test)."""
    return make_mnist1d(n_samples, seed=seed)


def _val(data, seed: int, fraction: float = 0.2):
    return train_val_split(data, fraction, seed=seed)


def _steps(n: int, factor: float, at_least: int = 1) -> int:
    return max(at_least, int(round(n * factor)))


def case_setting(case: str, seed: int, n_samples: int, step_factor: float):
    """``(label, model, data, config)`` of the run that produces ``case`` (tests/measure/test_curves.py's
    settings, see the module docstring; ``step_factor`` scales the steps and the evaluation cadence together)."""
    full = mnist1d(seed, n_samples)

    def mlp(width=64):
        return MLP(40, 10, width=width, seed=seed)

    def cfg(n_steps=500, eval_every=20, **kw):
        kw = {"optimizer": "adam", "lr": 2e-3, "batch_size": 100, **kw}
        return TrainConfig(n_steps=_steps(n_steps, step_factor, 8), eval_every=_steps(eval_every, step_factor), seed=seed, **kw)

    small = max(20, n_samples * 3 // 10)  # 1500 of 5000: 1200 training samples
    tiny = max(20, n_samples * 3 // 125)  # 120 of 5000: 90 training samples
    settings = {
        # the held-out set's moderate C1 run: the tuning set's (width 64, Adam 2e-3, 600 steps) reads C8 on
        # 1 of 6 seeds here (its validation curve zig-zags with optimizer noise), as on 2 of 4 untouched seeds there
        "C1": lambda: ("momentum SGD lr 0.01, width 100, depth 1, 1000 steps", MLP(40, 10, width=100, depth=1, seed=seed),
               _val(full, seed, 0.25), cfg(1000, 25, optimizer="sgd", momentum=0.9, lr=0.01)),
        "C2": lambda: (f"{int(small * 0.8)} samples, trained on after the validation minimum",
               mlp(), _val(subsample_train(full, small, seed=seed), seed), cfg()),
        "C3": lambda: ("150 Adam steps at 1e-3: both curves still falling", mlp(), _val(full, seed), cfg(150, 5, lr=1e-3)),
        "C4": lambda: ("plain SGD at lr 1e-3", mlp(), _val(full, seed), cfg(optimizer="sgd", lr=1e-3)),
        # the held-out set's C5 (width 128, depth 1): the tuning set's width-256 depth-2 run costs 10x more
        "C5": lambda: (f"{int(tiny * 0.75)} samples, width 128, depth 1, full-batch momentum SGD 0.1, 1500 steps",
               MLP(40, 10, width=128, depth=1, seed=seed), _val(subsample_train(full, tiny, seed=seed), seed, 0.25),
               cfg(1500, 30, optimizer="sgd", momentum=0.9, lr=0.1, batch_size=None)),
        "C6": lambda: ("logistic regression", LogisticRegression(seed=seed), _val(full, seed), cfg(1000, lr=5e-3)),
        "C7": lambda: ("plain SGD at lr 1.5", mlp(), _val(full, seed), cfg(optimizer="sgd", lr=1.5)),
        "C8": lambda: ("a validation set of 0.3 % of the training set (12 samples)",
               mlp(), _val(full, seed, 0.003), cfg(600, 10, lr=1e-3)),
    }
    return settings[case]()


def _curve_rows(result, i: int, base: dict) -> list[dict]:
    return [{**base, "step": int(step), "metric": f"{split}_{metric}", "value": float(v)}
            for (split, metric) in (("train", "loss"), ("val", "loss"), ("val", "error"))
            for step, v in zip(*(lambda c: (c.step, c.value))(result.curve(i, split, metric)))]


def cases_task(cases: list, seeds: list, n_samples: int, step_factor: float, device: str) -> TaskOutput:
    """Cases x seeds as one population (members of one case and architecture train side by side)."""
    members = [(c, s) for c in cases for s in seeds]
    settings = [case_setting(c, member_seed(s), n_samples, step_factor) for c, s in members]
    result = train_many([m for _, m, _, _ in settings], [d for _, _, d, _ in settings], [c for *_, c in settings],
                        device=device, progress=False)
    rows, labels = [], {}
    for i, ((case, s), (label, *_)) in enumerate(zip(members, settings)):
        rows += _curve_rows(result, i, {"part": "cases", "condition": case, "seed": s})
        labels[case] = label
    return TaskOutput(rows, {"labels": labels})


def averaging_task(seeds: list, n_samples: int, step_factor: float, window: int, device: str) -> TaskOutput:
    """The first 300 steps of C1's run, its training loss reported three ways by three identical members of each seed.

    Same model, data, seed and batch order: the weights are the same bit for bit; only what is
    logged differs: ``full`` the whole training set in eval mode every 4 steps; ``batch`` the
    minibatch loss of every step (train mode); ``running`` the mean over the last ``window``
    minibatches, every 4 steps. The running mean since the epoch began is computed here from
    the per-batch losses."""
    members = [(kind, s) for kind in ("full", "batch", "running") for s in seeds]
    models, datas, configs = [], [], []
    for kind, s in members:
        _, model, data, config = case_setting("C1", member_seed(s), n_samples, step_factor)
        every = 1 if kind == "batch" else _steps(4, step_factor)
        models.append(model)
        datas.append(data)
        configs.append(config.replace(train_loss=kind, running_window=window, eval_every=every, n_steps=_steps(300, step_factor, 8)))
    result = train_many(models, datas, configs, device=device, progress=False)
    rows = []
    per_epoch = -(-datas[0].n_train // configs[0].batch_size)  # minibatches per epoch
    for i, (kind, s) in enumerate(members):
        c = result.curve(i, "train", "loss")
        name = {"full": "whole_set", "batch": "per_batch", "running": f"mean_last_{window}"}[kind]
        rows += [{"part": "averaging", "condition": name, "seed": s, "step": int(t), "metric": "train_loss", "value": float(v)}
                 for t, v in zip(c.step, c.value)]
        if kind == "batch":
            steps, losses = c.step.values[1:], c.value.values[1:]  # step 0 is the evaluated initial loss
            epoch = (steps - 1) // per_epoch
            cum = pd.Series(losses).groupby(epoch).expanding().mean().to_numpy()
            rows += [{"part": "averaging", "condition": "running_epoch_mean", "seed": s, "step": int(t), "metric": "train_loss",
                      "value": float(v)} for t, v in zip(steps, cum)]
    full = {s: result.models[members.index(("full", s))] for s in seeds}
    return TaskOutput(rows, {"per_epoch": per_epoch}, pack_models({f"averaging-full-seed-{s}": m for s, m in full.items()}))


def train_mode_loss(model, x, y, n_draws: int, seed: int) -> float:
    """Mean cross-entropy of ``model`` on ``(x, y)`` in train mode (dropout masks drawn), over
    ``n_draws`` mask draws from a generator seeded by ``seed`` (the caller's RNG untouched)."""
    was = model.training
    model.train()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        value = float(np.mean([F.cross_entropy(model(x), y).item() for _ in range(n_draws)]))
    model.train(was)
    return value


def eval_mode_loss(model, x, y) -> float:
    """Mean cross-entropy of ``model`` on ``(x, y)`` in eval mode (no masks): the per-example
    losses averaged once over the whole set."""
    was = model.training
    model.eval()
    with torch.no_grad():
        value = float(F.cross_entropy(model(x), y, reduction="none").mean())
    model.train(was)
    return value


def dropout_data(seed: int, n_samples: int):
    return _val(mnist1d(seed, n_samples), seed)


def dropout_task(seeds: list, n_samples: int, step_factor: float, dropout: float, window: int, device: str) -> TaskOutput:
    """A width-64 MLP (depth 2) with dropout, C1's optimizer: the training loss in train mode (masks: the
    mean of the last ``window`` minibatch losses the steps computed) beside the same weights'
    loss in eval mode (a twin member logging the whole training set in eval mode); at the end
    the trained model's loss on the whole training set both ways."""
    members = [(kind, s) for kind in ("full", "running") for s in seeds]
    models, datas, configs = [], [], []
    for kind, s in members:
        seed = member_seed(s)
        models.append(MLP(40, 10, width=64, dropout=dropout, seed=seed))
        datas.append(dropout_data(seed, n_samples))
        configs.append(TrainConfig(optimizer="adam", lr=2e-3, batch_size=100, n_steps=_steps(400, step_factor, 8),
                                   eval_every=_steps(20, step_factor), train_loss=kind, running_window=window, seed=seed))
    result = train_many(models, datas, configs, device=device, progress=False)
    rows = []
    for i, (kind, s) in enumerate(members):
        c = result.curve(i, "train", "loss")
        rows += [{"part": "dropout", "condition": "eval_mode" if kind == "full" else "train_mode", "seed": s,
                  "step": int(t), "metric": "train_loss", "value": float(v)} for t, v in zip(c.step, c.value)]
    end = int(rows[-1]["step"])
    for s in seeds:
        model, data = result.models[members.index(("full", s))], datas[members.index(("full", s))]
        x, y = torch.as_tensor(data.x_train, dtype=torch.float32), torch.as_tensor(data.y_train, dtype=torch.long)
        for cond, v in (("eval_mode", eval_mode_loss(model, x, y)), ("train_mode", train_mode_loss(model, x, y, 10, s))):
            rows.append({"part": "dropout", "condition": cond, "seed": s, "step": end, "metric": "final_train_loss", "value": v})
    trained = {f"dropout-seed-{s}": result.models[members.index(("full", s))] for s in seeds}
    return TaskOutput(rows, {}, pack_models(trained))


def accuracy_task(seeds: list, n_samples: int, step_factor: float, device: str) -> TaskOutput:
    """A width-128 MLP on 1200 samples trained long past its validation-loss minimum (clean labels):
    the dev loss and the dev error every 20 steps."""
    models, datas, configs = [], [], []
    for s in seeds:
        seed = member_seed(s)
        full = mnist1d(seed, n_samples)
        models.append(MLP(40, 10, width=128, seed=seed))
        datas.append(subsample_train(_val(full, seed), max(20, n_samples * 6 // 25), seed=seed))  # 1200 of 5000
        configs.append(TrainConfig(optimizer="adam", lr=2e-3, batch_size=100, n_steps=_steps(1000, step_factor, 8),
                                   eval_every=_steps(20, step_factor), seed=seed))
    result = train_many(models, datas, configs, device=device, progress=False)
    rows = []
    for i, s in enumerate(seeds):
        rows += _curve_rows(result, i, {"part": "accuracy", "condition": ACC_RUN, "seed": s})
    return TaskOutput(rows)


ACC_RUN = "width 128, 1200 samples"


@dataclass(frozen=True)
class CurvesConfig(ExperimentConfig):
    """Settings of the training-curves experiment."""

    owner: ClassVar[str] = "training-curves"
    cases: tuple = param(CASE_NAMES, "curve cases to produce", kind=str, many=True, choices=CASE_NAMES)
    n_samples: int = param(5000, "MNIST-1D samples drawn per seed (80 % train, of which 20 % validation; 20 % test)",
                           low=100)
    step_factor: float = param(1.0, "multiplies every run's steps and evaluation interval (1 = the tuning settings)",
                               kind=float, low=0.0, low_open=True)
    window: int = param(10, "n of 'mean over the last n batches' (averaging and dropout panels)", low=1)
    dropout: float = param(0.5, "dropout probability of the train-vs-eval-mode model", kind=float, low=0.0, high=1.0,
                           low_open=True, high_open=True)


GROUPS = (("C1", "C2", "C3", "C4"), ("C5", "C6", "C7", "C8"))


def tasks(cfg: CurvesConfig, device: str) -> list[Task]:
    common = {"seeds": list(cfg.seeds), "n_samples": cfg.n_samples, "step_factor": cfg.step_factor, "device": device}
    out = [Task(cases_task, {"cases": [c for c in group if c in cfg.cases], **common}, label="cases " + "-".join(group))
           for group in GROUPS if any(c in cfg.cases for c in group)]
    out.append(Task(averaging_task, {**common, "window": cfg.window}, label="averaging"))
    out.append(Task(dropout_task, {**common, "dropout": cfg.dropout, "window": cfg.window}, label="dropout"))
    out.append(Task(accuracy_task, common, label="loss vs accuracy"))
    return out


def _series(metrics: pd.DataFrame, part: str, condition: str, seed: int, metric: str) -> pd.Series:
    """One curve of the metrics (value indexed by step)."""
    m = metrics[(metrics.part == part) & (metrics.condition == condition) & (metrics.seed == seed) & (metrics.metric == metric)]
    return m.set_index("step").value.sort_index()


def diagnoses(metrics: pd.DataFrame, cases, seeds) -> dict:
    """``{(case, seed): CurveDiagnosis}`` of every case run in ``metrics``."""
    out = {}
    for case in cases:
        for s in seeds:
            tr, va = _series(metrics, "cases", case, s, "train_loss"), _series(metrics, "cases", case, s, "val_loss")
            out[(case, s)] = diagnose_curves(tr.values, va.values, tr.index.values)
    return out


def case_claims(metrics: pd.DataFrame, cases, seeds, labels: dict) -> list:
    """"Case Ck's run is diagnosed as Ck", one claim per case (1 on a seed where it is, else 0)."""
    found = diagnoses(metrics, cases, seeds)
    claims = []
    for case in cases:
        got = [found[(case, s)].case for s in seeds]
        wrong = [f"s{s}: {g} ({found[(case, s)].reasons[0]})" for s, g in zip(seeds, got) if g != case]
        note = "diagnosed as " + ", ".join(f"s{s} {g}" for s, g in zip(seeds, got))
        if wrong:
            note += "; not itself on " + "; ".join(wrong)
        claims.append(per_seed(f"case {case}'s run ({labels.get(case, case)}) is diagnosed as {case}", seeds,
                               [float(g == case) for g in got], [g == case for g in got], kind="qualitative",
                               source=SOURCE, published=f"{case}: {CASE_TEXT[case][0]}", band=(1.0, 1.0), note=note))
    return claims


def spread(curve: pd.Series, window: int = 5) -> float:
    """Standard deviation of a curve's relative residuals around its centred ``window``-point
    running mean (step 0 left out): the noise of a noisy curve; for a smooth one only its
    curvature (about 0.05 % on C1's whole-set curve)."""
    c = curve.values[1:]
    mean = pd.Series(c).rolling(window, center=True).mean().to_numpy()
    h = window // 2
    return float(np.std(((c - mean) / mean)[h : c.size - h]))


AVERAGINGS = ("whole_set", "per_batch", "running_epoch_mean")


def averaging_spreads(metrics: pd.DataFrame, seeds, window: int) -> dict:
    """``{(averaging, seed): spread}`` of the training-loss curves, all read at the whole-set curve's steps."""
    out = {}
    for s in seeds:
        steps = _series(metrics, "averaging", "whole_set", s, "train_loss").index
        for name in (*AVERAGINGS, f"mean_last_{window}"):
            curve = _series(metrics, "averaging", name, s, "train_loss")
            out[(name, s)] = spread(curve.reindex(steps).dropna() if name != "whole_set" else curve)
    return out


SPREAD_FACTOR = 5.0
SMOOTHING_FACTOR = 2.0


def averaging_claim(metrics: pd.DataFrame, seeds, window: int):
    sp = averaging_spreads(metrics, seeds, window)
    def ratio_of(s):  # a smooth whole-set curve has spread 0: any per-batch noise is infinitely more
        per, whole = sp[("per_batch", s)], sp[("whole_set", s)]
        return per / whole if whole > 0 else float("inf") if per > 0 else float("nan")

    ratio = [ratio_of(s) for s in seeds]
    note = "; ".join(f"s{s}: spread per batch {100 * sp[('per_batch', s)]:.2g} %, whole set {100 * sp[('whole_set', s)]:.2g} %, "
                     f"mean of last {window} {100 * sp[(f'mean_last_{window}', s)]:.2g} %, running epoch mean "
                     f"{100 * sp[('running_epoch_mean', s)]:.2g} %" for s in seeds)
    return in_band("per-batch training loss spreads more than the whole-set one (ratio of spreads around the running mean)",
                   seeds, ratio, (SPREAD_FACTOR, float("inf")), kind="qualitative",
                   source="lecture (seed 001), computing the loss", published="the smaller the batch, the larger the variability",
                   note=f"spread: std of the relative residuals around a centred 5-point running mean, at the whole-set "
                   f"curve's steps (every 4th); {note}")


def smoothing_claim(metrics: pd.DataFrame, seeds, window: int):
    sp = averaging_spreads(metrics, seeds, window)
    ratio = [sp[("per_batch", s)] / sp[(f"mean_last_{window}", s)] if sp[(f"mean_last_{window}", s)] > 0 else float("nan")
             for s in seeds]
    return in_band(f"the mean over the last {window} batches is smoother than the per-batch loss (ratio of spreads)", seeds,
                   ratio, (SMOOTHING_FACTOR, float("inf")), kind="qualitative", source="lecture (seed 001), computing the loss",
                   published="averaged over n batches: much smoother curves",
                   note=f"independent batch noise would shrink by sqrt({window}) = {np.sqrt(window):.2f}; the band's "
                   f"{SMOOTHING_FACTOR:g} leaves room for the trend inside the window")


DROPOUT_MARGIN = 1.05


def dropout_claim(metrics: pd.DataFrame, seeds):
    final = metrics[(metrics.part == "dropout") & (metrics.metric == "final_train_loss")].set_index(["condition", "seed"]).value
    ratio = [final[("train_mode", s)] / final[("eval_mode", s)] for s in seeds]
    return in_band("dropout: the trained model's loss on the whole training set, train mode (masks) / eval mode", seeds, ratio,
                   (DROPOUT_MARGIN, float("inf")), kind="qualitative", source="lecture (seed 001), train vs dev absolute loss values",
                   published="train and dev losses are often not comparable: 'train' vs 'eval' mode (dropout)",
                   note="same weights, same examples: train mode averages 10 mask draws; "
                   + ", ".join(f"s{s}: {final[('train_mode', s)]:.3f} vs {final[('eval_mode', s)]:.3f}" for s in seeds))


MIN_LOSS_RISE = 0.05


def divergence(metrics: pd.DataFrame, seed: int) -> tuple[float, float]:
    """(relative rise of the dev loss after its minimum, dev accuracy gained meanwhile in points).

    Both curves through a 5-point running median; the ends are medians of the last tenth."""
    loss = _series(metrics, "accuracy", ACC_RUN, seed, "val_loss")
    err = _series(metrics, "accuracy", ACC_RUN, seed, "val_error")
    lm, em = running_median(loss.values, 5), running_median(err.values, 5)
    i = int(np.argmin(lm))
    tail = max(1, lm.size // 10)
    end_loss, end_err = np.median(loss.values[-tail:]), np.median(err.values[-tail:])
    return float((end_loss - lm[i]) / lm[i]), float(100 * (em[i] - end_err))


def accuracy_claim(metrics: pd.DataFrame, seeds):
    pairs = [divergence(metrics, s) for s in seeds]
    return per_seed(f"dev loss rises (>= {100 * MIN_LOSS_RISE:g} % above its minimum) while dev accuracy still rises "
                    "(points gained after the loss minimum)", seeds, [g for _, g in pairs],
                    [r >= MIN_LOSS_RISE and g > 0 for r, g in pairs], kind="qualitative",
                    source="lecture (seed 001), dev loss or accuracy curve?", band=(0.0, float("inf")),
                    published="the loss can change because the number of errors changes or because the model becomes over-confident",
                    note="clean labels, 800 validation samples; " + ", ".join(f"s{s}: loss +{100 * r:.0f} %, accuracy {g:+.1f} points"
                                                                               for s, (r, g) in zip(seeds, pairs)))


def summarize(cfg: CurvesConfig, outputs: list[TaskOutput]) -> RunOutput:
    metrics = pd.DataFrame([row for out in outputs for row in out.records])
    seeds = list(cfg.seeds)
    labels = {k: v for out in outputs for k, v in out.values.get("labels", {}).items()}
    cases = [c for c in CASE_NAMES if c in cfg.cases]
    found = diagnoses(metrics, cases, seeds)
    last = metrics[metrics.part == "cases"].groupby(["condition", "seed"]).step.max()
    metrics = pd.concat([metrics, pd.DataFrame([
        {"part": "cases", "condition": c, "seed": s, "step": int(last[(c, s)]), "metric": "diagnosed_case",
         "value": float(CASE_NAMES.index(found[(c, s)].case) + 1)} for c in cases for s in seeds])], ignore_index=True)
    claims = case_claims(metrics, cases, seeds, labels)
    claims += [averaging_claim(metrics, seeds, cfg.window), smoothing_claim(metrics, seeds, cfg.window), dropout_claim(metrics, seeds), accuracy_claim(metrics, seeds)]
    sp = averaging_spreads(metrics, seeds, cfg.window)
    comparisons = [Comparison(f"training-loss spread, {name.replace('_', ' ')}, mean over seeds (%)",
                              100 * float(np.mean([sp[(name, s)] for s in seeds])), "—",
                              "std of relative residuals around a centred 5-point running mean")
                   for name in (*AVERAGINGS, f"mean_last_{cfg.window}")]
    n_right = sum(found[(c, s)].case == c for c in cases for s in seeds)
    headline = {"diagnosed_as_itself": n_right, "n_case_runs": len(cases) * len(seeds),
                "diagnoses": {f"{c}/s{s}": found[(c, s)].case for c in cases for s in seeds}}
    models = {k: v for out in outputs if out.blob for k, v in unpack_models(out.blob).items()}
    return RunOutput(metrics, claims, comparisons, headline, models)


def _mean_range(ax, curves: pd.DataFrame, color, label, ls="-", scale=1.0):
    """Mean over seeds with the seeds' range shaded; ``curves`` has step, seed, value."""
    g = curves.groupby("step").value
    ax.plot(g.mean().index, scale * g.mean(), color=color, ls=ls, label=label, lw=1.3)
    ax.fill_between(g.mean().index, scale * g.min(), scale * g.max(), color=color, alpha=0.2, lw=0)


def plot(metrics: pd.DataFrame, summary: dict, out_dir) -> list[str]:
    cases = metrics[metrics.part == "cases"]
    names = [c for c in CASE_NAMES if c in set(cases.condition)]
    diag = cases[cases.metric == "diagnosed_case"]
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.6), squeeze=False)
    for ax, case in zip(axes.flat, names):
        sub = cases[cases.condition == case]
        _mean_range(ax, sub[sub.metric == "train_loss"], "C0", "train loss")
        _mean_range(ax, sub[sub.metric == "val_loss"], "C1", "validation loss", ls="--")
        got = [CASE_NAMES[int(v) - 1] for v in diag[diag.condition == case].sort_values("seed").value]
        ax.set(xlabel="step", ylabel="cross-entropy (nats)",
               title=f"{case}: diagnosed {', '.join(got)}\n{CASE_TEXT[case][0][:48]}")
        ax.title.set_fontsize(8)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Each curve case produced on purpose (mean and range over seeds), diagnosed per seed by genlab.measure", fontsize=10)
    files = save(fig, out_dir, "training_curves_cases")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    avg = metrics[metrics.part == "averaging"]
    s0 = int(avg.seed.min())
    for k, name in enumerate(sorted(avg.condition.unique(), key=lambda n: (n != "per_batch", n))):
        c = _series(avg, "averaging", name, s0, "train_loss")
        axes[0].plot(c.index, c.values, color=f"C{k}", lw=0.7 if name == "per_batch" else 1.5, label=name.replace("_", " "))
    axes[0].set(xlabel="step", ylabel="training loss (nats)", title=f"C1's run, training loss averaged four ways (seed {s0})")
    axes[0].legend(fontsize=8)
    drop = metrics[(metrics.part == "dropout") & (metrics.metric == "train_loss")]
    for k, cond in enumerate(("train_mode", "eval_mode")):
        _mean_range(axes[1], drop[drop.condition == cond], f"C{k}", cond.replace("_", " ")
                    + (" (mean of the last minibatches, masks on)" if cond == "train_mode" else " (whole set, masks off)"))
    axes[1].set(xlabel="step", ylabel="training loss (nats)", title="dropout: the same weights in train and eval mode")
    axes[1].legend(fontsize=8)
    acc = metrics[metrics.part == "accuracy"]
    _mean_range(axes[2], acc[acc.metric == "val_loss"], "C1", "validation loss")
    axes[2].set(xlabel="step", ylabel="validation loss (nats)", title="dev loss rises while dev accuracy still rises")
    twin = axes[2].twinx()
    err = acc[acc.metric == "val_error"].assign(value=lambda d: 1 - d.value)
    _mean_range(twin, err, "C2", "validation accuracy", ls="--", scale=100)
    twin.set_ylabel("validation accuracy (%)")
    h1, l1 = axes[2].get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    axes[2].legend(h1 + h2, l1 + l2, fontsize=8, loc="center right")
    return files + save(fig, out_dir, "training_curves_loss")


register(Experiment(
    name="training-curves",
    not_projectable="each case trains its own number of steps times step_factor (a float), not one steps field",
    title="Train/dev loss curves: the lecture's cases C1-C8, how the loss is averaged, train vs eval mode, loss vs accuracy",
    question="What does each train/dev curve case look like when produced on purpose, and does genlab's curve diagnosis "
    "name it? How much do the averaging of the loss, dropout's train mode and over-confidence change what the curves show?",
    metrics_doc="Long format (part, condition, seed, step, metric, value). part 'cases': condition C1..C8, train_loss "
    "(whole training set, eval mode), val_loss, val_error per evaluation, and diagnosed_case (1..8: the case "
    "genlab.measure.diagnose_curves names). part 'averaging': C1's run, train_loss as whole_set, per_batch (every step), "
    "running_epoch_mean (since the epoch began) and mean_last_N. part 'dropout': train_loss in train_mode (masks, mean "
    "of the last minibatches) and eval_mode (whole set), final_train_loss both ways on the trained model. part "
    "'accuracy': val_loss and val_error of a width-128 MLP trained past its validation-loss minimum.",
    config_cls=CurvesConfig,
    scales={"smoke": {"n_samples": 600, "step_factor": 0.02},
            "quick": {},
            "paper": {}},
    n_seeds={"smoke": 2, "quick": 3, "paper": 10},
    section="Overfitting in practice",
    order=60,
    series=("part", "condition", "seed"),
    # measured: smoke 1.5 s CPU in its tasks; quick 52 s CPU in all (serial, 1 thread), 281 s wall with 2 workers at a
    # load average of 13 on the 2 cores; paper projected as 10/3 of quick (the populations grow with the seeds)
    estimates={"smoke": "5 s", "quick": "~35 s idle (52 s CPU)", "paper": "~2 min idle (projected: 10/3 x quick)"},
    tasks=tasks,
    summarize=summarize,
    plot=plot,
))
