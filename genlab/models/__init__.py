"""The lectures' models: neural (MLP, logistic regression, MNIST-1D CNN and GRU, RNN) with
seeded initialization, and closed-form ones (fixed-joint toy model, knots model, linear
regression on polynomial or random features)."""

from genlab.models._closed_form import FeatureRegression, FixedJointModel, KnotsModel
from genlab.models._init import INITS, init_module
from genlab.models._neural import (
    ACTIVATIONS,
    MLP,
    MNIST1DCNN,
    MNIST1DGRU,
    LogisticRegression,
    RNNRegressor,
    lecture_mlp,
    n_parameters,
)
from genlab.models._packing import PACKABLE_ACTIVATIONS, pad_mlp, unpad_mlp

__all__ = [
    "MLP",
    "LogisticRegression",
    "MNIST1DCNN",
    "MNIST1DGRU",
    "RNNRegressor",
    "lecture_mlp",
    "n_parameters",
    "pad_mlp",
    "unpad_mlp",
    "PACKABLE_ACTIVATIONS",
    "ACTIVATIONS",
    "INITS",
    "init_module",
    "FixedJointModel",
    "KnotsModel",
    "FeatureRegression",
]
