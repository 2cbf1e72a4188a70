"""`genlab bench paper` (projection of paper-scale runs) and `genlab bench estimates` (measured times)."""

import json
import subprocess
import sys

import pytest

from genlab.experiments import get_experiment
from genlab.experiments._framework import make_config


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=timeout)


def test_double_descent_work_is_the_issue_arithmetic():
    """6 x parameters x samples x steps over widths and conditions: about 2.7e14 FLOP at paper scale."""
    e = get_experiment("double-descent")
    flop, field = e.work(make_config(e, "paper", 0, {}))
    assert field == "n_steps" and 2.6e14 < flop < 2.8e14
    half, _ = e.work(make_config(e, "paper", 0, {"n_steps": 2000}))
    assert half == pytest.approx(flop / 2, rel=0.01)


@pytest.mark.slow
def test_bench_paper_projects_double_descent(tmp_path):
    proc = run_cli("bench", "paper", "--only", "double-descent", "--short", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)["experiments"]["double-descent"]
    assert r["probe_steps"] == [5, 15] and r["steps"] == 4000
    # Above 3x the GEMM rate means the projection divided load noise (a run was slowed, not the work).
    assert r["achieved_gflops"] > 0 and 0 < r["fraction_of_gemm"] < 3
    assert r["projected_s"] > r["probe_s"][1] and r["flop_floor_s"] > 0


