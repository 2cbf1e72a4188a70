"""``genlab measure NAME --run RUN_DIR``: a measurement on a stored run's saved models.

Reads ``RUN_DIR/models/index.json`` ({name: {"factory": "genlab.models.MLP", "kwargs": {...}}})
and ``RUN_DIR/models/<name>.pt`` (state dicts), rebuilds the run's data from
``RUN_DIR/config.json`` (its ``config.dataset`` or MNIST-1D with the run's ``n_samples`` and
data seed), prints one table row per model and writes all results as JSON.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from pathlib import Path

import numpy as np
import typer

from genlab._checks import ParameterError, check_choice, check_int, check_seed

MEASURES = ("hessian", "trace", "density", "norms", "spectra", "sharpness", "flatness", "landscape",
            "noise-scale", "health")


def _jsonable(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(getattr(type(obj), "passed", None), property):
            out["passed"] = bool(obj.passed)
        return out
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else str(v)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def load_run_models(run_dir: Path) -> dict:
    """``{name: nn.Module}`` from ``RUN_DIR/models`` (index.json + state dicts); a damaged index
    or state dict is one :class:`~genlab._checks.DamagedFileError` naming the file."""
    import pickle
    import zipfile

    import torch

    from genlab._checks import DamagedFileError
    from genlab._io import read_json

    index_path = run_dir / "models" / "index.json"
    if not index_path.is_file():
        raise ParameterError(f"The '--run' parameter of genlab measure must be a run directory with saved models "
                             f"(models/index.json). Got {str(run_dir)!r} instead (no {index_path}).")
    index = read_json(index_path)
    if not index:
        raise DamagedFileError(index_path, "it lists no model")
    models = {}
    for name, spec in index.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("factory"), str) or not isinstance(spec.get("kwargs", {}), dict):
            raise DamagedFileError(index_path, f"model {name!r} must be an object with a 'factory' text and 'kwargs' object")
        if name != Path(name).name or name.startswith("."):
            raise DamagedFileError(index_path, f"model name {name!r} is not a plain file name")
        module_name, _, attr = spec["factory"].rpartition(".")
        if not module_name.startswith("genlab."):
            raise ParameterError(f"The 'factory' of model {name!r} in {index_path} must be a genlab factory. "
                                 f"Got {spec['factory']!r} instead.")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            raise DamagedFileError(index_path, f"model {name!r} names the factory {spec['factory']!r}, which does not exist") from None
        try:
            model = factory(**spec.get("kwargs", {}))
        except (TypeError, ValueError) as exc:
            raise DamagedFileError(index_path, f"model {name!r} cannot be built from its kwargs ({exc})") from None
        state_path = run_dir / "models" / f"{name}.pt"
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except FileNotFoundError:
            raise DamagedFileError(state_path, "it is missing (models/index.json lists it)") from None
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, KeyError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DamagedFileError(state_path, f"it is not a state dict of model {name!r} ({first[:200]})") from None
        model.eval()
        models[name] = model
    return models


def load_run_data(run_dir: Path, dataset: str | None = None):
    """The run's data: ``config.dataset`` (+ ``dataset_kwargs``) or MNIST-1D sized as the run."""
    from genlab._checks import DamagedFileError
    from genlab._io import read_json
    from genlab.data import make_dataset

    cfg_path = run_dir / "config.json"
    cfg = read_json(cfg_path) if cfg_path.is_file() else {}
    inner = cfg.get("config", {}) or {}
    if not isinstance(inner, dict):
        raise DamagedFileError(cfg_path, "its 'config' must be an object")
    name = dataset or inner.get("dataset") or "mnist1d"
    kwargs = dict(inner.get("dataset_kwargs", {}) or {})
    if name.startswith("mnist1d"):
        kwargs.setdefault("n_samples", inner.get("n_samples", 5000))
        if "data_seed" in inner:
            kwargs.setdefault("seed", inner["data_seed"])
    return make_dataset(name, **kwargs)


