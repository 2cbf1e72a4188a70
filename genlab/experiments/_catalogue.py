"""Importing this module registers every experiment, in the lecture's order."""

from genlab.experiments import (  # noqa: F401
    _bias_variance,
    _double_descent,
    _double_descent_linear,
    _generalization_gap,
    _hyperparameter_selection,
    _knots,
    _mnist1d_benchmark,
    _variance_reduction,
)

# The lecture's order (ruff sorts the imports above alphabetically).
ORDER = [
    "mnist1d-benchmark",
    "generalization-gap",
    "bias-variance",
    "variance-reduction",
    "double-descent",
    "double-descent-linear",
    "knots",
    "hyperparameter-selection",
]
