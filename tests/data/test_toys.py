"""The lectures' toy datasets: their stated properties."""

import numpy as np
import pytest

from genlab._checks import ParameterError
from genlab.data import (
    knots_gold,
    legendre_features,
    make_demystified,
    make_diabetes,
    make_knots,
    make_modular,
    make_noisy_sine,
    make_optimizer_data,
    make_seattle_temperature,
    make_toy_regression,
    toy_function,
)


def test_toy_regression_one_point_per_segment_and_noise_level():
    d = make_toy_regression(15, seed=0)
    segments = np.floor(d.x_train * 15).astype(int)
    np.testing.assert_array_equal(segments, np.arange(15))
    big = make_toy_regression(20000, seed=1)
    resid = big.y_train - toy_function(big.x_train)
    assert abs(resid.std() - 0.3) < 0.01
    np.testing.assert_allclose(d.y_grid, np.exp(np.sin(2 * np.pi * d.x_grid)))


def test_noisy_sine_and_optimizer_data():
    s = make_noisy_sine(seed=0)
    assert s.x_train.shape == (60,) and s.x_val.shape == (60,)
    assert s.x_train.min() >= -1 and s.x_train.max() <= 1
    big = make_noisy_sine(40000, seed=2)
    assert abs((big.y_train - np.sin(2 * np.pi * big.x_train)).std() - 0.45) < 0.01
    o = make_optimizer_data(seed=0)
    assert o.n_train == 500
    assert abs((o.y_train - np.sin(np.pi * o.x_train)).std() - 0.2) < 0.02


def test_knots_points_and_scaling():
    k = make_knots()
    np.testing.assert_array_equal(k.y_train, [25, 9, 1, 1, 9, 25])
    np.testing.assert_allclose(knots_gold(k.x_train), [25, 9, 1, 1, 9, 25])
    ks = make_knots(scaled=True)
    np.testing.assert_allclose(ks.x_train, k.x_train / 10)
    np.testing.assert_allclose(ks.y_train, k.y_train / 100)


def test_demystified_and_legendre():
    d = make_demystified(seed=0)
    np.testing.assert_allclose(d.y_train, 2 * d.x_train + np.cos(25 * d.x_train))
    phi = legendre_features(np.array([-1.0, 0.0, 1.0]), 3)
    np.testing.assert_allclose(phi, [[-1, 1, -1], [0, -0.5, 0], [1, 1, 1]])


def test_diabetes_is_bundled():
    d = make_diabetes(10, seed=0)
    assert d.x_train.shape == (10, 10) and d.x_test.shape == (432, 10)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "x2+y2"])
def test_modular_labels(op):
    d = make_modular(11, op=op, train_fraction=0.5, seed=0)
    x = np.concatenate([d.x_train, d.x_test])
    y = np.concatenate([d.y_train, d.y_test])
    a, b = x[:, 0], x[:, 1]
    if op == "div":
        np.testing.assert_array_equal((y * b) % 11, a)  # y = a / b  <=>  y b = a (mod p)
        assert len(x) == 11 * 10
    else:
        expected = {"add": a + b, "sub": a - b, "mul": a * b, "x2+y2": a * a + b * b}[op] % 11
        np.testing.assert_array_equal(y, expected)
        assert len(x) == 121
    assert len(d.x_train) == int(0.5 * len(x))


def test_modular_division_needs_prime():
    with pytest.raises(ParameterError, match="'p' parameter of make_modular must be a prime"):
        make_modular(12, op="div")


def test_seattle_temperature_years():
    d = make_seattle_temperature()
    assert len(d.y_train) == 366 and len(d.y_test) == 365  # 2012 is a leap year
    assert -10 < d.y_train.min() < d.y_train.max() < 40
    with pytest.raises(ParameterError, match="train_year"):
        make_seattle_temperature(train_year=1999)


def test_seeds_beyond_32_bits_and_non_bool_flags_are_refused():
    from genlab.data import make_knots, make_noisy_sine, with_label_noise

    with pytest.raises(ParameterError, match=r"'seed' parameter of make_noisy_sine must be an int in the range \[0, 4294967295\]"):
        make_noisy_sine(seed=2**32)
    with pytest.raises(ParameterError, match=r"'seed' parameter of with_label_noise"):
        with_label_noise(make_modular(7), 0.1, seed=2**32)
    with pytest.raises(TypeError, match=r"'scaled' parameter of make_knots must be a bool"):
        make_knots(scaled="no")
