"""Importing this module registers every experiment, in the lecture's order."""

from genlab.experiments import _bias_variance  # noqa: F401
