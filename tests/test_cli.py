"""The CLI's contract: user errors are one line on stderr and exit code 2, never a traceback."""

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "bench" in proc.stdout


def test_unknown_command_exits_2_without_traceback():
    proc = run_cli("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
