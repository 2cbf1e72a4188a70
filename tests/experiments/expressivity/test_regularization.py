"""regularization: every method in the table on every seed, the ensemble's error recomputed from its
members, dropout evaluated without masks, the hooked loop against the engine, and claims that can fail."""

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments._framework import get_experiment, unpack_models
from genlab.experiments.expressivity._regularization import (
    HOOKED,
    METHODS,
    RegularizationConfig,
    _hook_batch,
    _mlp,
    engine_task,
    noisy_data,
    summarize,
    train_hooked,
)
from genlab.sweep import TaskOutput
from genlab.train import TrainConfig, train_many

NAME = "regularization"
SMOKE = get_experiment(NAME).scales["smoke"]


def smoke_config(seeds=(0,)):
    return RegularizationConfig(**SMOKE, seeds=seeds)


def test_every_method_has_a_val_and_test_error_and_a_cost_on_every_seed(smoke):
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert {"method", "strength", "seed", "split", "metric", "value"} <= set(metrics.columns)
    seeds = summary_of(run_dir)["seeds"]
    err = metrics[metrics.metric == "error"]
    for method in METHODS:
        for s in seeds:
            for split in ("val", "test"):
                v = err[(err.method == method) & (err.seed == s) & (err.split == split)].value
                assert len(v) >= 1 and v.between(0, 1).all(), (method, s, split)
            cost = metrics[(metrics.method == method) & (metrics.seed == s) & (metrics.metric == "seconds_per_step")]
            assert len(cost) >= 1 and (cost.value > 0).all(), (method, s)
    table = summary_of(run_dir)["metrics"]  # the headline: the table
    assert set(table) == set(METHODS)
    assert table["none"]["gain_points"] == 0 and table["none"]["cost_ratio"] == pytest.approx(1.0)
    # the test labels are clean, the training and validation labels carry the noise
    data = noisy_data(0.2, 0, SMOKE["n_train"])
    assert 0.1 < data.noise_mask.mean() < 0.3 and np.mean(data.y_train != data.y_train_clean) == data.noise_mask.mean()


def test_ensemble_error_is_that_of_its_members_averaged_probabilities_and_dropout_evaluates_without_masks():
    cfg = smoke_config()
    out = engine_task(["none", "ensemble", "dropout"], [0], cfg.task_args(), "cpu")
    rows = pd.DataFrame(out.records)
    models = unpack_models(out.blob)
    data = noisy_data(cfg.noise, 0, cfg.n_train)
    x_test = torch.tensor(data.x_test, dtype=torch.float32)
    members = [models[f"ens_s0_k{k}"] for k in range(cfg.n_ensemble)]
    with torch.no_grad():
        probs = torch.stack([torch.softmax(m.eval()(x_test), -1) for m in members]).mean(0)
    mine = float((probs.argmax(1).numpy() != data.y_test).mean())
    recorded = rows[(rows.method == "ensemble") & (rows.split == "test") & (rows.metric == "error")].value.item()
    assert recorded == pytest.approx(mine, abs=1e-12)
    member_errors = [float((m(x_test).argmax(1).numpy() != data.y_test).mean()) for m in members]
    mean_member = rows[(rows.method == "ensemble") & (rows.metric == "member_mean_error")].value.item()
    assert mean_member == pytest.approx(np.mean(member_errors))
    assert len(set(member_errors)) > 1 or len({m.linears[0].weight.sum().item() for m in members}) == cfg.n_ensemble

    drop = models[f"dropout_s0_p{cfg.dropout[0]:g}"]
    assert drop.dropout == cfg.dropout[0]
    drop.eval()
    with torch.no_grad():
        a, b = drop(x_test), drop(x_test)
        drop.train()
        c = drop(x_test)  # train mode draws masks: the eval-mode equality above is not trivial
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    recorded = rows[(rows.method == "dropout") & (rows.split == "test") & (rows.metric == "error")].value.item()
    assert recorded == float((a.argmax(1).numpy() != data.y_test).mean())


def test_hooked_loop_without_a_hook_is_the_engine():
    """The plain loop with the identity hook trains as the population engine does (same init, batch
    order, Adam): the oracle that makes the hooked methods comparable with the others."""
    data = noisy_data(0.2, 0, 300)
    seeds = [20, 21]
    mine = [_mlp(16, 10), _mlp(16, 11)]
    train_hooked(mine, data, [("none", 0.0)] * 2, seeds, lr=1e-2, batch_size=50, n_steps=30, hook_seeds=[1, 2])
    engine = [_mlp(16, 10), _mlp(16, 11)]
    cfgs = [TrainConfig(optimizer="adam", lr=1e-2, batch_size=50, n_steps=30, eval_every=30, seed=s) for s in seeds]
    train_many(engine, data, cfgs)
    for a, b in zip(mine, engine):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    # a hook changes the training (else the hooked methods would all equal none)
    hooked = [_mlp(16, 10)]
    train_hooked(hooked, data, [("mixup", 0.5)], seeds[:1], lr=1e-2, batch_size=50, n_steps=30, hook_seeds=[1])
    assert not torch.allclose(hooked[0].linears[0].weight, mine[0].linears[0].weight)


