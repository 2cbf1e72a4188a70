"""Work done inside a running sweep task, counted where the work happens and sent to the driver.

A sweep worker runs each task inside :func:`task_progress`; every :func:`genlab.train.train_many`
call in that task counts its training steps and their work (about ``6 x parameters x batch rows``
FLOP a step, the convention of ``Experiment.work``) through :func:`current`, and the task's
:class:`TaskProgress` sends its running totals to the process's sink at most every
:data:`SEND_EVERY` seconds. The sink is set once per process: the local backend's workers write
to a pipe the driver reads (:func:`pipe_sink`), the serial backend calls the driver directly,
and a process without one (a Dask worker, a plain ``train_many``) only counts.

Standard library only: the engine imports it, and so do the forkserver's workers.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import select
import time
from collections.abc import Callable

SEND_EVERY = 0.5  #: seconds between two progress messages of one task (a few a second at most)

_SINK: Callable[[dict], None] | None = None  # where this process sends progress messages
_CURRENT: contextvars.ContextVar[TaskProgress | None] = contextvars.ContextVar("genlab_task_progress", default=None)


class TaskProgress:
    """One task's steps and work, done and announced, summed over its ``train_many`` calls.

    ``begin(steps, work)`` announces a call's totals when it starts (a later call of the same
    task raises the totals then); ``advance(steps, work)`` adds what was done. Messages to
    ``sink`` are dicts ``{task, steps, steps_total, work, work_total}``, at most one every
    ``every`` seconds, and one at :meth:`flush`.
    """

    def __init__(self, task: str, sink: Callable[[dict], None] | None, *, every: float = SEND_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.task, self.sink, self.every, self.clock = task, sink, every, clock
        self.steps = self.steps_total = 0
        self.work = self.work_total = 0.0
        self._sent = -float("inf")

    def begin(self, steps: int, work: float) -> None:
        self.steps_total += steps
        self.work_total += work
        self._send(force=True)  # the driver learns this task's size at once

    def advance(self, steps: int, work: float) -> None:
        self.steps += steps
        self.work += work
        self._send()

    def flush(self) -> None:
        self._send(force=True)

    def message(self) -> dict:
        return {"task": self.task, "steps": self.steps, "steps_total": self.steps_total,
                "work": self.work, "work_total": self.work_total}

    def _send(self, force: bool = False) -> None:
        if self.sink is None:
            return
        now = self.clock()
        if force or now - self._sent >= self.every:
            self._sent = now
            try:
                self.sink(self.message())
            except Exception:  # progress is a courtesy: it never stops the work
                self.sink = None


def current() -> TaskProgress | None:
    """The progress of the task this thread runs, or None outside a sweep task."""
    return _CURRENT.get()


def set_sink(sink: Callable[[dict], None] | None) -> None:
    """Where this process's tasks send their progress (None: nowhere)."""
    global _SINK
    _SINK = sink


@contextlib.contextmanager
def sink(fn: Callable[[dict], None] | None):
    """Send progress to ``fn`` inside the block (the serial backend: the driver itself)."""
    before = _SINK
    set_sink(fn)
    try:
        yield
    finally:
        set_sink(before)


@contextlib.contextmanager
def task_progress(task: str):
    """Count the work of task ``task`` inside the block; yields its :class:`TaskProgress`."""
    progress = TaskProgress(task, _SINK)
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)
        progress.flush()


def pipe_sink(conn) -> Callable[[dict], None]:
    """A sink writing one JSON line per message to the pipe end ``conn`` (a ``multiprocessing``
    Connection, which a pool passes to its workers), made non-blocking.

    A message is far shorter than ``PIPE_BUF`` (4096 bytes on Linux), so each write is atomic:
    several workers share one pipe without a lock, and a worker killed mid-write cannot leave
    half a line. A full pipe (a driver that stopped reading) drops the message instead of
    stalling the training.
    """
    fd = conn.fileno()
    os.set_blocking(fd, False)

    def send(message: dict, _keep=conn) -> None:  # _keep: the Connection closes its fd when collected
        line = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        if len(line) > select.PIPE_BUF:  # only shorter writes are atomic (a task id is far shorter)
            return
        try:
            os.write(fd, line)
        except BlockingIOError:
            pass

    return send


class PipeReader:
    """The driver's end of :func:`pipe_sink` (a Connection): ``read()`` returns the messages that arrived."""

    def __init__(self, conn) -> None:
        self.conn, self.fd, self._rest = conn, conn.fileno(), b""
        os.set_blocking(self.fd, False)

    def read(self) -> list[dict]:
        chunks = [self._rest]
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
        *lines, self._rest = b"".join(chunks).split(b"\n")
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # never expected (writes are atomic); skipped rather than fatal
                continue
        return out
