"""`genlab sweep` and `genlab runs` end to end in subprocesses: SIGKILL and resume, two drivers
at once, bad input, ls/show/export."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SWEEP = """
name = "cli"
[base]
data = {n_samples = 300}
n_steps = 1000
eval_every = 250
batch_size = 50
[grid]
width = [8, 12, 16, 20]
seed = [0, 1]
lr = [0.05, 0.1]
"""
N_RUNS, ROWS_PER_RUN = 16, 5 * 2 * 2  # 5 evaluations x (train, test) x (loss, error)


def genlab(*args, **kw):
    return subprocess.run([sys.executable, "-m", "genlab", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, **kw)


def popen(*args):
    return subprocess.Popen([sys.executable, "-m", "genlab", *map(str, args)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def check_store(path):
    con = sqlite3.connect(path / "runs.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = pd.read_sql_query("SELECT id, status, final FROM runs", con).set_index("id")
    counts = pd.read_sql_query("SELECT run_id, COUNT(*) AS n FROM metrics GROUP BY run_id", con).set_index("run_id").n
    metrics = pd.read_sql_query("SELECT * FROM metrics ORDER BY run_id, step, split, metric", con)
    con.close()
    return runs, counts, metrics


@pytest.fixture()
def sweep_file(tmp_path):
    p = tmp_path / "cli.toml"
    p.write_text(SWEEP)
    return p


@pytest.mark.slow
def test_sigkill_midway_then_resume_equals_uninterrupted(tmp_path, sweep_file):
    out = tmp_path / "killed"
    proc = popen("sweep", sweep_file, "--out", out, "--workers", "1")
    deadline = time.time() + 120
    n_done = 0
    while time.time() < deadline and n_done == 0:  # wait for the first committed group
        time.sleep(0.2)
        if (out / "runs.sqlite").exists():
            try:
                con = sqlite3.connect(out / "runs.sqlite")
                n_done = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:
                pass
    os.killpg(proc.pid, signal.SIGKILL)  # driver and its workers, like a crashed machine
    proc.wait()
    assert 0 < n_done < N_RUNS, n_done
    resumed = genlab("sweep", sweep_file, "--out", out)
    assert resumed.returncode == 0, resumed.stderr
    skipped = int(resumed.stdout.split("already done")[0].split()[-1])
    assert skipped >= n_done and f"running {N_RUNS - skipped} run(s)" in resumed.stdout
    whole = genlab("sweep", sweep_file, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    runs_a, counts_a, metrics_a = check_store(out)
    runs_b, counts_b, metrics_b = check_store(tmp_path / "whole")
    assert len(runs_a) == N_RUNS and (runs_a.status == "done").all()
    assert (counts_a == ROWS_PER_RUN).all() and len(counts_a) == N_RUNS
    assert runs_a.sort_index().final.tolist() == runs_b.sort_index().final.tolist()  # identical results
    pd.testing.assert_frame_equal(metrics_a, metrics_b)


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from sweep_faults import toy_group
from genlab.sweep import Sweep, run_sweep
sweep = Sweep(name="two", base={{"n_steps": 20, "eval_every": 5}}, grid={{"width": [8, 16, 24, 32], "seed": [0, 1, 2]}})
run_sweep(sweep, {out!r}, backend="serial", group_fn=toy_group, progress=False)
"""


def test_two_sweeps_at_once_leave_a_consistent_store(tmp_path):
    """Two drivers started together on one directory: one runs, the other is refused cleanly
    (or, if it starts after the first has finished, finds everything done)."""
    out = tmp_path / "both"
    code = DRIVER.format(tests=str(Path(__file__).parent), out=str(out))
    env = {**os.environ, "SWEEP_TOY_SLEEP": "0.3"}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    ok = [r for r in results if r[0] == 0]
    assert ok, results
    for rc, _, err in results:
        if rc != 0:  # the loser is refused with the reason
            assert "Another genlab process (pid" in err, err
    runs, counts, _ = check_store(out)
    assert len(runs) == 12 and (runs.status == "done").all() and (counts == 5).all()
    assert sum("running 12 run(s)" in out_ for _, out_, _ in results) == 1  # no run was trained twice


