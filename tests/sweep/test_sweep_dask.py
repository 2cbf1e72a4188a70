"""The Dask backend on a LocalCluster bound to 127.0.0.1: same results as the local backend."""

import numpy as np
import pytest
from sweep_faults import killing_group, toy_group

from genlab.sweep import Sweep, open_store, run_sweep

pytest.importorskip("distributed")

SWEEP = Sweep(name="dask", base={"data": {"n_samples": 300}, "n_steps": 30, "eval_every": 10, "batch_size": 50},
              grid={"width": [8, 13], "seed": [0, 1], "lr": [0.05, 0.1]})


def _runs(path):
    with open_store(path) as s:
        assert s.integrity() == "ok"
        return s.runs().set_index("id").sort_index(), s.metrics()


def test_dask_equals_in_process(tmp_path):
    rep = run_sweep(SWEEP, tmp_path / "dask", backend="dask", workers=2, echo=None, progress=False)
    assert (rep.n_done, rep.n_failed, rep.backend) == (8, 0, "dask")
    # Every backend trains a group with one torch thread, so results are bitwise equal.
    ref = run_sweep(SWEEP, tmp_path / "local", backend="serial", echo=None, progress=False)
    assert ref.n_done == 8
    (a, ma), (b, mb) = _runs(tmp_path / "dask"), _runs(tmp_path / "local")
    assert list(a.index) == list(b.index) and a.worker.str.len().gt(0).all()
    for col in ("train/loss", "train/error", "test/loss", "test/error"):
        assert np.array_equal(a[col].to_numpy(), b[col].to_numpy()), col
    assert np.array_equal(ma.value.to_numpy(), mb.value.to_numpy())


@pytest.mark.slow
def test_dask_survives_a_killed_worker(tmp_path, monkeypatch):
    """A worker SIGKILLed mid-task: the nanny restarts it and Dask reschedules the group."""
    monkeypatch.setenv("SWEEP_MARKERS", str(tmp_path))
    toy = Sweep(name="toy", base={"n_steps": 20, "eval_every": 5}, grid={"width": [8, 13, 21], "seed": [0, 1]})
    rep = run_sweep(toy, tmp_path / "killed", backend="dask", workers=2, retries=1, group_fn=killing_group,
                    echo=None, progress=False)
    assert (rep.n_done, rep.n_failed) == (6, 0) and len(list(tmp_path.glob("killed-*"))) == 1
    ok = run_sweep(toy, tmp_path / "toy", backend="serial", group_fn=toy_group, echo=None, progress=False)
    assert ok.n_done == 6
    assert np.array_equal(_runs(tmp_path / "killed")[0]["train/loss"], _runs(tmp_path / "toy")[0]["train/loss"])


@pytest.mark.slow
def test_dask_equals_local_backend(tmp_path):
    rep = run_sweep(SWEEP, tmp_path / "dask", backend="dask", workers=2, echo=None, progress=False)
    ref = run_sweep(SWEEP, tmp_path / "local", backend="local", workers=2, echo=None, progress=False)
    assert rep.n_done == ref.n_done == 8
    (a, ma), (b, mb) = _runs(tmp_path / "dask"), _runs(tmp_path / "local")
    assert list(a.index) == list(b.index)
    assert np.array_equal(a["test/error"].to_numpy(), b["test/error"].to_numpy())
    assert np.array_equal(ma.value.to_numpy(), mb.value.to_numpy())
