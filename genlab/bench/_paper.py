"""Paper: every experiment's paper-scale grid for a few steps, projected to its full length.

Each experiment runs as ``genlab run NAME --scale paper`` would (local backend, default paper
seeds, the full grid of widths, seeds and conditions) twice, with its steps fields cut to ``s``
and ``3 s`` steps. ``s`` is ``--short``, or the config's ``eval_every`` where that is longer (up
to 1/30 of the run), so that both probes evaluate as the full run does; it doubles until the
config accepts the scaled fields (step budgets that must stay distinct, for example). The
difference of the two wall times is the time of the extra steps, and the paper-scale wall time
is projected as ``fixed + per step x full steps``. Where the two probes differ by less than 10 %
(fixed costs dominate), both grow 10x and run again, up to the full length (the long probe is
then the run itself).

The steps fields are the experiment's ``steps`` (several are scaled together, in proportion to
their paper values), or those of its ``work`` (FLOP of a configuration): those also get the
achieved GFLOP/s, against the float32 GEMM rate measured in the same run, and the FLOP floor
(FLOP / GEMM rate) beside the projection. Experiments whose time is not linear in a steps field
(closed forms, training to a target loss) are listed with the reason they declare.
``--write`` records the projections in ``genlab/experiments/estimates.json`` for ``genlab list``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import tempfile
import time
from pathlib import Path

import typer

from genlab.bench._common import emit, machine

#: Config fields of an evaluation interval: a probe is at least this long (so that it evaluates),
#: up to 1 / MAX_EVAL_FRACTION of the run
EVAL_FIELDS = ("eval_every",)
MAX_EVAL_FRACTION = 30
GROWTH = 10  #: how much both probes grow when their times do not separate
MAX_GROWTHS = 3


def _timed_run(name: str, overrides: dict, out: Path, device: str) -> float:
    from genlab.experiments import run_experiment

    t0 = time.perf_counter()
    run_experiment(name, scale="paper", out=out, device=device, fresh=True, **overrides)
    return time.perf_counter() - t0


def steps_fields(experiment, full) -> tuple[str, ...]:
    """The config fields ``genlab bench paper`` scales (the first sets the probe's step count)."""
    if experiment.work is not None:
        return (experiment.work(full)[1],)
    if experiment.steps is None:
        return ()
    return (experiment.steps,) if isinstance(experiment.steps, str) else tuple(experiment.steps)


def _length(value) -> int:
    return max(value) if isinstance(value, (tuple, list)) else int(value)


def _scale(value, n: int, full_n: int):
    """``value`` (steps, or a tuple of step counts) at ``n`` of ``full_n`` steps, each at least 1."""
    if isinstance(value, (tuple, list)):
        return type(value)(_scale(v, n, full_n) for v in value)
    return value if n == full_n else max(1, round(value * n / full_n))


def probe_overrides(full, fields: tuple[str, ...], n: int) -> dict:
    """The overrides of a probe of ``n`` steps: every field in proportion to the first's paper length."""
    full_n = _length(getattr(full, fields[0]))
    return {f: _scale(getattr(full, f), n, full_n) for f in fields}


def _valid(experiment, full, fields, n: int) -> bool:
    """Whether the config accepts the probe of ``n`` steps (scaled budgets may collide or cross)."""
    from genlab._checks import ParameterError
    from genlab.experiments._framework import make_config

    try:
        make_config(experiment, "paper", 0, probe_overrides(full, fields, n))
    except ParameterError:
        return False
    return True


def reason(experiment) -> str:
    """Why an experiment cannot be projected ('' when it can)."""
    if experiment.work is not None or experiment.steps is not None:
        return ""
    return experiment.not_projectable or "declares neither steps nor work"


def project(experiment, short: int, device: str, tmp: Path, timer=None) -> dict:
    """Probe ``experiment`` at paper scale for a few steps; the projection of its full run."""
    from genlab.experiments._framework import make_config

    timer = timer or _timed_run
    full = make_config(experiment, "paper", 0, {})
    fields = steps_fields(experiment, full)
    n_full = _length(getattr(full, fields[0]))
    evals = [getattr(full, f) for f in EVAL_FIELDS if isinstance(getattr(full, f, None), int)]
    s1 = min(max([short, *(min(k, n_full // MAX_EVAL_FRACTION) for k in evals)]), n_full)
    while s1 < n_full and not _valid(experiment, full, fields, s1):  # e.g. budgets that must stay distinct
        s1 = min(2 * s1, n_full)
    for growth in range(MAX_GROWTHS + 1):
        s2 = min(3 * s1, n_full)
        probes = [probe_overrides(full, fields, s) for s in (s1, s2)]
        t1, t2 = (timer(experiment.name, o, tmp / f"{experiment.name}-{i}", device) for i, o in enumerate(probes))
        separable = s2 > s1 and t2 - t1 > 0.1 * t2  # else the probes' difference is load noise, not work
        if separable or s2 == n_full or growth == MAX_GROWTHS:
            break
        s1 = min(GROWTH * s1, max(n_full // 3, 1))
    if s2 == n_full:  # the long probe is the full run: its time is the paper time
        per_step = (t2 - t1) / (s2 - s1) if s2 > s1 else t2 / s2
        fixed, projected = max(t2 - per_step * s2, 0.0), t2
    elif separable:
        per_step = (t2 - t1) / (s2 - s1)
        fixed = max(t1 - per_step * s1, 0.0)
        projected = fixed + per_step * n_full
    else:  # an upper bound of the time per step: the whole long probe, fixed costs included
        per_step, fixed = t2 / s2, 0.0
        projected = per_step * n_full
    r = {"steps_fields": list(fields), "steps": n_full, "probe_steps": [s1, s2], "probe_s": [t1, t2],
         "fixed_cost_separated": separable, "full_run_probed": s2 == n_full,
         "fixed_s": fixed, "per_step_s": per_step, "projected_s": projected}
    if experiment.work is not None:
        flop1, flop2 = (experiment.work(dataclasses.replace(full, **o))[0] for o in probes)
        r["flop"] = experiment.work(full)[0]
        r["achieved_gflops"] = ((flop2 - flop1) / (t2 - t1) if separable else flop2 / t2) / 1e9
    return r


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def command(
    short: int = typer.Option(20, min=1, help="Steps of the short probe (the long one runs 3x as many)."),
    only: str = typer.Option(None, help="Comma-separated experiment names (default: every one)."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    write: bool = typer.Option(False, "--write", help="Record the projections in genlab/experiments/estimates.json "
                               "(key 'paper_projected'; genlab list shows them)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    from genlab._checks import ParameterError
    from genlab.bench._train import _gemm_gflops
    from genlab.experiments import list_experiments
    from genlab.experiments._framework import check_device

    check_device(device, "genlab bench paper")
    candidates = [e for e in list_experiments() if "paper" in e.scales]
    if only is not None:
        chosen = [n.strip() for n in only.split(",") if n.strip()]
        names = [e.name for e in candidates]
        unknown = [n for n in chosen if n not in names]
        if not chosen or unknown:
            raise ParameterError(f"The '--only' parameter of genlab bench paper must name experiments among "
                                 f"{{{', '.join(names)}}}. Got {only!r} instead"
                                 + (f" (unknown: {', '.join(unknown)})." if unknown else "."))
        candidates = [e for e in candidates if e.name in chosen]
    gemm_before = _gemm_gflops()
    results, lines = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for e in candidates:
            why = reason(e)
            results[e.name] = {"not_projectable": why} if why else project(e, short, device, Path(tmp))
    gemm = max(gemm_before, _gemm_gflops())
    for name, r in results.items():
        if "not_projectable" in r:
            lines.append(f"{name:<24} not projectable from a few steps: {r['not_projectable']}")
            continue
        probe = (f"probe {r['probe_steps']} of {r['steps']} steps ({', '.join(r['steps_fields'])}) in "
                 f"{r['probe_s'][0]:.1f} / {r['probe_s'][1]:.1f} s")
        if "flop" in r:
            r["fraction_of_gemm"] = r["achieved_gflops"] / gemm
            r["flop_floor_s"] = r["flop"] / gemm / 1e9
            r["projected_over_floor"] = r["projected_s"] / r["flop_floor_s"]
            lines.append(f"{name:<24} {r['flop']:.3g} FLOP; {probe} -> {r['achieved_gflops']:.1f} GFLOP/s "
                         f"({100 * r['fraction_of_gemm']:.0f}% of GEMM)")
            floor = f"FLOP floor {_minutes(r['flop_floor_s'])} -> {r['projected_over_floor']:.2f}x the floor"
        else:
            lines.append(f"{name:<24} {probe}")
            floor = "no FLOP model declared"
        if r["full_run_probed"]:
            lines.append(f"{'':<24} (the long probe is the full run: its time is the paper time)")
        elif not r["fixed_cost_separated"]:
            lines.append(f"{'':<24} (the probes differ by less than 10 %: per-step time bounded by the long probe)")
        lines.append(f"{'':<24} projected paper scale {_minutes(r['projected_s'])} (fixed {r['fixed_s']:.1f} s + "
                     f"{1e3 * r['per_step_s']:.3g} ms/step); {floor}")
    lines.append(f"GEMM rate (2048^2 float32, best of before and after): {gemm:.1f} GFLOP/s")
    result = {"date": _dt.date.today().isoformat(), "machine": machine(), "device": device, "gemm_gflops": gemm,
              "experiments": results}
    if write:
        from genlab.bench._estimates import ESTIMATES_FILE, record_paper

        record_paper(result)
        lines.append(f"written: {ESTIMATES_FILE}")
    emit(result, json_out, lines)
