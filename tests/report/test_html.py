"""The report builder on run directories written per the run-directory contract."""

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from genlab._checks import ParameterError  # noqa: E402
from genlab.report import build_report, load_runs  # noqa: E402


def write_run(root, name, comparisons, *, complete=True):
    d = root / name
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"experiment": name, "scale": "smoke", "seed": 0, "config": {"width": 3}}))
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    fig.savefig(d / "curve.png")
    plt.close(fig)
    if complete:
        summary = {
            "experiment": name,
            "title": f"Title of {name}",
            "question": f"What does {name} show?",
            "scale": "smoke",
            "seed": 0,
            "wall_time_s": 1.5,
            "machine": {"cpu_count": 2},
            "command": f"genlab run {name} --scale smoke --seed 0",
            "figures": ["curve.png"],
            "comparisons": comparisons,
        }
        (d / "summary.json").write_text(json.dumps(summary))
    return d


def test_report_has_a_section_per_run_with_figure_and_table(tmp_path):
    write_run(tmp_path, "bias-variance", [
        {"quantity": "best width", "measured": 3.0, "published": 3.5, "band": [3, 4], "inside": True, "note": ""},
    ])
    write_run(tmp_path, "double-descent", [
        {"quantity": "peak error", "measured": 0.6, "published": 0.5, "band": [0.45, 0.55], "inside": False,
         "note": "quick scale is smaller"},
        {"quantity": "peak width", "measured": 70, "published": "~73", "band": None, "inside": None, "note": ""},
    ])
    write_run(tmp_path, "knots", [], complete=False)
    report = build_report(tmp_path)
    text = report.read_text()
    assert report == tmp_path / "report.html"
    for name in ("bias-variance", "double-descent"):
        section = re.search(rf'<section class="experiment" id="exp-{name}">(.*?)</section>', text, re.S)
        assert section, name
        assert "data:image/png;base64," in section.group(1)
        assert "<table class=\"comparison\">" in section.group(1)
        assert f"genlab run {name}" in section.group(1)
    # Summary counts only banded numbers: 1 of 2 inside; the miss is listed with its note.
    assert "<b>1 of 2</b>" in text
    assert "quick scale is smaller" in text
    # The interrupted run is reported as incomplete, not silently dropped.
    assert "Incomplete runs" in text and "knots" in text
    # Self-contained: no external resources.
    assert not re.search(r'(src|href)="(https?:)?//', text)
    # Lecture order: bias-variance (noise, bias, variance) before double descent.
    assert text.index("exp-bias-variance") < text.index("exp-double-descent")


def test_load_runs_skips_incomplete(tmp_path):
    write_run(tmp_path, "a", [])
    write_run(tmp_path, "b", [], complete=False)
    runs, incomplete = load_runs(tmp_path)
    assert [r.name for r in runs] == ["a"]
    assert [p.name for p in incomplete] == ["b"]


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match="runs_dir"):
        build_report(tmp_path / "nope")


def test_a_directory_without_runs_is_a_clear_error_and_writes_nothing(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(ParameterError, match="'runs_dir' parameter of genlab report must hold run directories"):
        build_report(tmp_path)
    assert not (tmp_path / "report.html").exists()
