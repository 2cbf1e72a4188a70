"""The forkserver the local backend forks its workers from.

A spawned worker is a fresh interpreter that imports torch and genlab before its first task:
~1.5 s each, and on 2 cores two of them importing at once took 2-10 s (the local sweep was then
no faster than running its runs one after another). A forkserver imports them once; every
worker is then forked from it with them loaded, in ~0.02 s. Not a plain fork of the driver:
the driver holds torch's thread pool, an open SQLite connection, the sweep lock and perhaps
CUDA, while the forkserver is a clean single-threaded process.

This module imports only the standard library, so ``genlab.cli`` can start the server before
the driver itself imports torch: both import side by side on two cores.
"""

from __future__ import annotations

import multiprocessing

#: What every local sweep worker imports (``genlab.sweep._execute`` pulls in torch and pandas).
SWEEP_PRELOAD = ("genlab.sweep._execute", "genlab.data", "genlab.models")
#: ... and what an experiment's workers import besides: every experiment module.
EXPERIMENT_PRELOAD = ("genlab.experiments._catalogue",)


def context(preload: tuple[str, ...] = ()):
    """The forkserver context, preloading :data:`SWEEP_PRELOAD` and ``preload`` (else spawn).

    The preload list is fixed when the server starts, once per driver process: a later list
    only means its workers import the rest themselves (slower, same results).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not POSIX
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(dict.fromkeys((*SWEEP_PRELOAD, *preload))))
    return ctx


def start(preload: tuple[str, ...] = ()) -> None:
    """Start the forkserver now; it imports its modules in the background (returns at once)."""
    if context(preload).get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
