"""overfitting-recipe: the smoke run's properties, claims that fail on violating metrics, quick scale."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab._checks import ParameterError
from genlab.experiments import run_experiment
from genlab.experiments.overfitting._overfitting_recipe import (
    RecipeConfig,
    broken,
    dev_split,
    first_batches,
    recipe_claims,
    steps_to_fit,
    threshold_width,
)


def test_smoke_broken_pipelines_and_one_batch(smoke):
    run_dir = smoke("overfitting-recipe")
    m = pd.read_csv(run_dir / "metrics.csv")
    one = m[(m.stage == "batches") & (m.n_batches == 1) & (m.split == "train")]
    for s in (0, 1):
        def c(condition, metric, s=s):
            return one[(one.seed == s) & (one.condition == condition) & (one.metric == metric)].set_index("step").value
        # lr = 0: the same initialization as the healthy run, and nothing moves (its loss stays at step 0's)
        assert np.allclose(c("lr = 0", "loss"), c("healthy", "loss").iloc[0], rtol=0, atol=1e-6)
        # zero inputs: a constant prediction, never better than the batch's most frequent class
        labels = first_batches(dev_split(s), 32).y_train
        assert (1 - c("zero inputs", "error")).max() <= np.bincount(labels).max() / 32 + 1e-6
        # the healthy lecture MLP memorizes its batch, and so it does with shuffled labels (both at 100 %)
        assert c("healthy", "error").iloc[-1] == 0 and c("shuffled labels", "error").iloc[-1] == 0
    cap = m[(m.stage == "capacity") & (m.metric == "loss") & (m.step == 0)]
    assert set(cap.split) == {"train", "dev", "test"}
    assert all(c["n_seeds"] == 2 for c in summary_of(run_dir)["claims"])


def test_first_batches_and_broken_pipelines():
    data = dev_split(0)
    assert (data.n_train, len(data.y_val)) == (3200, 800)
    b = first_batches(data, 64)
    assert np.array_equal(b.x_train, data.x_train[:64]) and np.array_equal(b.x_test, data.x_val) and b.x_val is None
    assert not broken(b, "zero inputs", 0).x_train.any()
    shuffled = broken(b, "shuffled labels", 0).y_train
    assert sorted(shuffled) == sorted(b.y_train) and (shuffled != b.y_train).mean() > 0.5
    assert broken(b, "lr = 0", 0) is b


def test_steps_to_fit_and_threshold():
    acc = pd.Series([0.1, 0.5, 1.0, 0.97, 1.0], index=[0, 10, 20, 30, 40])
    assert steps_to_fit(acc) == 20 and steps_to_fit(acc, 0.4) == 10 and steps_to_fit(acc * 0.9) == np.inf
    assert threshold_width([4, 8, 16, 32], [0.4, 0.98, 0.995, 1.0], 0.99) == 16
    assert np.isnan(threshold_width([4, 8], [0.4, 0.5], 0.99))


def test_config_checks():
    with pytest.raises(ParameterError, match="'batch_steps' parameter of overfitting-recipe"):
        RecipeConfig(n_batches=(1, 10), batch_steps=(10, 20, 30))
    with pytest.raises(ParameterError, match="'batch_size' parameter of overfitting-recipe"):
        RecipeConfig(batch_size=64)  # 100 batches of 64 > 3200 examples
    with pytest.raises(ParameterError, match="'widths' parameter of overfitting-recipe"):
        RecipeConfig(widths=(64, 32, 128))


# Synthetic metrics: a good recipe run, then variants that violate one claim each.
T = np.linspace(0.0, 1.0, 41)
E = np.exp(-5 * T)
CURVES = {  # (train loss, dev loss) whose diagnosis is known (tests/measure/test_curves.py)
    "C1": (0.9 + 1.4 * E, 1.25 + 1.05 * E),
    "C2": (0.3 + 2.0 * E, 1.3 + 1.0 * np.exp(-10 * T) + 0.6 * T**2),
    "C5": (2.3 * np.exp(-12 * T), 1.5 + 0.8 * np.exp(-12 * T)),
    "C6": (1.6 + 0.7 * np.exp(-20 * T), 1.65 + 0.7 * np.exp(-20 * T)),
}
WIDTHS = (4, 8, 16, 32)
CFG = RecipeConfig(seeds=(0, 1), n_batches=(1, 10), batch_steps=(50, 200), widths=WIDTHS)


def _synthetic(fit_steps=(20, 120), bug_acc=0.2, final_acc=(0.3, 0.6, 1.0, 1.0), cases=("C6", "C1", "C2", "C5")):
    rows = []
    for s in CFG.seeds:
        def add(stage, condition, k, w, steps, split, metric, values, s=s):
            rows.extend({"stage": stage, "condition": condition, "n_batches": k, "width": w, "seed": s, "step": int(t),
                         "split": split, "metric": metric, "value": float(v)} for t, v in zip(steps, values))
        for k, n, fit in zip(CFG.n_batches, CFG.batch_steps, fit_steps):
            steps = np.arange(0, n + 1, 10)
            add("batches", "healthy", k, 100, steps, "train", "error", np.where(steps >= fit, 0.0, 0.5))
            if k == 1:
                for condition in ("lr = 0", "zero inputs", "shuffled labels"):
                    acc = 1.0 if condition == "shuffled labels" else bug_acc
                    add("batches", condition, k, 100, steps, "train", "error", np.full(steps.size, 1 - acc))
                    add("batches", condition, k, 100, steps, "dev", "error", np.full(steps.size, 0.9))
        for w, acc, case in zip(WIDTHS, final_acc, cases):
            steps = 25 * np.arange(T.size)
            train, dev = CURVES[case]
            add("capacity", "healthy", 0, w, steps, "train", "loss", train)
            add("capacity", "healthy", 0, w, steps, "dev", "loss", dev)
            add("capacity", "healthy", 0, w, steps, "train", "error", np.linspace(0.9, 1 - acc, T.size))
    return pd.DataFrame(rows)


def _claims(metrics):
    return recipe_claims(CFG, metrics)[0]


def test_claims_hold_on_a_good_run():
    claims, _, headline = recipe_claims(CFG, _synthetic())
    assert all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims if not all(c.holds)]
    assert headline["threshold_width"] == {"0": 16.0, "1": 16.0} and headline["seed0/doubled"]["case"] == "C5"


def test_each_claim_fails_on_metrics_that_violate_it():
    check_claims_fail(_claims(_synthetic(fit_steps=(70, 120))), "1 batch(es) of 32 fitted")  # not within 50 steps
    check_claims_fail(_claims(_synthetic(fit_steps=(20, 1000))), "10 batch(es) of 32 fitted")
    check_claims_fail(_claims(_synthetic(fit_steps=(40, 40))), "the steps to fit grow")  # 10 batches as fast as 1
    check_claims_fail(_claims(_synthetic(bug_acc=1.0)), "bug check: a broken pipeline (lr = 0)")  # the bug fits
    check_claims_fail(_claims(_synthetic(bug_acc=1.0)), "bug check: a broken pipeline (zero inputs)")
    check_claims_fail(_claims(_synthetic(final_acc=(1.0, 1.0, 1.0, 1.0))), "an overfitting threshold")  # all fit
    check_claims_fail(_claims(_synthetic(final_acc=(0.3, 0.6, 0.7, 0.8))), "an overfitting threshold")  # none fits
    check_claims_fail(_claims(_synthetic(final_acc=(0.3, 0.6, 1.0, 0.9))), "at and above the threshold")
    check_claims_fail(_claims(_synthetic(cases=("C1", "C1", "C2", "C5"))), "curve diagnosis: the smallest width")
    check_claims_fail(_claims(_synthetic(cases=("C6", "C1", "C2", "C1"))), "curve diagnosis: the doubled threshold")
    # the doubled width is outside the sweep: nothing to diagnose, the claim fails
    check_claims_fail(_claims(_synthetic(final_acc=(0.3, 0.6, 0.7, 1.0))), "curve diagnosis: the doubled threshold")


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment("overfitting-recipe", scale="quick", out=tmp_path / "overfitting-recipe")
    for c in summary_of(run_dir)["claims"]:
        assert c["verdict"] == "holds", c
