"""rnn-temperature: the windows against the raw series, the baseline by hand, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.data import make_seattle_temperature
from genlab.experiments import run_experiment
from genlab.experiments.overfitting._rnn_temperature import (
    RNNTemperatureConfig,
    persistence_mse,
    summarize,
    windows,
)
from genlab.sweep import TaskOutput

NAME = "rnn-temperature"


def test_windows_are_the_series_and_the_baseline_is_yesterday():
    """Each window un-standardized is 14 consecutive days of the raw series and its target the next day;
    the baseline equals the mean squared day-to-day change of the test year, computed on the raw series."""
    d = make_seattle_temperature()
    x, y, xt, yt, sd = windows(14)
    mu = d.y_train.mean()
    np.testing.assert_allclose(x[5] * sd + mu, d.y_train[5:19], atol=1e-4)
    np.testing.assert_allclose(yt[3] * sd + mu, d.y_test[17], atol=1e-4)
    raw = np.diff(d.y_test[13:])  # the day before each target, to the target
    assert persistence_mse(xt, yt, sd) == pytest.approx(np.mean(raw**2), rel=1e-5)
    assert len(y) == len(d.y_train) - 14 and len(yt) == len(d.y_test) - 14


def test_smoke_run_members_differ_only_by_init(smoke):
    """At step 0 the inits differ (distinct initializations), and every member logs train and test MSE."""
    metrics = pd.read_csv(smoke(NAME) / "metrics.csv")
    start = metrics[(metrics.step == 0) & (metrics.split == "test")]
    for (h, s), g in start.groupby(["hidden", "seed"]):
        assert g.mse.nunique() == len(g) == 2, (h, s)
    assert set(metrics.split) == {"train", "test"} and (metrics.mse > 0).all()


def _synthetic(h100_train=1.0, h100_test=13.0, h1_train=9.5, h1_spread=1.3, seeds=(0, 1, 2)):
    rows = []
    for s in seeds:
        for k in range(3):
            for h, tr, te in ((100, h100_train, h100_test), (1, h1_train, h1_train * h1_spread ** (k - 1))):
                for split, v in (("train", tr), ("test", te)):
                    rows += [{"hidden": h, "seed": s, "init": k, "step": st, "split": split, "mse": v if st else 50.0}
                             for st in (0, 600)]
    return [TaskOutput(rows)]


CFG = RNNTemperatureConfig(seeds=(0, 1, 2))


def test_claims_hold_on_the_exercise_s_picture():
    assert all(all(c.holds) for c in summarize(CFG, _synthetic()).claims)


def test_claims_fail_on_violating_input():
    check_claims_fail(summarize(CFG, _synthetic(h100_test=2.0)).claims, "hidden size 100 overfits")
    check_claims_fail(summarize(CFG, _synthetic(h100_train=8.0, h100_test=30.0)).claims, "hidden size 100 fits")
    check_claims_fail(summarize(CFG, _synthetic(h1_train=3.0)).claims, "hidden size 1 underfits")
    check_claims_fail(summarize(CFG, _synthetic(h1_spread=1.0)).claims, "run-to-run variability")


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    claims = summary_of(run_experiment(NAME, scale="quick", out=tmp_path / NAME))["claims"]
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims]
