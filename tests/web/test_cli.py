"""`genlab serve` in a subprocess (binds 127.0.0.1, serves offline assets) and `genlab bench web`."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from genlab.web._server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_subprocess_binds_localhost(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "genlab", "serve", "--port", str(port), "--runs", str(tmp_path),
                             "--cache", str(tmp_path / "cache")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "genlab serve did not start"
                time.sleep(0.2)
        assert json.loads(body) == {"ok": True}
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/demo/init").read().decode()
        assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
        conns = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout if os.path.exists("/usr/bin/ss") else ""
        if conns:
            local = [line.split()[3] for line in conns.splitlines()]  # "State Recv-Q Send-Q Local Peer"
            assert local == [f"127.0.0.1:{port}"]
        # A browser tab keeps its connection open; SIGTERM must still stop the server promptly.
        import http.client

        tab = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        tab.request("GET", "/api/spectral?step=3000")
        assert tab.getresponse().read()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its shutdown
        assert time.monotonic() - t0 < 5
        tab.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # stop it by its PID
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_serve_refuses_a_missing_runs_dir(tmp_path):
    r = subprocess.run([sys.executable, "-m", "genlab", "serve", "--runs", str(tmp_path / "nope")], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and "'--runs' parameter of genlab serve" in r.stderr and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_rejects_runs_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = subprocess.run([sys.executable, "-m", "genlab", "serve", "--runs", str(f)], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and "genlab: error:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_bench_web_json():
    r = subprocess.run([sys.executable, "-m", "genlab", "bench", "web", "--json", "--moves", "3"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["server"]["init"]["server"]["median_ms"] > 0
    assert out["server_worst_p95_ms"] < 1000
    if os.path.exists("/usr/bin/chromium"):
        assert out["end_to_end"]["init"]["n"] == 3
