"""hessian-double-descent: the Jacobian's rank against P and N, claims that fail without the peaks."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.overfitting._hessian_double_descent import (
    HessianDDConfig,
    diabetes,
    n_params,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1, 2)
WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 16, 48, 96)
CFG = HessianDDConfig(seeds=SEEDS, widths=WIDTHS)


def synthetic(test=None, inv=None, rank_full_from=7):
    # the lecture's picture: both peak at h = 6-7 (P / N ~ 1.2-1.4) and fall past it
    test = test or dict(zip(WIDTHS, (0.6, 1.0, 1.1, 1.5, 1.7, 2.8, 2.8, 2.7, 2.0, 1.6, 1.5, 1.3)))
    inv = inv or dict(zip(WIDTHS, (370, 208, 4.5e3, 4.2e3, 6.2e3, 3.4e4, 898, 448, 230, 133, 76, 67)))
    rows = []
    for s in SEEDS:
        for h in WIDTHS:
            vals = {"test_mse": test[h], "inv_lambda_min": inv[h], "train_mse": 1e-3, "lambda_max": 10.0,
                    "rank": min(60, n_params(h)) if h >= rank_full_from else min(59, n_params(h))}
            rows += [{"width": h, "params": n_params(h), "seed": s, "metric": k, "value": v} for k, v in vals.items()]
    return [TaskOutput(rows)]


def test_claims_hold_on_the_papers_picture():
    out = summarize(CFG, synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims if not all(c.holds)]


@pytest.mark.parametrize("test, inv, prefix", [
    ({h: 3.0 / h for h in WIDTHS}, None, "test MSE peaks near"),  # no peak: the smallest model is worst
    (None, {h: 10.0 * h for h in WIDTHS}, "1 / lambda_min^+ of the Hessian peaks"),  # curvature flattens with width
    (None, {**dict(zip(WIDTHS, (370, 208, 4.5e3, 4.2e3, 6.2e3, 3.4e4, 898, 448, 230, 133, 76, 67))), 2: 1e6},
     "the two peaks coincide"),
    (None, {**dict(zip(WIDTHS, (370, 208, 4.5e3, 4.2e3, 6.2e3, 3.4e4, 898, 448, 230, 133, 76, 67))), 96: 2e4},
     "past the threshold 1 / lambda_min^+ recovers"),
    ({**dict(zip(WIDTHS, (0.6, 1.0, 1.1, 1.5, 1.7, 2.8, 2.8, 2.7, 2.0, 1.6, 1.5, 1.3))), 96: 2.7}, None,
     "past the threshold the test MSE falls"),
])
def test_each_claim_fails_on_violating_results(test, inv, prefix):
    check_claims_fail(summarize(CFG, synthetic(test, inv)).claims, prefix)


def test_data_is_standardized_on_the_training_split():
    d = diabetes(60, 3)
    assert d.x_train.shape == (60, 10) and d.x_test.shape == (382, 10) and d.y_train.shape == (60, 1)
    assert np.allclose(d.x_train.mean(0), 0) and np.allclose(d.x_train.std(0), 1) and np.isclose(d.y_train.std(), 1)
    assert not np.allclose(d.x_test.mean(0), 0)  # test rows use the training statistics
    assert not np.array_equal(diabetes(60, 4).y_train, d.y_train)  # each seed draws its own rows


def test_config_checks():
    with pytest.raises(Exception, match="widths"):
        HessianDDConfig(widths=(8, 4, 16))


def test_smoke_rank_is_bounded_by_parameters_and_points(smoke):
    run_dir = smoke("hessian-double-descent")
    m = pd.read_csv(run_dir / "metrics.csv")
    rank = m[m.metric == "rank"]
    assert (rank.value <= np.minimum(rank.params, 60)).all()
    assert (rank[rank.width == 16].value == 60).all()  # P = 193 > N: J has full row rank
    assert (m[m.metric == "inv_lambda_min"].value > 0).all()
    assert summary_of(run_dir)["experiment"] == "hessian-double-descent"


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("hessian-double-descent", scale="quick", out=tmp_path / "hdd"))
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"]
                                                                      if c["verdict"] != "holds"]
