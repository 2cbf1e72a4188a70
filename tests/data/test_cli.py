"""``genlab data`` as a user runs it: files written, and bad input as one line with exit 2."""

import subprocess
import sys

import numpy as np
import pytest

from genlab.data import make_mnist1d


def genlab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_list_names_every_dataset():
    proc = genlab("data", "list")
    assert proc.returncode == 0
    for name in ("mnist1d", "toy-regression", "noisy-sine", "knots", "modular", "seattle-temperature"):
        assert name in proc.stdout


def test_out_and_plot(tmp_path):
    out, png = tmp_path / "m.npz", tmp_path / "m.png"
    proc = genlab("data", "mnist1d", "--n-samples", "1000", "--seed", "3", "--out", str(out), "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    loaded = np.load(out)
    expected = make_mnist1d(1000, seed=3)
    np.testing.assert_array_equal(loaded["x_train"], expected.x_train)
    np.testing.assert_array_equal(loaded["y_test"], expected.y_test)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "mnist1d", "--n-samples", "0"], "'n_samples' parameter"),
        (["data", "mnist1d", "--train-split", "1.2"], "'train_split' parameter"),
        (["data", "mnist1d", "--label-noise", "1.5"], "'--label-noise' parameter"),
        (["data", "mnsit1d"], "Did you mean 'mnist1d'?"),
        (["data", "toy-regression", "--out", "/no/such/dir/x.npz"], "'--out' parameter"),
        (["data", "mnist1d", "--plot", "m.jpg2"], "'--plot' parameter of genlab data mnist1d must be a file name ending in"),
        (["data", "mnist1d", "--plot", "noext"], ".png, .ps, .raw, .rgba, .svg"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    proc = genlab(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no partial file left
