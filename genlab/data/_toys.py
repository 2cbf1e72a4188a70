"""The lectures' other datasets: toy regressions, the knots points, double descent demystified,
diabetes, modular arithmetic and a real daily temperature series.

Settings follow the UDL notebooks, the seed lectures and the papers (see shared/reference).
"""

from __future__ import annotations

import itertools

import numpy as np

from genlab._checks import check_bool, check_choice, check_float, check_int, check_seed, fail
from genlab.data._base import ClassificationData, RegressionData


def _rng(seed: int, owner: str) -> np.random.Generator:
    return np.random.default_rng(check_seed(seed, "seed", owner))


def toy_function(x: np.ndarray) -> np.ndarray:
    """UDL's toy function ``exp(sin(2 pi x))`` on [0, 1] (the notebooks' pi typo 3.1413 is fixed)."""
    return np.exp(np.sin(2 * np.pi * np.asarray(x)))


def make_toy_regression(
    n_samples: int = 15, *, noise_std: float = 0.3, n_test: int = 100, seed: int = 0
) -> RegressionData:
    """UDL chapter 8's toy regression: one x per segment of width 1/n, Gaussian y noise.

    ``x_i ~ U(i/n, (i+1)/n)``, ``y_i = exp(sin(2 pi x_i)) + N(0, noise_std^2)``; the test set is
    drawn the same way with ``n_test`` points, and ``x_grid`` is ``linspace(0, 1, 100)`` with the
    noiseless function in ``y_grid``.
    """
    owner = "make_toy_regression"
    n = check_int(n_samples, "n_samples", owner, low=1)
    n_test = check_int(n_test, "n_test", owner, low=1)
    noise_std = check_float(noise_std, "noise_std", owner, low=0.0)
    rng = _rng(seed, owner)

    def draw(m: int) -> tuple[np.ndarray, np.ndarray]:
        x = (np.arange(m) + rng.random(m)) / m
        return x, toy_function(x) + noise_std * rng.standard_normal(m)

    x_train, y_train = draw(n)
    x_test, y_test = draw(n_test)
    grid = np.linspace(0, 1, 100)
    return RegressionData(
        x_train, y_train, x_test, y_test, name="toy-regression", x_grid=grid,
        y_grid=toy_function(grid), noise_std=noise_std,
        meta={"generator": owner, "n_samples": n, "noise_std": noise_std, "seed": seed},
    )


def _sine_set(name, owner, n_samples, noise_std, frequency, n_val, seed, n_test=200) -> RegressionData:
    n = check_int(n_samples, "n_samples", owner, low=1)
    noise_std = check_float(noise_std, "noise_std", owner, low=0.0)
    rng = _rng(seed, owner)

    def f(x):
        return np.sin(frequency * np.pi * x)

    def draw(m):
        x = rng.uniform(-1, 1, m)
        return x, f(x) + noise_std * rng.standard_normal(m)

    x_train, y_train = draw(n)
    x_val, y_val = draw(n_val) if n_val else (None, None)
    x_test, y_test = draw(n_test)
    grid = np.linspace(-1, 1, 512)
    return RegressionData(
        x_train, y_train, x_test, y_test, name=name, x_val=x_val, y_val=y_val, x_grid=grid,
        y_grid=f(grid), noise_std=noise_std,
        meta={"generator": owner, "n_samples": n, "noise_std": noise_std, "seed": seed},
    )


def make_noisy_sine(n_samples: int = 60, *, noise_std: float = 0.45, n_val: int = 60, seed: int = 0) -> RegressionData:
    """Spectral bias / input-normalization data: ``sin(2 pi x) + N(0, 0.45^2)``, x ~ U[-1, 1].

    A validation set of ``n_val`` points is drawn the same way (for early stopping); the clean
    sine on a 512-point grid is in ``x_grid`` / ``y_grid``.
    """
    return _sine_set("noisy-sine", "make_noisy_sine", n_samples, noise_std, 2.0, check_int(n_val, "n_val", "make_noisy_sine", low=0), seed)


