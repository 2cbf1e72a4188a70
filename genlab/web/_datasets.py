"""The demos' data, from genlab.data (one function each, so the source is in one place)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from genlab.data import make_noisy_sine, make_optimizer_data


@lru_cache(maxsize=8)
def noisy_sine(seed: int = 0):
    """60 train and 60 validation points of ``sin(2 pi x) + N(0, 0.45^2)`` on [-1, 1]."""
    d = make_noisy_sine(60, noise_std=0.45, n_val=60, seed=seed)
    return d.x_train, d.y_train, d.x_val, d.y_val, d.x_grid, d.y_grid


@lru_cache(maxsize=4)
def optimizer_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """500 points of ``sin(pi x) + N(0, 0.2^2)`` on [-1, 1] (the optimizer demo)."""
    d = make_optimizer_data(500, noise_std=0.2, seed=seed)
    return d.x_train, d.y_train
