"""nonparametric: 1-NN training error exactly 0, the shift distance against a plain loop, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, claim, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.d2l._nonparametric import (
    DATASETS,
    DISTANCES,
    NonparametricConfig,
    datasets,
    knn_errors,
    shift_distances,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1, 2)
KS = (1, 5)
# test error (%) at k = 1 in the lecture's picture: the shift distance wins on MNIST-1D, loses when shuffled
GOOD = {("mnist1d", "euclidean"): 43, ("mnist1d", "manhattan"): 45, ("mnist1d", "cosine"): 48, ("mnist1d", "shift"): 33,
        ("shuffled", "euclidean"): 43, ("shuffled", "manhattan"): 45, ("shuffled", "cosine"): 48, ("shuffled", "shift"): 60}


def synthetic(test=None, train_k1=0.0):
    table = {**GOOD, **(test or {})}
    rows = []
    for s in SEEDS:
        for (d, dist), e in table.items():
            for k in KS:
                rows.append({"seed": s, "dataset": d, "distance": dist, "k": k, "metric": "test_error", "value": e / 100})
                rows.append({"seed": s, "dataset": d, "distance": dist, "k": k, "metric": "train_error",
                             "value": (train_k1 if (d, dist) == ("mnist1d", "cosine") else 0.0) if k == 1 else 0.2})
    return [TaskOutput(rows)]


CFG = NonparametricConfig(seeds=SEEDS, ks=KS)


def test_claims_hold_on_the_lectures_picture():
    out = summarize(CFG, synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims if not all(c.holds)]


@pytest.mark.parametrize("test, train_k1, prefix", [
    (None, 0.01, "1-NN training error"),
    ({("mnist1d", "shift"): 44}, 0.0, "on MNIST-1D the shift distance beats"),
    ({("shuffled", "shift"): 33}, 0.0, "on shuffled MNIST-1D the shift distance's advantage is gone"),
])
def test_each_claim_fails_on_violating_results(test, train_k1, prefix):
    check_claims_fail(summarize(CFG, synthetic(test, train_k1)).claims, prefix)


def test_shift_distance_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 12)), rng.standard_normal((7, 12))
    loop = np.array([[min(np.linalg.norm(x - np.roll(y, s)) for s in range(12)) for y in b] for x in a])
    assert np.allclose(shift_distances(a, b), loop)
    assert np.allclose(shift_distances(b, np.roll(b, 5, axis=1)).diagonal(), 0.0, atol=1e-6)  # shift-invariant


def test_fixed_permutation_leaves_plain_distances_unchanged():
    data = datasets(300, 100, 0)
    for dist in ("euclidean", "manhattan", "cosine"):  # a fixed permutation of coordinates is invisible to them
        assert knn_errors(data["mnist1d"], dist, (1, 3), 50) == knn_errors(data["shuffled"], dist, (1, 3), 50)
    assert knn_errors(data["mnist1d"], "shift", (1,), 50) != knn_errors(data["shuffled"], "shift", (1,), 50)


def test_smoke_one_nn_training_error_is_exactly_zero(smoke):
    run_dir = smoke("nonparametric")
    m = pd.read_csv(run_dir / "metrics.csv")
    k1 = m[(m.metric == "train_error") & (m.k == 1)]
    assert len(k1) == 2 * len(DATASETS) * len(DISTANCES) and (k1.value == 0.0).all()
    assert (m[(m.metric == "train_error") & (m.k == 5)].value > 0).any()  # k > 1 no longer memorizes
    assert claim(run_dir, "1-NN training error")["verdict"] == "holds"
    assert summary_of(run_dir)["experiment"] == "nonparametric"


@pytest.mark.slow
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("nonparametric", scale="quick", out=tmp_path / "nonparametric"))
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"] if c["verdict"] != "holds"]
