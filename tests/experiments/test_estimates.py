"""`genlab bench estimates`: the measured times `genlab list` shows, read from stored runs."""

import json
import subprocess
import sys


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=timeout)


def test_bench_estimates_reads_the_wall_times_of_stored_runs(tmp_path, smoke):
    run_dir = smoke("double-descent")
    (tmp_path / "double-descent").symlink_to(run_dir, target_is_directory=True)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    proc = run_cli("bench", "estimates", "--scales", "smoke", "--from-runs", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    times = json.loads(proc.stdout)["experiments"]
    wall = json.loads((run_dir / "summary.json").read_text())["wall_time_s"]
    assert times == {"double-descent": {"smoke": round(wall, 1)}}
    assert "skipping" in proc.stderr and "broken" in proc.stderr
    bad = run_cli("bench", "estimates", "--scales", "paper")
    assert bad.returncode == 2 and "'--scales' parameter of genlab bench estimates" in bad.stderr
