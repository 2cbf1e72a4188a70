"""double-descent-linear: the min-norm spike at P = N, and claims that fail without it."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.data import legendre_features, make_demystified, make_diabetes
from genlab.experiments import run_experiment
from genlab.experiments.measuring._double_descent_linear import (
    DDLinearConfig,
    _diabetes_split,
    _legendre,
    claims_of,
)


@pytest.fixture(scope="module")
def metrics(smoke):
    return pd.read_csv(smoke("double-descent-linear") / "metrics.csv")


def test_smoke_spike_sits_at_the_interpolation_threshold(metrics):
    for seed in (0, 1):
        sub = metrics[metrics.seed == seed]
        leg = sub[sub.problem == "legendre"].pivot(index="P", columns="metric", values="value")
        dia = sub[sub.problem == "diabetes"].pivot(index="N", columns="metric", values="value")
        assert int(leg.test_mse_median.idxmax()) in (14, 15, 16)  # N = 15 (10 draws: +-1)
        assert leg.test_mse_median.max() > 1e3 * leg.loc[30, "test_mse_median"]
        assert int(dia.smallest_singular_value.idxmin()) == 10  # P = 10
        assert leg.loc[15, "ridge_test_mse_median"] < 1e-3 * leg.loc[15, "test_mse_median"]  # the ridge removes it


def test_fast_features_and_split_equal_the_library_ones():
    d = make_demystified(15, seed=3)
    assert np.allclose(_legendre(d.x_test, 200), legendre_features(d.x_test, 200), atol=1e-10)
    ref = make_diabetes(12, seed=5)
    for a, b in zip((ref.x_train, ref.y_train, ref.x_test, ref.y_test), _diabetes_split(12, 5)):
        assert np.array_equal(a, b)


def _cfg():
    return DDLinearConfig(seeds=(0, 1), feature_counts=tuple(range(1, 26)) + (30,), diabetes_sizes=tuple(range(1, 40)))


def _synthetic(peak_p=15, peak=6.7e6, after=0.36, ridge_peak=0.5, peak_n=10, smin_n=10, smin=0.002, spike=15.0):
    """Two seeds of curves shaped like a quick run: a spike at P = peak_p and at N = peak_n."""
    rows = []
    for seed in (0, 1):
        for p in tuple(range(1, 26)) + (30,):
            mse = peak if p == peak_p else after if p >= 25 else 1.0
            for metric, value in (("test_mse_median", mse), ("ridge_test_mse_median", ridge_peak if p == 15 else 0.4),
                                  ("smallest_singular_value", 0.1), ("test_mse_mean", mse)):
                rows.append({"problem": "legendre", "seed": seed, "P": p, "N": 15, "metric": metric, "value": value})
        for n in range(1, 40):
            for metric, value in (("test_mse_median", 4e4 * (spike if n == peak_n else 1.0)),
                                  ("smallest_singular_value", smin if n == smin_n else 0.01),
                                  ("ridge_test_mse_median", 4e4), ("test_mse_mean", 4e4)):
                rows.append({"problem": "diabetes", "seed": seed, "P": 10, "N": n, "metric": metric, "value": value})
    return pd.DataFrame(rows)


def test_synthetic_curves_with_the_spike_pass():
    assert all(all(c.holds) for c in claims_of(_cfg(), _synthetic()))


@pytest.mark.parametrize("prefix, violation", [
    ("Legendre: P of the median", {"peak_p": 12}),  # a spike away from P = N
    ("Legendre: log10 median test MSE at P = N", {"peak": 1.2}),  # no spike at all
    ("Legendre: median test MSE at P = 30", {"after": 3.0}),  # no second descent
    ("Legendre: ridge / min-norm", {"ridge_peak": 6.7e6}),  # the ridge keeps the spike
    ("Diabetes: N of the median test-MSE peak", {"peak_n": 20}),
    ("Diabetes: N of the smallest", {"smin_n": 12}),
    ("Diabetes: median smallest non-zero singular value", {"smin": 0.02}),
    ("Diabetes: median test MSE at N = 10", {"spike": 1.0}),
])
def test_each_claim_fails_on_violating_curves(prefix, violation):
    check_claims_fail(claims_of(_cfg(), _synthetic(**violation)), prefix)


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("double-descent-linear", scale="quick", out=tmp_path / "ddl"))
    assert len(summary["seeds"]) >= 3 and len(summary["claims"]) == 8
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [(c["name"], c["values"]) for c in summary["claims"]]
