"""Transforms of classification datasets: label noise, random labels, shuffled or random
features, Gaussian inputs, subsampling and a validation split.

Every transform takes a ``seed``, returns a new frozen dataset and leaves its input untouched.
Label transforms keep the clean labels (``y_train_clean``) and the mask of redrawn labels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from genlab._checks import check_choice, check_float, check_int, check_seed, fail
from genlab.data._base import ClassificationData

NOISE_MODES = ("resample", "different")


def _with(data: ClassificationData, transform: str, **changes) -> ClassificationData:
    meta = {**data.meta, "transforms": [*data.meta.get("transforms", []), transform]}
    return dataclasses.replace(data, meta=meta, **changes)


def with_label_noise(
    data: ClassificationData, fraction: float, *, mode: str = "resample", seed: int = 0
) -> ClassificationData:
    """Corrupt a fraction of the training labels (test labels stay clean).

    Parameters
    ----------
    fraction : float in [0, 1]
        Each training label is chosen independently with this probability.
    mode : {'resample', 'different'}
        ``'resample'``: a chosen label is redrawn uniformly from all classes, so it may keep its
        value (as the UDL double-descent notebook does: 15 % noise changes ~13.5 % of labels).
        ``'different'``: a chosen label is forced to one of the *other* classes.
    seed : int
        Seed of the draws.
    """
    owner = "with_label_noise"
    fraction = check_float(fraction, "fraction", owner, low=0.0, high=1.0)
    check_choice(mode, "mode", owner, NOISE_MODES)
    rng = np.random.default_rng(check_seed(seed, "seed", owner))
    clean = data.y_train_clean if data.y_train_clean is not None else data.y_train
    n, k = len(clean), data.n_classes
    chosen = rng.random(n) < fraction
    if mode == "resample":
        new = rng.integers(0, k, size=n)
    else:  # shift by 1..k-1 so that the label always changes
        new = (clean + rng.integers(1, k, size=n)) % k
    y = np.where(chosen, new, clean).astype(clean.dtype)
    return _with(
        data,
        f"label_noise({fraction}, {mode}, seed={seed})",
        y_train=y,
        y_train_clean=clean,
        noise_mask=chosen,
    )


def with_random_labels(data: ClassificationData, *, seed: int = 0) -> ClassificationData:
    """Replace every training label by a uniform random class (Zhang et al. 2017)."""
    return with_label_noise(data, 1.0, mode="resample", seed=seed)


def with_shuffled_features(data: ClassificationData, *, seed: int = 0) -> ClassificationData:
    """Permute the feature positions with one fixed permutation for all samples and splits.

    With MNIST-1D this is "MNIST-1D shuffled": the spatial structure is gone, the information
    is not, so an MLP is unaffected while CNNs and GRUs lose their advantage.
    """
    rng = np.random.default_rng(check_seed(seed, "seed", "with_shuffled_features"))
    perm = rng.permutation(data.x_train.shape[-1])
    changes = {"x_train": data.x_train[..., perm], "x_test": data.x_test[..., perm]}
    if data.x_val is not None:
        changes["x_val"] = data.x_val[..., perm]
    return _with(data, f"shuffled_features(seed={seed})", **changes)


def with_random_features(data: ClassificationData, *, seed: int = 0) -> ClassificationData:
    """Permute the features of every sample with its own independent permutation."""
    rng = np.random.default_rng(check_seed(seed, "seed", "with_random_features"))

    def scramble(x: np.ndarray) -> np.ndarray:
        keys = rng.random(x.shape)
        return np.take_along_axis(x, np.argsort(keys, axis=-1), axis=-1)

    changes = {"x_train": scramble(data.x_train), "x_test": scramble(data.x_test)}
    if data.x_val is not None:
        changes["x_val"] = scramble(data.x_val)
    return _with(data, f"random_features(seed={seed})", **changes)


def with_gaussian_inputs(data: ClassificationData, *, seed: int = 0) -> ClassificationData:
    """Replace the inputs by Gaussian noise with the training set's per-feature mean and std.

    Labels are kept, so nothing is learnable from the inputs: a network can only memorise.
    """
    rng = np.random.default_rng(check_seed(seed, "seed", "with_gaussian_inputs"))
    mean, std = data.x_train.mean(axis=0), data.x_train.std(axis=0)

    def draw(x: np.ndarray) -> np.ndarray:
        return mean + std * rng.standard_normal(x.shape)

    changes = {"x_train": draw(data.x_train), "x_test": draw(data.x_test)}
    if data.x_val is not None:
        changes["x_val"] = draw(data.x_val)
    return _with(data, f"gaussian_inputs(seed={seed})", **changes)


def subsample_train(data: ClassificationData, n_train: int, *, seed: int = 0) -> ClassificationData:
    """Keep ``n_train`` training samples drawn without replacement (order preserved)."""
    owner = "subsample_train"
    n_train = check_int(n_train, "n_train", owner, low=1, high=data.n_train)
    rng = np.random.default_rng(check_seed(seed, "seed", owner))
    keep = np.sort(rng.choice(data.n_train, size=n_train, replace=False))
    changes = {"x_train": data.x_train[keep], "y_train": data.y_train[keep]}
    for key in ("y_train_clean", "noise_mask"):
        if getattr(data, key) is not None:
            changes[key] = getattr(data, key)[keep]
    return _with(data, f"subsample_train({n_train}, seed={seed})", **changes)


def train_val_split(data: ClassificationData, val_fraction: float = 0.2, *, seed: int = 0) -> ClassificationData:
    """Move a random ``val_fraction`` of the training set into a validation set.

    The validation set is the third set used to choose hyperparameters, so that the test set is
    looked at once. Label noise, if any, stays on the training part only: validation labels are
    the clean ones.
    """
    owner = "train_val_split"
    val_fraction = check_float(val_fraction, "val_fraction", owner, low=0.0, high=1.0, low_open=True, high_open=True)
    rng = np.random.default_rng(check_seed(seed, "seed", owner))
    n_val = int(round(data.n_train * val_fraction))
    if n_val < 1 or n_val >= data.n_train:
        raise fail(
            "val_fraction",
            owner,
            f"a fraction leaving at least one sample on each side of {data.n_train}",
            val_fraction,
        )
    perm = rng.permutation(data.n_train)
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    clean = data.y_train_clean if data.y_train_clean is not None else data.y_train
    changes = {
        "x_train": data.x_train[train],
        "y_train": data.y_train[train],
        "x_val": data.x_train[val],
        "y_val": clean[val],
    }
    if data.y_train_clean is not None:
        changes["y_train_clean"] = data.y_train_clean[train]
    if data.noise_mask is not None:
        changes["noise_mask"] = data.noise_mask[train]
    return _with(data, f"train_val_split({val_fraction}, seed={seed})", **changes)
