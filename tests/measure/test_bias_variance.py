"""Bias-variance decompositions: exact identities, mlxtend as an independent oracle on the
same replica predictions, and replicas trained by the population engine."""

import numpy as np
import pytest

from genlab.measure import bias_variance, bias_variance_01, bias_variance_replicas

mlxtend_evaluate = pytest.importorskip("mlxtend.evaluate")


class _Replay:
    """An sklearn-style estimator that replays stored replica predictions, one per fit."""

    def __init__(self, predictions):
        self.predictions, self.i = predictions, -1

    def fit(self, X, y):
        self.i += 1
        return self

    def predict(self, X):
        return self.predictions[self.i]


def _mlxtend(preds, y, loss):
    m, n = preds.shape
    X = np.zeros((n, 1))
    return mlxtend_evaluate.bias_variance_decomp(_Replay(preds), X, y, X, y, loss=loss, num_rounds=m, random_seed=0)


def test_squared_matches_mlxtend_on_same_replicas():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    preds = y + 0.3 + rng.normal(scale=0.5, size=(20, 50))
    r = bias_variance(preds, y)
    loss, bias, var = _mlxtend(preds, y, "mse")
    assert r.expected_error == pytest.approx(loss, rel=1e-12)
    assert r.bias2 == pytest.approx(bias, rel=1e-12)
    assert r.variance == pytest.approx(var, rel=1e-12)


def test_squared_with_noiseless_target_adds_up():
    rng = np.random.default_rng(1)
    f = np.sin(np.linspace(0, 3, 40))
    y = f + rng.normal(scale=0.2, size=40)
    preds = 0.8 * f + rng.normal(scale=0.1, size=(30, 40))
    r = bias_variance(preds, y, f_test=f, noise_var=0.04)
    assert r.expected_error == pytest.approx(r.bias2 + r.variance + r.noise, rel=1e-12)
    assert r.noise == pytest.approx(0.04)
    assert r.bias2 == pytest.approx(np.mean((0.2 * f) ** 2), abs=0.01)
    assert r.variance == pytest.approx(0.01, rel=0.2)
    # multi-output: per-point sums over outputs
    r2 = bias_variance(np.stack([preds, preds], -1), np.stack([y, y], -1))
    assert r2.expected_error == pytest.approx(2 * bias_variance(preds, y).expected_error)


def test_01_matches_mlxtend_terms_and_adds_up():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, size=200)
    flip = rng.random((25, 200)) < 0.35
    preds = np.where(flip, rng.integers(0, 4, size=(25, 200)), y)
    r = bias_variance_01(preds, y)
    loss, bias, var = _mlxtend(preds, y, "0-1_loss")
    assert r.expected_loss == pytest.approx(loss, rel=1e-12)
    assert r.bias == pytest.approx(bias, rel=1e-12)
    assert r.variance == pytest.approx(var, rel=1e-12)  # mlxtend's raw variance ...
    assert r.expected_loss == pytest.approx(r.bias + r.net_variance, rel=1e-12)  # ... ours adds up


def test_01_hand_example():
    # point 0: main 1 = y, one of 4 replicas disagrees -> loss .25 = variance .25
    # point 1: main 2 != y=0, replicas [2,2,0,1]: loss .75 = 1 - P(h=y|h!=main) V = 1 - .5*.5
    preds = np.array([[1, 2], [1, 2], [1, 0], [0, 1]])
    r = bias_variance_01(preds, np.array([1, 0]))
    assert r.expected_loss == pytest.approx(0.5)
    assert r.bias == pytest.approx(0.5)
    assert r.unbiased_variance == pytest.approx(0.125)
    assert r.biased_variance == pytest.approx(0.125)
    assert r.net_variance == pytest.approx(0.0)


def test_bad_inputs_fail_clearly():
    with pytest.raises(ValueError, match="'predictions' parameter of bias_variance_01"):
        bias_variance_01(np.array([[0.5, 1.0]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="'predictions' parameter of bias_variance"):
        bias_variance(np.zeros((3, 4)), np.zeros(5))


def test_replicas_trained_with_engine():
    from genlab.data import make_mnist1d
    from genlab.models import MLP
    from genlab.train import TrainConfig

    data = make_mnist1d(600, seed=0)
    cfg = TrainConfig(optimizer="adam", lr=1e-2, batch_size=100, n_steps=60, eval_every=60)
    make = lambda s: MLP(40, 10, width=16, seed=s)  # noqa: E731
    boot = bias_variance_replicas(make, data, cfg, n_replicas=4, replicas="bootstrap", seed=1)
    seeds = bias_variance_replicas(make, data, cfg, n_replicas=4, replicas="seeds", seed=1)
    for r in (boot, seeds):
        assert r.predictions.shape == (4, len(data.y_test))
        res = r.result
        assert res.expected_loss == pytest.approx(res.bias + res.net_variance)
        assert 0 < res.variance < 1 and res.bias < 0.9  # trained: better than chance
    sq = bias_variance_replicas(make, data, cfg, n_replicas=3, replicas="seeds", loss="squared")
    assert sq.predictions.shape == (3, len(data.y_test), 10)
    assert sq.result.expected_error == pytest.approx(sq.result.bias2 + sq.result.variance)
