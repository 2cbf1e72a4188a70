"""The experiment framework: a declared, documented unit that writes a run directory.

A run directory holds ``config.json`` (written first), ``metrics.csv`` (tidy, long), the
figures (PNG and SVG), ``README.md`` (measured next to published numbers) and ``summary.json``,
written last and atomically: its presence marks a complete run. ``genlab plot RUN_DIR``
redraws the figures from ``metrics.csv`` alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from genlab._checks import ParameterError, check_choice, check_int

SCALES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class Comparison:
    """A measured number beside the published one; ``inside`` is None without a band."""

    quantity: str
    measured: float
    published: float | str | None
    band: tuple[float, float] | None = None
    note: str = ""

    @property
    def inside(self) -> bool | None:
        if self.band is None:
            return None
        return bool(self.band[0] <= self.measured <= self.band[1])

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["band"] = list(self.band) if self.band else None
        d["inside"] = self.inside
        return d


@dataclass
class RunOutput:
    """What an experiment's ``run`` returns: tidy metrics, comparisons and headline numbers."""

    metrics: pd.DataFrame
    comparisons: list[Comparison]
    headline: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)  #: name -> trained genlab model, saved under models/


@dataclass(frozen=True)
class Experiment:
    """A declared experiment.

    ``run(config, device) -> RunOutput``; ``plot(metrics, summary, out_dir) -> [file names]``
    draws from stored data only. ``scales`` maps each scale to config overrides;
    ``estimates`` says roughly how long each scale takes on a 2-core CPU.
    """

    name: str
    title: str
    question: str
    metrics_doc: str
    config_cls: type
    scales: dict
    estimates: dict
    run: Callable
    plot: Callable
    gpu_advised: bool = False


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    assert set(experiment.scales) == set(SCALES), experiment.name
    REGISTRY[experiment.name] = experiment
    return experiment


def _ensure_loaded() -> None:
    from genlab.experiments import _catalogue  # noqa: F401 - importing registers the experiments


def list_experiments() -> list[Experiment]:
    """Every experiment, in the lecture's order."""
    from genlab.experiments._catalogue import ORDER

    _ensure_loaded()
    return sorted(REGISTRY.values(), key=lambda e: ORDER.index(e.name) if e.name in ORDER else len(ORDER))


def get_experiment(name: str) -> Experiment:
    """Look an experiment up; an unknown name gets the closest valid one."""
    import difflib

    _ensure_loaded()
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, list(REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"The 'name' parameter of genlab run must be one of {{{', '.join(REGISTRY)}}}. Got {name!r} instead.{hint}"
        )
    return REGISTRY[name]


def make_config(experiment: Experiment, scale: str, seed: int, overrides: dict):
    """The experiment's config at ``scale`` with ``seed`` and user ``overrides`` (validated)."""
    check_choice(scale, "scale", f"genlab run {experiment.name}", SCALES)
    fields = {f.name: f for f in dataclasses.fields(experiment.config_cls)}
    for key in overrides:
        if key not in fields:
            import difflib

            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"The override {key!r} of genlab run {experiment.name} must be one of "
                f"{{{', '.join(fields)}}}.{hint}"
            )
    values = {**experiment.scales[scale], **overrides, "seed": seed}
    try:
        return experiment.config_cls(**values)
    except TypeError as exc:  # a wrong type inside a config value
        raise ParameterError(f"Invalid configuration for {experiment.name}: {exc}") from None


def machine_info(device: str) -> dict:
    import numpy as np
    import torch

    return {
        "device": device,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None,
    }


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _save_models(folder: Path, models: dict) -> None:
    """State dicts plus ``index.json`` saying how to rebuild each model (for ``genlab measure``)."""
    import torch

    folder.mkdir()
    index = {}
    for name, model in models.items():
        torch.save(model.state_dict(), folder / f"{name}.pt")
        index[name] = {"factory": f"genlab.models.{type(model).__name__}", "kwargs": model.config()}
    _write_json(folder / "index.json", index)


