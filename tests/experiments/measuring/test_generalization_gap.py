"""generalization-gap: UDL Fig 8.2's lecture MLP, seeds as population members, claims that can fail."""

import json

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.measuring._generalization_gap import GeneralizationGapConfig, claims_of


@pytest.fixture(scope="module")
def run_dir(smoke):
    return smoke("generalization-gap")


def test_smoke_training_reduces_the_error_of_every_seed(run_dir):
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert sorted(metrics.seed.unique()) == [0, 1]
    curves = {}
    for seed in (0, 1):
        train = metrics[(metrics.seed == seed) & (metrics.split == "train") & (metrics.metric == "error")]
        curve = train.set_index("step").value.sort_index()
        assert curve.iloc[0] > 0.8 and curve.iloc[-1] < curve.iloc[0] - 0.2  # from chance (90 %) down
        curves[seed] = curve.to_numpy()
    assert not np.array_equal(curves[0], curves[1])  # independent initializations and batch orders
    index = json.loads((run_dir / "models" / "index.json").read_text())
    assert set(index) == {"seed-0", "seed-1"}


def _cfg():
    return GeneralizationGapConfig(seeds=(0, 1))


def _synthetic(train_end=0.0, test_end=0.38, loss_min=1.25, loss_end=2.2, min_step=2000):
    """Curves of two seeds shaped like Fig 8.2 (every 200 steps up to 6000)."""
    rows = []
    steps = np.arange(0, 6001, 200)
    for seed in (0, 1):
        for step in steps:
            t = step / 6000
            loss = loss_min + (2.3 - loss_min) * (1 - step / min_step) ** 2 if step <= min_step else \
                loss_min + (loss_end - loss_min) * (step - min_step) / (6000 - min_step)
            for split, metric, value in (("train", "error", 0.9 + (train_end - 0.9) * t),
                                         ("test", "error", 0.9 + (test_end - 0.9) * min(1.0, 3 * t)),
                                         ("train", "loss", 2.3 * (1 - t) + 0.03), ("test", "loss", loss)):
                rows.append({"member": seed, "seed": seed, "step": int(step), "split": split, "metric": metric, "value": value})
    return pd.DataFrame(rows)


def test_synthetic_curves_like_fig_8_2_pass():
    assert all(all(c.holds) for c in claims_of(_cfg(), _synthetic()))


@pytest.mark.parametrize("prefix, violation", [
    ("final training error", {"train_end": 0.05}),  # not memorised
    ("final test error", {"test_end": 0.2}),  # a model that generalises
    ("generalization gap", {"test_end": 0.2}),
    ("step of the test-loss minimum", {"min_step": 5000}),
    ("minimum test loss", {"loss_min": 0.5, "loss_end": 0.8}),
    ("final / minimum test loss", {"loss_end": 1.25}),  # the test loss does not rise
])
def test_each_claim_fails_on_violating_curves(prefix, violation):
    check_claims_fail(claims_of(_cfg(), _synthetic(**violation)), prefix)


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("generalization-gap", scale="quick", out=tmp_path / "gg"))
    assert len(summary["seeds"]) >= 3 and len(summary["claims"]) == 6
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [(c["name"], c["values"]) for c in summary["claims"]]
