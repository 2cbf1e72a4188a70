"""Dataset containers: frozen, member-agnostic, NumPy arrays (train / optional validation / test)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClassificationData:
    """A classification dataset.

    Attributes
    ----------
    x_train, y_train, x_test, y_test : ndarray
        Inputs ``(n, ...)`` and integer labels ``(n,)`` in ``[0, n_classes)``.
    n_classes : int
        Number of classes.
    x_val, y_val : ndarray, optional
        A validation set (see :func:`train_val_split`), used to choose hyperparameters.
    y_train_clean : ndarray, optional
        Training labels before label noise or random labels were applied.
    noise_mask : ndarray of bool, optional
        ``True`` where a training label was drawn anew (it may still equal the clean label when
        noise is drawn uniformly).
    meta : dict
        How the dataset was made (generator, arguments, transforms applied).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str = "data"
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    y_train_clean: np.ndarray | None = None
    noise_mask: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays (for ``np.savez``): every non-empty array field."""
        out = {}
        for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "y_train_clean", "noise_mask"):
            value = getattr(self, key)
            if value is not None:
                out[key] = np.asarray(value)
        return out


@dataclass(frozen=True)
class RegressionData:
    """A regression dataset: inputs ``(n,)`` or ``(n, d)``, real targets ``(n,)``.

    ``x_grid`` / ``y_grid`` hold a dense test grid and the noiseless function on it when the
    data come from a known function (``None`` for real data).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "data"
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    x_grid: np.ndarray | None = None
    y_grid: np.ndarray | None = None
    noise_std: float | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "x_grid", "y_grid"):
            value = getattr(self, key)
            if value is not None:
                out[key] = np.asarray(value)
        return out
