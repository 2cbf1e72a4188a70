"""input-normalization: shifted noisy sine under plain SGD; each claim shown able to fail."""

import math

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail

from genlab.experiments import run_experiment
from genlab.experiments.practice._input_normalization import (
    NormalizationConfig,
    shifted_sine,
    standardize,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1)


def test_standardize_uses_the_training_sets_numbers():
    d = shifted_sine(3, dx=4.0, dy=-2.0)
    assert d.x_train.shape == (60, 1) and d.x_train.mean() == pytest.approx(4.0, abs=0.2)
    s, sy = standardize(d)
    assert s.x_train.mean() == pytest.approx(0, abs=1e-12) and s.x_train.std() == pytest.approx(1, rel=1e-12)
    assert s.y_train.mean() == pytest.approx(0, abs=1e-12) and sy == pytest.approx(d.y_train.std())
    np.testing.assert_allclose(s.x_val, (d.x_val - d.x_train.mean()) / d.x_train.std())  # train's numbers, not val's
    assert abs(s.x_val.mean()) > 1e-6


def test_smoke_run_large_target_shift_diverges_without_a_crash(smoke):
    run = smoke("input-normalization")
    m = pd.read_csv(run / "metrics.csv")
    div = m[m.metric == "diverged"]
    assert (div[(div.dy == 32) & ~div.standardized].value == 1).all()  # reported, not raised
    assert (div[(div.dy != 32) | div.standardized].value == 0).all()
    # Standardizing removes any shift exactly: dx = 4 and dy = 32, standardized, train the same net on the same data.
    std = m[m.standardized & (m.metric == "train_mse")].pivot_table(index=["seed", "step"], columns="dx", values="value")
    np.testing.assert_allclose(std[0.0], std[4.0], rtol=1e-4)


def _fake(final: dict, diverged: dict | None = None) -> list[TaskOutput]:
    """Synthetic metrics: a train-MSE curve ending at final[(dx, dy, standardized)] for every seed."""
    rows = []
    for (dx, dy, st), v in final.items():
        for s in SEEDS:
            key = {"dx": dx, "dy": dy, "standardized": st, "seed": s}
            rows += [{**key, "step": t, "metric": "train_mse", "value": 0.7 if t == 0 else v} for t in (0, 100)]
            rows.append({**key, "step": 100, "metric": "diverged", "value": float((diverged or {}).get((dx, dy, st), 0))})
    return [TaskOutput(rows)]


CFG = NormalizationConfig(seeds=SEEDS, x_shifts=(0.0, 4.0), y_shifts=(2.0, 32.0), n_steps=100)
GOOD = {(0.0, 0.0, False): 0.15, (4.0, 0.0, False): 0.6, (4.0, 0.0, True): 0.14, (0.0, 2.0, False): 0.15,
        (0.0, 32.0, False): math.nan, (0.0, 32.0, True): 0.14}


def test_claims_hold_on_the_lectures_picture():
    claims = summarize(CFG, _fake(GOOD, {(0.0, 32.0, False): 1})).claims
    assert all(c.verdict == "holds" for c in claims), [(c.name, c.values) for c in claims if c.verdict != "holds"]


def test_claims_fail_when_shifts_do_not_matter_and_standardizing_breaks():
    bad = {**GOOD, (4.0, 0.0, False): 0.15, (4.0, 0.0, True): 0.6, (0.0, 32.0, True): 0.6, (0.0, 2.0, False): 1.5,
           (0.0, 32.0, False): 0.15, (0.0, 0.0, False): 0.5}
    claims = summarize(CFG, _fake(bad)).claims
    for prefix in ("centred data converge", "shifting the inputs", "standardizing the inputs", "shifting the targets",
                   "standardizing the targets", "a small target shift"):
        check_claims_fail(claims, prefix)


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run = run_experiment("input-normalization", scale="quick", out=tmp_path / "input-normalization")
    claims = pd.read_json(run / "summary.json", typ="series")["claims"]
    assert len(claims) >= 6 and all(c["verdict"] == "holds" for c in claims), [c["name"] for c in claims if c["verdict"] != "holds"]
