"""``genlab reproduce``: run the experiment catalogue, reusing finished runs, then write the report.

Each experiment runs into a hidden scratch directory ``OUT/.NAME.partial`` that is renamed to
``OUT/NAME`` only once the run is complete, so an interrupted reproduce (Ctrl-C, SIGKILL, a
crash) never leaves a directory that looks finished. The next call reuses the complete runs and
resumes the interrupted experiment in its scratch directory: the tasks it had committed to its
store are read back, not recomputed (see :func:`genlab.experiments.run_experiment`).

The experiments run one after another, each spreading its tasks over ``backend`` (a local
process pool by default, or one Dask cluster shared by all of them); ``jobs > 1`` instead runs
that many experiments at once, each in one local process.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from genlab._checks import ParameterError, check_choice, check_int
from genlab._io import check_output_dir

SCALES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class ReproduceResult:
    """What one ``reproduce`` call did."""

    out: Path
    report: Path
    ran: tuple[str, ...]
    reused: tuple[str, ...]
    wall_time_s: float


def _catalogue() -> list[str]:
    from genlab.experiments import list_experiments

    return [e.name for e in list_experiments()]


def _is_complete(run_dir: Path, scale: str, seed: int, seeds) -> bool:
    """Whether ``run_dir`` holds a finished run at ``scale`` with the seeds asked for."""
    summary = run_dir / "summary.json"
    if not summary.is_file():
        return False
    try:
        s = json.loads(summary.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if not isinstance(s, dict) or s.get("scale") != scale:
        return False
    if seeds is None:  # the scale's default
        from genlab.experiments import get_experiment

        try:
            seeds = get_experiment(s.get("experiment", run_dir.name)).n_seeds[scale]
        except Exception:
            return False
    wanted = list(seeds) if isinstance(seeds, (list, tuple)) else list(range(seed, seed + seeds))
    return s.get("seeds") == wanted


def _is_reproduce_dir(folder: Path) -> bool:
    """Whether ``folder`` holds what ``reproduce`` writes: report.html, runs, scratch runs."""
    from genlab.experiments._framework import _is_run_dir

    if (folder / "report.html").is_file():
        return True
    return any(p.is_dir() and (_is_run_dir(p) or (p.name.startswith(".") and p.name.endswith(".partial")))
               for p in folder.iterdir())


def _run_one(name: str, scale: str, seed: int, seeds, out: str, device: str, backend, workers: int | None = None,
             threads: int | None = None) -> tuple[str, float, int]:
    """Run (or resume) one experiment in its scratch directory, then move it into place.

    ``threads``: run the tasks in this process with that many torch threads (``jobs > 1``).
    Returns the name, the seconds taken and the number of tasks read back from the store.
    """
    from genlab.experiments import run_experiment

    if threads is not None:
        from genlab.sweep._backends import SerialBackend

        backend = SerialBackend(threads=threads)
    final = Path(out) / name
    scratch = Path(out) / f".{name}.partial"
    t0 = time.perf_counter()
    # Inside each experiment: the runner's progress (a bar on a terminal, a line every 30 s in a
    # log), its fraction and time left from the work measured inside the tasks as they run; one
    # process per experiment (jobs > 1) stays quiet.
    run_experiment(name, scale=scale, seed=seed, seeds=seeds, out=scratch, device=device, backend=backend, workers=workers,
                   progress=None if threads is None else False)
    reused = json.loads((scratch / "summary.json").read_text()).get("tasks", {}).get("reused", 0)
    if final.exists():
        from genlab.experiments._framework import _is_run_dir

        if not _is_run_dir(final):
            raise ParameterError(
                f"The '--out' parameter of genlab reproduce must be a directory whose {name!r} entry, if any, "
                f"is a genlab run. Got {str(Path(out))!r} instead: {str(final)!r} is something else (left as it is; "
                f"this experiment's finished run is in {str(scratch)!r})."
            )
        shutil.rmtree(final)
    os.replace(scratch, final)
    return name, time.perf_counter() - t0, reused


def reproduce(
    *,
    scale: str = "quick",
    only: list[str] | None = None,
    out: str | Path = "genlab-report",
    jobs: int = 1,
    seed: int = 0,
    seeds: int | list[int] | None = None,
    device: str = "cpu",
    backend: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    echo=print,
) -> ReproduceResult:
    """Run every experiment (or ``only`` those) at ``scale`` into ``out``; write ``out/report.html``.

    ``backend``, ``workers`` and ``scheduler`` say where each experiment's tasks run (as for
    ``genlab sweep``); ``seed`` and ``seeds`` are every experiment's (see
    :func:`genlab.experiments.run_experiment`); ``jobs > 1`` runs that many experiments at once in local processes
    instead (each running its own tasks), and needs the local backend.
    """
    from genlab.experiments._framework import SEED_MAX, check_device, check_out_dir
    from genlab.report._html import build_report
    from genlab.sweep import BACKENDS, make_backend

    check_choice(scale, "scale", "reproduce", SCALES)
    seed = check_int(seed, "seed", "genlab reproduce", low=0, high=SEED_MAX)
    if isinstance(seeds, (list, tuple)):
        if not seeds:
            raise ParameterError("The '--seeds' parameter of genlab reproduce must be a count or a non-empty list. Got [] instead.")
        for s in seeds:
            check_int(s, "seeds", "genlab reproduce", low=0, high=SEED_MAX)
    elif seeds is not None:
        from genlab.experiments._framework import MAX_SEEDS

        check_int(seeds, "seeds", "genlab reproduce", low=1, high=min(MAX_SEEDS, SEED_MAX + 1 - seed))
    check_device(device, "genlab reproduce")
    out = check_out_dir(out, "genlab reproduce")
    check_output_dir(out, "genlab reproduce", own=_is_reproduce_dir,
                     kind="the folder of an earlier reproduce (report.html, run directories)")
    jobs = check_int(jobs, "jobs", "reproduce", low=1, high=os.cpu_count() or 1)
    check_choice(backend, "backend", "genlab reproduce", BACKENDS)
    if jobs > 1 and backend != "local":
        raise ParameterError(f"The '--jobs' parameter of genlab reproduce must be 1 with --backend {backend} "
                             f"(it runs experiments in local processes). Got {jobs} instead.")
    catalogue = _catalogue()
    names = catalogue
    if only is not None:
        if not only:
            raise ParameterError(
                f"The 'only' parameter of reproduce must name experiments among {{{', '.join(catalogue)}}} "
                f"(comma-separated). Got no name instead."
            )
        unknown = [n for n in only if n not in catalogue]
        if unknown:
            raise ParameterError(
                f"The 'only' parameter of reproduce must name experiments among {{{', '.join(catalogue)}}}. "
                f"Got {unknown[0]!r} instead."
            )
        names = [n for n in catalogue if n in only]
    if workers is not None:
        check_int(workers, "workers", "genlab reproduce", low=1)
        if jobs > 1:
            raise ParameterError(f"The '--workers' parameter of genlab reproduce needs --jobs 1 (each of the {jobs} "
                                 f"experiments at once runs in one process). Got --workers {workers} instead.")
    if scheduler is not None and backend != "dask":
        raise ParameterError(f"The '--scheduler' parameter of genlab reproduce needs --backend dask. Got --backend {backend!r} instead.")
    # An unreachable scheduler is refused before any work; one Dask cluster serves every experiment.
    exe = make_backend(backend, 1, workers, scheduler, owner="genlab reproduce") if backend == "dask" else backend
    try:
        return _reproduce(names, scale, seed, seeds, out, jobs, device, exe, workers, echo, build_report)
    finally:
        if backend == "dask":
            exe.shutdown()


def _recorded_times(names: list[str], scale: str) -> dict:
    """The measured wall time of each experiment at ``scale`` (``genlab bench estimates``), where recorded."""
    from genlab.bench._estimates import measured

    times = measured().get("experiments", {})
    out = {}
    for n in names:
        t = times.get(n, {}).get(scale) if isinstance(times.get(n), dict) else None
        if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0:
            out[n] = float(t)
    return out


def _time_left(todo: list[str], done: list[str], durations: list[float], recorded: dict) -> float:
    """Seconds the experiments not yet done should take: each one's recorded time, scaled by how
    this machine compares on the finished ones (their time over their recorded time); the mean
    time of the finished ones for an experiment without a record."""
    left = [n for n in todo if n not in done]
    mean = sum(durations) / len(durations)
    pairs = [(d, recorded[n]) for n, d in zip(done, durations) if n in recorded]
    speed = sum(d for d, _ in pairs) / sum(r for _, r in pairs) if pairs else 1.0
    return sum(recorded[n] * speed if n in recorded else mean for n in left)


def _reproduce(names, scale, seed, seeds, out, jobs, device, backend, workers, echo, build_report) -> ReproduceResult:
    from genlab.experiments._framework import make_out_dir

    make_out_dir(out, "genlab reproduce")
    reused = [n for n in names if _is_complete(out / n, scale, seed, seeds)]
    todo = [n for n in names if n not in reused]
    for n in reused:
        echo(f"reuse  {n}: finished run found in {out / n}")
    t0 = time.perf_counter()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    done: list[str] = []
    durations: list[float] = []

    recorded = _recorded_times(todo, scale)

    def progress(name: str, seconds: float, n_reused: int) -> None:
        done.append(name)
        durations.append(seconds)
        elapsed = time.perf_counter() - t0
        estimate = _time_left(todo, done, durations, recorded) / jobs
        resumed = f" (resumed: {n_reused} task(s) read back)" if n_reused else ""
        echo(
            f"[{len(done)}/{len(todo)}] {name} done in {seconds:.1f} s{resumed} · elapsed {elapsed:.0f} s"
            f" · about {estimate:.0f} s left"
        )

    if jobs == 1:
        for k, name in enumerate(todo, 1):
            echo(f"[{k}/{len(todo)}] running {name} ({scale}) …")
            progress(*_run_one(name, scale, seed, seeds, str(out), device, backend, workers))
    else:
        from genlab import _forkserver

        with ProcessPoolExecutor(max_workers=jobs, mp_context=_forkserver.context(_forkserver.EXPERIMENT_PRELOAD)) as pool:
            futures = [pool.submit(_run_one, n, scale, seed, seeds, str(out), device, None, None, threads) for n in todo]
            echo(f"running {len(todo)} experiments in {jobs} processes …")
            for fut in as_completed(futures):
                progress(*fut.result())
    report = build_report(out, on_damaged=lambda path, message: echo(f"warning: skipping damaged run {str(path)!r}: {message}"))
    echo(f"report: {report}")
    return ReproduceResult(out, report, tuple(done), tuple(reused), time.perf_counter() - t0)
