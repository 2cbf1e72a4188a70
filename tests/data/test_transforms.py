"""Dataset transforms: statistics within binomial bounds, invariants, errors."""

import numpy as np
import pytest

from genlab._checks import ParameterError
from genlab.data import (
    make_mnist1d,
    make_modular,
    subsample_train,
    train_val_split,
    with_gaussian_inputs,
    with_label_noise,
    with_random_features,
    with_random_labels,
    with_shuffled_features,
)


@pytest.fixture(scope="module")
def data():
    return make_mnist1d(5000, seed=0)


def binomial_band(n, p, z=5.0):
    sd = np.sqrt(n * p * (1 - p))
    return n * p - z * sd, n * p + z * sd


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resample_noise_fraction_within_binomial_bound(data, seed):
    noisy = with_label_noise(data, 0.15, seed=seed)
    n = data.n_train
    lo, hi = binomial_band(n, 0.15)
    assert lo <= noisy.noise_mask.sum() <= hi
    # Resampled uniformly: a chosen label keeps its value with probability 1/10.
    changed = (noisy.y_train != data.y_train).sum()
    lo, hi = binomial_band(n, 0.15 * 0.9)
    assert lo <= changed <= hi
    np.testing.assert_array_equal(noisy.y_train_clean, data.y_train)
    np.testing.assert_array_equal(noisy.y_train[~noisy.noise_mask], data.y_train[~noisy.noise_mask])
    np.testing.assert_array_equal(noisy.y_test, data.y_test)


def test_forced_noise_always_changes_the_label(data):
    noisy = with_label_noise(data, 0.3, mode="different", seed=4)
    assert np.all(noisy.y_train[noisy.noise_mask] != data.y_train[noisy.noise_mask])
    lo, hi = binomial_band(data.n_train, 0.3)
    assert lo <= (noisy.y_train != data.y_train).sum() <= hi


def test_random_labels_are_uniform_and_independent(data):
    rnd = with_random_labels(data, seed=0)
    counts = np.bincount(rnd.y_train, minlength=10)
    lo, hi = binomial_band(data.n_train, 0.1)
    assert np.all((counts >= lo) & (counts <= hi))
    agree = (rnd.y_train == data.y_train).mean()
    assert abs(agree - 0.1) < 0.03


def test_shuffled_features_one_permutation(data):
    sh = with_shuffled_features(data, seed=3)
    # Recover the permutation from one sample; it must explain every sample, train and test.
    perm = np.array([np.flatnonzero(data.x_train[0] == v)[0] for v in sh.x_train[0]])
    np.testing.assert_array_equal(sh.x_train, data.x_train[:, perm])
    np.testing.assert_array_equal(sh.x_test, data.x_test[:, perm])


def test_random_features_permute_each_sample_independently(data):
    rf = with_random_features(data, seed=3)
    np.testing.assert_allclose(np.sort(rf.x_train, axis=1), np.sort(data.x_train, axis=1))
    assert not np.array_equal(rf.x_train[:, :], data.x_train[:, np.argsort(rf.x_train[0])])


def test_gaussian_inputs_match_statistics(data):
    g = with_gaussian_inputs(data, seed=0)
    np.testing.assert_allclose(g.x_train.mean(0), data.x_train.mean(0), atol=0.1)
    np.testing.assert_allclose(g.x_train.std(0), data.x_train.std(0), rtol=0.1)
    np.testing.assert_array_equal(g.y_train, data.y_train)


def test_subsample_and_validation_split(data):
    noisy = with_label_noise(data, 0.2, seed=0)
    sub = subsample_train(noisy, 1000, seed=1)
    assert sub.n_train == 1000 and sub.noise_mask.shape == (1000,)
    split = train_val_split(sub, 0.25, seed=2)
    assert split.n_train == 750 and len(split.y_val) == 250
    # Validation labels are clean; the pieces partition the subsample.
    rows = {tuple(r) for r in sub.x_train.round(12)}
    assert {tuple(r) for r in split.x_val.round(12)} <= rows
    assert len({tuple(r) for r in split.x_train.round(12)} | {tuple(r) for r in split.x_val.round(12)}) == 1000
    clean_of = {tuple(r): c for r, c in zip(sub.x_train.round(12), sub.y_train_clean)}
    assert all(clean_of[tuple(r)] == y for r, y in zip(split.x_val.round(12), split.y_val))


def test_transforms_are_deterministic(data):
    a = with_label_noise(data, 0.15, seed=5)
    b = with_label_noise(data, 0.15, seed=5)
    c = with_label_noise(data, 0.15, seed=6)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)


def test_transforms_apply_to_any_classification_dataset():
    m = make_modular(13, seed=0)
    noisy = with_label_noise(m, 0.5, seed=0)
    assert noisy.y_train.max() < 13 and noisy.noise_mask.any()


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_noise_fraction_outside_unit_interval(data, fraction):
    with pytest.raises(ParameterError, match="'fraction' parameter of with_label_noise must be a float in the range"):
        with_label_noise(data, fraction)


def test_noise_mode_must_be_known(data):
    with pytest.raises(ParameterError, match=r"one of \{'resample', 'different'\}"):
        with_label_noise(data, 0.1, mode="flip")