def _readme(experiment: Experiment, summary: dict) -> str:
    lines = [
        f"# {experiment.title} (`{experiment.name}`)",
        "",
        f"**Question.** {experiment.question}",
        "",
        f"**Metrics.** {experiment.metrics_doc}",
        "",
        f"Scale `{summary['scale']}`, seed {summary['seed']}, wall time {summary['wall_time_s']:.1f} s on "
        f"{summary['machine']['cpu_count']} CPU core(s) ({summary['machine']['device']}).",
        f"Reproduce: `{summary['command']}`",
        "",
        "| quantity | measured | published | band | inside? | note |",
        "|---|---|---|---|---|---|",
    ]
    for c in summary["comparisons"]:
        band = f"[{c['band'][0]:.4g}, {c['band'][1]:.4g}]" if c["band"] else "—"
        inside = {True: "yes", False: "**no**", None: "—"}[c["inside"]]
        pub = f"{c['published']:.4g}" if isinstance(c["published"], float) else str(c["published"])
        lines.append(f"| {c['quantity']} | {c['measured']:.4g} | {pub} | {band} | {inside} | {c['note']} |")
    lines += ["", *[f"![{f}]({f})" for f in summary["figures"] if f.endswith(".png")], ""]
    return "\n".join(lines)


def run_experiment(
    name: str,
    *,
    scale: str = "quick",
    seed: int = 0,
    out: str | Path | None = None,
    device: str = "cpu",
    **overrides,
) -> Path:
    """Run experiment ``name`` at ``scale`` and write its run directory; return its path.

    ``out`` defaults to ``runs/NAME``. An existing directory there is replaced. The
    directory is complete once ``summary.json`` exists; a crash leaves no summary.
    """
    experiment = get_experiment(name)
    seed = check_int(seed, "seed", f"genlab run {name}", low=0)
    check_choice(device, "device", f"genlab run {name}", ("cpu", "cuda"))
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ParameterError(f"The 'device' parameter of genlab run {name} must be 'cpu' here (no CUDA device is available). Got 'cuda' instead.")
    config = make_config(experiment, scale, seed, overrides)
    out = Path(out) if out is not None else Path("runs") / name
    if out.exists():
        if not out.is_dir():
            raise ParameterError(f"The '--out' parameter of genlab run must be a directory. Got {str(out)!r} instead (a file).")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _write_json(out / "config.json", {"experiment": name, "scale": scale, "seed": seed, "device": device,
                                      "config": dataclasses.asdict(config)})
    t0 = time.perf_counter()
    result: RunOutput = experiment.run(config, device)
    wall = time.perf_counter() - t0
    result.metrics.to_csv(out / "metrics.csv", index=False)
    if result.models:
        _save_models(out / "models", result.models)
    command = f"genlab run {name} --scale {scale} --seed {seed}" + "".join(f" --set {k}={v}" for k, v in overrides.items())
    summary = {
        "experiment": name,
        "title": experiment.title,
        "question": experiment.question,
        "scale": scale,
        "seed": seed,
        "wall_time_s": wall,
        "machine": machine_info(device),
        "command": command,
        "comparisons": [c.to_dict() for c in result.comparisons],
        "metrics": result.headline,
        "figures": [],
    }
    summary["figures"] = experiment.plot(result.metrics, summary, out)
    (out / "README.md").write_text(_readme(experiment, summary))
    _write_json(out / "summary.json", summary)
    return out


def plot_run(run_dir: str | Path) -> list[str]:
    """Redraw a stored run's figures from its ``metrics.csv`` (no training)."""
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ParameterError(
            f"The 'run_dir' parameter of genlab plot must be a complete run directory (with summary.json). Got {str(run_dir)!r} instead."
        )
    summary = json.loads(summary_path.read_text())
    experiment = get_experiment(summary["experiment"])
    metrics = pd.read_csv(run_dir / "metrics.csv")
    return experiment.plot(metrics, summary, run_dir)
