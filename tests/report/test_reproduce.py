"""``genlab reproduce`` end to end, interrupted and resumed, as a user runs it."""

import json
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from genlab.experiments import list_experiments

# A few quick experiments of the first lecture stand for the catalogue (each experiment's own run
# is tested in tests/experiments): three runs make an interrupted-then-resumed reproduce.
NAMES = ["generalization-gap", "double-descent", "knots"]
assert set(NAMES) <= {e.name for e in list_experiments()}
ONLY = ["--only", ",".join(NAMES)]


def start(out, *extra):
    return subprocess.Popen([sys.executable, "-m", "genlab", "reproduce", "--scale", "smoke", "--out", str(out), *ONLY, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_first_complete(out, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        done = [p.parent.name for p in out.glob("*/summary.json")]
        if done:
            return done
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    raise AssertionError("no experiment finished in time")


def check_report(out):
    text = (out / "report.html").read_text()
    for name in NAMES:
        section = re.search(rf'<section class="experiment" id="exp-{name}">(.*?)</section>', text, re.S)
        assert section, f"no section for {name}"
        assert "data:image/png;base64," in section.group(1), name
        assert '<table class="comparison">' in section.group(1) and "<td>" in section.group(1), name
    assert not re.search(r'(src|href)="(https?:)?//', text)  # self-contained
    return text


@pytest.mark.parametrize("sig", [signal.SIGKILL, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_interrupted_reproduce_resumes_without_redoing(tmp_path, sig):
    out = tmp_path / "report"
    proc = start(out)
    first = wait_for_first_complete(out, proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    stamps = {n: (out / n / "summary.json").stat().st_mtime_ns for n in first}

    proc = subprocess.run([sys.executable, "-m", "genlab", "reproduce", "--scale", "smoke", "--out", str(out), *ONLY],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for n in first:  # finished before the interruption: reused, not redone
        assert f"reuse  {n}" in proc.stdout
        assert (out / n / "summary.json").stat().st_mtime_ns == stamps[n]
    assert not list(out.glob(".*.partial"))
    for n in NAMES:
        summary = json.loads((out / n / "summary.json").read_text())
        assert summary["scale"] == "smoke"
    text = check_report(out)
    assert "claims holding in all seeds:" in text


def test_report_rebuilds_from_stored_runs_and_bad_input(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, "-m", "genlab", "reproduce", "--scale", "smoke", "--out", str(out),
                           "--only", "double-descent,knots"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (out / "report.html").unlink()
    proc = subprocess.run([sys.executable, "-m", "genlab", "report", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and (out / "report.html").is_file()
    proc = subprocess.run([sys.executable, "-m", "genlab", "reproduce", "--only", "nope", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'only' parameter" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "genlab", "reproduce", "--scale", "tiny", "--out", str(tmp_path / "y")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'scale' parameter" in proc.stderr


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"jobs": 2, "backend": "dask"}, "'--jobs' parameter of genlab reproduce must be 1 with --backend dask"),
    ({"jobs": 2, "workers": 2}, "'--workers' parameter of genlab reproduce needs --jobs 1"),
    ({"scheduler": "tcp://127.0.0.1:9"}, "'--scheduler' parameter of genlab reproduce needs --backend dask"),
    ({"backend": "ray"}, "'backend' parameter of genlab reproduce must be one of"),
])
def test_backend_options_are_checked_before_any_work(tmp_path, kwargs, needle):
    from genlab._checks import ParameterError
    from genlab.report._reproduce import reproduce

    with pytest.raises(ParameterError, match=re.escape(needle)):
        reproduce(scale="smoke", out=tmp_path / "r", echo=None, **{"jobs": 1, **kwargs})
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--only", ","], "'only' parameter of reproduce must name experiments among {"),
    (["--only", ""], "Got no name instead."),
    (["--seed", "-1"], "The 'seed' parameter of genlab reproduce must be an int in the range [0, 40000]. Got -1 instead."),
    pytest.param(["--device", "cuda"], "'device' parameter of genlab reproduce must be 'cpu' here",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")),
    (["--out", "afile"], "The '--out' parameter of genlab reproduce must be a directory that can be created and written. "
                         "Got 'afile' instead (it is a file)."),
    (["--out", "afile/sub"], "('afile' is a file)"),
])
def test_bad_reproduce_input_is_refused_before_any_work(tmp_path, monkeypatch, capsys, args, needle):
    from genlab.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--scale", "smoke", "--backend", "serial", "--only", "bias-variance", "--out", "r", *args])
    cap = capsys.readouterr()
    assert exc.value.code == 2 and needle in cap.err and len(cap.err.strip().splitlines()) == 1, cap.err
    assert "running" not in cap.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing was written
