"""Sweeps: declared grids, a crash-safe results store, resume, and local or Dask execution.

See ``genlab/sweep/README.md`` for the sweep file format and for running on a cluster.
"""

from genlab.sweep._backends import BACKENDS, make_backend, plan_workers, start_forkserver
from genlab.sweep._builtin import BUILTIN_SWEEPS
from genlab.sweep._execute import GroupResult, GroupTask, RunOutput, train_group
from genlab.sweep._runner import SweepReport, make_groups, run_sweep
from genlab.sweep._spec import (
    BATCHABLE,
    DEFAULTS,
    Run,
    Sweep,
    group_key,
    load_sweep,
    run_id,
    sweep_from_dict,
)
from genlab.sweep._store import Store, open_store
from genlab.sweep._tasks import Task, TaskOutput, TaskSweep, run_tasks

__all__ = [
    "Sweep",
    "Run",
    "load_sweep",
    "sweep_from_dict",
    "run_id",
    "group_key",
    "DEFAULTS",
    "BATCHABLE",
    "BUILTIN_SWEEPS",
    "run_sweep",
    "make_groups",
    "SweepReport",
    "Store",
    "open_store",
    "GroupTask",
    "GroupResult",
    "RunOutput",
    "train_group",
    "BACKENDS",
    "plan_workers",
    "make_backend",
    "start_forkserver",
    "Task",
    "TaskOutput",
    "TaskSweep",
    "run_tasks",
]