def _measure(name: str, model, data, *, split: str, k: int, n_hvp: int, seed: int):
    from genlab import measure as m
    from genlab.measure._core import as_tensors

    xy = as_tensors(data, split)
    if name == "hessian":
        return m.hessian_eigenvalues(model, xy, k=k, seed=seed)
    if name == "trace":
        return m.hessian_trace(model, xy, n_hvp=n_hvp, seed=seed)
    if name == "density":
        r = m.hessian_spectral_density(model, xy, n_steps=n_hvp, seed=seed)
        return {"trace": r.trace, "n_hvp": r.n_hvp, "nodes": r.nodes, "weights": r.weights}
    if name == "norms":
        return m.norm_measures(model, data=xy)
    if name == "spectra":
        return {s.name: s for s in m.layer_spectra(model, seed=seed)}
    if name == "sharpness":
        return {"worst_case": m.worst_case_sharpness(model, xy, seed=seed), "first_order": m.first_order_sharpness(model, xy)}
    if name == "flatness":
        return m.pac_bayes_flatness(model, xy, seed=seed)
    if name == "landscape":
        return m.loss_landscape(model, xy, dims=1, n_points=21, seed=seed)
    if name == "noise-scale":
        return m.gradient_noise_scale(model, xy, n_samples=min(1000, len(xy[0])), seed=seed)
    return m.health_check(model, data, seed=seed)


def _row(result) -> dict:
    """The scalar fields of a result (nested one level), for the table."""
    if hasattr(result, "checks"):  # a HealthReport: one PASS/FAIL column per check
        return {"passed": result.passed, **{c.name: "PASS" if c.passed else "FAIL" for c in result.checks}}
    flat = _jsonable(result)
    row = {}
    for key, value in flat.items():
        if isinstance(value, (int, float, str, bool)) and key != "note":
            row[key] = value
        elif isinstance(value, dict):
            for k2, v2 in value.items():
                if isinstance(v2, (int, float, bool)):
                    row[f"{key}.{k2}"] = v2
        elif isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value) and len(value) <= 5:
            row[key] = ", ".join(f"{v:.4g}" for v in value)
    return row


def register(app: typer.Typer) -> None:
    @app.command("measure")
    def measure_command(
        name: str = typer.Argument(..., help=f"Measurement: one of {', '.join(MEASURES)}."),
        run: Path = typer.Option(..., "--run", help="Run directory with models/index.json and config.json."),
        model: list[str] = typer.Option(None, "--model", help="Only these saved models (repeatable)."),
        dataset: str = typer.Option(None, help="Dataset name overriding the run's (see `genlab data`)."),
        split: str = typer.Option("train", help="Split the measurement uses: train or test."),
        k: int = typer.Option(5, help="Top eigenvalues for 'hessian'."),
        n_hvp: int = typer.Option(60, help="HVP budget for 'trace' and Lanczos steps for 'density'."),
        seed: int = typer.Option(0, help="Seed of the measurement's random probes/directions."),
        out: Path = typer.Option(None, "--out", help="JSON output (default RUN_DIR/measure-NAME.json)."),
        threads: int = typer.Option(1, help="Torch threads (1 is fastest for small models on a shared CPU)."),
    ) -> None:
        """Measure a stored run's saved models; print a table and write JSON."""
        import torch

        from genlab._io import atomic_path, check_writable_file

        torch.set_num_threads(check_int(threads, "--threads", "genlab measure", low=1))
        owner = "genlab measure"
        check_choice(name, "name", owner, MEASURES)
        check_choice(split, "--split", owner, ("train", "test"))
        check_int(k, "--k", owner, low=1)
        check_int(n_hvp, "--n-hvp", owner, low=3)
        check_seed(seed, "--seed", owner)
        if not run.is_dir():
            raise ParameterError(f"The '--run' parameter of {owner} must be a run directory. Got {str(run)!r} instead.")
        out = check_writable_file(out or run / f"measure-{name}.json", "--out", owner)
        models = load_run_models(run)
        if model:
            missing = [m for m in model if m not in models]
            if missing:
                raise ParameterError(f"The '--model' parameter of {owner} must name saved models "
                                     f"({', '.join(models)}). Got {missing[0]!r} instead.")
            models = {m: models[m] for m in model}
        data = load_run_data(run, dataset)
        results, rows = {}, {}
        for model_name, net in models.items():
            r = _measure(name, net, data, split=split, k=k, n_hvp=n_hvp, seed=seed)
            results[model_name] = _jsonable(r)
            rows[model_name] = _row(r)
        keys = [c for c in dict.fromkeys(c for row in rows.values() for c in row)]
        typer.echo("\t".join(["model", *keys]))
        for model_name, row in rows.items():
            typer.echo("\t".join([model_name, *(f"{row[c]:.6g}" if isinstance(row.get(c), float) else str(row.get(c, ""))
                                                 for c in keys)]))
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps({"measure": name, "run": str(run), "split": split, "seed": seed,
                                       "results": results}, indent=2))
        typer.echo(f"wrote {out}")
