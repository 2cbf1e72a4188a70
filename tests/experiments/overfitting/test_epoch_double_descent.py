"""epoch-double-descent: the closed-form GD path against a plain loop, the exact risk against fresh
test data, the smoke run's interpolation properties, and claims that fail on curves without the effect."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab._checks import ParameterError
from genlab.experiments import run_experiment
from genlab.experiments.overfitting._epoch_double_descent import (
    EpochDDConfig,
    draw_problem,
    gd_path,
    population_risk,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1, 2)
CFG = EpochDDConfig(seeds=SEEDS, n_train=30, n_fast=20, n_slow=2, sample_ratios=(0.25, 0.5, 1.0, 2.0), max_step=1000)
D = 22
STEPS = np.array([1, 3, 10, 30, 100, 300, 1000])
# a double-descent-in-time test curve, and a sample-wise curve with its spike at n = d
EPOCH = np.array([9.0, 7.0, 8.0, 12.0, 10.0, 4.0, 3.0])
SAMPLE = {6: 8.0, 11: 10.0, 22: 300.0, 44: 3.0}


def synthetic(epoch=EPOCH, sample=SAMPLE, clean=EPOCH):
    rows = []
    for s in SEEDS:
        for labels, curve in (("noisy", epoch), ("clean", clean)):
            for t, v in zip(STEPS, curve):
                rows.append({"sweep": "epoch", "seed": s, "labels": labels, "step": int(t), "n": 30,
                             "metric": "test_mse", "value": float(v)})
                rows.append({"sweep": "epoch", "seed": s, "labels": labels, "step": int(t), "n": 30,
                             "metric": "train_mse", "value": 0.1})
        for n, v in sample.items():
            for metric, value in (("test_mse", v), ("train_mse", 0.0)):
                rows.append({"sweep": "sample", "seed": s, "labels": "noisy", "step": -1, "n": n, "metric": metric,
                             "value": value})
    return [TaskOutput(rows)]


def test_claims_hold_on_nakkiran_like_curves():
    out = summarize(CFG, synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims if not all(c.holds)]


@pytest.mark.parametrize("change, prefix", [
    ({"epoch": np.array([9.0, 7.0, 6.0, 5.0, 4.0, 3.5, 3.0])}, "epoch-wise: after a first minimum"),  # monotone
    ({"epoch": np.array([7.0, 8.0, 12.0, 12.0, 10.0, 4.0, 3.0])}, "epoch-wise: after a first minimum"),  # no first fall
    ({"epoch": np.array([9.0, 7.0, 8.0, 12.0, 12.5, 13.0, 13.0])}, "epoch-wise: second descent"),  # never falls back
    ({"epoch": np.array([9.0, 7.0, 8.0, 12.0, 11.8, 11.5, 11.5])}, "epoch-wise: second descent"),  # falls too little
    ({"sample": {6: 8.0, 11: 300.0, 22: 10.0, 44: 3.0}}, "sample-wise: the min-norm test MSE peaks at n = d"),
    ({"sample": {6: 8.0, 11: 7.0, 22: 6.0, 44: 3.0}}, "sample-wise: more data hurts"),  # more data always helps
])
def test_each_claim_fails_on_violating_curves(change, prefix):
    check_claims_fail(summarize(CFG, synthetic(**change)).claims, prefix)


def test_gd_path_matches_a_plain_gd_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 12)) * np.r_[np.ones(8), np.full(4, 0.1)]
    y = rng.standard_normal(40)
    lr, steps = 0.2, [1, 2, 7, 50, 400]
    theta, oracle = np.zeros(12), {}
    for t in range(1, max(steps) + 1):  # GD on |x theta - y|^2 / (2 n)
        theta = theta - lr * x.T @ (x @ theta - y) / len(y)
        if t in steps:
            oracle[t] = theta.copy()
    path = gd_path(x, y, np.array(steps), lr)
    for i, t in enumerate(steps):
        assert np.allclose(path[i], oracle[t], atol=1e-10), t


@pytest.mark.parametrize("n", [8, 12, 30])
def test_gd_limit_is_the_minimum_norm_least_squares_fit(n):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((n, 12)), rng.standard_normal(n)
    assert np.allclose(gd_path(x, y, np.array([np.inf]), 0.2)[0], np.linalg.pinv(x) @ y, atol=1e-9)


def test_population_risk_matches_fresh_test_data():
    theta, scale, _, _ = draw_problem(0, CFG, 1)
    rng = np.random.default_rng(5)
    theta_hat = theta + rng.standard_normal(theta.size) * 0.3 / scale
    x = rng.standard_normal((200_000, theta.size)) * scale
    y = x @ theta + CFG.noise * rng.standard_normal(len(x))
    mc = ((x @ theta_hat - y) ** 2)
    exact = population_risk(theta_hat, theta, scale, CFG.noise)
    assert abs(mc.mean() - exact) < 4 * mc.std() / np.sqrt(len(mc)), (mc.mean(), exact)


def test_target_groups_explain_their_share_of_variance():
    cfg = EpochDDConfig(n_train=300, n_fast=200, n_slow=2000, signal_fast=4.0, signal_slow=2.0)
    theta, scale, _, _ = draw_problem(3, cfg, 1)
    fast, slow = (theta[:200] ** 2).sum(), (theta[200:] ** 2 * scale[200:] ** 2).sum()
    assert abs(fast - 4.0) < 4 * 4.0 * np.sqrt(2 / 200) and abs(slow - 2.0) < 4 * 2.0 * np.sqrt(2 / 2000)


def test_fast_features_alone_must_not_interpolate():
    with pytest.raises(ParameterError, match="n_train"):
        EpochDDConfig(n_train=200, n_fast=200)


def test_smoke_run_interpolates_where_it_should(smoke):
    run_dir = smoke("epoch-double-descent")
    m = pd.read_csv(run_dir / "metrics.csv")
    cfg = summary_of(run_dir)["config"]
    d = cfg["n_fast"] + cfg["n_slow"]
    sample = m[m.sweep == "sample"].pivot_table(index="n", columns=["metric", "seed"], values="value")
    assert (sample.loc[sample.index <= d, "train_mse"] < 1e-12).all().all()  # n <= d: min-norm interpolates
    assert (sample.loc[sample.index > d, "train_mse"] > 1e-3).all().all()  # n > d: the noise cannot be fitted
    assert (sample["test_mse"].idxmax() == d).all()  # the sample-wise spike sits at n = d
    clean = m[(m.sweep == "epoch") & (m.labels == "clean")]
    last = clean[clean.step == clean.step.max()].pivot_table(index="metric", columns="seed", values="value")
    # noise-free labels and n_train > d: GD recovers theta*, the test error is the noise floor
    assert np.allclose(last.loc["test_mse"], cfg["noise"] ** 2, rtol=1e-6)
    assert (last.loc["train_mse"] < 1e-12).all()
    assert len(summary_of(run_dir)["claims"]) == 4


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("epoch-double-descent", scale="quick", out=tmp_path / "edd"))
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"] if c["verdict"] != "holds"]
