"""knots: the exact error, the batched min-norm fits, and claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of
from scipy.interpolate import CubicSpline

from genlab.experiments import run_experiment
from genlab.experiments.measuring._knots import (
    KnotsConfig,
    exact_test_mse,
    fit_knots,
    knot_sweep,
    knots_claims,
    predict_knots,
    schoenberg_whitney,
    spline_test_mse,
)
from genlab.models import KnotsModel

X = np.arange(6.0)
Y = 4 * (X - 2.5) ** 2
GRID = np.linspace(0, 5, 20001)


def test_batched_fit_matches_knots_model_and_a_dense_grid():
    rng = np.random.default_rng(3)
    for k in (0, 1, 3, 4, 7, 60):
        knots = rng.uniform(0, 5, (4, k))
        ab, gamma = fit_knots(knots)
        pred = predict_knots(knots, ab, gamma, GRID)
        mse = exact_test_mse(knots, ab, gamma)
        for i in range(4):
            oracle = KnotsModel(knots[i]).fit(X, Y).predict(GRID)  # the library's fit, one draw at a time
            assert np.max(np.abs(pred[i] - oracle)) < 1e-6 * max(1.0, np.abs(oracle).max())
            grid_mse = np.trapezoid((oracle - 4 * (GRID - 2.5) ** 2) ** 2, GRID) / 5
            assert mse[i] == pytest.approx(grid_mse, rel=1e-4)


def test_line_and_spline_errors_in_closed_form():
    # K = 0: the least-squares line through symmetric data is the constant mean(y) = 70 / 6.
    c = 70 / 6
    line = np.polynomial.Polynomial([c - 25, 20, -4])  # c - 4 (x - 2.5)^2
    exact = (line**2).integ()(5.0) / 5 - (line**2).integ()(0.0) / 5
    ab, gamma = fit_knots(np.zeros((1, 0)))
    assert exact_test_mse(np.zeros((1, 0)), ab, gamma)[0] == pytest.approx(exact, rel=1e-12)
    spline = CubicSpline(X, Y, bc_type="natural")(GRID)
    assert spline_test_mse() == pytest.approx(np.trapezoid((spline - 4 * (GRID - 2.5) ** 2) ** 2, GRID) / 5, rel=1e-6)


def test_schoenberg_whitney_by_hand():
    assert schoenberg_whitney(np.array([[0.5, 1.5, 2.5, 3.5]]))[0]  # one knot in each window (x_{i-1}, x_{i+1})
    assert schoenberg_whitney(np.array([[3.5, 2.5, 0.5, 1.5]]))[0]  # order does not matter
    assert not schoenberg_whitney(np.array([[0.5, 0.6, 0.7, 0.8]]))[0]  # windows (2, 4), (3, 5) empty
    assert schoenberg_whitney(np.array([[1.5, 1.6, 3.5, 3.6]]))[0]  # 1.5 -> (0, 2), 1.6 -> (1, 3), 3.5 -> (2, 4), 3.6 -> (3, 5)
    assert not schoenberg_whitney(np.array([[1.5, 1.6, 1.7, 3.5]]))[0]  # (2, 4) and (3, 5) would share 3.5
    assert not schoenberg_whitney(np.array([[0.5, 1.5, 2.5]]))[0]  # K < N - 2 never interpolates


def test_sweep_is_deterministic_and_interpolation_starts_at_the_threshold():
    a = knot_sweep((0, 2, 4, 6), 400, seed=5)
    b = knot_sweep((0, 2, 4, 6), 400, seed=5)
    for k in a:
        np.testing.assert_array_equal(a[k]["test_mse"], b[k]["test_mse"])
    assert not a[2]["interpolates"].any() and a[4]["interpolates"].any()
    assert 0.3 < a[4]["interpolates"].mean() < 0.5 < a[6]["interpolates"].mean()  # ~0.40 and ~0.79
    for k in a:
        np.testing.assert_array_equal(a[k]["interpolates"], a[k]["sw"])


def test_smoke_run_properties(smoke):
    run = smoke("knots")
    m = pd.read_csv(run / "metrics.csv")
    sweep = m[(m.part == "sweep") & (m.seed == 0)].pivot(index="K", columns="metric", values="value")
    # K = 0 is one deterministic fit: every statistic is the line's error, 66.67
    for col in ("test_mse_median", "test_mse_mean", "test_mse_p99"):
        assert sweep.loc[0, col] == pytest.approx(66.6666, rel=1e-4)
    assert (sweep.loc[[0, 1, 2], "frac_interpolating"] == 0).all() and (sweep.loc[[4, 6, 10], "frac_interpolating"] > 0).all()
    assert (sweep["agree_schoenberg_whitney"] == 1).all()
    assert (np.diff(sweep["test_mse_median"].to_numpy()) < 0).all()
    assert sweep.loc[4, "test_mse_p99"] > 10 * sweep.loc[4, "test_mse_median"]  # a heavy tail at the threshold
    s = summary_of(run)
    assert s["series"] == ["part", "seed", "metric"] and s["section"] == "Double descent"


def _smoke_inputs(smoke):
    cfg = KnotsConfig(**{"n_draws": 300, "knot_counts": (0, 1, 2, 4, 6, 10, 100), "n_spline_draws": 20,
                         "adam_epochs": 300}, seeds=(0, 1))
    return cfg, pd.read_csv(smoke("knots") / "metrics.csv")


def _set(m, metric, k, value):
    m = m.copy()
    m.loc[(m.part == "sweep") & (m.metric == metric) & (m.K == k), "value"] = value
    return m


def test_claims_fail_on_violating_metrics(smoke):
    cfg, m = _smoke_inputs(smoke)
    claims = knots_claims(cfg, _set(_set(m, "test_mse_p95", 2, 1e9), "test_mse_p99", 2, 1e9)).claims
    check_claims_fail(claims, "95th percentile of the test MSE peaks")  # a peak at K = 2, not 4
    check_claims_fail(claims, "99th percentile of the test MSE peaks")
    claims = knots_claims(cfg, _set(m, "test_mse_p95", 100, 1e9)).claims
    check_claims_fail(claims, "beyond the threshold the 95th percentile falls")
    check_claims_fail(knots_claims(cfg, _set(m, "test_mse_median", 4, 100.0)).claims, "the median test MSE falls")
    check_claims_fail(knots_claims(cfg, _set(m, "max_share", 4, 1 / 300)).claims, "the mean at K = 4 is carried")
    check_claims_fail(knots_claims(cfg, _set(m, "test_mse_mean", 100, 1e12)).claims, "K where the sample mean peaks")
    check_claims_fail(knots_claims(cfg, _set(m, "agree_schoenberg_whitney", 4, 0.9)).claims, "draws that interpolate")
    check_claims_fail(knots_claims(cfg, _set(m, "dist_to_spline_median", 100, 1.0)).claims, "g_K approaches")
    check_claims_fail(knots_claims(cfg, _set(m, "test_mse_median", 100, 1.0)).claims, "median test MSE at K = 100")
    bad = m.copy()
    last = (bad.part == "adam_k0") & (bad.metric == "train_mse") & (bad.step == bad.step.max())
    bad.loc[last, "value"] = 0.11  # the seed's number, read as an MSE
    check_claims_fail(knots_claims(cfg, bad).claims, "K = 0 by Adam")


def test_config_refuses_bad_values():
    from genlab._checks import ParameterError

    with pytest.raises(ParameterError, match="'knot_counts' parameter of knots"):
        KnotsConfig(knot_counts=(0, 1, 2))  # no K = 4
    with pytest.raises(ParameterError, match="'n_draws' parameter of knots"):
        KnotsConfig(n_draws=1)


@pytest.mark.slow
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run = run_experiment("knots", scale="quick", out=tmp_path / "knots")
    claims = summary_of(run)["claims"]
    assert len(claims) >= 10
    for c in claims:
        assert c["verdict"] == "holds", (c["name"], c["values"])
