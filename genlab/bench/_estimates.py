"""Estimates: time every experiment at smoke and quick scale and record what `genlab list` shows.

Each experiment runs as a user runs it (``genlab run NAME --scale S``: the local backend, its
default seeds) into a scratch directory; the wall time is written to
``genlab/experiments/estimates.json`` with the machine it was measured on (``--write``), so that
``genlab list`` and the README give measured times, not guesses. Paper scales take minutes to
hours and are projected by ``genlab bench paper`` where it exists; ``genlab list`` labels those
as declared unless ``genlab bench paper --write`` recorded a projection (key ``paper_projected``).
"""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
import time
from pathlib import Path

import typer

from genlab.bench._common import emit, machine

ESTIMATES_FILE = Path(__file__).resolve().parent.parent / "experiments" / "estimates.json"


def measured() -> dict:
    """The recorded estimates (``{}`` when none are, or the file is damaged)."""
    try:
        data = json.loads(ESTIMATES_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("experiments"), dict) else {}


PAPER_KEY = "paper_projected"  #: an experiment's entry in estimates.json written by ``genlab bench paper --write``


def record_paper(result: dict) -> None:
    """Merge ``genlab bench paper``'s projections into the estimates file, each under its
    experiment's ``paper_projected`` key (the other keys and experiments are kept)."""
    old = measured() or {"experiments": {}}
    merged = dict(old["experiments"])
    for name, r in result["experiments"].items():
        if "projected_s" not in r:
            continue
        entry = {"s": round(r["projected_s"], 1), "probe_steps": r["probe_steps"], "steps": r["steps"],
                 "date": result["date"], "gemm_gflops": round(result["gemm_gflops"], 1),
                 "machine": {k: result["machine"].get(k) for k in ("cpu_count", "torch_threads", "cuda")},
                 "device": result["device"]}
        if "flop_floor_s" in r:
            entry["flop_floor_s"] = round(r["flop_floor_s"], 1)
        merged[name] = {**merged.get(name, {}), PAPER_KEY: entry}
    ESTIMATES_FILE.write_text(json.dumps({**old, "experiments": merged}, indent=1, sort_keys=True) + "\n")


def paper_label(entry: dict) -> str | None:
    """``genlab list``'s paper time from a recorded projection (None when there is none)."""
    p = entry.get(PAPER_KEY)
    if not isinstance(p, dict) or not isinstance(p.get("s"), (int, float)):
        return None
    s = p["s"]
    shown = f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"
    return f"paper ~{shown} (projected by genlab bench paper)"


def command(
    scales: str = typer.Option("smoke,quick", help="Comma-separated scales to time (smoke, quick)."),
    only: str = typer.Option(None, help="Comma-separated experiment names (default: all)."),
    from_runs: Path = typer.Option(None, "--from-runs", help="Read the wall times of finished runs under this directory "
                                   "(e.g. a `genlab reproduce` output) instead of running anything."),
    write: bool = typer.Option(False, "--write", help="Record the times in genlab/experiments/estimates.json."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    from genlab._checks import ParameterError
    from genlab.experiments import list_experiments, run_experiment

    wanted = [s.strip() for s in scales.split(",") if s.strip()]
    bad = [s for s in wanted if s not in ("smoke", "quick")]
    if not wanted or bad:
        raise ParameterError(f"The '--scales' parameter of genlab bench estimates must list scales among {{'smoke', 'quick'}}. "
                             f"Got {scales!r} instead.")
    names = [e.name for e in list_experiments()]
    if only is not None:
        chosen = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if not chosen or unknown:
            raise ParameterError(f"The '--only' parameter of genlab bench estimates must name experiments among "
                                 f"{{{', '.join(names)}}}. Got {only!r} instead.")
        names = [n for n in names if n in chosen]
    times: dict[str, dict[str, float]] = {}
    lines = []
    if from_runs is not None:
        if not Path(from_runs).is_dir():
            raise ParameterError(f"The '--from-runs' parameter of genlab bench estimates must be a directory of runs. "
                                 f"Got {str(from_runs)!r} instead.")
        for summary_path in sorted(Path(from_runs).glob("*/summary.json")):
            try:
                s = json.loads(summary_path.read_text())
                name, scale, wall = s["experiment"], s["scale"], float(s["wall_time_s"])
            except (OSError, ValueError, KeyError, TypeError):
                typer.echo(f"genlab: warning: skipping {summary_path} (not a readable run summary)", err=True)
                continue
            if name in names and scale in wanted:
                times.setdefault(name, {})[scale] = round(wall, 1)
                lines.append(f"{name:<28} {scale:<6} {wall:7.1f} s (from {summary_path.parent})")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                for scale in wanted:
                    t0 = time.perf_counter()
                    run_experiment(name, scale=scale, out=Path(tmp) / f"{name}-{scale}")
                    times.setdefault(name, {})[scale] = round(time.perf_counter() - t0, 1)
                    lines.append(f"{name:<28} {scale:<6} {times[name][scale]:7.1f} s")
    import os

    # The load says how far the times are from a quiet machine's (other processes share the cores).
    result = {"date": _dt.date.today().isoformat(), "machine": machine(), "load_average_1min": round(os.getloadavg()[0], 1),
              "experiments": times}
    if write:
        old = measured()
        merged = dict(old.get("experiments", {}))
        for name, t in times.items():
            merged[name] = {**merged.get(name, {}), **t}
        ESTIMATES_FILE.write_text(json.dumps({**result, "experiments": merged}, indent=1, sort_keys=True) + "\n")
        lines.append(f"written: {ESTIMATES_FILE}")
    emit(result, json_out, lines)
