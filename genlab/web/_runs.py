"""Read-only access to stored run directories (the RUN DIRECTORY contract), confined to one root.

Run names and file names are checked against strict patterns *and* the resolved path must stay
inside the runs directory, so ``..``, absolute paths and symlinks pointing out are all refused.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import pandas as pd

log = logging.getLogger("genlab.web")

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FIGURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(png|svg)$")
MAX_METRIC_ROWS = 200_000


class RunError(Exception):
    """A request for a run or file that is malformed (400), absent (404) or damaged on disk (409)."""

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


def _read_object(path: Path) -> tuple[dict | None, str | None]:
    """``(object, None)`` for a readable JSON object, ``(None, what is wrong)`` otherwise.

    NaN and infinities (which Python's json writes) become None: the answer is strict JSON.
    """
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=lambda _: None)
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None, f"{path.name} is not valid UTF-8 JSON ({type(exc).__name__}: {str(exc)[:120]})"
    if not isinstance(data, dict):
        return None, f"{path.name} holds a JSON {type(data).__name__}, not an object"
    return data, None


def _contained(root: Path, path: Path) -> bool:
    resolved = path.resolve()
    return resolved == root or root in resolved.parents


def _scalar(value):
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def list_runs(root: Path) -> tuple[list[dict], list[dict]]:
    """Every run directory under ``root`` and the ones skipped, each with the reason.

    A run is listed with its name, whether it is complete (summary.json present), experiment,
    title, scale and seed. A directory whose summary.json or config.json is damaged is skipped
    with a warning (one bad run never takes the list down), and so is a symlink that leads
    outside ``root``.
    """
    if not root.is_dir():
        return [], []
    runs, skipped = [], []
    for path in sorted(root.iterdir()):
        if not RUN_NAME.match(path.name) or not path.is_dir():
            continue
        if not _contained(root, path):
            skipped.append({"name": path.name, "reason": "a link that leads outside the runs directory"})
            continue
        summary, bad_summary = _read_object(path / "summary.json")
        config, bad_config = _read_object(path / "config.json")
        if bad_summary or bad_config:
            skipped.append({"name": path.name, "reason": bad_summary or bad_config})
            continue
        if summary is None and config is None:
            continue
        info = summary or config
        runs.append({"name": path.name, "complete": summary is not None,
                     "experiment": _scalar(info.get("experiment")), "title": _scalar((summary or {}).get("title")),
                     "scale": _scalar(info.get("scale")), "seed": _scalar(info.get("seed")),
                     "wall_time_s": _scalar((summary or {}).get("wall_time_s"))})
    for s in skipped:
        log.warning("genlab serve: skipped run %r in %s: %s", s["name"], root, s["reason"])
    return runs, skipped


def run_info(root: Path, name: str) -> dict:
    """Config, summary (None while the run is incomplete), metric columns and figures of a run."""
    path = run_dir(root, name)
    summary, bad_summary = _read_object(path / "summary.json")
    config, bad_config = _read_object(path / "config.json")
    figures = sorted(p.name for p in path.iterdir() if FIGURE_NAME.match(p.name) and p.is_file()
                     and _contained(path, p))
    return {"name": name, "complete": summary is not None, "config": config, "summary": summary,
            "damaged": [m for m in (bad_summary, bad_config) if m], "figures": figures,
            "has_metrics": (path / "metrics.csv").is_file()}


def run_metrics(root: Path, name: str) -> dict:
    """The tidy ``metrics.csv`` as ``{"columns": [...], "rows": [[...], ...]}`` (NaN -> None)."""
    path = run_dir(root, name) / "metrics.csv"
    if not path.is_file() or not _contained(root, path):
        raise RunError(404, f"Run {name!r} has no metrics.csv.")
    try:
        frame = pd.read_csv(path, nrows=MAX_METRIC_ROWS, encoding="utf-8", encoding_errors="strict")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise RunError(409, f"The metrics.csv of run {name!r} cannot be read: {type(exc).__name__}: "
                            f"{' '.join(str(exc).split())[:160]}.") from None
    missing = [c for c in ("metric", "value") if c not in frame.columns]
    if missing:
        raise RunError(409, f"The metrics.csv of run {name!r} must have the columns 'metric' and 'value'. "
                            f"Got {list(map(str, frame.columns))[:12]} instead.")
    # Strict JSON: NaN and +-inf become null; everything else keeps its type.
    rows = [[None if isinstance(v, float) and not math.isfinite(v) else v for v in row]
            for row in frame.astype(object).where(frame.notna(), None).values.tolist()]
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def run_file(root: Path, name: str, filename: str) -> Path:
    """A figure (``.png`` / ``.svg``) of a run; nothing else can be read."""
    base = run_dir(root, name)
    if not FIGURE_NAME.match(filename):
        raise RunError(400, f"The 'file' parameter must be a figure name (*.png or *.svg). Got {filename!r} instead.")
    path = _inside(base, base / filename)
    if not path.is_file():
        raise RunError(404, f"Run {name!r} has no figure {filename!r}.")
    return path
