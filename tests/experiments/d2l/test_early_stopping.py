"""early-stopping: the patience rule replayed by hand, the noise draws, and claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, claim

from genlab.experiments import run_experiment
from genlab.experiments.d2l._early_stopping import (
    EarlyStoppingConfig,
    noisy_splits,
    probe_of,
    summarize,
)
from genlab.sweep import TaskOutput

NAME = "early-stopping"


def _curve(metrics, noise, seed, role, split, metric):
    m = metrics[(metrics.noise == noise) & (metrics.seed == seed) & (metrics.role == role) & (metrics.split == split)
                & (metrics.metric == metric)]
    return m.set_index("step").value.sort_index()


def patience_replay(val_error: pd.Series, patience: int, n_steps: int) -> tuple[int, int]:
    """(stop step, best step) of the patience rule, written as a plain loop over the logged curve."""
    best, since, best_step = np.inf, 0, 0
    for step, v in val_error.items():
        if v < best:
            best, since, best_step = v, 0, step
        else:
            since += 1
            if since >= patience:
                return int(step), int(best_step)
    return n_steps, int(best_step)


def test_stopping_is_the_patience_rule_on_the_full_runs_curve(smoke):
    """The engine's stopped member follows the full member's trajectory (same init, same batches) and
    stops where a hand-written patience loop over the full member's validation curve stops; its
    restored test error is the full member's test error at that best step."""
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    cfg = EarlyStoppingConfig(**{k: v for k, v in {"width": 32, "n_steps": 60, "eval_every": 6, "patience": 3,
                                                  "n_train": 500, "seeds": (0, 1)}.items()})
    for p in cfg.noise_levels:
        for s in cfg.seeds:
            full_val = _curve(metrics, p, s, "full", "val", "error")
            stop, best = patience_replay(full_val, cfg.patience, cfg.n_steps)
            assert _curve(metrics, p, s, "stopped", "train", "stopped_step").iloc[0] == stop
            restored = _curve(metrics, p, s, "stopped", "test", "restored_error")
            assert restored.index[0] == best
            assert restored.iloc[0] == _curve(metrics, p, s, "full", "test", "error")[best]
            stopped_val = _curve(metrics, p, s, "stopped", "val", "error")
            np.testing.assert_array_equal(stopped_val.to_numpy(), full_val[stopped_val.index].to_numpy())


def test_probe_trains_like_the_full_member(smoke):
    """The probe member only evaluates elsewhere: its training loss is the full member's."""
    metrics = pd.read_csv(smoke(NAME) / "metrics.csv")
    for p in (0.15, 0.3):
        for s in (0, 1):
            a = _curve(metrics, p, s, "probe", "train", "loss")
            b = _curve(metrics, p, s, "full", "train", "loss")
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-4)
    assert not (metrics.role == "probe").loc[metrics.noise == 0.0].any()  # nothing mislabelled to probe


def test_noise_draws():
    """Training and validation labels: about the noise fraction wrong (binomial bounds), every chosen label
    wrong, test labels clean; different seeds draw different noise."""
    p = 0.3
    a, b = noisy_splits(p, 0), noisy_splits(p, 1)
    clean = a.y_train_clean
    wrong = a.y_train != clean
    np.testing.assert_array_equal(wrong, a.noise_mask)  # mode 'different': every chosen label changes
    n = len(clean)
    assert abs(wrong.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    val_clean = noisy_splits(0.0, 0).y_val
    val_wrong = (a.y_val != val_clean).mean()
    assert abs(val_wrong - p) < 4 * np.sqrt(p * (1 - p) / len(val_clean))
    assert len(a.y_train) == 3200 and len(a.y_val) == 800 and len(a.y_test) == 1000
    assert not np.array_equal(a.noise_mask, b.noise_mask)
    probe = probe_of(a)
    assert len(probe.y_val) + len(probe.y_test) == n and (probe.y_test != clean[a.noise_mask]).all()


def _synthetic(gain30=6.0, gain0=0.0, mislabelled_delay=4.0, memorized=1.0, seeds=(0, 1, 2)) -> list[TaskOutput]:
    """Metrics rows as the tasks write them, with chosen gains and fitting speeds."""
    rows = []
    steps = np.arange(0, 2001, 32)
    for p, gain in ((0.0, gain0), (0.15, gain30 / 2), (0.3, gain30)):
        for s in seeds:
            end = 0.45 + p / 3
            for st in steps:
                rows.append(dict(noise=p, seed=s, role="full", step=int(st), split="test", metric="error", value=end))
                rows.append(dict(noise=p, seed=s, role="full", step=int(st), split="val", metric="error", value=end))
            rows.append(dict(noise=p, seed=s, role="stopped", step=320, split="test", metric="restored_error",
                             value=end - gain / 100))
            rows.append(dict(noise=p, seed=s, role="stopped", step=640, split="train", metric="stopped_step", value=640))
            if p > 0:
                clean_fit = 1 - np.exp(-steps / 150)
                wrong_fit = memorized * (1 - np.exp(-steps / (150 * mislabelled_delay)))
                for st, c, w in zip(steps, clean_fit, wrong_fit):
                    rows.append(dict(noise=p, seed=s, role="probe", step=int(st), split="clean", metric="error", value=1 - c))
                    rows.append(dict(noise=p, seed=s, role="probe", step=int(st), split="mislabelled", metric="error",
                                     value=1 - w))
    return [TaskOutput(rows)]


CFG = EarlyStoppingConfig(seeds=(0, 1, 2))


def test_claims_hold_on_the_lecture_s_picture():
    assert all(all(c.holds) for c in summarize(CFG, _synthetic()).claims)


def test_claims_fail_on_violating_input():
    check_claims_fail(summarize(CFG, _synthetic(gain30=0.5)).claims, "with 30 % label noise early stopping gains")
    check_claims_fail(summarize(CFG, _synthetic(gain30=0.5)).claims, "the gain grows with the noise")
    check_claims_fail(summarize(CFG, _synthetic(gain0=4.0)).claims, "without label noise")
    check_claims_fail(summarize(CFG, _synthetic(mislabelled_delay=1.0)).claims, "30 % noise: clean examples fitted first")
    check_claims_fail(summarize(CFG, _synthetic(mislabelled_delay=1.0)).claims, "15 % noise: clean examples fitted first")
    check_claims_fail(summarize(CFG, _synthetic(memorized=0.5)).claims, "30 % noise: trained to the end")


def test_smoke_run_claims_are_evaluated_on_each_seed(smoke):
    c = claim(smoke(NAME), "without label noise")
    assert c["seeds"] == [0, 1] and len(c["values"]) == 2


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    from experiment_helpers import summary_of

    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    claims = summary_of(run_dir)["claims"]
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims]