def test_hooks_transform_the_minibatch_as_documented():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 40)
    y = torch.randint(0, 10, (64,))
    xa, ta = _hook_batch("augmentation", 4, x, y, gen, 10)
    assert torch.equal(ta, torch.nn.functional.one_hot(y, 10).float())
    for i in range(64):  # each row is the signal shifted by at most 4 positions (edges repeated), times a scale
        fits = []
        for k in range(-4, 5):
            src = x[i, (torch.arange(40) - k).clamp(0, 39)]
            scale = (xa[i] @ src) / (src @ src)
            fits.append(bool(torch.allclose(xa[i], scale * src, atol=1e-5)) and abs(scale - 1) <= 0.2 + 1e-6)
        assert any(fits), i
    xn, _ = _hook_batch("input_noise", 0.3, x, y, gen, 10)
    assert 0.25 < float((xn - x).std()) < 0.35
    _, ts = _hook_batch("label_smoothing", 0.3, x, y, gen, 10)
    assert torch.allclose(ts.sum(1), torch.ones(64)) and torch.allclose(ts.max(1).values, torch.full((64,), 0.73))
    xm, tm = _hook_batch("mixup", 0.5, x, y, gen, 10)
    assert torch.allclose(tm.sum(1), torch.ones(64)) and not torch.equal(xm, x)
    lam = tm.max(1).values  # for a pair of different labels the larger weight is max(lam, 1 - lam)
    assert (lam >= 0.5 - 1e-6).all() and float(lam.std()) > 0.05  # Beta(0.5, 0.5) draws vary


# ---------------------------------------------------------------- claims that can fail

SEEDS = (0, 1, 2)
GRID = {"l2": [1e-3, 1e-2], "adamw": [0.1, 1.0], "dropout": [0.2, 0.5], "early_stopping": [5.0, 20.0],
        "augmentation": [2.0, 4.0], "input_noise": [0.1, 0.3], "label_smoothing": [0.1, 0.3], "mixup": [0.2, 1.0],
        "sam": [0.02, 0.05], "width": [200.0, 400.0], "ensemble": [5.0], "snapshot_ensemble": [5.0], "none": [0.0]}


def synthetic(none_err=0.40, reg_err=0.34, ens_err=0.33, member_mean=0.38, es_err=0.36, ens_cost=3.0, sam_cost=2.0):
    """Metrics with the shape the tasks write; every method but none at ``reg_err`` (test and val)."""
    rows = []

    def add(method, strength, s, split, metric, value):
        rows.append({"method": method, "strength": strength, "seed": s, "split": split, "metric": metric, "value": value})

    for s in SEEDS:
        for method, grid in GRID.items():
            for v in grid:
                err = {"none": none_err, "ensemble": ens_err, "early_stopping": es_err}.get(method, reg_err)
                add(method, v, s, "val", "error", err + 0.01 * (v != grid[0]))
                add(method, v, s, "test", "error", err)
                sec = {"ensemble": ens_cost, "sam": sam_cost}.get(method, 1.0) * 1e-3
                add(method, v, s, "cost", "seconds_per_step", sec)
        add("none_plain", 0.0, s, "cost", "seconds_per_step", 1e-3)
        add("ensemble", 5.0, s, "test", "member_mean_error", member_mean)
        for v in GRID["early_stopping"]:
            add("early_stopping", v, s, "train", "stopped_step", 500.0)
            add("early_stopping", v, s, "train", "stopped_fraction", 0.25)
    return [TaskOutput(rows)]


CFG = RegularizationConfig(seeds=SEEDS)


def test_synthetic_metrics_with_the_lessons_pass_every_claim():
    out = summarize(CFG, synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims]
    assert out.headline["early_stopping"]["cost_ratio"] == pytest.approx(0.25)
    assert out.headline["ensemble"]["cost_ratio"] == pytest.approx(3.0)
    assert out.headline["l2"]["gain_points"] == pytest.approx(6.0)


@pytest.mark.parametrize("prefix, violation", [
    ("with 20 % label noise, the regularizer chosen", {"reg_err": 0.41, "ens_err": 0.41, "es_err": 0.41, "member_mean": 0.45}),
    ("an ensemble of 5 beats its mean member", {"member_mean": 0.33}),
    ("training longer without regularization overfits", {"es_err": 0.40}),
    ("an ensemble of 5 costs more time", {"ens_cost": 1.0}),
])
def test_each_claim_fails_on_metrics_that_violate_it(prefix, violation):
    check_claims_fail(summarize(CFG, synthetic(**violation)).claims, prefix)


def test_selection_reads_the_validation_split_not_the_test_split():
    """A strength that is best on test but worse on validation is never chosen."""
    outputs = synthetic()
    for r in outputs[0].records:  # l2's second strength: best on test, worse on validation
        if r["method"] == "l2" and r["strength"] == 1e-2 and r["split"] == "test" and r["metric"] == "error":
            r["value"] = 0.05
    out = summarize(CFG, outputs)
    assert out.headline["l2"]["strengths"] == [1e-3] * 3 and out.headline["l2"]["test_error_mean"] == pytest.approx(34.0)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    claims = summary_of(run_dir)["claims"]
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims]
    assert set(summary_of(run_dir)["metrics"]) == set(METHODS) and len(HOOKED) == 4
