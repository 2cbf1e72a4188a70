"""Closed-form models of the lectures, fitted by least squares (NumPy).

- :class:`FixedJointModel`: UDL chapter 8's toy model: first layer fixed at
  ``ReLU(x - k/D)``, k = 0..D-1, second layer (D + 1 weights) by least squares.
- :class:`KnotsModel`: ``g(x) = a + b x + sum_k gamma_k |x - t_k| / 2`` (K + 2 parameters),
  the double-descent lecture's knots model, fitted with the minimum-norm solution.
- :class:`FeatureRegression`: linear regression on Legendre, monomial or random ReLU features,
  minimum-norm (pseudo-inverse) or ridge.

Every ``fit`` uses the SVD of the design matrix, so the minimum-norm solution is also the one
gradient descent from zero reaches; ``singular_values_`` is kept for double-descent plots.
"""

from __future__ import annotations

import numpy as np

from genlab._checks import check_choice, check_float, check_int, check_seed


def min_norm_lstsq(a: np.ndarray, y: np.ndarray, ridge: float = 0.0, rcond: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm least squares (``ridge=0``) or ridge solution via the SVD; returns (w, s).

    ``w = V diag(s / (s^2 + ridge)) U^T y``, with singular values below ``rcond * s_max``
    treated as zero when ``ridge=0`` (as ``numpy.linalg.pinv``).
    """
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    if ridge > 0:
        f = s / (s**2 + ridge)
    else:
        keep = s > rcond * (s.max() if s.size else 0.0)
        f = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return vt.T @ (f * (u.T @ y)), s


class _LinearInFeatures:
    ridge: float = 0.0
    coef_: np.ndarray | None = None
    singular_values_: np.ndarray | None = None

    def features(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, x, y):
        self.coef_, self.singular_values_ = min_norm_lstsq(self.features(np.asarray(x, float)), np.asarray(y, float), self.ridge)
        return self

    def predict(self, x) -> np.ndarray:
        if self.coef_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(x, y) first")
        return self.features(np.asarray(x, float)) @ self.coef_

    @property
    def n_parameters(self) -> int:
        return self.features(np.zeros(1)).shape[1]


class FixedJointModel(_LinearInFeatures):
    """UDL's toy model with ``n_hidden`` ReLU units whose joints divide [0, 1] evenly."""

    def __init__(self, n_hidden: int, *, ridge: float = 0.0) -> None:
        self.n_hidden = check_int(n_hidden, "n_hidden", "FixedJointModel", low=1)
        self.ridge = check_float(ridge, "ridge", "FixedJointModel", low=0.0)

    def features(self, x: np.ndarray) -> np.ndarray:
        joints = np.arange(self.n_hidden) / self.n_hidden
        return np.column_stack([np.ones_like(x), np.maximum(x[:, None] - joints[None, :], 0.0)])


class KnotsModel(_LinearInFeatures):
    """``a + b x + sum_k gamma_k |x - t_k| / 2`` with fixed knots ``t``.

    Least squares; among the solutions, the one of smallest ``||gamma||`` with ``a, b``
    unpenalised (as in the MLU-Explain article): the knot part is fitted to what the line
    ``a + b x`` leaves, in the orthogonal complement of ``span(1, x)``.
    """

    def __init__(self, knots, *, ridge: float = 0.0) -> None:
        self.knots = np.asarray(knots, dtype=float).ravel()
        self.ridge = check_float(ridge, "ridge", "KnotsModel", low=0.0)

    def features(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones_like(x), x, np.abs(x[:, None] - self.knots[None, :]) / 2])

    def fit(self, x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        phi = self.features(x)
        line, knots = phi[:, :2], phi[:, 2:]
        proj = np.eye(len(x)) - line @ np.linalg.pinv(line)  # removes what a + b x can fit
        gamma, self.singular_values_ = min_norm_lstsq(proj @ knots, proj @ y, self.ridge)
        ab = np.linalg.lstsq(line, y - knots @ gamma, rcond=None)[0]
        self.coef_ = np.concatenate([ab, gamma])
        return self


FEATURES = ("legendre", "polynomial", "random_relu")


class FeatureRegression(_LinearInFeatures):
    """Linear regression on ``n_features`` features of a scalar x in [-1, 1].

    ``legendre``: Legendre polynomials of degree 1..P (no constant, as Schaeffer et al.);
    ``polynomial``: monomials x^1..x^P; ``random_relu``: ``ReLU(w x + b)`` with w, b ~ N(0, 1)
    drawn from ``seed``. Minimum-norm when ``ridge=0``, ridge otherwise.
    """

    def __init__(self, n_features: int, *, features: str = "legendre", ridge: float = 0.0, seed: int = 0) -> None:
        owner = "FeatureRegression"
        self.n_features = check_int(n_features, "n_features", owner, low=1)
        self.kind = check_choice(features, "features", owner, FEATURES)
        self.ridge = check_float(ridge, "ridge", owner, low=0.0)
        rng = np.random.default_rng(check_seed(seed, "seed", owner))
        self._w, self._b = rng.standard_normal(self.n_features), rng.standard_normal(self.n_features)

    def features(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float).ravel()
        if self.kind == "legendre":
            from genlab.data import legendre_features

            return legendre_features(x, self.n_features)
        if self.kind == "polynomial":
            return x[:, None] ** np.arange(1, self.n_features + 1)
        return np.maximum(x[:, None] * self._w + self._b, 0.0)
