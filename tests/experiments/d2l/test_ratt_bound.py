"""ratt-bound: the bound's formula, the random-label draws, the derived clean error, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, claim

from genlab.experiments import run_experiment
from genlab.experiments.d2l._ratt_bound import (
    RattConfig,
    confidence_term,
    ratt_bound,
    ratt_data,
    summarize,
)
from genlab.sweep import TaskOutput

NAME = "ratt-bound"
SMOKE = {"n_clean": 300, "n_random": 600, "n_test": 200}


def test_bound_formula_by_hand():
    """Theorem 3's k-class bound written out for k = 10, n = 10000, m = 30000, delta = 0.1."""
    k, n, m, delta = 10, 10000, 30000, 0.1
    conf = (10 + 10**0.5 + 3 / 10**0.5) * (np.log(40) / 60000) ** 0.5
    assert confidence_term(n, m, k, delta) == pytest.approx(conf, rel=1e-12)
    assert conf == pytest.approx(0.1106, abs=1e-4)
    # nothing memorized: the random part errs on (k - 1) / k and the bound is the clean error + confidence term
    assert ratt_bound(0.2, 0.9, n, m, k, delta) == pytest.approx(0.2 + conf)
    # every memorized random label costs k times its share; fully memorized the bound is vacuous
    assert ratt_bound(0.2, 0.89, n, m, k, delta) == pytest.approx(0.2 + 0.1 + conf)
    assert ratt_bound(0.0, 0.0, n, m, k, delta) > 1
    # binary case, k = 2: 1 - 2 E_R as in the binary theorem
    assert ratt_bound(0.1, 0.5, n, m, 2, delta) == pytest.approx(0.1 + confidence_term(n, m, 2, delta))


def test_random_labels_are_uniform_and_the_splits_line_up():
    d = ratt_data(0, **SMOKE)
    n, m = SMOKE["n_clean"], SMOKE["n_random"]
    assert len(d.y_train) == n + m and len(d.y_test) == SMOKE["n_test"]
    np.testing.assert_array_equal(d.y_train[:n], d.y_train_clean[:n])  # the labelled part keeps its labels
    np.testing.assert_array_equal(d.x_val, d.x_train[:n])  # the engine's val split: the labelled part
    np.testing.assert_array_equal(d.y_val, d.y_train[:n])
    assert d.noise_mask.sum() == m and d.noise_mask[n:].all()
    y_random = d.y_train[n:]
    agree = (y_random == d.y_train_clean[n:]).mean()  # uniform over all k classes: ~1/k equal the truth
    assert abs(agree - 0.1) < 4 * np.sqrt(0.09 / m)
    counts = np.bincount(y_random, minlength=10)
    assert counts.min() > 0.5 * m / 10
    assert not np.array_equal(ratt_data(1, **SMOKE).y_train[n:], y_random)  # seeds draw anew
    assert not np.array_equal(ratt_data(1, **SMOKE).x_train, d.x_train)


def test_smoke_random_error_is_a_count_over_the_random_part(smoke):
    """The random part's error derived from the whole-set and labelled-part errors is a fraction of m (the
    counts add up), lies in [0, 1], and the bound is the formula of the stored curves."""
    metrics = pd.read_csv(smoke(NAME) / "metrics.csv")
    n, m = SMOKE["n_clean"], SMOKE["n_random"]
    for s in (0, 1):
        c = metrics[metrics.seed == s].pivot_table(index="step", columns="split", values="value")
        wrong_random = c["random"] * m
        np.testing.assert_allclose(wrong_random, np.round(wrong_random), atol=1e-3)
        assert ((c["random"] >= -1e-9) & (c["random"] <= 1 + 1e-9)).all()
        np.testing.assert_allclose(c["bound"], ratt_bound(c["clean"], c["random"], n, m, 10, 0.1), rtol=1e-9)
        assert (c["bound"] >= c["test"]).all()  # the theorem, at smoke scale too (the bound is loose there)


def _synthetic(memorize_at=3000, offset=0.0, random_floor=0.9, clean_speed=300, seeds=(0, 1, 2)) -> list[TaskOutput]:
    """Metrics rows as the tasks write them: clean error falls with ``clean_speed``; the random part stays
    at ``random_floor`` until ``memorize_at`` then falls (memorization); test follows clean + 5 points."""
    n, m = 20000, 30000
    rows = []
    for s in seeds:
        for st in range(0, 4001, 250):
            clean = 0.1 + 0.8 * np.exp(-st / clean_speed)
            rnd = random_floor - max(0, st - memorize_at) / 1000 * 0.3
            test = clean + 0.05 + max(0, st - memorize_at) / 1000 * 0.05 + offset
            allerr = (n * clean + m * rnd) / (n + m)
            for split, v in (("all", allerr), ("clean", clean), ("test", test)):
                rows.append(dict(seed=s, step=st, split=split, value=float(v)))
    return [TaskOutput(rows)]


CFG = RattConfig(seeds=(0, 1, 2))


def test_claims_hold_on_the_papers_picture():
    out = summarize(CFG, _synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims]


def test_claims_fail_on_violating_input():
    # a test error above the bound (e.g. the bound computed with the wrong sign or a missing factor k)
    check_claims_fail(summarize(CFG, _synthetic(offset=0.3)).claims, "the bound lies above the test error")
    # random labels memorized from the start: the bound is loose everywhere
    check_claims_fail(summarize(CFG, _synthetic(random_floor=0.8)).claims, "at the bound's minimum it is tight")
    # random labels memorized as fast as the clean ones are fitted: neither clean first nor early stopping
    check_claims_fail(summarize(CFG, _synthetic(memorize_at=0, clean_speed=3000)).claims, "clean examples fitted first")
    check_claims_fail(summarize(CFG, _synthetic(memorize_at=0, clean_speed=1500, random_floor=1.0)).claims,
                      "stopping at the bound's minimum")


def test_smoke_run_claims_are_evaluated_on_each_seed(smoke):
    c = claim(smoke(NAME), "the bound lies above the test error")
    assert c["seeds"] == [0, 1] and len(c["values"]) == 2 and c["verdict"] == "holds"


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    from experiment_helpers import summary_of

    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    claims = summary_of(run_dir)["claims"]
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims]
