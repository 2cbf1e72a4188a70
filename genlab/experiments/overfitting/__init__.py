"""Lecture 2, "Overfitting & double descent" (seed 001): SGD noise, flatness, L1/L2, double descent
theory, overfitting in practice (train/dev curves C1-C8), grokking, the RNN exercise."""

TITLE = "Overfitting and double descent"
ORDER = 2
