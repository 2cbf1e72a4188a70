"""hyperparameter-selection: selection optimism measured, expected, and claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.measuring._hyperparameter_selection import (
    HyperparameterConfig,
    expected_optimism,
    mistake_noise,
    random_search,
    selection_claims,
    selection_optimism,
    subset_sizes,
)


def _plain_loop_optimism(test_err, fresh_err, subsets):
    """The oracle: one test set and one subset at a time."""
    out = []
    for t in range(test_err.shape[1]):
        blind = np.mean(fresh_err - test_err[:, t])
        vals = []
        for s in subsets:
            best = min(s, key=lambda i: (test_err[i, t], list(s).index(i)))  # first of the ties, in the subset's order
            vals.append(fresh_err[best] - test_err[best, t] - blind)
        out.append(np.mean(vals))
    return np.array(out)


def test_selection_optimism_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    test_err = rng.integers(0, 20, (12, 5)) / 20  # ties on purpose
    fresh = rng.uniform(0.3, 0.5, 12)
    subsets = np.argsort(rng.random((30, 12)), axis=1)[:, :4]
    np.testing.assert_allclose(selection_optimism(test_err, fresh, subsets), _plain_loop_optimism(test_err, fresh, subsets))


def test_optimism_of_equal_configurations_is_the_expected_minimum_of_noise():
    # m equal configurations with independent noise of std sigma: E[optimism] = sigma * E[max of m N(0, 1)].
    rng = np.random.default_rng(1)
    m, n_sims = 8, 40_000
    mistakes = rng.random((m, 4000)) < 0.4  # independent mistakes, p ~ 0.4
    noise = mistake_noise(mistakes.astype(float), n_sims, rng) / np.sqrt(100)
    orders = np.argsort(rng.random((n_sims, m)), axis=1)
    p = mistakes.mean(1)
    sigma = np.sqrt(np.mean(p * (1 - p)) / 100)
    mean, se = expected_optimism(np.full(m, 0.4), noise, orders[:, :m])
    e_max8 = 1.4236  # expected maximum of 8 standard normals
    assert mean == pytest.approx(sigma * e_max8, rel=0.03)
    assert se < 0.01 * mean
    one, _ = expected_optimism(np.full(m, 0.4), noise, orders[:, :1])
    assert abs(one) < 4 * sigma / np.sqrt(n_sims)  # a blind pick: 0


def test_shared_mistakes_shrink_the_expected_optimism():
    rng = np.random.default_rng(2)
    base = rng.random(4000) < 0.4
    flips = rng.random((16, 4000)) < 0.1
    mistakes = (base ^ flips).astype(float)  # 16 configurations that mostly err on the same examples
    orders = np.argsort(rng.random((20_000, 16)), axis=1)[:, :16]
    p = mistakes.mean(1)
    shared, _ = expected_optimism(p, mistake_noise(mistakes, 20_000, rng) / 10, orders)
    alone, _ = expected_optimism(p, mistake_noise(mistakes, 20_000, rng, independent=True) / 10, orders)
    rho = np.corrcoef(mistakes)[np.triu_indices(16, 1)].mean()  # ~0.64
    # equicorrelated noise: only the part sqrt(1 - rho) that is not common to all moves the pick
    assert shared == pytest.approx(alone * np.sqrt(1 - rho), rel=0.05) and shared < 0.7 * alone


def test_random_search_and_subset_sizes():
    a = random_search(100, (16, 32), (1e-3, 1e-2), (1e-5, 1e-3), seed=4)
    assert a == random_search(100, (16, 32), (1e-3, 1e-2), (1e-5, 1e-3), seed=4)
    assert {c["width"] for c in a} == {16, 32}
    assert all(1e-3 <= c["lr"] <= 1e-2 and 1e-5 <= c["weight_decay"] <= 1e-3 for c in a)
    assert subset_sizes(128) == [1, 2, 4, 8, 16, 32, 64, 128] and subset_sizes(6) == [1, 2, 4, 6]


def test_smoke_run_properties(smoke):
    run = smoke("hyperparameter-selection")
    m = pd.read_csv(run / "metrics.csv")
    configs = m[m.part == "configs"]
    assert configs.config.nunique() == 8 and set(configs.width.dropna()) <= {8, 16}
    o = m[(m.part == "optimism") & (m.metric == "measured")]
    for seed in (0, 1):  # the pick among all 8 on test sets of 50 flatters more than a blind pick (k = 1)
        t = o[(o.seed == seed) & (o.n_test == 50)].set_index("k").value
        assert t.loc[8] > 0.005 and t.loc[8] > t.loc[1]
    e = m[(m.part == "optimism") & (m.metric == "expected")].groupby("k").value.mean()
    assert e.loc[8] > e.loc[2] > abs(e.loc[1])  # the expected optimism grows with k
    s = summary_of(run)
    assert s["section"] == "Choosing hyperparameters" and len(s["claims"]) == 5


def _synthetic(measured, expected=None, se=0.002, val_z=0.3, seeds=(0, 1, 2)):
    """Metrics rows from a curve ``measured(k, n)`` (error fraction) for every seed."""
    rows = []
    for s in seeds:
        for n in (25, 50, 100, 200, 400):
            for k in subset_sizes(128):
                v = measured(k, n)
                ev = v if expected is None else expected(k, n)
                for metric, value in (("measured", v), ("measured_se", se), ("expected", ev), ("expected_se", se / 10)):
                    rows.append({"part": "optimism", "seed": s, "k": k, "n_test": n, "metric": metric, "value": value})
        rows.append({"part": "optimism", "seed": s, "k": 1, "n_test": 4000, "metric": "val_pick_gap_z", "value": val_z})
    return pd.DataFrame(rows)


def _honest(k, n):  # optimism ~ sigma * sqrt(2 log k) with sigma ~ 0.5 / sqrt(n)
    return 0.5 / np.sqrt(n) * np.sqrt(2 * np.log(k)) * 0.6


def test_claims_hold_on_a_textbook_curve_and_fail_on_violations():
    seeds = (0, 1, 2)
    good = selection_claims(_synthetic(_honest), seeds)
    assert all(all(c.holds) for c in good), [(c.name, c.values) for c in good]
    check_claims_fail(selection_claims(_synthetic(lambda k, n: -_honest(k, n)), seeds), "choosing on a test set of 100 flatters")
    flat = selection_claims(_synthetic(lambda k, n: _honest(min(k, 8), n)), seeds)  # stops growing after k = 8
    check_claims_fail(flat, "the optimism grows with the number")
    check_claims_fail(selection_claims(_synthetic(lambda k, n: _honest(k, 100)), seeds), "the optimism shrinks")
    off = selection_claims(_synthetic(_honest, expected=lambda k, n: 1.6 * _honest(k, n)), seeds)  # independent-binomial
    check_claims_fail(off, "measured optimism = expected")
    check_claims_fail(selection_claims(_synthetic(_honest, val_z=-6.0), seeds), "the validation pick is honest")


def test_config_refuses_bad_values():
    from genlab._checks import ParameterError

    with pytest.raises(ParameterError, match="'test_sizes' parameter of hyperparameter-selection"):
        HyperparameterConfig(test_sizes=(50, 200))  # no 100
    with pytest.raises(ParameterError, match="'test_sizes' parameter"):
        HyperparameterConfig(test_sizes=(100, 5000))  # above n_pool
    with pytest.raises(ParameterError, match="'lr_range' parameter"):
        HyperparameterConfig(lr_range=(1e-3,))


@pytest.mark.slow
def test_quick_scale_shows_growing_optimism_and_every_claim_holds(tmp_path):
    run = run_experiment("hyperparameter-selection", scale="quick", out=tmp_path / "hs")
    s = summary_of(run)
    for c in s["claims"]:
        assert c["verdict"] == "holds", (c["name"], c["values"])
    m = pd.read_csv(run / "metrics.csv")
    o = m[(m.part == "optimism") & (m.metric == "measured") & (m.n_test == 100)]
    for _, t in o.groupby("seed"):
        curve = t.set_index("k").value.sort_index()
        assert curve.iloc[-1] > 0.02 and (np.diff(curve.to_numpy()) > 0).all()
