"""Sweep: 64 small MLP runs through the local backend vs the same runs one after another.

The reference trains each run alone with ``genlab.train.train`` in this process on one thread,
one after another, storing nothing. The sweep groups the runs by width (4 populations of 16
members, trained by ``train_many``), runs the groups in a process pool sized to the machine and
commits each group to the SQLite store. Store overhead per run is the driver's time inside
``commit_group`` (weights files written and fsynced, one transaction per group) over the runs.

Worker start-up is timed on its own: a pool's workers forked from the forkserver (cold: the
first pool of a process, which starts the server and its imports; warm: any later pool) and,
for reference, spawned workers (each a fresh interpreter importing torch), as the local backend
started them before. The same sweep also runs on a pool of spawned workers, side by side.
"""

from __future__ import annotations

import os
import tempfile
import time

import typer

from genlab.bench._common import emit, machine


def _noop_group(task) -> list:
    return []


def _pool_start_s(workers: int, threads: int, start_method: str) -> float:
    """Seconds for a new pool to start its workers and finish one empty group on each."""
    from genlab.sweep._backends import LocalBackend
    from genlab.sweep._execute import GroupTask

    t0 = time.perf_counter()
    exe = LocalBackend(workers, threads, start_method=start_method)
    for i in range(workers):
        exe.submit(_noop_group, GroupTask(str(i), []))
    left = workers
    while left:
        left -= len(exe.wait())
    elapsed = time.perf_counter() - t0
    exe.shutdown()
    return elapsed


def _timed_sweep(sweep, backend) -> tuple[float, object]:
    from genlab.sweep import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = run_sweep(sweep, tmp, backend=backend, echo=None, progress=False)
        return time.perf_counter() - t0, report


def command(
    n_steps: int = typer.Option(300, min=1, help="Optimizer steps per run."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    import torch

    from genlab.sweep import load_sweep, make_groups, plan_workers, sweep_from_dict
    from genlab.sweep._backends import LocalBackend
    from genlab.sweep._builtin import BUILTIN_SWEEPS
    from genlab.sweep._execute import make_run_data, make_run_model, make_train_config
    from genlab.train import train

    decl = BUILTIN_SWEEPS["bench"]
    sweep = sweep_from_dict({**decl, "base": {**decl["base"], "n_steps": n_steps}}) if n_steps != 300 else load_sweep("bench")
    runs = sweep.runs()
    n_groups = len(make_groups(runs))
    workers, threads = plan_workers(n_groups, None)

    # Start-up first: the forkserver can start cold only once per process.
    cold_s = _pool_start_s(workers, threads, "forkserver")
    warm_s = _pool_start_s(workers, threads, "forkserver")
    spawn_start_s = _pool_start_s(workers, threads, "spawn")

    local_s, report = _timed_sweep(sweep, "local")  # the forkserver runs, as in `genlab sweep`
    spawned = LocalBackend(workers, threads, start_method="spawn")
    try:
        spawned_s, _ = _timed_sweep(sweep, spawned)
    finally:
        spawned.shutdown()
    serial_s, _ = _timed_sweep(sweep, "serial")

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    for run in runs:
        data = make_run_data(run.config)
        train(make_run_model(run.config, data), data, make_train_config(run.config, data), progress=False)
    sequential_s = time.perf_counter() - t0

    n = len(runs)
    load = os.getloadavg()[0]
    result = {
        "benchmark": "sweep",
        "machine": machine(),
        "n_runs": n,
        "n_groups": report.n_groups,
        "n_steps": n_steps,
        "local_backend_s": local_s,
        "local_backend_workers": workers,
        "local_backend_threads_per_worker": threads,
        "local_backend_spawned_workers_s": spawned_s,
        "pool_start_forkserver_cold_s": cold_s,
        "pool_start_forkserver_warm_s": warm_s,
        "pool_start_spawn_s": spawn_start_s,
        "serial_backend_grouped_s": serial_s,
        "one_after_another_s": sequential_s,
        "load_average_1min": load,
        "speedup_local_vs_one_after_another": sequential_s / local_s,
        "speedup_local_with_cold_forkserver_vs_one_after_another": sequential_s / (local_s + cold_s - warm_s),
        "speedup_spawned_workers_vs_one_after_another": sequential_s / spawned_s,
        "store_overhead_per_run_ms": 1000 * report.commit_s / n,
        "store_overhead_fraction_of_local_wall": report.commit_s / local_s,
    }
    timings = [
        (f"genlab local backend ({workers} workers x {threads} thread(s), train_many, store)", local_s),
        ("  the same with spawned workers (each imports torch: the backend before)", spawned_s),
        ("genlab serial backend (train_many + store, 1 process)", serial_s),
        ("reference: each run alone with train(), one after another", sequential_s),
    ]
    pad = max(len(label) for label, _ in timings)
    emit(result, json_out, [
        f"sweep of {n} MLP runs ({report.n_groups} groups by width, {n_steps} steps each)",
        *[f"  {label + ':':<{pad + 1}} {value:7.2f} s" for label, value in timings],
        f"  speedup local vs one after another: {sequential_s / local_s:.2f}x "
        f"({sequential_s / (local_s + cold_s - warm_s):.2f}x counting the forkserver's one-time start; "
        f"spawned workers {sequential_s / spawned_s:.2f}x)",
        f"  pool start-up ({workers} workers, one empty group each): forkserver {warm_s:.2f} s "
        f"(first pool of a process, starting the server: {cold_s:.2f} s), spawned {spawn_start_s:.2f} s",
        f"  (load average {load:.1f} on {os.cpu_count()} cores: other jobs share this machine)",
        f"  store overhead: {1000 * report.commit_s / n:.2f} ms per run "
        f"({100 * report.commit_s / local_s:.1f} % of the local wall time)",
    ])
