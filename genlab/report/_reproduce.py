"""``genlab reproduce``: run the experiment catalogue, reusing finished runs, then write the report.

Each experiment runs into a hidden scratch directory ``OUT/.NAME.partial`` that is renamed to
``OUT/NAME`` only once the run is complete, so an interrupted reproduce (Ctrl-C, SIGKILL, a
crash) never leaves a directory that looks finished; the next call removes the scratch and
redoes only the experiments that have no complete run.
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


def _is_complete(run_dir: Path, scale: str, seed: int) -> bool:
    summary = run_dir / "summary.json"
    if not summary.is_file():
        return False
    try:
        s = json.loads(summary.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return s.get("scale") == scale and s.get("seed") == seed


def _run_one(name: str, scale: str, seed: int, out: str, device: str, threads: int) -> tuple[str, float]:
    """Run one experiment into a scratch directory, then move it into place (in a worker)."""
    import torch

    from genlab.experiments import run_experiment

    torch.set_num_threads(threads)
    final = Path(out) / name
    scratch = Path(out) / f".{name}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    t0 = time.perf_counter()
    run_experiment(name, scale=scale, seed=seed, out=scratch, device=device)
    if final.exists():
        shutil.rmtree(final)
    os.replace(scratch, final)
    return name, time.perf_counter() - t0


def reproduce(
    *,
    scale: str = "quick",
    only: list[str] | None = None,
    out: str | Path = "genlab-report",
    jobs: int = 1,
    seed: int = 0,
    device: str = "cpu",
    echo=print,
) -> ReproduceResult:
    """Run every experiment (or ``only`` those) at ``scale`` into ``out``; write ``out/report.html``."""
    from genlab.report._html import build_report

    check_choice(scale, "scale", "reproduce", SCALES)
    jobs = check_int(jobs, "jobs", "reproduce", low=1, high=os.cpu_count() or 1)
    catalogue = _catalogue()
    names = catalogue
    if only:
        unknown = [n for n in only if n not in catalogue]
        if unknown:
            raise ParameterError(
                f"The 'only' parameter of reproduce must name experiments among {{{', '.join(catalogue)}}}. "
                f"Got {unknown[0]!r} instead."
            )
        names = [n for n in catalogue if n in only]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.partial"):
        shutil.rmtree(stale, ignore_errors=True)

    reused = [n for n in names if _is_complete(out / n, scale, seed)]
    todo = [n for n in names if n not in reused]
    for n in reused:
        echo(f"reuse  {n}: finished run found in {out / n}")
    t0 = time.perf_counter()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    done: list[str] = []
    durations: list[float] = []

    def progress(name: str, seconds: float) -> None:
        done.append(name)
        durations.append(seconds)
        elapsed = time.perf_counter() - t0
        left = len(todo) - len(done)
        estimate = sum(durations) / len(durations) * left / jobs
        echo(
            f"[{len(done)}/{len(todo)}] {name} done in {seconds:.1f} s · elapsed {elapsed:.0f} s"
            f" · about {estimate:.0f} s left"
        )

    if jobs == 1:
        for k, name in enumerate(todo, 1):
            echo(f"[{k}/{len(todo)}] running {name} ({scale}) …")
            progress(*_run_one(name, scale, seed, str(out), device, threads))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_run_one, n, scale, seed, str(out), device, threads) for n in todo]
            echo(f"running {len(todo)} experiments in {jobs} processes …")
            for fut in as_completed(futures):
                progress(*fut.result())
    report = build_report(out)
    echo(f"report: {report}")
    return ReproduceResult(out, report, tuple(done), tuple(reused), time.perf_counter() - t0)
