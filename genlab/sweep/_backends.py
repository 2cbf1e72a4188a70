"""Where groups run: in-process (``serial``), a local process pool (``local``), or Dask.

Every backend offers the same narrow interface, so another engine (Ray, submitit) could be added
without touching the runner: ``submit(fn, task) -> handle``, ``wait(timeout=None) -> [(handle,
result, error)]`` (at least one finished task, or none once ``timeout`` seconds have passed),
``capacity`` (tasks worth keeping in flight) and ``shutdown()``. Failures come back as ``error``;
the runner decides about retries. ``progress``, when the runner sets it, is called with the
in-task progress messages of :mod:`genlab._progress` (serial: from inside ``submit``; local:
from ``wait``, read from a pipe the workers write; Dask: none, tasks count only as they end).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import re
import time
from collections.abc import Callable

from genlab import _forkserver, _progress
from genlab._checks import ParameterError, UserError, check_int
from genlab.sweep._execute import GroupResult, GroupTask, execute_group

BACKENDS = ("local", "dask", "serial")


def machine_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan_workers(n_groups: int, workers: int | None, cores: int | None = None) -> tuple[int, int]:
    """``(workers, torch threads per worker)`` with workers x threads <= cores.

    More workers than groups would idle, and more threads than cores oversubscribe (2-20x
    slower on small models, shared/reference/distributed.md §2.2): 2 cores and 5 groups give
    2 workers x 1 thread; 8 cores and 2 groups give 2 workers x 4 threads.
    """
    cores = cores or machine_cores()
    n = min(workers or cores, max(1, n_groups))
    return n, max(1, cores // n)


class SerialBackend:
    """Runs each group in the driver's own process: for debugging and as a timing reference."""

    name = "serial"

    def __init__(self, threads: int = 1) -> None:
        self.n_workers, self.threads, self.capacity = 1, threads, 1
        self.progress: Callable[[dict], None] | None = None
        self._done: list = []

    def submit(self, fn: Callable, task: GroupTask):
        try:
            with _progress.sink(self.progress):  # the task's progress reaches the driver as it runs
                self._done.append((task, execute_group(fn, task), None))
        except Exception as exc:  # the runner records it and retries
            self._done.append((task, None, exc))
        return task

    def wait(self, timeout: float | None = None) -> list:
        done, self._done = self._done, []
        return done

    def shutdown(self) -> None:
        pass

    def fit(self, n_groups: int, workers: int | None) -> None:
        pass

    def describe(self) -> str:
        return f"serial (in-process, {self.threads} thread(s))"


def start_forkserver(preload: tuple[str, ...] = ()) -> None:
    """Start the local workers' forkserver now; it imports its modules in the background.

    Called early (before the driver's own imports and set-up), the server's imports run beside
    the driver's on another core, so the first pool forks its workers at once.
    """
    _forkserver.start(preload)


def _init_worker(threads: int, env: dict, progress_pipe=None) -> None:
    import signal
    import threading

    import torch

    # Forked from a server started earlier: take the driver's environment as of this pool's
    # start, as a spawned worker would (a sweep's group functions may read it).
    if os.environ != env:
        os.environ.clear()
        os.environ.update(env)
    torch.set_num_threads(threads)
    # Ctrl-C is the driver's to handle: it commits what finished and stops the workers itself.
    # A worker that took the SIGINT too would die mid-queue-read with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing semaphore made on first use (the engine's
    # progress bar, even disabled); a worker stopped by the driver could not release it and
    # the resource tracker would warn of a leak. A worker's bars never cross processes.
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())
    if progress_pipe is not None:  # in-task progress goes to the driver through this pipe
        _progress.set_sink(_progress.pipe_sink(progress_pipe))
    parent = multiprocessing.parent_process()
    if parent is not None:
        # Exit when the driver dies (SIGKILL, OOM): an orphan would wait for work forever.
        def watch() -> None:
            parent.join()
            os._exit(1)

        threading.Thread(target=watch, name="genlab-watch-driver", daemon=True).start()


