"""Thread count for small models on small machines.

Measured on the project's 2-core machine (``genlab bench train`` prints both): a plain loop over
one lecture MLP runs faster on 1 thread than on 2 (kernel launch and synchronisation dominate),
while a population's batched matmuls gain from both cores. ``default_threads`` returns the
number of cores for population training; plain per-model loops are best at 1.
"""

from __future__ import annotations

import os

import torch

from genlab._checks import check_int


def default_threads() -> int:
    """Threads for population training: all cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads (``None``: :func:`default_threads`); return the count."""
    n = default_threads() if n is None else check_int(n, "threads", "set_threads", low=1)
    torch.set_num_threads(n)
    return n
