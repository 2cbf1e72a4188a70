"""Sweep: 64 small MLP runs through the local backend vs the same runs one after another.

The reference trains each run alone with ``genlab.train.train`` in this process on one thread,
one after another, storing nothing. The sweep groups the runs by width (4 populations of 16
members, trained by ``train_many``), runs the groups in a process pool sized to the machine and
commits each group to the SQLite store. Store overhead per run is the driver's time inside
``commit_group`` (weights files written and fsynced, one transaction per group) over the runs.
"""

from __future__ import annotations

import os
import tempfile
import time

import typer

from genlab.bench._common import emit, machine


def _noop_group(task) -> list:
    return []


def _pool_startup_s(workers: int, threads: int) -> float:
    """Seconds for a new local pool to fork its workers (as after a worker died) and finish one empty task on each."""
    from genlab.sweep._backends import LocalBackend
    from genlab.sweep._execute import GroupTask

    exe = LocalBackend(workers, threads)
    t0 = time.perf_counter()
    for i in range(workers):
        exe.submit(_noop_group, GroupTask(str(i), []))
    left = workers
    while left:
        left -= len(exe.wait())
    elapsed = time.perf_counter() - t0
    exe.shutdown()
    return elapsed


def command(
    n_steps: int = typer.Option(300, min=1, help="Optimizer steps per run."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    import torch

    from genlab.sweep import load_sweep, plan_workers, run_sweep, sweep_from_dict
    from genlab.sweep._builtin import BUILTIN_SWEEPS
    from genlab.sweep._execute import make_run_data, make_run_model, make_train_config
    from genlab.train import train

    decl = BUILTIN_SWEEPS["bench"]
    sweep = sweep_from_dict({**decl, "base": {**decl["base"], "n_steps": n_steps}}) if n_steps != 300 else load_sweep("bench")
    runs = sweep.runs()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = run_sweep(sweep, tmp, backend="local", echo=None, progress=False)
        sweep_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(sweep, tmp, backend="serial", echo=None, progress=False)
        serial_s = time.perf_counter() - t0

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    for run in runs:
        data = make_run_data(run.config)
        train(make_run_model(run.config, data), data, make_train_config(run.config, data), progress=False)
    sequential_s = time.perf_counter() - t0

    n = len(runs)
    workers, threads = plan_workers(report.n_groups, None)
    startup_s = _pool_startup_s(workers, threads)
    result = {
        "benchmark": "sweep",
        "machine": machine(),
        "n_runs": n,
        "n_groups": report.n_groups,
        "n_steps": n_steps,
        "local_backend_s": sweep_s,
        "local_backend_workers": workers,
        "local_backend_threads_per_worker": threads,
        "local_pool_restart_s": startup_s,
        "serial_backend_grouped_s": serial_s,
        "one_after_another_s": sequential_s,
        "load_average_1min": os.getloadavg()[0],
        "speedup_local_vs_one_after_another": sequential_s / sweep_s,
        "store_overhead_per_run_ms": 1000 * report.commit_s / n,
        "store_overhead_fraction_of_local_wall": report.commit_s / sweep_s,
    }
    emit(result, json_out, [
        f"sweep of {n} MLP runs ({report.n_groups} groups by width, {n_steps} steps each)",
        f"  genlab local backend ({workers} workers x {threads} thread(s), train_many, store): {sweep_s:8.2f} s",
        f"    (a new pool of spawned workers starts in {startup_s:.2f} s)",
        f"  genlab serial backend (train_many + store, 1 process): {serial_s:8.2f} s",
        f"  reference: each run alone with train(), one after another: {sequential_s:8.2f} s",
        f"  speedup local vs one after another: {sequential_s / sweep_s:.2f}x",
        f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other jobs share this machine)",
        f"  store overhead: {1000 * report.commit_s / n:.2f} ms per run "
        f"({100 * report.commit_s / sweep_s:.1f} % of the local wall time)",
    ])
