"""Build one self-contained HTML report from stored run directories (no training).

A run directory is complete when it holds ``summary.json`` (see the run-directory contract in
``genlab.experiments``); incomplete directories are listed as such, never silently dropped.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from genlab._checks import DamagedFileError, ParameterError
from genlab._io import atomic_path, read_json


def _lectures() -> list[tuple[str, str, list[str]]]:
    """(lecture package, its title, its experiments in order), in the course's order."""
    from genlab.experiments import list_experiments
    from genlab.experiments._catalogue import LECTURES

    out = []
    for package, module in sorted(LECTURES.items(), key=lambda kv: getattr(kv[1], "ORDER", 99)):
        names = [e.name for e in list_experiments() if e.lecture == package]
        out.append((package, getattr(module, "TITLE", package), names))
    return out


@dataclass(frozen=True)
class StoredRun:
    """A run directory as the report sees it."""

    path: Path
    summary: dict
    config: dict

    @property
    def name(self) -> str:
        return str(self.summary.get("experiment", self.path.name))

    @property
    def comparisons(self) -> list[dict]:
        return [c for c in self.summary.get("comparisons", []) if isinstance(c, dict)]

    @property
    def claims(self) -> list[dict]:
        return [c for c in self.summary.get("claims", []) if isinstance(c, dict)]


@dataclass
class ReportTally:
    """Claims of all runs: those holding in every seed, in some, in none."""

    holds: list[tuple[str, dict]] = field(default_factory=list)
    partly: list[tuple[str, dict]] = field(default_factory=list)
    fails: list[tuple[str, dict]] = field(default_factory=list)

    def all_claims(self) -> list[dict]:
        return [c for _, c in self.holds + self.partly + self.fails]


def _check_summary(path: Path) -> dict:
    """A run's summary.json, checked for what the report reads (DamagedFileError otherwise)."""
    summary = read_json(path)
    for key in ("comparisons", "claims"):
        items = summary.get(key, [])
        if not isinstance(items, list) or not all(isinstance(c, dict) for c in items):
            raise DamagedFileError(path, f"its {key!r} must be a list of objects")
    figures = summary.get("figures", [])
    if not isinstance(figures, list) or not all(isinstance(f, str) for f in figures):
        raise DamagedFileError(path, "its 'figures' must be a list of file names")
    for f in figures:  # the report embeds these files: names inside the run directory only
        if not f or f != Path(f).name or f.startswith("."):
            raise DamagedFileError(path, f"its figure {f!r} is not a plain file name in the run directory")
    for key in ("experiment", "title", "question", "command", "scale"):
        if key in summary and not isinstance(summary[key], str):
            raise DamagedFileError(path, f"its {key!r} must be a text")
    wall = summary.get("wall_time_s")
    if wall is not None and (isinstance(wall, bool) or not isinstance(wall, (int, float))):
        raise DamagedFileError(path, "its 'wall_time_s' must be a number")
    if not isinstance(summary.get("machine", {}), dict):
        raise DamagedFileError(path, "its 'machine' must be an object")
    return summary