def main(capsys, *args):
    """Run the CLI in-process (subprocess start-up costs seconds here); return (code, out, err)."""
    from genlab.cli import main as cli_main

    try:
        cli_main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("args, pattern", [
    (["sweep", "dmo"], "Did you mean 'demo'?"),
    (["sweep", "demo", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"],
     "genlab: error: Cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 3 s (OSError)."),
    (["sweep", "demo", "--backend", "dask", "--scheduler", "127.0.0.1"], "must be an address like 'tcp://HOST:8786'"),
    (["sweep", "demo", "--scheduler", "tcp://127.0.0.1:9"], "needs --backend dask"),
    (["runs", "ls", "/nonexistent/sweep"], "No sweep results in"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, pattern):
    code, _, err = main(capsys, *args, *(["--out", tmp_path / "o"] if args[0] == "sweep" else []))
    assert code == 2 and pattern in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # refused before any work


@pytest.mark.parametrize("text, pattern", [
    ("[grid]\nwidht = [8]\n", "Did you mean 'width'?"),
    ("[grid]\nwidth = []\n", "must be a non-empty list"),
    ("[grid]\nwidth = [8, -3]\n", "width=-3"),
    ('[base]\nactivation = "bogus"\n', "The 'activation' parameter of Sweep must be one of"),
    ("[base]\ndata = {bogus = 1}\n", "option(s) 'bogus' that dataset 'mnist1d' does not take"),
    ("[base]\nn_train = 100000\n", "at most the dataset's 4000 training samples"),
])
def test_bad_grid_value_in_file(tmp_path, capsys, text, pattern):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    code, _, err = main(capsys, "sweep", p, "--out", tmp_path / "o")
    assert code == 2 and pattern in err
    assert not (tmp_path / "o").exists()


def test_runs_ls_show_export_and_tensorboard(tmp_path, capsys):
    out = tmp_path / "demo"
    code, stdout, err = main(capsys, "sweep", "demo", "--out", out, "--tensorboard", "--backend", "serial")
    assert code == 0, err
    assert "8 runs in 2 group(s): separate groups by width; batched in one population by seed, lr" in stdout
    code, ls, _ = main(capsys, "runs", "ls", out)
    assert code == 0 and "8 done, 0 failed" in ls and "test/error" in ls
    first = ls.splitlines()[1].split()[0]
    code, show, _ = main(capsys, "runs", "show", out, first[:6])
    assert code == 0 and f"run {first}" in show and "test/error" in show
    code, _, err = main(capsys, "runs", "export", out, "--format", "csv")
    assert code == 0, err
    runs = pd.read_csv(out / "export" / "runs.csv")
    metrics = pd.read_csv(out / "export" / "metrics.csv")
    assert len(runs) == 8 and set(metrics.run_id) == set(runs.id)
    (tmp_path / "afile").write_text("")
    code, _, err = main(capsys, "runs", "export", out, "--out", tmp_path / "afile")
    assert code == 2 and "'--out' parameter of genlab runs export must be a folder" in err
    code, _, err = main(capsys, "runs", "export", out, "--out", tmp_path / "afile" / "sub")
    assert code == 2 and "genlab: error: cannot use" in err and "Traceback" not in err  # any unusable path: one line
    code, _, err = main(capsys, "runs", "export", out, "--format", "parquet")
    assert code == 0 and len(pd.read_parquet(out / "export" / "metrics.parquet")) == len(metrics)
    assert len(list((out / "tensorboard").iterdir())) == 8
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tensorboard" / first))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("test/error")]
    assert steps == sorted(metrics[(metrics.run_id == first) & (metrics.split == "test") & (metrics.metric == "error")].step)


@pytest.mark.slow
def test_bench_sweep_json():
    """`genlab bench sweep`: every timing present; a pool forked from the warm forkserver starts
    faster than a pool of spawned workers (each imports torch)."""
    import json

    proc = genlab("bench", "sweep", "--json", "--n-steps", "20")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert (r["n_runs"], r["n_groups"]) == (64, 4)
    assert r["local_backend_workers"] * r["local_backend_threads_per_worker"] <= r["machine"]["cpu_count"]
    assert r["pool_start_forkserver_warm_s"] < r["pool_start_spawn_s"]
    assert 0 < r["store_overhead_per_run_ms"] and r["local_backend_s"] > 0 and r["one_after_another_s"] > 0
