"""double-descent-rff: the spike at p = n, the min-norm solver against NumPy, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.overfitting._double_descent_rff import (
    RFFConfig,
    min_norm_predict,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1, 2)
RATIOS = (0.1, 0.44, 0.9, 1.0, 1.1, 2.0, 4.5)
# Belkin-like curves: (test MSE, test 0-1 error) per ratio
GOOD = {0.1: (0.26, 0.049), 0.44: (0.18, 0.021), 0.9: (1.0, 0.15), 1.0: (350.0, 0.75), 1.1: (1.2, 0.19), 2.0: (0.15, 0.015),
        4.5: (0.08, 0.009)}


def synthetic(curve):
    rows = []
    for s in SEEDS:
        for r, (mse, err) in curve.items():
            for metric, v in (("test_mse", mse), ("test_error", err), ("train_mse", 0.0 if r >= 1 else 0.1),
                              ("train_error", 0.0), ("min_gram_eigenvalue", 1e-3)):
                rows.append({"seed": s, "p": int(r * 1000), "ratio": r, "metric": metric, "value": v})
    return [TaskOutput(rows)]


CFG = RFFConfig(seeds=SEEDS, ratios=RATIOS)


def test_claims_hold_on_belkin_like_curves():
    out = summarize(CFG, synthetic(GOOD))
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims if not all(c.holds)]


@pytest.mark.parametrize("change, prefix", [
    ({1.0: (0.9, 0.12)}, "the test MSE peaks at the interpolation threshold"),  # peak moved to p = 1.1 n
    ({1.0: (0.17, 0.02), 0.9: (0.17, 0.02), 1.1: (0.16, 0.02)}, "the spike"),  # no peak at all (a ridge)
    ({4.5: (0.3, 0.04), 2.0: (0.3, 0.04)}, "second descent"),
    ({1.0: (350.0, 0.2)}, "test 0-1 error at p = n"),
    ({0.44: (0.18, 0.10)}, "best under-parameterized test 0-1 error"),
])
def test_each_claim_fails_on_violating_curves(change, prefix):
    check_claims_fail(summarize(CFG, synthetic({**GOOD, **change})).claims, prefix)


@pytest.mark.parametrize("p", [30, 200])
def test_min_norm_solver_matches_numpy_pinv(p):
    rng = np.random.default_rng(0)
    f, y, f_test = rng.standard_normal((100, p)), rng.standard_normal((100, 3)), rng.standard_normal((20, p))
    coef = np.linalg.pinv(f) @ y  # the minimum-norm least-squares solution
    train, test, lam = min_norm_predict(f, y, f_test, 1e-12)
    assert np.allclose(train, f @ coef, atol=1e-8) and np.allclose(test, f_test @ coef, atol=1e-8)
    assert np.isclose(lam, np.linalg.svd(f, compute_uv=False).min() ** 2)
    if p > 100:
        assert np.allclose(train, y, atol=1e-8)  # interpolates


def test_smoke_spikes_at_p_equals_n(smoke):
    run_dir = smoke("double-descent-rff")
    m = pd.read_csv(run_dir / "metrics.csv")
    mse = m[m.metric == "test_mse"].pivot_table(index="ratio", columns="seed", values="value")
    assert (mse.idxmax() == 1.0).all(), mse  # the peak sits exactly at p = n in every seed
    assert (mse.loc[1.0] > 10 * mse.loc[0.3]).all()
    train = m[m.metric == "train_mse"].pivot_table(index="ratio", columns="seed", values="value")
    assert (train.loc[[1.1, 3.0]] < 1e-12).all().all()  # past the threshold: interpolation
    assert (train.loc[[0.3, 0.9]] > 1e-3).all().all()  # below it: no exact fit
    assert len(summary_of(run_dir)["claims"]) == 5


@pytest.mark.slow
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("double-descent-rff", scale="quick", out=tmp_path / "rff"))
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"] if c["verdict"] != "holds"]
