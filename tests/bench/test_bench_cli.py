"""Smoke runs of `genlab bench data` and `genlab bench train` at tiny sizes (subprocess, JSON)."""

import json
import subprocess
import sys


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=timeout)


def test_bench_data_json_reports_both_times_and_identical_output():
    proc = run_cli("bench", "data", "--json", "--sizes", "200,1000", "--repeat", "1", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [r["n_samples"] for r in result["results"]] == [200, 1000]
    for r in result["results"]:
        assert r["reference_s"] > 0 and r["genlab_s"] > 0
        assert abs(r["speedup"] - r["reference_s"] / r["genlab_s"]) < 1e-9
        assert r["max_abs_diff"] <= 1e-10  # the same dataset as the reference, not just fast
        assert r["draws_floor_s"] > 0 and abs(r["speedup_ceiling"] - r["reference_s"] / r["draws_floor_s"]) < 1e-9


def test_bench_train_json_reports_ratio_floor_and_sweep():
    proc = run_cli("bench", "train", "--json", "--n-models", "2", "--n-steps", "20", "--ref-steps", "5",
                   "--sweep-steps", "1", "--threads", "1", "--seed", "7")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    pop, ref = result["population"], result["plain_loop"]
    assert pop["threads"] == 1 and pop["n_models"] == 2 and pop["seconds"] > 0
    assert abs(result["speedup"] - ref["seconds_for_all"] / pop["seconds"]) < 1e-9
    floor = result["matmul_floor"]
    assert floor["ms_per_step"] > 0 and floor["max_speedup"] > 0
    sweep = result["width_sweep"]
    assert 0 < sweep["fraction_of_gemm"] and sweep["gemm_gflops"] > 0


def test_bench_bad_input_is_one_line_and_exit_2():
    proc = run_cli("bench", "train", "--n-models", "0")
    assert proc.returncode == 2
    assert "'--n-models' parameter of genlab bench train" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("bench", "measure", "--k", "2", "--train-steps", "5", "--max-iter", "0")
    assert proc.returncode == 2
    assert "'--max-iter' parameter of genlab bench measure" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("bench", "data", "--sizes", "")
    assert proc.returncode == 2 and "'--sizes' parameter of genlab bench data must name at least one size" in proc.stderr
