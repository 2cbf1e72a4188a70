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