def load_runs(runs_dir: str | Path, *, on_damaged: Callable[[Path, str], None] | None = None
              ) -> tuple[list[StoredRun], list[Path]]:
    """Return the complete runs under ``runs_dir`` and the incomplete directories.

    A run whose ``summary.json`` or ``config.json`` is damaged (not JSON, the wrong shape) raises
    a :class:`~genlab._checks.DamagedFileError`, or, with ``on_damaged(run_dir, message)``, is
    reported there and skipped, so that one bad run does not stop a report of the others. A run
    directory that is a symbolic link to a folder outside ``runs_dir`` is skipped the same way.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        raise ParameterError(
            f"The 'runs_dir' parameter of report must be an existing directory. Got {str(runs_dir)!r} instead."
        )
    complete, incomplete = [], []
    real_root = root.resolve()
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        summary_path = sub / "summary.json"
        try:
            if sub.is_symlink() and not sub.resolve().is_relative_to(real_root):
                raise DamagedFileError(sub, f"it is a symbolic link to {str(sub.resolve())!r}, outside {str(root)!r}")
            if not summary_path.is_file():
                if (sub / "config.json").is_file():
                    incomplete.append(sub)
                continue
            summary = _check_summary(summary_path)
            config_path = sub / "config.json"
            config = read_json(config_path) if config_path.is_file() else {}
        except DamagedFileError as exc:
            if on_damaged is None:
                raise
            on_damaged(sub, str(exc))
            continue
        complete.append(StoredRun(sub, summary, config))
    return complete, incomplete


def tally(runs: list[StoredRun]) -> ReportTally:
    t = ReportTally()
    for run in runs:
        for c in run.claims:
            {"holds": t.holds, "partly": t.partly}.get(c.get("verdict"), t.fails).append((run.name, c))
    return t


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"[{_fmt(value[0])}, {_fmt(value[1])}]"
    return html.escape(str(value))


def _mark(claim: dict) -> str:
    n, k = claim.get("n_seeds", 0), claim.get("n_holding", 0)
    if claim.get("verdict") == "holds":
        return f'<span class="pass">✔ {k} of {n} seeds</span>'
    if claim.get("verdict") == "partly":
        return f'<span class="partly">◐ {k} of {n} seeds</span>'
    return f'<span class="fail">✘ {k} of {n} seeds</span>'


def _per_seed(claim: dict) -> str:
    from genlab.experiments._claims import format_values

    try:
        return html.escape(format_values(claim))
    except (KeyError, TypeError, ValueError):
        return "—"


def _kind(claim: dict) -> str:
    from genlab.experiments._claims import KIND_TEXT

    return f"<i>{html.escape(KIND_TEXT.get(claim.get('kind'), str(claim.get('kind'))))}</i>: {_fmt(claim.get('source'))}"


def _figure_html(run: StoredRun, name: str) -> str:
    path = run.path / name
    if not path.is_file():
        return f'<p class="fail">missing figure {html.escape(name)}</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return (
        f'<figure><img alt="{html.escape(name)}" src="data:{mime};base64,{data}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
    )


def _run_section(run: StoredRun) -> str:
    s = run.summary
    rows = "".join(
        "<tr>"
        f"<td>{_fmt(c.get('name'))}</td><td>{_kind(c)}</td>"
        f"<td>{_fmt(c.get('published'))}</td><td>{_fmt(c.get('band'))}</td>"
        f"<td>{_mark(c)}</td><td class='seeds'>{_per_seed(c)}</td><td>{_fmt(c.get('note'))}</td>"
        "</tr>"
        for c in run.claims
    )
    numbers = "".join(
        f"<tr><td>{_fmt(c.get('quantity'))}</td><td>{_fmt(c.get('measured'))}</td><td>{_fmt(c.get('published'))}</td>"
        f"<td>{_fmt(c.get('note'))}</td></tr>"
        for c in run.comparisons
    )
    numbers_html = (
        '<table class="numbers"><thead><tr><th>further number (no verdict)</th><th>measured</th><th>reference</th>'
        f"<th>note</th></tr></thead><tbody>{numbers}</tbody></table>" if numbers else ""
    )
    from genlab.experiments._framework import SCALE_CAVEAT

    caveat = SCALE_CAVEAT.get(s.get("scale"), "")
    figures = [f for f in s.get("figures", []) if f.endswith(".png")] or list(s.get("figures", []))
    machine = s.get("machine", {})
    machine_text = ", ".join(f"{k}: {v}" for k, v in machine.items()) if machine else "—"
    config_text = html.escape(json.dumps(run.config.get("config", run.config), indent=2, default=str))
    wall = s.get("wall_time_s")
    return f"""
<section class="experiment" id="exp-{html.escape(run.name)}">
  <h3>{html.escape(s.get("title", run.name))} <code>{html.escape(run.name)}</code></h3>
  <p class="question"><b>Question.</b> {html.escape(str(s.get("question", "")))}</p>
  <div class="figures">{"".join(_figure_html(run, f) for f in figures)}</div>
  <p class="scale"><b>Scale {_fmt(s.get("scale"))}</b>, seeds {_fmt(", ".join(map(str, s.get("seeds", []))))}. {html.escape(caveat)}</p>
  <table class="comparison">
    <thead><tr><th>claim</th><th>reference</th><th>published</th><th>band</th><th>verdict</th><th>per seed</th><th>note</th></tr></thead>
    <tbody>{rows or '<tr><td colspan="7">no claims</td></tr>'}</tbody>
  </table>
  {numbers_html}
  <details><summary>Configuration, machine and command</summary>
    <p><b>Scale</b> {_fmt(s.get("scale"))} · <b>seed</b> {_fmt(s.get("seed"))} ·
       <b>wall time</b> {f"{wall:.1f} s" if isinstance(wall, (int, float)) else "—"}</p>
    <p><b>Machine</b> {html.escape(machine_text)}</p>
    <p><b>Reproduce</b> <code>{html.escape(str(s.get("command", "")))}</code></p>
    <pre>{config_text}</pre>
  </details>
