"""The sweep driver: group runs, skip done ones, dispatch groups, commit each as it ends.

The store is the source of truth: a crash or Ctrl-C loses only the groups in flight, and the
next ``run_sweep`` on the same directory runs exactly the runs not yet ``done``.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genlab._checks import UserError, check_int
from genlab.sweep._backends import make_backend
from genlab.sweep._execute import GroupTask, train_group
from genlab.sweep._spec import BATCHABLE, Run, Sweep
from genlab.sweep._store import Store, SweepLock
from genlab.sweep._tasks import TaskSweep, run_tasks


@dataclass
class Group:
    """Runs trained together; ``id`` is the shape key plus the chunk index."""

    id: str
    runs: list


@dataclass
class SweepReport:
    """What :func:`run_sweep` did."""

    out: Path
    n_runs: int
    n_groups: int
    n_skipped: int
    n_done: int
    n_failed: int
    wall_s: float
    commit_s: float
    backend: str


def make_groups(runs: list[Run], max_group_size: int = 64) -> list[Group]:
    """Split runs by shape key, then into chunks of at most ``max_group_size`` members.

    Chunks come from the full run list (not just the runs still to do), so a resumed sweep
    trains each run in the same population as an uninterrupted one.
    """
    by_key: dict[str, list[Run]] = {}
    for run in runs:
        by_key.setdefault(run.group, []).append(run)
    groups = []
    for key, members in by_key.items():
        for start in range(0, len(members), max_group_size):
            groups.append(Group(f"{key}-{start // max_group_size}", members[start:start + max_group_size]))
    return groups


def describe_grouping(sweep: Sweep | TaskSweep, runs: list[Run], groups: list[Group]) -> str:
    if isinstance(sweep, TaskSweep):
        return f"{len(runs)} task(s), each its own group"
    axes = list(sweep.grid) + list(sweep.random)
    shape = [a for a in axes if a not in BATCHABLE]
    batched = [a for a in axes if a in BATCHABLE]
    return (f"{len(runs)} runs in {len(groups)} group(s): separate groups by "
            f"{', '.join(shape) or '(no shape-changing axis)'}; batched in one population by "
            f"{', '.join(batched) or '(no batchable axis)'}")


def check_sizes(groups: list[Group], owner: str, *, check_memory: bool = True) -> str:
    """The estimate's one-line summary; refuse, before any work, a sweep whose largest group cannot fit this machine's memory or
    would take more than a week (:func:`genlab._sizes.check_fits`; optimistic estimates)."""
    from genlab._sizes import check_fits, human_bytes, human_seconds, mlp_estimate, optimizer_copies
    from genlab.sweep._execute import _base_data

    worst_memory = total_s = 0.0
    for g in groups:
        c = g.runs[0].config  # a group shares every shape-changing key
        data = _base_data(c["dataset"], json.dumps(c["data"], sort_keys=True))
        n_train = len(data.y_train) if c["n_train"] is None else c["n_train"]
        if hasattr(data, "n_classes"):
            out_features = int(data.n_classes)
        else:
            out_features = 1 if data.y_train.ndim == 1 else int(data.y_train.shape[1])
        memory, seconds = mlp_estimate(
            n_members=len(g.runs), in_features=int(data.x_train.reshape(len(data.x_train), -1).shape[1]),
            out_features=out_features, width=c["width"], depth=c["depth"], n_train=n_train,
            n_eval=n_train + len(data.y_test), batch_size=c["batch_size"], n_steps=c["n_steps"],
            eval_every=c["eval_every"], copies=optimizer_copies(c["optimizer"], c["momentum"]))
        total_s += seconds
        worst_memory = max(worst_memory, memory)
        check_fits(memory, seconds, f"group {g.id} ({len(g.runs)} run(s) of width {c['width']}, depth {c['depth']}, "
                   f"{c['n_steps']} steps)", owner, check_memory=check_memory)
    return (f"size estimate (lower bounds): {human_bytes(worst_memory)} for the largest group, "
            f"{human_seconds(total_s)} of compute in all")


def _error_text(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last if len(last) < 2000 else last[:2000] + "..."


def run_sweep(
    sweep: Sweep | TaskSweep,
    out: str | os.PathLike | None = None,
    *,
    backend="local",
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    tensorboard: bool = False,
    save_weights: bool = True,
    max_group_size: int = 64,
    group_fn: Callable | None = None,
    preload: tuple[str, ...] = (),
    progress: bool | None = None,
    work: float | None = None,
    echo: Callable[[str], None] | None = print,
    owner: str = "genlab sweep",
) -> SweepReport:
    """Run ``sweep`` into the directory ``out`` (default ``sweeps/<name>``), resuming.

    Parameters
    ----------
    sweep : Sweep or TaskSweep
        Declared MLP runs (grouped by shape, trained by ``train_many``) or generic tasks (each
        its own group; see :class:`genlab.sweep.Task`).
    backend : {'local', 'dask', 'serial'} or a backend object
        ``local``: a process pool sized to the machine; ``dask``: Dask tasks on ``scheduler``
        (``tcp://HOST:PORT``) or on a LocalCluster on 127.0.0.1; ``serial``: in-process. A
        backend built by :func:`make_backend` is used as is and left running (to share one Dask
        cluster between several sweeps); its owner shuts it down.
    workers : int, optional
        Worker processes (default: one per core, at most one per group).
    retries : int
        Extra attempts for a group that raises or whose worker dies; after them its runs are
        recorded as ``failed`` with the error and the rest of the sweep goes on.
    tensorboard : bool
        Also write ``DIR/tensorboard/<run_id>/`` event files (needs the ``tensorboard`` package).
    save_weights : bool
        Write each run's final state dict to ``DIR/weights/<run_id>.pt``.
    max_group_size : int
        Largest population trained as one task (bigger groups are chunked).
    group_fn : callable, optional
        ``GroupTask -> list[RunOutput]``, a picklable top-level function; the default trains
        through :func:`genlab.train.train_many` (a ``Sweep``) or calls each task's function
        (a ``TaskSweep``).
    preload : tuple of str
        Modules the local backend's workers import once, before they are forked (the modules
        of the group functions: start-up then costs ~0.04 s per worker).
    progress : bool or None
        ``False``: none. ``True`` or ``None`` (default): on stderr, a bar on a terminal, else a
        plain line every 30 s; the fraction done is the measured work (training steps weighted
        by their FLOP, reported from inside the tasks as they run on the serial and local
        backends; on Dask as tasks end), and the time left comes from its recent rate.
    work : float, optional
        The sweep's total work in FLOP where it is declared (``Experiment.work``): weighs the
        tasks not yet started. Ignored when resuming (part of it is done).
    echo : callable or None
        Where the one-line messages go.
    owner : str
        The command named in error messages.

    Returns
    -------
    SweepReport
    """
    say = echo or (lambda _msg: None)
    check_int(retries, "retries", "run_sweep", low=0)
    check_int(max_group_size, "max_group_size", "run_sweep", low=1)
    if tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError:
            raise UserError("--tensorboard needs the tensorboard package: pip install tensorboard (or genlab[tensorboard]).") from None
    if group_fn is None:
        group_fn = run_tasks if isinstance(sweep, TaskSweep) else train_group
    runs = sweep.runs()
    groups = make_groups(runs, max_group_size)
    estimate = None
    if group_fn is train_group:  # MLP runs: their size is known before any work
        estimate = check_sizes(groups, owner, check_memory=scheduler is None)
    out = Path(out) if out is not None else Path("sweeps") / sweep.name
    t0 = time.perf_counter()
    # Backend errors (bad name, unreachable scheduler) come before anything is written.
    owned = isinstance(backend, str)
    exe = make_backend(backend, len(groups), workers, scheduler, preload=preload, owner=owner) if owned else backend
    shutdown = exe.shutdown if owned else (lambda: None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        shutdown()
        raise UserError(f"Cannot create the sweep directory {str(out)!r}: {exc.strerror}.") from None
    lock = SweepLock(out)
    try:
        lock.acquire()  # refused with a clear message while another driver writes here
    except UserError:
        shutdown()
        raise
    try:
        store = Store(out, create=True)
        store.set_meta(**{f"sweep:{sweep.name}": sweep.to_dict()})
        done = store.done_ids()
        todo = [Group(g.id, [r for r in g.runs if r.id not in done]) for g in groups]
        todo = [g for g in todo if g.runs]
        n_skip = len(runs) - sum(len(g.runs) for g in todo)
        say(describe_grouping(sweep, runs, groups))
        if estimate:
            say(estimate)
        unit = "task" if isinstance(sweep, TaskSweep) else "run"
        say(f"{n_skip} already done, running {len(runs) - n_skip} {unit}(s) in {len(todo)} group(s)")
        if not todo:
            store.close()
            shutdown()
            return SweepReport(out, len(runs), len(groups), n_skip, 0, 0, time.perf_counter() - t0, 0.0, "none")
        exe.fit(len(todo), workers)
        say(f"backend: {exe.describe()}; results in {out}")
        n_done, n_failed = _drive(sweep, store, exe, shutdown, todo, group_fn, retries, save_weights,
                                  tensorboard, progress, work if not n_skip else None, say)
        report = SweepReport(out, len(runs), len(groups), n_skip, n_done, n_failed,
                             time.perf_counter() - t0, store.commit_s, exe.name)
        store.close()
        return report
    finally:
        lock.release()


def _drive(sweep, store, exe, shutdown, todo, group_fn, retries, save_weights, tensorboard, progress, work, say):
    from genlab.sweep._progress import ProgressDisplay, WorkEstimate

    pending = list(reversed(todo))  # pop() from the end keeps the declared order
    by_id = {g.id: g for g in todo}
    attempts = {g.id: 0 for g in todo}
    in_flight = 0
    n_done = n_failed = 0
    tasks = isinstance(sweep, TaskSweep)
    estimate = WorkEstimate([g.id for g in todo], work)
    display = ProgressDisplay(sweep.name, estimate, enabled=progress is not False, unit="task" if tasks else "group",
                              n_runs=None if tasks else sum(len(g.runs) for g in todo))

    def on_progress(message: dict) -> None:  # a task's progress, while it runs
        estimate.report(message)
        display.refresh()

    # Only a shown display listens; without it, wait() blocks until a group ends, as before.
    listening = display.mode is not None and hasattr(exe, "progress")
    if listening:
        exe.progress = on_progress
    try:
        while pending or in_flight:
            while pending and in_flight < exe.capacity:
                g = pending.pop()
                attempts[g.id] += 1
                estimate.started(g.id)
                exe.submit(group_fn, GroupTask(g.id, [(r.id, r.config) for r in g.runs],
                                               threads=exe.threads, save_weights=save_weights))
                in_flight += 1
            finished = exe.wait(timeout=BAR_TIMEOUT) if listening else exe.wait()
            for task, result, exc in finished:
                in_flight -= 1
                g = by_id[task.group]
                if exc is not None and attempts[g.id] <= retries:
                    say(f"group {g.id} failed (attempt {attempts[g.id]} of {retries + 1}): {_error_text(exc)}; retrying")
                    pending.append(g)
                    continue
                error = None if exc is None else _error_text(exc)
                store.commit_group(sweep.name, g.runs, result, attempts=attempts[g.id], error=error)
                if exc is None:
                    n_done += len(g.runs)
                    if tensorboard:
                        _write_tensorboard(store.dir, result)
                else:
                    n_failed += len(g.runs)
                    say(f"group {g.id} failed for good after {attempts[g.id]} attempt(s): {error}")
                estimate.finished(g.id, (result.extra or {}).get("progress") if result is not None else None)
                display.runs_done, display.failed = n_done, n_failed
            display.refresh(force=bool(finished))
    except KeyboardInterrupt:
        display.close()
        say(f"interrupted: {n_done + n_failed} run(s) committed are kept; run the same command again to resume")
        raise
    finally:
        if listening:
            exe.progress = None
        display.close()
        shutdown()
    return n_done, n_failed


BAR_TIMEOUT = 0.5  # seconds the driver waits for a finished group before it redraws the progress


def _write_tensorboard(directory: Path, result) -> None:
    """One event directory per run; tags ``split/metric`` (``test/error``) against the step."""
    from torch.utils.tensorboard import SummaryWriter

    for out in result.runs:
        writer = SummaryWriter(log_dir=str(directory / "tensorboard" / out.id))
        for step, split, metric, value in out.metrics:
            writer.add_scalar(f"{split}/{metric}", value, step)
        writer.close()
