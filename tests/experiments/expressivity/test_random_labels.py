"""random-labels: every version of MNIST-1D is fitted; the claims fail on curves that contradict Zhang et al."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, claim, summary_of

from genlab.experiments import get_experiment, run_experiment
from genlab.experiments.expressivity._random_labels import (
    RandomLabelsConfig,
    conditions,
    make_variant,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1, 2)
# What Zhang et al. report, as (final test accuracy, step where train accuracy reaches 100 %).
GOOD = {"true": (45, 700), "random_labels": (10, 1000), "shuffled_features": (44, 700), "random_features": (22, 600),
        "gaussian_inputs": (10, 550), "corrupt_0.25": (35, 850), "corrupt_0.5": (25, 900), "corrupt_0.75": (15, 950)}


def synthetic(changes=None, final_train=None):
    """Task outputs whose curves follow GOOD, with some conditions changed."""
    table = {**GOOD, **(changes or {})}
    rows = []
    for c, (test, fit) in table.items():
        for s in SEEDS:
            for step in range(0, 1501, 50):
                train = min(1.0, 0.1 + 0.9 * step / fit)
                if final_train and c in final_train and step == 1500:
                    train = final_train[c]
                rows += [{"condition": c, "seed": s, "step": step, "metric": "train_accuracy", "value": train},
                         {"condition": c, "seed": s, "step": step, "metric": "test_accuracy", "value": test / 100}]
    return [TaskOutput(rows, {"n_parameters": 23_000})]


CFG = RandomLabelsConfig(seeds=SEEDS, corruptions=(0.25, 0.5, 0.75))


def test_claims_hold_on_zhang_like_curves():
    out = summarize(CFG, synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims if not all(c.holds)]


@pytest.mark.parametrize("changes, final_train, prefix", [
    (None, {"random_labels": 0.95}, "every version fitted"),
    ({"random_labels": (40, 1000)}, None, "random labels: test accuracy at chance"),
    ({"gaussian_inputs": (30, 550)}, None, "Gaussian inputs: test accuracy at chance"),
    ({"random_labels": (40, 1000)}, None, "true labels minus random labels"),
    ({"shuffled_features": (22, 700)}, None, "shuffled features (one permutation) minus true"),
    ({"random_features": (45, 600)}, None, "random features lie between"),
    ({"random_labels": (10, 500)}, None, "random labels take longer to fit"),
    ({"corrupt_0.25": (12, 850), "corrupt_0.75": (40, 950)}, None, "test error grows with label corruption"),
    ({"corrupt_0.25": (35, 1000), "corrupt_0.5": (25, 750)}, None, "time to fit grows with label corruption"),
])
def test_each_claim_fails_on_violating_curves(changes, final_train, prefix):
    check_claims_fail(summarize(CFG, synthetic(changes, final_train)).claims, prefix)


def test_variants_are_what_they_say():
    true = make_variant("true", 200, 100, 0)
    rand = make_variant("random_labels", 200, 100, 0)
    shuf = make_variant("shuffled_features", 200, 100, 0)
    perm = make_variant("random_features", 200, 100, 0)
    half = make_variant("corrupt_0.5", 200, 100, 0)
    assert np.array_equal(rand.x_train, true.x_train) and np.array_equal(rand.y_test, true.y_test)
    assert 0.8 < (rand.y_train != true.y_train).mean() < 0.98  # uniform over all classes: ~90 % change
    assert 0.3 < (half.y_train != true.y_train).mean() < 0.6  # p = 0.5 redrawn: ~45 % change
    # one permutation for every example and both splits: the same column order everywhere
    cols = [np.flatnonzero(np.isclose(shuf.x_train[0], v))[0] for v in true.x_train[0]]
    assert np.allclose(shuf.x_train[:, cols], true.x_train) and np.allclose(shuf.x_test[:, cols], true.x_test)
    # a permutation per example: same sorted values, different orders
    assert np.allclose(np.sort(perm.x_train, 1), np.sort(true.x_train, 1))
    assert not np.allclose(perm.x_train[:, cols], true.x_train)
    assert conditions(CFG)[:5] == ["true", "random_labels", "shuffled_features", "random_features", "gaussian_inputs"]


def test_smoke_fits_random_labels_and_every_version(smoke):
    run_dir = smoke("random-labels")
    metrics = pd.read_csv(run_dir / "metrics.csv")
    train = metrics[metrics.metric == "train_accuracy"]
    last = train[train.step == train.step.max()]
    assert set(last.condition) == {"true", "random_labels", "shuffled_features", "random_features", "gaussian_inputs",
                                   "corrupt_0.5"}
    assert (last.value == 1.0).all(), last[last.value < 1]  # every label memorized, random ones included
    assert claim(run_dir, "every version fitted")["verdict"] == "holds"
    start = train[train.step == 0]
    assert (start.value < 0.3).all()  # fitted by training, not at initialization
    assert summary_of(run_dir)["experiment"] == "random-labels"


@pytest.mark.slow
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment("random-labels", scale="quick", out=tmp_path / "random-labels")
    summary = summary_of(run_dir)
    assert len(summary["claims"]) >= 8
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"] if c["verdict"] != "holds"]
    assert get_experiment("random-labels").n_seeds["quick"] >= 3
