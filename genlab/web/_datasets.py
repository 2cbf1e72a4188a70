"""The optimizer demo's data, from genlab.data (the training demos take theirs from the experiments)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from genlab.data import make_optimizer_data


@lru_cache(maxsize=4)
def optimizer_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """500 points of ``sin(pi x) + N(0, 0.2^2)`` on [-1, 1] (the optimizer demo)."""
    d = make_optimizer_data(500, noise_std=0.2, seed=seed)
    return d.x_train, d.y_train
