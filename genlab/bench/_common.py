"""Helpers shared by the benchmarks: timing, machine description, output."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable

import typer


def machine() -> dict:
    """Describe the machine a benchmark ran on."""
    import numpy as np
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` calls (seconds): the least disturbed by other load."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def emit(result: dict, json_out: bool, lines: list[str]) -> None:
    """Print a benchmark result as text lines or as one JSON object."""
    if json_out:
        typer.echo(json.dumps(result, indent=2, default=float))
    else:
        for line in lines:
            typer.echo(line)
