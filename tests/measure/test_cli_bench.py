"""Smoke runs of `genlab measure` (in-process through genlab.cli.main, to keep the suite fast)
and `genlab bench measure` (subprocess, slow)."""

import json
import subprocess
import sys

import pytest


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=timeout)


def run_main(capsys, *args):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from genlab.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_bench_measure_json():
    proc = run_cli("bench", "measure", "--json", "--train-steps", "50", "--ref-steps", "60", "--rtol", "1e-3", timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["genlab_lanczos"]["max_rel_error"] <= out["target_max_rel_error"]
    assert out["power_iteration"]["max_rel_error"] <= out["target_max_rel_error"]
    assert out["hvp_ratio"] > 1


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import torch

    from genlab.models import MLP

    run = tmp_path_factory.mktemp("run")
    (run / "models").mkdir()
    (run / "config.json").write_text(json.dumps({"experiment": "demo", "scale": "quick", "seed": 0, "device": "cpu",
                                                 "config": {"n_samples": 600}}))
    index = {}
    for i in range(2):
        kwargs = {"in_features": 40, "out_features": 10, "width": 16, "seed": i}
        torch.save(MLP(**kwargs).state_dict(), run / "models" / f"m{i}.pt")
        index[f"m{i}"] = {"factory": "genlab.models.MLP", "kwargs": kwargs}
    (run / "models" / "index.json").write_text(json.dumps(index))
    return run


@pytest.mark.parametrize("name", ["hessian", "norms"])
def test_measure_cli_on_run_dir(run_dir, name, capsys):
    from genlab.measure import hessian_eigenvalues
    from genlab.measure._cli import load_run_data, load_run_models

    code, stdout, stderr = run_main(capsys, "measure", name, "--run", str(run_dir), "--k", "3")
    assert code == 0, stderr
    assert stdout.splitlines()[0].startswith("model\t")
    out = json.loads((run_dir / f"measure-{name}.json").read_text())
    assert set(out["results"]) == {"m0", "m1"}
    if name == "hessian":
        model = load_run_models(run_dir)["m1"]
        data = load_run_data(run_dir)
        assert len(data.y_train) == 480
        direct = hessian_eigenvalues(model, (data.x_train, data.y_train), k=3)
        assert out["results"]["m1"]["eigenvalues"] == pytest.approx(list(direct.eigenvalues), rel=1e-6)


def test_measure_cli_errors_are_one_line(tmp_path, capsys):
    code, _, err = run_main(capsys, "measure", "hessian", "--run", str(tmp_path))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "models/index.json" in err
    code, _, err = run_main(capsys, "measure", "nope", "--run", str(tmp_path))
    assert code == 2 and "'name' parameter of genlab measure" in err


def test_measure_cli_subprocess_help():
    proc = run_cli("measure", "--help")
    assert proc.returncode == 0 and "--run" in proc.stdout
