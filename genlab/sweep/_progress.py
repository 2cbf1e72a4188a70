"""The driver's view of a sweep's progress: the fraction of its work done, and the time left.

Each task's work comes from inside it (:mod:`genlab._progress`: training steps weighted by their
FLOP, sent a few times a second while it runs), so the estimate moves between task completions.
A task not yet started is weighted by its share of the sweep's declared work where the sweep
has one (an experiment's ``Experiment.work``), else by the mean of the tasks measured so far;
tasks that report no work (no training inside) count as that mean too, and when none reports
any, tasks count one each. The time left is the work left at the rate of the last
:data:`WINDOW` seconds (it follows the pool as it drains: two workers, then one), or at the
rate since the start when nothing moved in that window.

:class:`ProgressDisplay` shows it: a live bar on a terminal, a plain line every
:data:`LINE_EVERY` seconds otherwise (CI logs, a pipe), nothing when progress is off.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 120.0  #: seconds of recent progress the rate is measured over
LINE_EVERY = 30.0  #: seconds between two plain progress lines when the output is not a terminal
BAR_EVERY = 0.5  #: seconds between two redraws of the terminal bar


@dataclass
class _Task:
    work: float = 0.0  # work done (FLOP); 0 until it reports
    total: float = 0.0  # work announced so far (0: unknown)
    state: str = "pending"  # pending, running, done


class WorkEstimate:
    """Progress of the tasks ``tasks`` (ids) from their measured work; ``declared``: the sweep's
    total work in the same unit (FLOP), if known. ``clock`` gives seconds (a fake one in tests)."""

    def __init__(self, tasks: list[str], declared: float | None = None, *, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.tasks = {t: _Task() for t in tasks}
        self.declared = declared if declared and declared > 0 else None
        self.window, self.clock = window, clock
        self.t0 = clock()
        self._samples: deque = deque([(self.t0, 0.0)])

    def started(self, task: str) -> None:
        t = self.tasks[task]
        t.state, t.work, t.total = "running", 0.0, 0.0  # a retry starts over

    def report(self, message: dict) -> None:
        """A :class:`genlab._progress.TaskProgress` message; messages of other tasks are ignored."""
        t = self.tasks.get(message.get("task"))
        if t is None or t.state != "running":
            return
        t.work, t.total = float(message.get("work", 0.0)), float(message.get("work_total", 0.0))

    def finished(self, task: str, progress: dict | None = None) -> None:
        """Task ``task`` ended (done or failed for good); ``progress``: its last message."""
        t = self.tasks[task]
        if progress and progress.get("work_total"):
            t.total = t.work = float(progress["work_total"])
        t.state = "done"

    def counts(self) -> tuple[int, int, int]:
        """(tasks done, tasks running, tasks in all)."""
        states = [t.state for t in self.tasks.values()]
        return states.count("done"), states.count("running"), len(states)

    def fraction(self) -> float:
        """The fraction of the work done, in [0, 1]."""
        known = [t.total for t in self.tasks.values() if t.total > 0]
        n_unknown = len(self.tasks) - len(known)
        share = 1.0
        if known:
            share = sum(known) / len(known)
            if n_unknown and self.declared is not None and self.declared > sum(known):
                share = (self.declared - sum(known)) / n_unknown
        done = whole = 0.0
        for t in self.tasks.values():
            weight = t.total if t.total > 0 else share
            whole += weight
            if t.state == "done":
                done += weight
            elif t.total > 0:
                done += min(t.work, t.total)
        return done / whole if whole else 0.0

    def sample(self) -> float:
        """Record the fraction done now (for the rate) and return it."""
        now, f = self.clock(), self.fraction()
        if now - self._samples[-1][0] >= 1.0 or f >= 1.0:
            self._samples.append((now, f))
        while len(self._samples) >= 2 and self._samples[1][0] <= now - self.window:
            self._samples.popleft()  # keep one sample at or before the window's start
        return f

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def eta(self) -> float | None:
        """Seconds left at the measured rate (None before any work is measured)."""
        now, f = self.clock(), self.fraction()
        if f >= 1.0:
            return 0.0
        t_old, f_old = self._samples[0]
        if f > f_old and now > t_old:
            return (1.0 - f) * (now - t_old) / (f - f_old)
        if f > 0 and now > self.t0:
            return (1.0 - f) * (now - self.t0) / f
        return None


def human_interval(seconds: float | None) -> str:
    """``1:05:03``, ``4:07``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressDisplay:
    """Shows ``estimate`` as ``name``: a bar on a terminal (``stream`` is a tty), plain lines
    every ``line_every`` seconds otherwise, nothing when ``enabled`` is False."""

    def __init__(self, name: str, estimate: WorkEstimate, *, enabled: bool, unit: str = "task",
                 n_runs: int | None = None, stream=None, line_every: float = LINE_EVERY) -> None:
        self.name, self.estimate, self.unit = name, estimate, unit
        self.stream = sys.stderr if stream is None else stream
        self.line_every, self.n_runs = line_every, n_runs
        self.runs_done = self.failed = 0
        isatty = getattr(self.stream, "isatty", None)
        self.mode = None if not enabled else ("bar" if isatty is not None and isatty() else "lines")
        self._bar = None
        self._shown = estimate.clock()
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=100, file=self.stream, dynamic_ncols=True, desc=name, bar_format=self._format())

    def status(self) -> str:
        done, running, n = self.estimate.counts()
        runs = f" ({self.runs_done}/{self.n_runs} runs)" if self.n_runs is not None else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"{done}/{n} {self.unit}s{runs}, {running} running{failed} · "
                f"{human_interval(self.estimate.elapsed())} elapsed, about {human_interval(self.estimate.eta())} left")

    def _format(self) -> str:
        return "{desc}: {percentage:3.0f}%|{bar}| " + self.status().replace("{", "{{").replace("}", "}}")

    def refresh(self, force: bool = False) -> None:
        """Sample the estimate; redraw the bar (every BAR_EVERY s) or print a line (every line_every s)."""
        if self.mode is None:
            return
        f = self.estimate.sample()
        now = self.estimate.clock()
        if self.mode == "bar":
            if force or now - self._shown >= BAR_EVERY:
                self._shown = now
                self._bar.bar_format = self._format()
                self._bar.n = 100 * f
                self._bar.refresh()
        elif now - self._shown >= self.line_every:
            self._shown = now
            print(f"{self.name}: {100 * f:.0f}% of the work done, {self.status()}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
