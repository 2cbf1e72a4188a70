"""Read-only access to stored run directories (the RUN DIRECTORY contract), confined to one root.

Run names and file names are checked against strict patterns *and* the resolved path must stay
inside the runs directory, so ``..``, absolute paths and symlinks pointing out are all refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FIGURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(png|svg)$")
MAX_METRIC_ROWS = 200_000


class RunError(Exception):
    """A request for a run or file that is malformed (400) or absent (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _inside(root: Path, path: Path) -> Path:
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise RunError(400, "The path must stay inside the runs directory.")
    return resolved


def run_dir(root: Path, name: str) -> Path:
    """The directory of run ``name`` under ``root`` (validated; 404 if it is not a run)."""
    if not RUN_NAME.match(name) or ".." in name:
        raise RunError(400, f"The 'name' parameter must be a run name matching {RUN_NAME.pattern}. Got {name!r} instead.")
    path = _inside(root, root / name)
    if not path.is_dir() or not ((path / "summary.json").is_file() or (path / "config.json").is_file()):
        raise RunError(404, f"No run named {name!r} in the runs directory.")
    return path


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def list_runs(root: Path) -> list[dict]:
    """Every run directory under ``root``: name, complete (summary.json present), title, scale."""
    if not root.is_dir():
        return []
    runs = []
    for path in sorted(root.iterdir()):
        if not path.is_dir() or not RUN_NAME.match(path.name):
            continue
        summary = _read_json(path / "summary.json") if (path / "summary.json").is_file() else None
        config = _read_json(path / "config.json") if (path / "config.json").is_file() else None
        if summary is None and config is None:
            continue
        info = summary or config or {}
        runs.append({"name": path.name, "complete": summary is not None,
                     "experiment": info.get("experiment"), "title": (summary or {}).get("title"),
                     "scale": info.get("scale"), "seed": info.get("seed"),
                     "wall_time_s": (summary or {}).get("wall_time_s")})
    return runs


def run_info(root: Path, name: str) -> dict:
    """Config, summary (None while the run is incomplete), metric columns and figures of a run."""
    path = run_dir(root, name)
    summary = _read_json(path / "summary.json")
    figures = sorted(p.name for p in path.iterdir() if FIGURE_NAME.match(p.name) and p.is_file())
    return {"name": name, "complete": summary is not None, "config": _read_json(path / "config.json"),
            "summary": summary, "figures": figures, "has_metrics": (path / "metrics.csv").is_file()}


def run_metrics(root: Path, name: str) -> dict:
    """The tidy ``metrics.csv`` as ``{"columns": [...], "rows": [[...], ...]}`` (NaN -> None)."""
    path = run_dir(root, name) / "metrics.csv"
    if not path.is_file():
        raise RunError(404, f"Run {name!r} has no metrics.csv.")
    frame = pd.read_csv(path, nrows=MAX_METRIC_ROWS)
    frame = frame.astype(object).where(frame.notna(), None)
    return {"columns": list(frame.columns), "rows": frame.values.tolist()}


def run_file(root: Path, name: str, filename: str) -> Path:
    """A figure (``.png`` / ``.svg``) of a run; nothing else can be read."""
    base = run_dir(root, name)
    if not FIGURE_NAME.match(filename):
        raise RunError(400, f"The 'file' parameter must be a figure name (*.png or *.svg). Got {filename!r} instead.")
    path = _inside(base, base / filename)
    if not path.is_file():
        raise RunError(404, f"Run {name!r} has no figure {filename!r}.")
    return path