class LocalBackend:
    """A pool of ``n_workers`` processes with ``threads`` torch threads each.

    Workers are forked from a forkserver that has already imported torch, genlab and the
    ``preload`` modules (see :mod:`genlab._forkserver`), so a pool starts in ~0.02 s once the
    server runs. A killed worker breaks a ``ProcessPoolExecutor``; the tasks in flight then
    fail with ``BrokenProcessPool`` (the runner retries them) and the next submit builds a
    fresh pool. The workers share one pipe to the driver for their tasks' progress
    (:func:`genlab._progress.pipe_sink`: atomic, lock-free lines that a killed worker cannot
    tear); ``wait`` reads it and hands the messages to ``progress``.
    """

    name = "local"

    def __init__(self, n_workers: int, threads: int, preload: tuple[str, ...] = (), *,
                 start_method: str = "forkserver") -> None:
        self.n_workers, self.threads, self.capacity = n_workers, threads, n_workers
        self.preload, self.start_method = tuple(preload), start_method  # 'spawn': the reference of `genlab bench sweep`
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, GroupTask] = {}
        self.progress: Callable[[dict], None] | None = None
        self._pipe: tuple | None = None  # (reader, writer Connection) of the progress messages
        if start_method == "forkserver":
            start_forkserver(self.preload)  # its imports overlap the driver's set-up

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            ctx = _forkserver.context(self.preload) if self.start_method == "forkserver" else multiprocessing.get_context(self.start_method)
            if self._pipe is None:
                reader, writer = ctx.Pipe(duplex=False)
                self._pipe = (_progress.PipeReader(reader), writer)
            self._pool = cf.ProcessPoolExecutor(self.n_workers, mp_context=ctx, initializer=_init_worker,
                                                initargs=(self.threads, dict(os.environ), self._pipe[1]))
        return self._pool

    def submit(self, fn: Callable, task: GroupTask):
        try:
            fut = self._ensure_pool().submit(execute_group, fn, task)
        except cf.process.BrokenProcessPool:
            self._pool = None
            fut = self._ensure_pool().submit(execute_group, fn, task)
        self._futures[fut] = task
        return fut

    def wait(self, timeout: float | None = None) -> list:
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        if self._pipe is not None:
            messages = self._pipe[0].read()  # read even unwanted: a full pipe would drop the later ones
            if self.progress is not None:
                for message in messages:
                    self.progress(message)
        out = []
        for fut in done:
            task = self._futures.pop(fut)
            exc = fut.exception()
            if isinstance(exc, cf.process.BrokenProcessPool):
                self._drop_pool()
                exc = RuntimeError(f"a worker process died while running this group ({exc})")
            out.append((task, None if exc else fut.result(), exc))
        return out

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def shutdown(self) -> None:
        if self._pool is not None:
            # Do not wait for groups still running (Ctrl-C, an error): their results would be
            # dropped anyway, and the next invocation reruns them.
            busy = bool(self._futures)
            if busy:  # stop our own workers now, else interpreter exit would wait for them
                for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
                    proc.terminate()
            self._pool.shutdown(wait=not busy, cancel_futures=True)
            self._pool = None
            self._futures.clear()
        if self._pipe is not None:
            for end in (self._pipe[0].conn, self._pipe[1]):
                end.close()
            self._pipe = None

    def fit(self, n_groups: int, workers: int | None) -> None:
        """Resize for the groups left to run (before the pool starts)."""
        if self._pool is None:
            self.n_workers, self.threads = plan_workers(n_groups, workers)
            self.capacity = self.n_workers

    def describe(self) -> str:
        how = "" if self.start_method == "forkserver" else f", {self.start_method}ed"
        return f"local ({self.n_workers} worker process(es) x {self.threads} torch thread(s){how})"


_ADDRESS = re.compile(r"^(tcp|tls|inproc|ws|wss|ucx)://[^\s:/]+(:\d+)?$")