</section>"""


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
section.experiment{border:1px solid #e3e3e3;border-radius:8px;padding:1em 1.2em;margin:1.2em 0}
figure{display:inline-block;margin:.4em;max-width:100%} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.8em;color:#666;text-align:center}
table{border-collapse:collapse;width:100%;font-size:.92em} th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left}
th{background:#f5f5f5} .pass{color:#18794e;font-weight:600} .fail{color:#c62828;font-weight:600} .partly{color:#b26a00;font-weight:600} .na{color:#777}
td.seeds{font-size:.85em;white-space:normal}
.summary{background:#f7f9fc;border:1px solid #dde5f0;border-radius:8px;padding:.8em 1.2em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.85em} code{background:#f3f3f3;padding:0 .2em}
"""


def render_report(runs_dir: str | Path, *, title: str = "genlab: measuring performance and generalization",
                  on_damaged: Callable[[Path, str], None] | None = None) -> str:
    """Return the report's HTML text for the runs stored under ``runs_dir``; damaged runs are
    listed as such (and passed to ``on_damaged``), the others reported."""
    damaged: list[tuple[Path, str]] = []

    def note(path: Path, message: str) -> None:
        damaged.append((path, message))
        if on_damaged is not None:
            on_damaged(path, message)

    from genlab.experiments._claims import tally as count_claims
    from genlab.experiments._framework import claims_headline

    runs, incomplete = load_runs(runs_dir, on_damaged=note)
    by_name = {r.name: r for r in runs}
    t = tally(runs)
    counts = count_claims(t.all_claims())
    misses = "".join(
        f"<li><b>{html.escape(name)}</b>: {_fmt(c.get('name'))}: {_mark(c)} ({_per_seed(c)})"
        f"{' — ' + html.escape(str(c['note'])) if c.get('note') else ''}</li>"
        for name, c in t.partly + t.fails
    )
    placed: list[StoredRun] = []
    body = []
    for _package, heading, names in _lectures():
        present = [by_name[n] for n in names if n in by_name]
        if not present:
            continue
        placed += present
        body.append(f"<h2>{html.escape(heading)}</h2>" + "".join(_run_section(r) for r in present))
    others = [r for r in runs if r not in placed]
    if others:
        body.append("<h2>Further experiments</h2>" + "".join(_run_section(r) for r in others))
    incomplete_html = (
        "<p class='fail'>Incomplete runs (interrupted; rerun to finish): "
        + ", ".join(html.escape(p.name) for p in incomplete)
        + "</p>"
        if incomplete
        else ""
    ) + (
        "<p class='fail'>Damaged runs (skipped): "
        + "; ".join(f"{html.escape(p.name)}: {html.escape(m)}" for p, m in damaged)
        + "</p>"
        if damaged
        else ""
    )
    total_wall = sum(float(r.summary.get("wall_time_s") or 0.0) for r in runs)
    toc = "".join(
        f'<li><a href="#exp-{html.escape(r.name)}">{html.escape(r.summary.get("title", r.name))}</a></li>'
        for r in placed + others
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Built from {len(runs)} stored run(s) in <code>{html.escape(str(runs_dir))}</code>;
total training wall time {total_wall:.0f} s.</p>
<div class="summary">
<p class="headline"><b>{html.escape(claims_headline(counts))}</b>.</p>
<p>Each claim is checked on every seed of its run. Published numbers (a publication's figure, table or notebook
output), qualitative claims of the lectures and genlab's own reference runs are counted separately; the last are
never counted as published.</p>
{"<p>Claims that do not hold in every seed:</p><ul>" + misses + "</ul>" if misses else "<p>Every claim holds in every seed.</p>"}
{incomplete_html}
<ol>{toc}</ol>
</div>
{"".join(body)}
</body></html>
"""


def build_report(runs_dir: str | Path, out: str | Path | None = None, *,
                 on_damaged: Callable[[Path, str], None] | None = None) -> Path:
    """Write ``report.html`` (or ``out``) for the runs under ``runs_dir``; return its path.

    A damaged run is skipped, listed in the report and passed to ``on_damaged(run_dir, message)``
    (by default a warning)."""
    target = Path(out) if out is not None else Path(runs_dir) / "report.html"
    if on_damaged is None:
        import warnings

        def on_damaged(path: Path, message: str) -> None:
            warnings.warn(f"skipping damaged run {str(path)!r}: {message}", stacklevel=3)
    damaged: list[str] = []
    runs, incomplete = load_runs(runs_dir, on_damaged=lambda _path, message: damaged.append(message))
    if not runs and not incomplete and damaged:
        raise ParameterError(f"Every run in {str(runs_dir)!r} is damaged, nothing to report: {damaged[0]}")
    if not runs and not incomplete:
        raise ParameterError(
            f"The 'runs_dir' parameter of genlab report must hold run directories (from `genlab run` or "
            f"`genlab reproduce`). Got {str(runs_dir)!r} instead, which holds none: nothing to report."
        )
    text = render_report(runs_dir, on_damaged=on_damaged)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
