"""genlab: a laboratory for measuring performance and generalization of neural networks."""

__version__ = "0.1.0"
