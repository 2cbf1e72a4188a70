"""Paper: every experiment's paper-scale grid for a few steps, projected to its full length.

Each experiment that declares its arithmetic (``Experiment.work``: FLOP of a configuration and
the name of its steps field) runs as ``genlab run NAME --scale paper`` would (local backend, the
full grid of widths, seeds and conditions) twice, with ``--short`` and ``3 x --short`` steps. The
difference of the two wall times is the time of the extra steps: it gives the achieved GFLOP/s
(against the float32 GEMM rate measured in the same run), and the projection ``fixed + per step
x full steps`` of the paper-scale wall time, printed next to the FLOP floor (FLOP / GEMM rate).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import typer

from genlab.bench._common import emit, machine


def _timed_run(name: str, steps_field: str, steps: int, out: Path, device: str) -> float:
    from genlab.experiments import run_experiment

    t0 = time.perf_counter()
    run_experiment(name, scale="paper", out=out, device=device, fresh=True, **{steps_field: steps})
    return time.perf_counter() - t0


def command(
    short: int = typer.Option(20, min=1, help="Steps of the short probe (the long one runs 3x as many)."),
    only: str = typer.Option(None, help="Comma-separated experiment names (default: every one that declares its work)."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    from genlab._checks import ParameterError
    from genlab.bench._train import _gemm_gflops
    from genlab.experiments import list_experiments
    from genlab.experiments._framework import check_device, make_config

    check_device(device, "genlab bench paper")
    candidates = [e for e in list_experiments() if e.work is not None]
    if only is not None:
        chosen = [n.strip() for n in only.split(",") if n.strip()]
        names = [e.name for e in candidates]
        if not chosen or any(n not in names for n in chosen):
            raise ParameterError(f"The '--only' parameter of genlab bench paper must name experiments among "
                                 f"{{{', '.join(names)}}}. Got {only!r} instead.")
        candidates = [e for e in candidates if e.name in chosen]
    gemm_before = _gemm_gflops()
    results, lines = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for e in candidates:
            full = make_config(e, "paper", 0, {})
            full_flop, steps_field = e.work(full)
            n_full = getattr(full, steps_field)
            s1, s2 = min(short, n_full), min(3 * short, n_full)
            flop1, flop2 = (e.work(dataclasses.replace(full, **{steps_field: n}))[0] for n in (s1, s2))
            t1 = _timed_run(e.name, steps_field, s1, Path(tmp) / f"{e.name}-1", device)
            t2 = _timed_run(e.name, steps_field, s2, Path(tmp) / f"{e.name}-2", device)
            separable = t2 - t1 > 0.1 * t2  # else the probes' difference is load noise, not work
            if separable:
                per_step, fixed = (t2 - t1) / (s2 - s1), max(t1 - (t2 - t1) / (s2 - s1) * s1, 0.0)
                gflops = (flop2 - flop1) / (t2 - t1) / 1e9
            else:  # an upper bound of the time per step: the whole long probe, fixed costs included
                per_step, fixed = t2 / s2, 0.0
                gflops = flop2 / t2 / 1e9
            results[e.name] = {"steps": n_full, "probe_steps": [s1, s2], "probe_s": [t1, t2], "flop": full_flop,
                               "fixed_cost_separated": separable,
                               "achieved_gflops": gflops, "projected_s": fixed + per_step * n_full}
    gemm = max(gemm_before, _gemm_gflops())
    for name, r in results.items():
        r["fraction_of_gemm"] = r["achieved_gflops"] / gemm
        r["flop_floor_s"] = r["flop"] / gemm / 1e9
        r["projected_over_floor"] = r["projected_s"] / r["flop_floor_s"]
        lines.append(f"{name:<24} {r['flop']:.3g} FLOP over {r['steps']} steps; probe {r['probe_steps']} steps in "
                     f"{r['probe_s'][0]:.1f} / {r['probe_s'][1]:.1f} s -> {r['achieved_gflops']:.1f} GFLOP/s "
                     f"({100 * r['fraction_of_gemm']:.0f}% of GEMM)")
        if not r["fixed_cost_separated"]:
            lines.append(f"{'':<24} (the probes differ by less than 10 %: per-step time bounded by the long probe)")
        lines.append(f"{'':<24} projected paper scale {r['projected_s'] / 60:.1f} min; FLOP floor {r['flop_floor_s'] / 60:.1f} min "
                     f"-> {r['projected_over_floor']:.2f}x the floor")
    lines.append(f"GEMM rate (2048^2 float32, best of before and after): {gemm:.1f} GFLOP/s")
    emit({"machine": machine(), "device": device, "gemm_gflops": gemm, "experiments": results}, json_out, lines)
