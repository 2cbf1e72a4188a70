"""Group functions for the sweep tests: a deterministic toy and fault injectors.

They live in a plain module (not a test file) so spawned workers can import them by name.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from genlab.sweep import GroupTask, RunOutput, TaskOutput


def toy_group(task: GroupTask) -> list[RunOutput]:
    """Closed-form 'training': a loss curve that depends on every swept value, deterministically."""
    time.sleep(float(os.environ.get("SWEEP_TOY_SLEEP", "0")))
    outs = []
    for rid, c in task.runs:
        rng = np.random.default_rng([c["seed"], c["width"], int(c["lr"] * 1e6)])
        rows, loss = [], 2.0 + rng.random()
        for step in range(0, c["n_steps"] + 1, c["eval_every"]):
            rows.append((step, "train", "loss", float(loss * np.exp(-c["lr"] * step / c["width"]))))
        outs.append(RunOutput(rid, rows, {"train/loss": rows[-1][3]}, False, None))
    return outs


def raising_group(task: GroupTask) -> list[RunOutput]:
    """Raise for the group holding width 13, with the attempt count recorded in a file."""
    if any(c["width"] == 13 for _, c in task.runs):
        marker = Path(os.environ["SWEEP_MARKERS"]) / f"raise-{task.group}"
        with open(marker, "a") as f:
            f.write("x")
        raise ValueError("width 13 is unlucky")
    return toy_group(task)


def killing_group(task: GroupTask) -> list[RunOutput]:
    """SIGKILL the worker process the first time a group with width 13 runs (like the OOM killer)."""
    marker = Path(os.environ["SWEEP_MARKERS"]) / f"killed-{task.group}"
    if any(c["width"] == 13 for _, c in task.runs) and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return toy_group(task)


def power_task(x: float, p: int = 2) -> TaskOutput:
    """A generic task: tidy records, a named value and bytes, all from its arguments."""
    calls = os.environ.get("SWEEP_MARKERS")
    if calls:  # count executions, to prove resumed tasks are not run again
        with open(Path(calls) / "calls", "a") as f:
            f.write(f"{x},")
    rows = [{"x": x, "k": k, "value": float(np.float64(x) ** k)} for k in range(p + 1)]
    return TaskOutput(rows, {"power": x**p, "nan": float("nan")}, f"{x}^{p}".encode())


def wrong_type_task(x: float) -> dict:
    return {"x": x}