def make_optimizer_data(n_samples: int = 500, *, noise_std: float = 0.2, seed: int = 0) -> RegressionData:
    """The optimizer demo's data: ``sin(pi x) + N(0, 0.2^2)``, x ~ U[-1, 1], 500 samples.

    The demo fits ``y = w1 x + w2 x^3`` to it.
    """
    return _sine_set("optimizer-demo", "make_optimizer_data", n_samples, noise_std, 1.0, 0, seed)


KNOTS_X = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
KNOTS_Y = np.array([25.0, 9.0, 1.0, 1.0, 9.0, 25.0])


def knots_gold(x: np.ndarray) -> np.ndarray:
    """The knots lecture's gold function ``4 (x - 5/2)^2`` (in unscaled units)."""
    return 4.0 * (np.asarray(x) - 2.5) ** 2


def make_knots(*, scaled: bool = False, n_test: int = 200) -> RegressionData:
    """The six points of the double-descent "knots" lecture and its gold function.

    Points ``(0,25) (1,9) (2,1) (3,1) (4,9) (5,25)``; with ``scaled=True`` the lecture's scaling
    ``x / 10, y / 100`` is applied. The test set is the gold function on ``n_test`` points of
    ``[0, 5]`` (noiseless).
    """
    n_test = check_int(n_test, "n_test", "make_knots", low=2)
    scaled = check_bool(scaled, "scaled", "make_knots")
    sx, sy = (10.0, 100.0) if scaled else (1.0, 1.0)
    grid = np.linspace(0, 5, n_test)
    return RegressionData(
        KNOTS_X / sx, KNOTS_Y / sy, grid / sx, knots_gold(grid) / sy, name="knots",
        x_grid=grid / sx, y_grid=knots_gold(grid) / sy, noise_std=0.0,
        meta={"generator": "make_knots", "scaled": scaled},
    )


def demystified_function(x: np.ndarray) -> np.ndarray:
    """``2x + cos(25x)``, the target of "Double Descent Demystified"'s polynomial regression."""
    x = np.asarray(x)
    return 2 * x + np.cos(25 * x)


def legendre_features(x: np.ndarray, n_features: int) -> np.ndarray:
    """Legendre polynomials of degree 1..n_features at ``x`` in [-1, 1] (no constant), ``(n, P)``."""
    n_features = check_int(n_features, "n_features", "legendre_features", low=1)
    x = np.asarray(x, dtype=float)
    return np.stack([np.polynomial.legendre.Legendre.basis(d)(x) for d in range(1, n_features + 1)], axis=1)


def make_demystified(n_samples: int = 15, *, n_test: int = 1000, seed: int = 0) -> RegressionData:
    """Noiseless points of ``y = 2x + cos(25x)`` with x ~ U[-1, 1] (Schaeffer et al. 2023).

    The test set is a ``n_test``-point grid of [-1, 1]. Use :func:`legendre_features` to build
    the design matrix of P features.
    """
    owner = "make_demystified"
    n = check_int(n_samples, "n_samples", owner, low=1)
    n_test = check_int(n_test, "n_test", owner, low=2)
    x = _rng(seed, owner).uniform(-1, 1, n)
    grid = np.linspace(-1, 1, n_test)
    return RegressionData(
        x, demystified_function(x), grid, demystified_function(grid), name="demystified",
        x_grid=grid, y_grid=demystified_function(grid), noise_std=0.0,
        meta={"generator": owner, "n_samples": n, "seed": seed},
    )


