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


def test_bench_estimates_reads_the_wall_times_of_stored_runs(tmp_path, smoke):
    run_dir = smoke("double-descent")
    (tmp_path / "double-descent").symlink_to(run_dir, target_is_directory=True)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    proc = run_cli("bench", "estimates", "--scales", "smoke", "--from-runs", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    times = json.loads(proc.stdout)["experiments"]
    wall = json.loads((run_dir / "summary.json").read_text())["wall_time_s"]
    assert times == {"double-descent": {"smoke": round(wall, 1)}}
    assert "skipping" in proc.stderr and "broken" in proc.stderr
    bad = run_cli("bench", "estimates", "--scales", "paper")
    assert bad.returncode == 2 and "'--scales' parameter of genlab bench estimates" in bad.stderr


@pytest.mark.slow
def test_bench_paper_projects_double_descent(tmp_path):
    proc = run_cli("bench", "paper", "--only", "double-descent", "--short", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)["experiments"]["double-descent"]
    assert r["probe_steps"] == [5, 15] and r["steps"] == 4000
    # Above 3x the GEMM rate means the projection divided load noise (a run was slowed, not the work).
    assert r["achieved_gflops"] > 0 and 0 < r["fraction_of_gemm"] < 3
    assert r["projected_s"] > r["probe_s"][1] and r["flop_floor_s"] > 0
