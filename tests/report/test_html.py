"""The report builder on run directories written per the run-directory contract."""

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from genlab._checks import ParameterError  # noqa: E402
from genlab.report import build_report, load_runs  # noqa: E402


def claim(name, values, band, kind="published", source="Fig 8.10", note=""):
    from genlab.experiments._claims import in_band

    return in_band(name, list(range(len(values))), values, band, kind=kind, source=source, published=0.5, note=note).to_dict()


def write_run(root, name, claims, *, complete=True, comparisons=()):
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
            "seeds": [0, 1, 2],
            "wall_time_s": 1.5,
            "machine": {"cpu_count": 2},
            "command": f"genlab run {name} --scale smoke --seed 0",
            "figures": ["curve.png"],
            "claims": claims,
            "comparisons": list(comparisons),
        }
        (d / "summary.json").write_text(json.dumps(summary))
    return d


def test_report_has_a_section_per_run_with_figure_and_table(tmp_path):
    write_run(tmp_path, "bias-variance", [claim("best width", [3.0, 3.5, 3.2], (3, 4))])
    write_run(tmp_path, "double-descent", [
        claim("peak error", [0.6, 0.5, 0.52], (0.45, 0.55), note="quick scale is smaller"),
        claim("a peak", [2.0, 3.0, 4.0], (1.0, 5.0), kind="qualitative", source="lecture"),
        claim("reference level", [0.1, 0.1, 0.1], (0.0, 0.2), kind="reference", source="genlab quick run"),
    ], comparisons=[{"quantity": "peak width", "measured": 70, "published": "~73", "note": ""}])
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
    # The headline counts claims holding in every seed, the kinds of reference separately;
    # a claim holding in 2 of 3 seeds is listed as such with its per-seed values and note.
    assert ("claims holding in all seeds: 3 of 4 (published numbers 1 of 2, qualitative claims 1 of 1, "
            "genlab references 1 of 1)") in text
    assert "◐ 2 of 3 seeds" in text and "s0: 0.6 ✘" in text and "quick scale is smaller" in text
    assert "peak width" in text and "no verdict" in text
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


def test_the_same_runs_give_the_same_report_bytes(tmp_path):
    write_run(tmp_path, "knots", [claim("a", [0.5, 0.5, 0.5], (0, 1))])
    first = build_report(tmp_path, tmp_path / "a.html").read_bytes()
    second = build_report(tmp_path, tmp_path / "b.html").read_bytes()
    assert first == second
