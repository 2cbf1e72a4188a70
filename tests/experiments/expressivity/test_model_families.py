"""model-families: the data generator against its own definition, fits that must interpolate, claims that fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.expressivity._model_families import (
    ModelFamiliesConfig,
    draw,
    gold,
    noise_std,
    summarize,
)
from genlab.sweep import TaskOutput

NAME = "model-families"


def test_noise_is_heteroscedastic_as_declared():
    """Residuals around the noiseless function: mean 0, variance noise_std(x)^2 on each side (chi-square bounds)."""
    x, y = draw(40000, 7)
    r = y - gold(x)
    assert abs(r.mean()) < 4 * np.sqrt(np.mean(noise_std(x) ** 2) / x.size)
    for lo, hi in ((-1.0, -0.5), (0.5, 1.0)):
        keep = (x >= lo) & (x < hi)
        ratio = np.mean(r[keep] ** 2) / np.mean(noise_std(x[keep]) ** 2)
        assert abs(ratio - 1) < 4 * np.sqrt(2 / keep.sum())
    assert noise_std(np.array([1.0]))[0] / noise_std(np.array([-1.0]))[0] == pytest.approx(11.0)


def test_smoke_run_fits(smoke):
    """The deepest tree (max_depth 60: no tree on 60 distinct points is deeper than 59) interpolates the training set; the least-squares
    polynomials are nested, so the training error never rises with the degree; every fit of every
    family scores test = excess + noise variance within the finite-draw error."""
    metrics = pd.read_csv(smoke(NAME) / "metrics.csv")
    deep = metrics[(metrics.family == "tree") & (metrics.capacity == 60)]
    assert (deep.train_mse < 1e-20).all()
    for _, g in metrics[metrics.family == "polynomial"].groupby("seed"):
        tr = g.sort_values("capacity").train_mse.to_numpy()
        assert np.all(np.diff(tr) <= 1e-12)
    assert set(metrics.family) == {"tree", "polynomial", "mlp"}
    assert summary_of(smoke(NAME))["claims"][-1]["verdict"] == "holds"  # the decomposition


def _synthetic(mlp_growth=1.0, tree_growth=4.0, poly_growth=20.0, noise_gap=0.0, seeds=(0, 1, 2)):
    """Rows as the tasks write them: excess error falling to a minimum, then rising by ``*_growth``."""
    rows = []
    for fam, caps, growth in (("tree", range(1, 13), tree_growth), ("polynomial", range(0, 16), poly_growth),
                              ("mlp", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], mlp_growth)):
        caps = list(caps)
        for s in seeds:
            for i, c in enumerate(caps):
                t = i / (len(caps) - 1)
                excess = 0.02 * (1 + 20 * (0.3 - t) ** 2 if t < 0.3 else 1 + (growth - 1) * (t - 0.3) / 0.7)
                rows.append({"family": fam, "capacity": c, "seed": s, "train_mse": 0.1 * (1 - t), "excess_mse": excess,
                             "noise_var": 0.1, "test_mse": excess + 0.1 + noise_gap})
    return [TaskOutput(rows)]


CFG = ModelFamiliesConfig(seeds=(0, 1, 2))


def test_claims_hold_on_the_lecture_s_picture():
    assert all(all(c.holds) for c in summarize(CFG, _synthetic()).claims)


def test_claims_fail_on_violating_input():
    check_claims_fail(summarize(CFG, _synthetic(tree_growth=1.2)).claims, "decision tree")
    check_claims_fail(summarize(CFG, _synthetic(poly_growth=1.2)).claims, "polynomial")
    check_claims_fail(summarize(CFG, _synthetic(mlp_growth=5.0)).claims, "the widest MLP")
    check_claims_fail(summarize(CFG, _synthetic(noise_gap=0.05)).claims, "noisy test error = excess error")


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    claims = summary_of(run_experiment(NAME, scale="quick", out=tmp_path / NAME))["claims"]
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims]