@pytest.mark.slow
def test_bench_paper_projects_a_steps_only_experiment():
    """A real run of the probes (run_experiment with the scaled field) of an experiment without a FLOP model."""
    proc = run_cli("bench", "paper", "--only", "variance-reduction,initialization", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["experiments"]
    r = result["variance-reduction"]
    assert r["steps_fields"] == ["n_repeats"] and r["steps"] == 2000 and "flop" not in r
    assert r["probe_steps"][1] == min(3 * r["probe_steps"][0], 2000) and r["projected_s"] >= r["probe_s"][1] * 0.9
    assert "not_projectable" in result["initialization"]


# ---- every paper scale projectable or explained; the projection's arithmetic; --write; genlab list

from pathlib import Path  # noqa: E402

import genlab.bench._estimates as estimates  # noqa: E402
import genlab.bench._paper as paper  # noqa: E402
from genlab.experiments import list_experiments  # noqa: E402


@pytest.mark.parametrize("experiment", [e for e in list_experiments() if "paper" in e.scales], ids=lambda e: e.name)
def test_every_paper_scale_is_projectable_or_says_why(experiment):
    """Projectable: its steps fields are int (or tuple-of-int) fields of its config, and the
    probes bench paper would run are configs the experiment accepts, with the fields set; else
    it declares a reason."""
    if paper.reason(experiment):
        assert experiment.not_projectable and experiment.steps is None and experiment.work is None
        return
    full = make_config(experiment, "paper", 0, {})
    fields = paper.steps_fields(experiment, full)
    assert fields and all(hasattr(full, f) for f in fields)
    seen = []
    paper.project(experiment, 20, "cpu", Path("/unused"), timer=lambda name, o, out, dev: seen.append(o) or 1.0)
    for overrides in seen:
        config = make_config(experiment, "paper", 0, overrides)  # what run_experiment builds from them
        assert {f: getattr(config, f) for f in fields} == overrides
    n_full = paper._length(getattr(full, fields[0]))
    assert [paper._length(o[fields[0]]) for o in seen[:2]][0] <= n_full


def _fake_timer(fixed, per_step, field, calls):
    def timer(name, overrides, out, device):
        calls.append(overrides)
        return fixed + per_step * overrides[field]
    return timer


def test_projection_is_fixed_plus_per_step_times_full_steps():
    e = get_experiment("rnn-temperature")  # steps "n_steps" (3000 at paper scale), eval_every 50
    calls = []
    r = paper.project(e, 20, "cpu", Path("/unused"), timer=_fake_timer(7.0, 0.25, "n_steps", calls))
    assert calls == [{"n_steps": 50}, {"n_steps": 150}]  # the probes evaluate, as the full run does
    assert r["probe_steps"] == [50, 150] and r["steps"] == 3000 and r["fixed_cost_separated"]
    assert r["fixed_s"] == pytest.approx(7.0) and r["per_step_s"] == pytest.approx(0.25)
    assert r["projected_s"] == pytest.approx(7.0 + 0.25 * 3000)
    assert "flop" not in r


def test_probes_grow_until_their_times_separate_and_stop_at_the_full_run():
    e = get_experiment("rnn-temperature")
    calls = []
    r = paper.project(e, 20, "cpu", Path("/unused"), timer=_fake_timer(100.0, 1e-4, "n_steps", calls))
    assert [c["n_steps"] for c in calls] == [50, 150, 500, 1500, 1000, 3000]
    assert r["full_run_probed"] and r["projected_s"] == pytest.approx(100.0 + 1e-4 * 3000)


def test_several_steps_fields_scale_together():
    e = get_experiment("mode-connectivity")  # n_steps = curve_steps = 20000 at paper scale
    calls = []
    paper.project(e, 20, "cpu", Path("/unused"), timer=_fake_timer(1.0, 0.1, "n_steps", calls))
    assert calls[0] == {"n_steps": 20, "curve_steps": 20} and calls[1] == {"n_steps": 60, "curve_steps": 60}


def _bench(monkeypatch, tmp_path, only, write=False, timer=None):
    monkeypatch.setattr(paper, "_timed_run", timer or _fake_timer(2.0, 0.01, "n_steps", []))
    import genlab.bench._train as train

    monkeypatch.setattr(train, "_gemm_gflops", lambda: 100.0)
    monkeypatch.setattr(estimates, "ESTIMATES_FILE", tmp_path / "estimates.json")
    paper.command(short=20, only=only, device="cpu", write=write, json_out=True)


def test_write_merges_projections_and_keeps_other_keys(monkeypatch, tmp_path, capsys):
    target = tmp_path / "estimates.json"
    target.write_text(json.dumps({"date": "2026-01-01", "load_average_1min": 1.0, "machine": {"cpu_count": 2},
                                  "experiments": {"rnn-temperature": {"quick": 100.0, "smoke": 5.0},
                                                  "knots": {"quick": 7.0}}}))
    _bench(monkeypatch, tmp_path, "rnn-temperature,grokking", write=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed["experiments"]["grokking"] == {"not_projectable": get_experiment("grokking").not_projectable}
    data = json.loads(target.read_text())
    assert data["date"] == "2026-01-01" and data["load_average_1min"] == 1.0
    assert data["experiments"]["knots"] == {"quick": 7.0}
    entry = data["experiments"]["rnn-temperature"]
    assert entry["quick"] == 100.0 and entry["smoke"] == 5.0
    p = entry["paper_projected"]
    assert p["s"] == pytest.approx(2.0 + 0.01 * 3000, abs=0.05) and p["probe_steps"] == [50, 150]
    assert p["gemm_gflops"] == 100.0 and p["date"] == printed["date"] and p["machine"]["cpu_count"]
    assert "grokking" not in data["experiments"]


def test_write_with_a_flop_model_records_the_floor(monkeypatch, tmp_path, capsys):
    _bench(monkeypatch, tmp_path, "double-descent", write=True)
    r = json.loads(capsys.readouterr().out)["experiments"]["double-descent"]
    assert r["flop_floor_s"] == pytest.approx(r["flop"] / 100e9)
    assert r["projected_over_floor"] == pytest.approx(r["projected_s"] / r["flop_floor_s"])
    entry = json.loads((tmp_path / "estimates.json").read_text())["experiments"]["double-descent"]["paper_projected"]
    assert entry["flop_floor_s"] == pytest.approx(r["flop_floor_s"], abs=0.1)


def test_list_shows_a_recorded_projection_else_the_declared_estimate(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from genlab.cli import build_app

    (tmp_path / "estimates.json").write_text(json.dumps({"experiments": {
        "rnn-temperature": {"quick": 100.0, "paper_projected": {"s": 1500.0, "probe_steps": [50, 150]}}}}))
    monkeypatch.setattr(estimates, "ESTIMATES_FILE", tmp_path / "estimates.json")
    out = CliRunner().invoke(build_app(), ["list"]).stdout
    rnn = out[out.index("rnn-temperature"):].splitlines()[1]
    assert "paper ~25 min (projected by genlab bench paper)" in rnn and "quick 100 s (measured)" in rnn
    knots = out[out.index("knots "):].splitlines()[1]
    assert f"paper {get_experiment('knots').estimates['paper']} (declared)" in knots


def test_bench_paper_bad_only_is_one_line_and_exit_2():
    proc = run_cli("bench", "paper", "--only", "rnn-temperature,nope", timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "'--only' parameter of genlab bench paper" in proc.stderr and "(unknown: nope)" in proc.stderr


@pytest.mark.parametrize("only", ["nonsense", ",", " "])
def test_bench_paper_refuses_unknown_or_empty_only(monkeypatch, tmp_path, only):
    from genlab._checks import ParameterError

    with pytest.raises(ParameterError, match="'--only' parameter of genlab bench paper must name experiments"):
        _bench(monkeypatch, tmp_path, only)