def make_diabetes(n_train: int = 10, *, seed: int = 0) -> RegressionData:
    """scikit-learn's bundled diabetes data (442 x 10, no download), split ``n_train`` / rest.

    As in Schaeffer et al.: no intercept and no standardisation beyond sklearn's own scaling.
    """
    from sklearn.datasets import load_diabetes

    owner = "make_diabetes"
    x, y = load_diabetes(return_X_y=True)
    n_train = check_int(n_train, "n_train", owner, low=1, high=len(y) - 1)
    perm = _rng(seed, owner).permutation(len(y))
    tr, te = perm[:n_train], perm[n_train:]
    return RegressionData(
        x[tr], y[tr], x[te], y[te], name="diabetes",
        meta={"generator": owner, "n_train": n_train, "seed": seed},
    )


MODULAR_OPS = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
    "div": lambda a, b, p: (a * pow(int(b), p - 2, p)) % p,
    "x2+y2": lambda a, b, p: (a * a + b * b) % p,
    "x2+xy+y2": lambda a, b, p: (a * a + a * b + b * b) % p,
}


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % d for d in range(2, int(p**0.5) + 1))


def make_modular(
    p: int = 97, *, op: str = "add", train_fraction: float = 0.3, seed: int = 0
) -> ClassificationData:
    """Modular arithmetic for grokking: every pair ``(a, b)`` labelled ``a op b mod p``.

    Inputs are integer tokens ``(a, b)`` of shape ``(n, 2)``; ``n_classes = p``. For ``div`` the
    pairs with ``b = 0`` are left out and ``p`` must be prime. A random ``train_fraction`` of the
    pairs is the training set, the rest the test set (Power et al. 2022).
    """
    owner = "make_modular"
    p = check_int(p, "p", owner, low=2)
    check_choice(op, "op", owner, MODULAR_OPS)
    train_fraction = check_float(train_fraction, "train_fraction", owner, low=0.0, high=1.0, low_open=True, high_open=True)
    if op == "div" and not _is_prime(p):
        raise fail("p", owner, "a prime when op='div'", p)
    pairs = np.array([(a, b) for a, b in itertools.product(range(p), repeat=2) if op != "div" or b != 0])
    fn = MODULAR_OPS[op]
    labels = np.array([fn(int(a), int(b), p) for a, b in pairs], dtype=np.int64)
    perm = _rng(seed, owner).permutation(len(pairs))
    n_train = max(1, int(train_fraction * len(pairs)))
    tr, te = perm[:n_train], perm[n_train:]
    return ClassificationData(
        pairs[tr], labels[tr], pairs[te], labels[te], n_classes=p, name=f"modular-{op}",
        meta={"generator": owner, "p": p, "op": op, "train_fraction": train_fraction, "seed": seed},
    )


def make_seattle_temperature(
    *, train_year: int = 2012, test_year: int = 2013, column: str = "temp_max"
) -> RegressionData:
    """Seattle's daily temperature (vega_datasets' bundled copy, 2012-2015, no download).

    ``x_*`` is the day index within the year (0..364/365) and ``y_*`` the temperature in
    degrees Celsius; the RNN exercise trains on ``train_year`` and tests on ``test_year``.
    """
    from vega_datasets import local_data

    owner = "make_seattle_temperature"
    check_choice(column, "column", owner, ("temp_max", "temp_min", "temp_mean"))
    frame = local_data.seattle_weather()
    years = sorted(set(frame["date"].dt.year))
    check_choice(train_year, "train_year", owner, years)
    check_choice(test_year, "test_year", owner, years)
    if column == "temp_mean":
        values = (frame["temp_max"] + frame["temp_min"]).to_numpy() / 2
    else:
        values = frame[column].to_numpy(dtype=float)
    year = frame["date"].dt.year.to_numpy()
    day = frame["date"].dt.day_of_year.to_numpy() - 1

    def part(y):
        keep = year == y
        return day[keep].astype(float), values[keep]

    x_train, y_train = part(train_year)
    x_test, y_test = part(test_year)
    return RegressionData(
        x_train, y_train, x_test, y_test, name="seattle-temperature",
        meta={"generator": owner, "train_year": train_year, "test_year": test_year, "column": column},
    )
