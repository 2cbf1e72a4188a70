"""Datasets: MNIST-1D (identical to the reference package), the lectures' toy problems, and
transforms (label noise, random labels, shuffled or random features, Gaussian inputs,
subsampling, a validation split)."""

from genlab.data._base import ClassificationData, RegressionData
from genlab.data._mnist1d import MNIST1D, make_mnist1d, mnist1d_templates
from genlab.data._plot import plot_dataset
from genlab.data._registry import DATASETS, get_dataset_entry, make_dataset
from genlab.data._toys import (
    demystified_function,
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
from genlab.data._transforms import (
    subsample_train,
    train_val_split,
    with_gaussian_inputs,
    with_label_noise,
    with_random_features,
    with_random_labels,
    with_shuffled_features,
)

__all__ = [
    "ClassificationData",
    "RegressionData",
    "MNIST1D",
    "make_mnist1d",
    "mnist1d_templates",
    "make_dataset",
    "get_dataset_entry",
    "DATASETS",
    "plot_dataset",
    "make_toy_regression",
    "make_noisy_sine",
    "make_optimizer_data",
    "make_knots",
    "make_demystified",
    "make_diabetes",
    "make_modular",
    "make_seattle_temperature",
    "toy_function",
    "knots_gold",
    "demystified_function",
    "legendre_features",
    "with_label_noise",
    "with_random_labels",
    "with_shuffled_features",
    "with_random_features",
    "with_gaussian_inputs",
    "subsample_train",
    "train_val_split",
]
