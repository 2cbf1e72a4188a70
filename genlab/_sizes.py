"""A size check before work: estimate the memory and time a job needs, refuse what cannot fit.

The estimates are deliberately optimistic (lower bounds): memory counts only the parameters, their
gradients and two optimizer moments, the activations of one batch and of one evaluation pass;
time counts only the matrix products at :data:`PEAK_FLOPS` (above what any CPU reaches on these
small products) plus a fixed per-step overhead. So a refusal means the job surely does not fit;
a job that passes may still be slow. Numbers are float32 (4 bytes).
"""

from __future__ import annotations

import os

from genlab._checks import ParameterError

PEAK_FLOPS = 1e12  # FLOP/s: optimistic for CPUs (the 2-core machine measures ~1e11 in `genlab bench`)
STEP_OVERHEAD_S = 20e-6  # the least a training step costs in PyTorch (kernel launches, optimizer)
MAX_SECONDS = 7 * 24 * 3600.0  # one job longer than a week (at the optimistic rate) is refused
BYTES = 4  # float32


def physical_memory() -> int:
    """Bytes of RAM on this machine (a large number where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 1 << 50


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} EB"  # pragma: no cover


def human_seconds(s: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.3g} s"


def mlp_params(in_features: int, out_features: int, width: int, depth: int) -> int:
    """Parameters of genlab's MLP: ``depth`` hidden layers of ``width`` units, biases included."""
    if depth == 0:
        return (in_features + 1) * out_features
    return (in_features + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * out_features


def mlp_estimate(*, n_members: int, in_features: int, out_features: int, width: int, depth: int,
                 n_train: int, n_eval: int, batch_size: int | None, n_steps: int, eval_every: int,
                 copies: int = 1) -> tuple[float, float]:
    """``(bytes, seconds)`` lower bounds to train ``n_members`` MLPs together for ``n_steps``.

    ``copies``: parameter-sized tensors kept per member (1 for plain SGD, which updates in place;
    2 with momentum; 4 for Adam: weights, gradients, two moments). Memory counts one batch's
    activations (forward and backward) and the data; time the products of every step and
    every evaluation pass over ``n_eval`` samples."""
    params = mlp_params(in_features, out_features, width, depth)
    batch = n_train if batch_size is None else min(batch_size, n_train)
    units = width * max(depth, 1) + out_features  # activations kept per sample
    n_evals = n_steps // max(eval_every, 1) + 2
    memory = BYTES * (n_members * (copies * params + 2 * batch * units) + (n_train + n_eval) * in_features)
    flops = n_members * params * (6 * batch * n_steps + 2 * n_eval * n_evals)
    return float(memory), float(flops / PEAK_FLOPS + n_steps * STEP_OVERHEAD_S)


def optimizer_copies(optimizer: str, momentum: float = 0.0) -> int:
    """Parameter-sized tensors per member for ``optimizer`` (see :func:`mlp_estimate`)."""
    if str(optimizer).startswith("adam"):
        return 4
    return 2 if momentum else 1


def check_fits(memory: float, seconds: float, what: str, owner: str, *, check_memory: bool = True) -> None:
    """Refuse (ParameterError, one line saying the estimate) a job that cannot fit this machine's
    memory or would take longer than :data:`MAX_SECONDS` even at the optimistic rate."""
    ram = physical_memory()
    if check_memory and memory > ram:
        raise ParameterError(
            f"{owner}: {what} needs at least {human_bytes(memory)} of memory (estimated before any work: "
            f"parameters, gradients, optimizer state and activations in float32); this machine has "
            f"{human_bytes(ram)}. Make it smaller (width, members, samples) or split it."
        )
    if seconds > MAX_SECONDS:
        raise ParameterError(
            f"{owner}: {what} needs at least {human_seconds(seconds)} of compute (estimated before any work at "
            f"an optimistic {PEAK_FLOPS:.0e} FLOP/s); the most one job may take is {human_seconds(MAX_SECONDS)}. "
            f"Make it smaller (n_steps, width, members) or split it."
        )
