"""Lecture 4, Weniger, "Making deep learning work in practice" (seed 003): gradients that flow
(activations, initialization, normalization), training that works (momentum, Adam, learning
rates), spectral bias."""

TITLE = "Making deep learning work in practice (Weniger)"
ORDER = 4
