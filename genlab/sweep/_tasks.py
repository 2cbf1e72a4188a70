"""Generic tasks: an importable function and its arguments, run by the sweep runner as one group.

The experiments (``genlab run``) declare their work this way. A :class:`Task` names a top-level
function of an importable module and gives it JSON-able keyword arguments; a worker imports the
function by name, calls it and returns a :class:`TaskOutput` of plain data: tidy records (one dict
per row), small named values and optional bytes (saved models). The driver commits it to the
store like a trained run, so a task inherits resume, retries and every backend.

A task's id is a hash of its function's name and its arguments (not of its label): a resumed
sweep skips the tasks already committed, and two equal tasks run once.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from genlab._checks import ParameterError
from genlab.sweep._execute import GroupTask, RunOutput
from genlab.sweep._spec import Run, _canonical, run_id


def _target(fn: Callable | str) -> str:
    """``module:qualname`` of a top-level function (what a worker imports)."""
    if isinstance(fn, str):
        return fn
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname or "." in qualname:
        raise ParameterError(
            f"The 'fn' parameter of Task must be a top-level function of an importable module "
            f"(workers import it by name). Got {fn!r} instead."
        )
    return f"{module}:{qualname}"


def resolve(target: str) -> Callable:
    """The function named ``module:qualname``."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(**kwargs)`` in a worker, returning a :class:`TaskOutput`.

    Parameters
    ----------
    fn : callable or str
        A top-level function of an importable module, or its ``"module:name"``.
    kwargs : dict
        Its keyword arguments: JSON values only (numbers, strings, None, lists, dicts). Tuples
        arrive as lists.
    label : str
        A short name for messages (``"width=16"``); not part of the id.
    """

    fn: Callable | str
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    def config(self) -> dict:
        kwargs = _canonical(self.kwargs)
        try:
            json.dumps(kwargs, allow_nan=True)
        except TypeError as exc:
            raise ParameterError(
                f"The 'kwargs' parameter of Task {self.label or _target(self.fn)!r} must hold JSON values only. "
                f"Got {self.kwargs!r} instead ({exc})."
            ) from None
        return {"fn": _target(self.fn), "kwargs": kwargs, "label": self.label}

    @property
    def id(self) -> str:
        c = self.config()
        return run_id({"fn": c["fn"], "kwargs": c["kwargs"]})


@dataclass
class TaskOutput:
    """What a task returns: ``records`` (tidy rows, dicts of plain values), named ``values`` and
    an optional ``blob`` of bytes (e.g. :func:`genlab.experiments.pack_models`)."""

    records: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    blob: bytes | None = None


def plain(value):
    """Plain Python values for JSON and pickling: NumPy scalars become floats/ints, tuples lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class TaskSweep:
    """A sweep of generic tasks: each task is its own group (see :func:`run_sweep`)."""

    name: str
    tasks: tuple

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ParameterError(f"The 'tasks' parameter of TaskSweep {self.name!r} must be a non-empty list of Task. Got [] instead.")
        for t in self.tasks:
            if not isinstance(t, Task):
                raise ParameterError(f"The 'tasks' parameter of TaskSweep {self.name!r} must hold Task objects. Got {t!r} instead.")
            t.config()  # validate before any work starts

    def runs(self) -> list[Run]:
        """One run per distinct task, in declared order; a run's group is its own id."""
        out, seen = [], set()
        for t in self.tasks:
            rid = t.id
            if rid not in seen:
                seen.add(rid)
                out.append(Run(rid, rid, t.config()))
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "tasks": [t.config() for t in self.tasks]}


def run_tasks(task: GroupTask) -> list[RunOutput]:
    """Group function of a :class:`TaskSweep`: call each task's function, return plain outputs."""
    outputs = []
    for rid, config in task.runs:
        result = resolve(config["fn"])(**config["kwargs"])
        if not isinstance(result, TaskOutput):
            raise TypeError(f"Task {config['label'] or config['fn']!r} returned {type(result).__name__}, not TaskOutput.")
        values = plain(result.values)
        outputs.append(RunOutput(rid, [], values, False, result.blob, records=plain(result.records)))
    return outputs


__all__ = ["Task", "TaskOutput", "TaskSweep", "run_tasks", "plain", "resolve"]
