"""The runner and store: resume, retries, a killed worker, locking, and training through train_many."""

import json
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sweep_faults import killing_group, raising_group, toy_group

from genlab._checks import ParameterError, UserError
from genlab.sweep import Store, Sweep, open_store, plan_workers, run_sweep
from genlab.sweep._execute import make_run_data, make_run_model, make_train_config
from genlab.sweep._store import SweepLock
from genlab.train import train

TOY = Sweep(name="toy", base={"n_steps": 20, "eval_every": 5},
            grid={"width": [8, 13, 21], "seed": [0, 1], "lr": [0.1, 0.3]})


def _store_state(path):
    with open_store(path) as s:
        runs = s.runs().set_index("id")
        metrics = s.metrics()
        assert s.integrity() == "ok"
    return runs, metrics


def test_serial_sweep_store_and_resume(tmp_path):
    rep = run_sweep(TOY, tmp_path, backend="serial", group_fn=toy_group, echo=None, progress=False)
    assert (rep.n_runs, rep.n_groups, rep.n_done, rep.n_failed) == (12, 3, 12, 0)
    runs, metrics = _store_state(tmp_path)
    assert set(runs.index) == {r.id for r in TOY.runs()} and (runs.status == "done").all()
    # 5 evaluations per run, each stored once (the primary key forbids doubles).
    assert len(metrics) == 12 * 5 and metrics.groupby("run_id").size().eq(5).all()
    # The stored curve is the one the group function computed.
    r0 = TOY.runs()[0]
    expected = toy_group(type("T", (), {"runs": [(r0.id, r0.config)]})())[0]
    got = metrics[metrics.run_id == r0.id].sort_values("step")
    assert np.allclose(got.value, [row[3] for row in expected.metrics])
    again = run_sweep(TOY, tmp_path, backend="serial", group_fn=toy_group, echo=None, progress=False)
    assert (again.n_skipped, again.n_done) == (12, 0)
    # Extending a grid runs only the new runs.
    bigger = Sweep(name="toy", base=TOY.base, grid={**TOY.grid, "seed": [0, 1, 2]})
    more = run_sweep(bigger, tmp_path, backend="serial", group_fn=toy_group, echo=None, progress=False)
    assert (more.n_skipped, more.n_done) == (12, 6)


@pytest.mark.parametrize("backend", ["serial", pytest.param("local", marks=pytest.mark.slow)])
def test_raising_group_is_retried_then_failed(tmp_path, monkeypatch, backend):
    monkeypatch.setenv("SWEEP_MARKERS", str(tmp_path))
    msgs = []
    rep = run_sweep(TOY, tmp_path / "out", backend=backend, retries=2, group_fn=raising_group,
                    echo=msgs.append, progress=False)
    assert (rep.n_done, rep.n_failed) == (8, 4)
    markers = list(tmp_path.glob("raise-*"))
    assert len(markers) == 1 and markers[0].read_text() == "xxx"  # 1 try + 2 retries
    runs, metrics = _store_state(tmp_path / "out")
    failed = runs[runs.status == "failed"]
    assert len(failed) == 4 and (failed.width == 13).all() and (failed.attempts == 3).all()
    assert failed.error.str.contains("ValueError: width 13 is unlucky").all()
    assert set(metrics.run_id) == set(runs[runs.status == "done"].index)
    assert any("retrying" in m for m in msgs)
    # A later invocation tries the failed runs again (and only them).
    rep2 = run_sweep(TOY, tmp_path / "out", backend="serial", retries=0, group_fn=raising_group, echo=None, progress=False)
    assert (rep2.n_skipped, rep2.n_failed) == (8, 4)


