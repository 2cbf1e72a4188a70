"""Shared fixtures of the fault-injection suite: the CLI in-process, a finished smoke run, a
sweep store, a run directory with saved models."""

import json
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "sweep"))  # sweep_faults: the toy group function
sys.path.insert(0, str(Path(__file__).parent))  # fault_helpers
from fault_helpers import TOY  # noqa: E402


def _main(capsys, *args):
    """Run ``genlab ARGS`` in-process (a subprocess costs seconds); (exit code, stdout, stderr)."""
    from genlab.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture()
def cli(capsys):
    return lambda *args: _main(capsys, *args)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """A finished `genlab run variance-reduction --scale smoke` (in-process, serial: ~1 s)."""
    from genlab.experiments import run_experiment

    out = tmp_path_factory.mktemp("smoke") / "variance-reduction"
    run_experiment("variance-reduction", scale="smoke", seed=0, out=out, backend="serial")
    return out


@pytest.fixture()
def run_copy(smoke_run, tmp_path):
    """A private copy of the smoke run, to damage."""
    dst = tmp_path / "runs" / "variance-reduction"
    shutil.copytree(smoke_run, dst)
    return dst


@pytest.fixture(scope="session")
def toy_store(tmp_path_factory):
    """A finished sweep directory of 4 toy runs (closed-form 'training', serial)."""
    from sweep_faults import toy_group

    from genlab.sweep import run_sweep, sweep_from_dict

    out = tmp_path_factory.mktemp("store") / "toy"
    run_sweep(sweep_from_dict(TOY), out, backend="serial", group_fn=toy_group, echo=None, progress=False)
    return out


@pytest.fixture()
def store_copy(toy_store, tmp_path):
    dst = tmp_path / "toy"
    shutil.copytree(toy_store, dst)
    return dst


@pytest.fixture()
def models_run(tmp_path):
    """A run directory with two saved MLPs (models/index.json + state dicts)."""
    import torch

    from genlab.models import MLP

    run = tmp_path / "mrun"
    (run / "models").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"experiment": "demo", "scale": "smoke", "seed": 0,
                                                 "device": "cpu", "config": {"n_samples": 300}}))
    index = {}
    for i in range(2):
        kwargs = {"in_features": 40, "out_features": 10, "width": 8, "seed": i}
        torch.save(MLP(**kwargs).state_dict(), run / "models" / f"m{i}.pt")
        index[f"m{i}"] = {"factory": "genlab.models.MLP", "kwargs": kwargs}
    (run / "models" / "index.json").write_text(json.dumps(index))
    return run