class DaskBackend:
    """Groups as Dask tasks on ``scheduler`` or on a LocalCluster bound to 127.0.0.1.

    A worker killed mid-task is restarted by its nanny and the task rescheduled by Dask (after
    ``distributed.scheduler.allowed-failures`` deaths it fails with ``KilledWorker``, which the
    runner counts as an attempt). Tasks return plain data, so workers need no store access;
    the ``genlab`` package must be importable on the scheduler and on every worker.
    """

    name = "dask"

    def __init__(self, n_workers: int | None, scheduler: str | None = None, *, connect_timeout: float = 3.0,
                 owner: str = "genlab sweep") -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError("The dask backend needs Dask: pip install 'dask[distributed]' (or genlab[dask]).") from None
        self._cluster = None
        if scheduler is not None:
            if not _ADDRESS.match(scheduler):
                raise ParameterError(
                    f"The '--scheduler' parameter of {owner} must be an address like 'tcp://HOST:8786'. Got {scheduler!r} instead."
                )
            try:
                self.client = Client(scheduler, timeout=connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise UserError(f"Cannot reach the Dask scheduler at {scheduler} within {connect_timeout:g} s ({type(exc).__name__}).") from None
            n = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
            self.n_workers, self.threads = max(1, n), 1
            self.where = scheduler
        else:
            cores = machine_cores()
            self.n_workers = n_workers or cores
            self.threads = max(1, cores // self.n_workers)
            self._cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None, worker_dashboard_address=None)
            self.client = Client(self._cluster)
            self.where = "LocalCluster on 127.0.0.1"
        # Everything can be queued at once: the scheduler balances, adaptive clusters can grow.
        self.capacity = 1 << 30
        from distributed import as_completed

        self._ac = as_completed([], with_results=False)
        self._futures: dict = {}
        self.progress: Callable[[dict], None] | None = None  # not fed: Dask tasks count as they end

    def submit(self, fn: Callable, task: GroupTask):
        fut = self.client.submit(execute_group, fn, task, pure=False, key=f"group-{task.group}-{os.urandom(4).hex()}")
        self._futures[fut.key] = task
        self._ac.add(fut)
        return fut

    def wait(self, timeout: float | None = None) -> list:
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while not self._ac.has_ready():
                if time.monotonic() >= deadline:
                    return []
                time.sleep(0.05)
        out = []
        futs = [next(self._ac)]
        futs += [f for f in self._ac.next_batch(block=False)] if self._ac.has_ready() else []
        for fut in futs:
            task = self._futures.pop(fut.key)
            if fut.status == "finished":
                out.append((task, fut.result(), None))
            else:
                out.append((task, None, fut.exception() or RuntimeError(f"Dask task {fut.status}")))
            fut.release()  # commit then forget: a later worker loss must not recompute it
        return out

    def shutdown(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def fit(self, n_groups: int, workers: int | None) -> None:
        pass

    def describe(self) -> str:
        return f"dask ({self.where}, {self.n_workers} worker(s))"


def make_backend(name: str, n_groups: int, workers: int | None = None, scheduler: str | None = None,
                 *, preload: tuple[str, ...] = (), owner: str = "genlab sweep"):
    """Build the backend ``name`` (validated) for ``n_groups`` groups.

    ``preload``: modules the local backend's workers import before forking (the modules of the
    group functions); ``owner`` names the command in error messages.
    """
    from genlab._checks import check_choice

    check_choice(name, "backend", owner, BACKENDS)
    if workers is not None:
        check_int(workers, "workers", owner, low=1)
    if scheduler is not None and name != "dask":
        raise ParameterError(f"The '--scheduler' parameter of {owner} needs --backend dask. Got --backend {name!r} instead.")
    if name == "serial":
        return SerialBackend(threads=1)
    if name == "local":
        return LocalBackend(*plan_workers(n_groups, workers), preload=preload)
    return DaskBackend(workers, scheduler, owner=owner)


__all__ = ["BACKENDS", "GroupResult", "make_backend", "plan_workers", "machine_cores", "start_forkserver"]
