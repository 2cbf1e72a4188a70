"""Lecture 5, D2L 5.5 "Generalization in deep learning" (seed 004): nonparametrics, early stopping,
the RATT bound, classical regularization."""

TITLE = "Generalization in deep learning (D2L 5.5)"
ORDER = 5
