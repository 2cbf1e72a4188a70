"""What genlab leaves on disk: no stray temporary file after a killed write, the usual file mode,
the same bytes for the same seed (SVGs included)."""

import os
import stat
import subprocess
import sys

import pytest

from genlab._io import atomic_path, remove_stale_temps


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_gets_the_usual_mode_and_leaves_nothing(tmp_path):
    with atomic_path(tmp_path / "w.pt") as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "w.pt") == 0o666 & ~_umask()  # 0644 with the usual umask, not mkstemp's 0600
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "v.pt") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("crash inside the write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pt"]


def test_leftover_of_a_killed_write_is_removed_by_the_next_one(tmp_path):
    """A SIGKILL inside the block leaves the temporary file; the next write of the same target
    removes it, and never touches the temporary file of a writer that is still alive."""
    dead = tmp_path / f".w.pt.{_dead_pid()}-0badc0de.genlab-tmp.pt"
    alive = tmp_path / f".w.pt.{os.getppid()}-0badc0de.genlab-tmp.pt"  # our parent: alive
    other = tmp_path / f".x.pt.{_dead_pid()}-0badc0de.genlab-tmp.pt"  # another target's
    for p in (dead, alive, other):
        p.write_bytes(b"half")
    with atomic_path(tmp_path / "w.pt") as tmp:
        tmp.write_bytes(b"x")
    assert not dead.exists() and alive.exists() and other.exists()
    assert remove_stale_temps(tmp_path) == [other] and alive.exists()


def test_sigkill_inside_a_weights_write_then_the_next_sweep_cleans_up(tmp_path):
    """A real SIGKILL of a process in the middle of an atomic write into weights/; the next sweep
    on that directory (which holds the lock) removes the orphan, and its weights are 0644."""

    from fault_helpers import TOY
    from sweep_faults import toy_group  # noqa: F401 - importable for the sweep below

    out = tmp_path / "s"
    (out / "weights").mkdir(parents=True)
    code = ("import os, signal, sys\nfrom genlab._io import atomic_path\n"
            f"with atomic_path({str(out / 'weights' / 'abc.pt')!r}) as tmp:\n"
            "    tmp.write_bytes(b'half a state dict')\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == -9
    (orphan,) = list((out / "weights").iterdir())
    assert ".genlab-tmp" in orphan.name

    from genlab.sweep import run_sweep, sweep_from_dict
    from genlab.sweep._execute import RunOutput

    def group_with_weights(task):  # the toy results plus bytes, so that weights are written
        return [RunOutput(o.id, o.metrics, o.final, False, b"w") for o in toy_group(task)]

    run_sweep(sweep_from_dict(TOY), out, backend="serial", group_fn=group_with_weights, echo=None, progress=False)
    names = sorted(p.name for p in (out / "weights").iterdir())
    assert len(names) == 4 and all(n.endswith(".pt") and not n.startswith(".") for n in names)
    assert all(_mode(out / "weights" / n) == 0o666 & ~_umask() for n in names)


def test_report_html_has_the_usual_mode(cli, run_copy):
    code, _out, err = cli("report", run_copy.parent)
    assert code == 0, err
    assert _mode(run_copy.parent / "report.html") == 0o666 & ~_umask()


def test_same_seed_same_bytes_for_every_output(smoke_run, tmp_path):
    """A second run with the same seed writes byte-identical files (figures included); only the
    wall times in summary.json and README.md may differ."""
    from genlab.experiments import run_experiment

    again = run_experiment("variance-reduction", scale="smoke", seed=0, out=tmp_path / "again", backend="serial")
    files = sorted(p.relative_to(smoke_run) for p in smoke_run.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    timed = {"summary.json", "README.md"}
    compared = [f for f in files if f.name not in timed and f.parts[0] != "tasks"]
    assert any(f.suffix == ".svg" for f in compared) and any(f.suffix == ".png" for f in compared)
    for f in compared:
        assert (smoke_run / f).read_bytes() == (again / f).read_bytes(), f


def test_plot_redraws_the_same_svg_bytes(cli, run_copy):
    before = {p.name: p.read_bytes() for p in run_copy.glob("*.svg")}
    assert before
    for p in run_copy.glob("*.svg"):
        p.unlink()
    code, _out, err = cli("plot", run_copy)
    assert code == 0, err
    assert {p.name: p.read_bytes() for p in run_copy.glob("*.svg")} == before
    assert not list(run_copy.glob(".*genlab-tmp*"))
