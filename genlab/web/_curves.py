"""Precomputed curves for the double-descent and bias-variance viewers.

They are computed ahead of time and shipped with the package (``genlab/web/data``, rebuilt by
``genlab web-data``), so a cold server answers its first request at once; another scale or seed
is computed once into the cache directory. A slider move only looks values up (MLU-Explain's
approach). Bias-variance comes from the ``bias-variance``
experiment (``genlab.experiments.run_experiment``, one run per noise level); double descent is the
``double-descent-linear`` experiment's Legendre problem (Schaeffer et al. 2023: 15 noiseless points of
y = 2x + cos(25x), min-norm least squares and its ridge comparison), computed by its own
``legendre_task`` on a denser grid of P.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from genlab.data import demystified_function, make_demystified, make_toy_regression
from genlab.models import FixedJointModel
from genlab.web import _phenomena

BV_NOISE = (0.1, 0.2, 0.3, 0.5)
BV_HIDDEN = tuple(range(1, 13))
DD_RIDGE = (0.0, 1e-3)  # min-norm least squares, and the experiment's ridge comparison (its default penalty)
DD_FEATURES = tuple(range(1, 41)) + (45, 50, 60, 70, 80, 100, 150, 200)
DD_N_TRAIN = 15  # the experiment's n_points
_SCALES = {"smoke": {"dd_repeats": 5, "n_fits": 5}, "quick": {"dd_repeats": 30, "n_fits": 10}}
_LOCK = threading.Lock()
CACHE_VERSION = 1


def _bias_variance(scale: str, seed: int) -> dict:
    from genlab.experiments import run_experiment

    n_fits = _SCALES[scale]["n_fits"]
    grid = np.linspace(0, 1, 100)
    out = {"noise": list(BV_NOISE), "hidden": list(BV_HIDDEN), "x_grid": grid.tolist(),
           "y_true": np.exp(np.sin(2 * np.pi * grid)).tolist(), "curves": {}, "fits": {}}
    for sigma in BV_NOISE:
        with tempfile.TemporaryDirectory() as tmp:
            # In this process (a server thread): closed-form fits of a few seconds, no workers.
            # One seed, 100 datasets at quick: the viewer's curves at a demo's cost (the experiment's
            # own quick scale checks its claims on 3 seeds of 2000 datasets).
            extra = {"n_datasets": 100} if scale != "smoke" else {}
            run = run_experiment("bias-variance", scale="smoke" if scale == "smoke" else "quick",
                                 seed=seed, seeds=1, out=Path(tmp) / "run", backend="serial", sigma=sigma, **extra)
            m = pd.read_csv(run / "metrics.csv")
        cap = m[m.curve == "capacity"].pivot(index="hidden", columns="metric", values="value")
        out["curves"][str(sigma)] = {k: cap[k].tolist() for k in ("bias2", "variance", "noise", "expected_error")}
        # A few fitted functions per capacity (fresh datasets, same generator as the experiment).
        fits = {}
        for h in BV_HIDDEN:
            preds = []
            for k in range(n_fits):
                d = make_toy_regression(15, noise_std=sigma, seed=1000 * seed + k)
                preds.append(FixedJointModel(h).fit(d.x_train, d.y_train).predict(grid).round(4).tolist())
            d0 = make_toy_regression(15, noise_std=sigma, seed=1000 * seed)
            fits[str(h)] = {"preds": preds, "x0": d0.x_train.tolist(), "y0": d0.y_train.tolist()}
        out["fits"][str(sigma)] = fits
    return out


def _double_descent(scale: str, seed: int) -> dict:
    """The ``double-descent-linear`` experiment's Legendre sweep (its ``legendre_task``) and one fit per P.

    The fitted function shown for each P is the first draw of the experiment's own random stream
    for that P (``default_rng([seed, 0, P])``), fitted with its ``_legendre`` features and
    ``min_norm_lstsq``, without and with the ridge.
    """
    from genlab.experiments.measuring import _double_descent_linear as ddl
    from genlab.models._closed_form import min_norm_lstsq

    repeats = _SCALES[scale]["dd_repeats"]
    m = pd.DataFrame(ddl.legendre_task(seed, DD_N_TRAIN, list(DD_FEATURES), repeats, DD_RIDGE[1]).records)
    t = m.pivot(index="P", columns="metric", values="value").sort_index()
    grid = np.linspace(-1, 1, 200)
    out = {"ridge": list(DD_RIDGE), "features": list(DD_FEATURES), "n_train": DD_N_TRAIN, "x_grid": grid.tolist(),
           "y_true": demystified_function(grid).tolist(), "curves": {}, "fits": {},
           "smallest_singular_value": t["smallest_singular_value"].tolist()}
    for ridge, column in zip(DD_RIDGE, ("test_mse_median", "ridge_test_mse_median")):
        out["curves"][str(ridge)] = {"test_mse_median": t[column].tolist()}
        fits = {}
        for p in DD_FEATURES:
            d = make_demystified(DD_N_TRAIN, seed=int(np.random.default_rng([seed, 0, p]).integers(2**31)))
            w, _ = min_norm_lstsq(ddl._legendre(d.x_train, p), d.y_train, ridge=ridge)
            fits[str(p)] = {"pred": np.clip(ddl._legendre(grid, p) @ w, -1e3, 1e3).round(4).tolist(),
                            "train_mse": float(np.mean((ddl._legendre(d.x_train, p) @ w - d.y_train) ** 2)),
                            "x0": d.x_train.tolist(), "y0": d.y_train.tolist()}
        out["fits"][str(ridge)] = fits
    return out


_BUILDERS = {"bias_variance": _bias_variance, "double_descent": _double_descent, **_phenomena.BUILDERS}
_MEMORY: dict[Path, dict] = {}
SHIPPED = Path(__file__).resolve().parent / "data"
KINDS = tuple(_BUILDERS)


def _file_name(kind: str, scale: str, seed: int) -> str:
    return f"{kind}-{scale}-seed{seed}-v{CACHE_VERSION}.json"


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")))  # same seed, same bytes
    tmp.replace(path)


def build(kind: str, out_dir: str | Path, *, scale: str = "quick", seed: int = 0) -> Path:
    """Compute the curves ``kind`` and write them to ``out_dir`` (what ``genlab web-data`` runs)."""
    path = Path(out_dir) / _file_name(kind, scale, seed)
    _write(path, _BUILDERS[kind](scale, seed))
    return path


def precomputed(kind: str, cache_dir: str | Path, *, scale: str = "quick", seed: int = 0) -> dict:
    """The precomputed curves ``kind`` ('bias_variance' or 'double_descent').

    Read from the package's shipped files when they hold this scale and seed, else from
    ``cache_dir/<kind>-<scale>-seed<seed>-v<version>.json``, else computed once and stored
    there (atomically); then kept in memory, so a slider move never recomputes anything.
    """
    name = _file_name(kind, scale, seed)
    shipped, path = SHIPPED / name, Path(cache_dir) / name
    with _LOCK:
        for candidate in (shipped, path):
            if candidate in _MEMORY:
                return _MEMORY[candidate]
            if candidate.is_file():
                try:
                    _MEMORY[candidate] = json.loads(candidate.read_text())
                    return _MEMORY[candidate]
                except (OSError, ValueError):  # a damaged cache file is rebuilt below
                    continue
        data = _BUILDERS[kind](scale, seed)
        _write(path, data)
        _MEMORY[path] = data
        return data
