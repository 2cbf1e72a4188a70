"""bias-variance: the decomposition checked against fresh noisy test draws, and its claims."""

import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.measuring._bias_variance import (
    MAX_Z,
    BiasVarianceConfig,
    claims_of,
    decomposition_z,
)


@pytest.fixture(scope="module")
def run_dir(smoke):
    return smoke("bias-variance")


@pytest.fixture(scope="module")
def metrics(run_dir):
    return pd.read_csv(run_dir / "metrics.csv")


def test_smoke_decomposition_agrees_with_fresh_test_draws(metrics):
    # bias^2 + variance + noise, rebuilt from its terms, against the error of every fit on fresh
    # noisy targets: within 4 Monte Carlo standard errors at every point of both seeds.
    assert sorted(metrics.seed.unique()) == [0, 1]
    for seed in (0, 1):
        z, gap = decomposition_z(metrics, seed)
        assert z < MAX_Z and gap < 0.02, (seed, z, gap)
    # A line (1 hidden unit) misses exp(sin(2 pi x)) by bias^2 ~0.31 (UDL Fig 8.9), even from 20 datasets.
    cap = metrics[(metrics.curve == "capacity") & (metrics.metric == "bias2") & (metrics.hidden == 1)]
    assert cap.value.between(0.28, 0.34).all()


def test_metrics_keep_what_the_web_viewer_reads(metrics):
    cap = metrics[(metrics.curve == "capacity") & (metrics.seed == 0)].pivot(index="hidden", columns="metric", values="value")
    assert list(cap.index) == list(range(1, 13))
    assert {"bias2", "variance", "noise", "expected_error"} <= set(cap.columns)
    assert (cap.noise == 0.09).all()


def _cfg():
    return BiasVarianceConfig(seeds=(0, 1), n_datasets=20)


def test_decomposition_check_fails_when_the_variance_term_is_dropped(metrics):
    cfg = _cfg()
    holds = claims_of(cfg, metrics)[0]
    assert holds.name.startswith("expected test error") and all(holds.holds)
    dropped = metrics.copy()
    dropped.loc[dropped.metric == "variance", "value"] = 0.0  # bias^2 + noise only
    check_claims_fail(claims_of(cfg, dropped), "expected test error")
    # ... and when the noise term is counted twice.
    doubled = metrics.copy()
    doubled.loc[doubled.metric == "noise", "value"] *= 2
    check_claims_fail(claims_of(cfg, doubled), "expected test error")


def _scaled(metrics, mask, factor):
    out = metrics.copy()
    out.loc[mask(out), "value"] *= factor
    return out


@pytest.mark.parametrize("prefix, mask, factor", [
    # no U: variance that does not grow with capacity, the minimum moved to the largest capacity
    ("capacity minimising", lambda m: (m.curve == "capacity") & (m.metric == "variance") & (m.hidden >= 4), 0.0),
    ("bias^2 + variance at its minimum", lambda m: (m.curve == "capacity") & m.metric.isin(["bias2", "variance"]), 2.0),
    ("bias^2 with 1 hidden unit", lambda m: (m.curve == "capacity") & (m.metric == "bias2") & (m.hidden == 1), 0.5),
    ("variance grows with capacity", lambda m: (m.curve == "capacity") & (m.metric == "variance") & (m.hidden > 1), 0.1),
    ("more data, less variance", lambda m: (m.curve == "data") & (m.metric == "variance") & (m.n_data == 100), 100.0),
    ("variance at 100 points", lambda m: (m.curve == "data") & (m.metric == "variance") & (m.n_data == 100), 2.0),
])
def test_each_claim_fails_on_violating_metrics(metrics, prefix, mask, factor):
    check_claims_fail(claims_of(_cfg(), _scaled(metrics, mask, factor)), prefix)


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("bias-variance", scale="quick", out=tmp_path / "bv"))
    assert len(summary["seeds"]) >= 3 and len(summary["claims"]) == 7
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [(c["name"], c["values"]) for c in summary["claims"]]
