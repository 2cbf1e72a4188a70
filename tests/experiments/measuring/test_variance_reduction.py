"""variance-reduction: bagging and more data reduce variance, and its claims can fail."""

import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.measuring._variance_reduction import VarianceReductionConfig, claims_of


@pytest.fixture(scope="module")
def metrics(smoke):
    return pd.read_csv(smoke("variance-reduction") / "metrics.csv")


def _var(metrics, seed, part, estimator, size=1, n_data=None):
    m = metrics[(metrics.seed == seed) & (metrics.part == part) & (metrics.estimator == estimator)
                & (metrics["size"] == size) & (metrics.metric == "variance")]
    return float((m[m.n_data == n_data] if n_data else m).value.iloc[0])


def test_smoke_bootstrap_resamples_and_more_data_cut_variance(metrics):
    for seed in (0, 1):
        single, boot1, bag4 = (_var(metrics, seed, "bagging", e, k) for e, k in
                               (("single", 1), ("bag_mean", 1), ("bag_mean", 4)))
        # A fit to a resample (fewer distinct points) varies more than the fit to the data; the mean of
        # 4 resample fits varies less than one: both fail if the resampling is dropped (all equal).
        assert boot1 > 1.05 * single and bag4 < 0.9 * boot1, (seed, single, boot1, bag4)
        # 15 -> 60 points: the interpolating 14-unit fit's variance falls many times over.
        assert _var(metrics, seed, "data", "single", n_data=60) < 0.3 * _var(metrics, seed, "data", "single", n_data=15)
    # the seeds are independent replicates
    assert _var(metrics, 0, "bagging", "single") != _var(metrics, 1, "bagging", "single")


def _cfg():
    return VarianceReductionConfig(seeds=(0, 1), n_repeats=20, bag_sizes=(1, 4), data_sizes=(15, 60, 240))


def _synthetic(bag_ratio=0.7, median_ratio=0.6, data_ratio=0.5, theory=1.0):
    """Metrics of two seeds shaped like a quick run, with the ratios the claims read."""
    rows = []
    for seed in (0, 1):
        for est, size, var, err in (("single", 1, 0.2, 0.25), ("bag_mean", 1, 0.3, 0.35), ("bag_mean", 4, 0.2 * bag_ratio, 0.2),
                                    ("bag_median", 4, 0.1, 0.25 * median_ratio)):
            for metric, value in (("variance", var), ("mse_to_truth", err), ("bias2", 0.01)):
                rows.append({"part": "bagging", "seed": seed, "estimator": est, "size": size, "n_data": 15, "metric": metric,
                             "value": value})
        for k, n in enumerate((15, 60, 240)):
            var = 0.09 * 15 / 240 * theory / data_ratio ** (2 - k)
            rows.append({"part": "data", "seed": seed, "estimator": "single", "size": 1, "n_data": n, "metric": "variance",
                         "value": var})
    return pd.DataFrame(rows)


def test_synthetic_metrics_that_show_the_lesson_pass():
    assert all(all(c.holds) for c in claims_of(_cfg(), _synthetic()))


@pytest.mark.parametrize("prefix, violation", [
    ("bagging: variance of the mean of 4", {"bag_ratio": 1.0}),  # no resampling: the bag is the single fit
    ("bagging: variance of the mean of 4", {"bag_ratio": 0.25}),  # fresh datasets instead of resamples: 1/b
    ("bagging: error to the true function", {"median_ratio": 1.0}),
    ("more data, less variance", {"data_ratio": 1.0}),
    ("variance at 240 points", {"theory": 2.0}),
])
def test_each_claim_fails_on_violating_metrics(prefix, violation):
    check_claims_fail(claims_of(_cfg(), _synthetic(**violation)), prefix)


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("variance-reduction", scale="quick", out=tmp_path / "vr"))
    assert len(summary["seeds"]) >= 3 and len(summary["claims"]) == 5
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [(c["name"], c["values"]) for c in summary["claims"]]
