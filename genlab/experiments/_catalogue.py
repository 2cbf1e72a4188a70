"""Importing this module registers every experiment, in the lecture's order."""

from genlab.experiments import _bias_variance  # noqa: F401
from genlab.experiments import _knots  # noqa: F401
from genlab.experiments import _double_descent_linear  # noqa: F401
from genlab.experiments import _generalization_gap  # noqa: F401