def test_killed_worker_is_survived(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_MARKERS", str(tmp_path))
    rep = run_sweep(TOY, tmp_path / "out", backend="local", workers=2, retries=1, group_fn=killing_group,
                    echo=None, progress=False)
    assert (rep.n_done, rep.n_failed) == (12, 0)
    assert len(list(tmp_path.glob("killed-*"))) == 1
    runs, _ = _store_state(tmp_path / "out")
    assert (runs.status == "done").all() and runs[runs.width == 13].attempts.eq(2).all()
    # Results equal a sweep without the kill.
    ref = run_sweep(TOY, tmp_path / "ref", backend="serial", group_fn=toy_group, echo=None, progress=False)
    assert ref.n_done == 12
    ref_runs, _ = _store_state(tmp_path / "ref")
    assert np.array_equal(runs.loc[ref_runs.index, "train/loss"], ref_runs["train/loss"])


def test_lock_refuses_a_second_driver_and_is_released_by_death(tmp_path):
    Store(tmp_path, create=True).close()
    with SweepLock(tmp_path):
        with pytest.raises(UserError, match=r"Another genlab process \(pid \d+\) is writing to"):
            run_sweep(TOY, tmp_path, backend="serial", group_fn=toy_group, echo=None)
    # A holder killed with SIGKILL leaves a lock file whose flock the kernel has dropped.
    code = textwrap.dedent(f"""
        import os, signal
        from genlab.sweep._store import SweepLock
        SweepLock({str(tmp_path)!r}).acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9 and (tmp_path / "sweep.lock").read_text().strip().isdigit()
    rep = run_sweep(TOY, tmp_path, backend="serial", group_fn=toy_group, echo=None, progress=False)
    assert rep.n_done == 12


def test_commit_is_atomic_per_group(tmp_path):
    """A failure inside the commit transaction leaves no row of the group behind."""
    store = Store(tmp_path, create=True)
    runs = TOY.runs()[:4]
    good = toy_group(type("T", (), {"runs": [(r.id, r.config) for r in runs]})())
    good[2].metrics.append(good[2].metrics[0])  # a doubled row violates the primary key
    result = type("R", (), {"runs": good, "started": 0.0, "wall_s": 0.0, "worker": "w"})()
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_group("toy", runs, result, attempts=1)
    assert store.con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert store.con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 0
    store.close()


def test_plan_workers_never_oversubscribes():
    for cores in (1, 2, 8, 16):
        for n_groups in (1, 3, 64):
            for req in (None, 1, 4):
                w, t = plan_workers(n_groups, req, cores)
                assert 1 <= w <= max(1, n_groups) and w * t <= max(cores, w)
    assert plan_workers(5, None, 2) == (2, 1)
    assert plan_workers(2, None, 8) == (2, 4)


def test_backend_and_option_errors(tmp_path):
    with pytest.raises(ParameterError, match="'backend' parameter of genlab sweep must be one of"):
        run_sweep(TOY, tmp_path, backend="ray", group_fn=toy_group, echo=None)
    with pytest.raises(ParameterError, match="needs --backend dask"):
        run_sweep(TOY, tmp_path, backend="local", scheduler="tcp://127.0.0.1:1", group_fn=toy_group, echo=None)


def test_train_group_matches_training_each_run_alone(tmp_path):
    """The default group function trains through train_many; each run equals genlab.train.train
    on that run alone (the population engine's contract), and weights are saved."""
    torch.set_num_threads(1)
    sweep = Sweep(name="mlp", base={"data": {"n_samples": 300}, "n_steps": 30, "eval_every": 10, "batch_size": 50},
                  grid={"width": [8, 16], "seed": [0, 1], "label_noise": [0.0, 0.2]})
    rep = run_sweep(sweep, tmp_path, backend="serial", echo=None, progress=False)
    assert rep.n_done == 8
    runs, metrics = _store_state(tmp_path)
    for run in sweep.runs()[::3]:
        data = make_run_data(run.config)
        model = make_run_model(run.config, data)
        alone = train(model, data, make_train_config(run.config, data), progress=False)
        fin = alone.final()
        stored = runs.loc[run.id]
        for split, metric in fin.columns:
            assert stored[f"{split}/{metric}"] == pytest.approx(fin.loc[0, (split, metric)], rel=1e-4, abs=1e-6)
        state = torch.load(tmp_path / stored.weights)
        for k, v in alone.model.state_dict().items():
            assert torch.allclose(state[k], v, atol=1e-5)
    # Label-noise runs saw noisy labels: their training error is higher at equal width and seed.
    assert json.loads(json.dumps(list(metrics.columns))) == ["run_id", "step", "split", "metric", "value"]
