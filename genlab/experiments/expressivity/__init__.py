"""Lecture 3, Ollion & Grisel, "Expressivity, optimization & generalization" (seed 002): error
decomposition, expressivity, random labels, sharp and bad minima, width and depth, regularization."""

TITLE = "Expressivity, optimization and generalization (Ollion & Grisel)"
ORDER = 3
