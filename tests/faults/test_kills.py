"""SIGKILL at random moments of a sweep and of a `genlab run` (driver and workers at once, like a
crashed machine); resuming gives the same results as an uninterrupted run, byte for byte."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from sweep_faults import toy_group
from genlab.sweep import Sweep, run_sweep
sweep = Sweep(name="kills", base={{"n_steps": 20, "eval_every": 5}}, grid={{"width": [8, 16, 24, 32, 40, 48], "seed": [0, 1]}})
run_sweep(sweep, {out!r}, backend={backend!r}, group_fn=toy_group, progress=False, max_group_size=1)
"""


def _kill_after(args, delay: float, **kw) -> int:
    proc = subprocess.Popen(args, cwd=ROOT, env={**ENV, **kw.pop("env", {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, **kw)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _store(path):
    con = sqlite3.connect(path / "runs.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = pd.read_sql_query("SELECT id, status, final FROM runs ORDER BY id", con)
    metrics = pd.read_sql_query("SELECT * FROM metrics ORDER BY run_id, step, split, metric", con)
    con.close()
    return runs, metrics


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["serial", "local"])
def test_sigkill_a_sweep_at_random_moments_then_resume(tmp_path, backend):
    rng = np.random.default_rng(19)
    out = tmp_path / "killed"
    code = DRIVER.format(tests=str(TESTS / "sweep"), out=str(out), backend=backend)
    env = {"SWEEP_TOY_SLEEP": "0.4"}
    codes = [_kill_after([sys.executable, "-c", code], float(rng.uniform(0.5, 6.0)), env=env) for _ in range(4)]
    assert -signal.SIGKILL in codes  # at least one kill landed mid-sweep
    assert _kill_after([sys.executable, "-c", code], 600, env=env) == 0
    assert _kill_after([sys.executable, "-c", DRIVER.format(tests=str(TESTS / "sweep"), out=str(tmp_path / "whole"),
                                                            backend=backend)], 600) == 0
    runs_a, metrics_a = _store(out)
    runs_b, metrics_b = _store(tmp_path / "whole")
    assert len(runs_a) == 12 and (runs_a.status == "done").all()
    pd.testing.assert_frame_equal(runs_a, runs_b)
    pd.testing.assert_frame_equal(metrics_a, metrics_b)
    assert not list((out / "weights").glob(".*"))  # no orphan temporary file


@pytest.mark.slow
def test_sigkill_genlab_run_at_random_moments_then_resume(tmp_path):
    """`genlab run hyperparameter-selection --scale smoke` (2 tasks) killed at random moments,
    then run to the end: metrics.csv and every figure equal an uninterrupted run's bytes."""
    rng = np.random.default_rng(7)
    cmd = [sys.executable, "-m", "genlab", "run", "hyperparameter-selection", "--scale", "smoke", "--seed", "3"]
    out = tmp_path / "killed"
    for _ in range(3):
        _kill_after([*cmd, "--out", str(out)], float(rng.uniform(1.0, 12.0)))
    t0 = time.time()
    assert _kill_after([*cmd, "--out", str(out)], 600) == 0, "the resumed run failed"
    assert time.time() - t0 < 600
    assert _kill_after([*cmd, "--out", str(tmp_path / "whole")], 600) == 0
    files = sorted(p.name for p in (tmp_path / "whole").iterdir() if p.is_file())
    assert files == sorted(p.name for p in out.iterdir() if p.is_file())
    for name in files:
        if name not in ("summary.json", "README.md"):  # these two hold wall times
            assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 1.5])
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_sweep_stops_cleanly(tmp_path, how, delay):
    """Ctrl-C (SIGINT to the whole process group, workers included) or a SIGTERM to the driver
    alone (kill, timeout, a batch scheduler), before and after the first group is committed
    (the whole sweep takes ~3 s on an idle 2-core machine): no traceback, no resource_tracker
    'leaked semaphore' warning, the committed runs kept."""
    proc = subprocess.Popen([sys.executable, "-m", "genlab", "sweep", "bench", "--out", str(tmp_path / "s")], cwd=tmp_path,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in proc.stdout:  # wait until the workers run
        if line.startswith("backend:"):
            break
    time.sleep(delay)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "leaked semaphore" not in err and "Traceback" not in err and "Process " not in err, err
    assert "run the same command again to resume" in out
    kept = int(out.split("interrupted: ")[1].split(" run(s)")[0])
    with sqlite3.connect(tmp_path / "s" / "runs.sqlite") as db:
        (n_done,) = db.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()
    assert n_done == kept < 64
