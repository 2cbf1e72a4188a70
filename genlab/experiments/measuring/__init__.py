"""Lecture 1, "Measuring performance and generalization" (UDL chapter 8; seed 000)."""

TITLE = "Measuring performance and generalization (UDL ch. 8)"
ORDER = 1
