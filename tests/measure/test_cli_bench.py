"""Subprocess smoke runs of `genlab measure` and `genlab bench measure`."""

import json
import subprocess
import sys

import pytest


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_bench_measure_json():
    proc = run_cli("bench", "measure", "--json", "--train-steps", "50", "--ref-steps", "60", "--rtol", "1e-3", timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["genlab_lanczos"]["max_rel_error"] <= out["target_max_rel_error"]
    assert out["power_iteration"]["max_rel_error"] <= out["target_max_rel_error"]
    assert out["hvp_ratio"] > 1
