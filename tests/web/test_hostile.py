"""Damaged runs on disk, links out of the runs directory and schemathesis on the whole API.

Every answer is documented in the OpenAPI schema and none is a server error (issue 19).
"""

import json

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")


@pytest.fixture
def damaged(tmp_path):
    """A runs directory with one good run and one damaged file of each kind, plus a link out."""
    from fastapi.testclient import TestClient

    from genlab.web import create_app

    root = tmp_path / "runs"
    good = root / "good"
    good.mkdir(parents=True)
    (good / "summary.json").write_text(json.dumps({"experiment": "toy", "title": "Good", "scale": "smoke", "seed": 0}))
    (good / "metrics.csv").write_text("step,metric,value\n0,loss,1.0\n1,loss,inf\n2,loss,nan\n")
    for name, text in (("list", "[1, 2]"), ("number", "3"), ("truncated", '{"title": "x'), ("null", "null")):
        (root / name).mkdir()
        (root / name / "summary.json").write_text(text)
    (root / "latin1").mkdir()
    (root / "latin1" / "summary.json").write_bytes('{"title": "caf\xe9"}'.encode("latin-1"))
    (root / "badconfig").mkdir()
    (root / "badconfig" / "config.json").write_text('"a string"')
    for name, data in (("ragged", b"step,metric,value\n0,loss,1\n1,loss,2,3,4\n"), ("notutf8", b"step,metric,value\n0,\xff\xfe,1\n"),
                       ("nocols", b"a,b\n1,2\n"), ("empty", b"")):
        (root / name).mkdir()
        (root / name / "summary.json").write_text(json.dumps({"title": name}))
        (root / name / "metrics.csv").write_bytes(data)
    outside = tmp_path / "outside-run"
    outside.mkdir()
    (outside / "summary.json").write_text(json.dumps({"title": "SECRET OUTSIDE TITLE"}))
    (root / "escape").symlink_to(outside, target_is_directory=True)
    return TestClient(create_app(root, cache_dir=tmp_path / "cache"))


def test_a_damaged_summary_skips_that_run_with_a_warning(damaged, caplog):
    r = damaged.get("/api/runs")
    assert r.status_code == 200, r.text
    body = r.json()
    listed = {x["name"] for x in body["runs"]}
    assert {"good", "ragged", "notutf8", "nocols", "empty"} <= listed
    skipped = {x["name"]: x["reason"] for x in body["skipped"]}
    assert set(skipped) == {"list", "number", "truncated", "null", "latin1", "badconfig", "escape"}
    assert "list" in skipped["list"] and "UTF-8" in skipped["latin1"] and "outside" in skipped["escape"]
    assert any("skipped run 'list'" in m for m in caplog.messages)


def test_a_link_out_of_the_runs_dir_is_neither_listed_nor_served(damaged):
    assert "SECRET" not in damaged.get("/api/runs").text
    for path in ("/api/runs/escape", "/api/runs/escape/metrics"):
        r = damaged.get(path)
        assert r.status_code == 400 and "SECRET" not in r.text


@pytest.mark.parametrize("name,needle", [("ragged", "ParserError"), ("notutf8", "UnicodeDecodeError"),
                                         ("nocols", "'metric' and 'value'"), ("empty", "EmptyDataError")])
def test_an_unreadable_metrics_csv_is_a_409_naming_the_file(damaged, name, needle):
    r = damaged.get(f"/api/runs/{name}/metrics")
    assert r.status_code == 409, r.text
    assert f"metrics.csv of run {name!r}" in r.json()["detail"] and needle in r.json()["detail"]


def test_non_finite_metrics_are_null_and_a_damaged_summary_is_reported(damaged):
    assert [row[2] for row in damaged.get("/api/runs/good/metrics").json()["rows"]] == [1.0, None, None]
    info = damaged.get("/api/runs/list").json()
    assert info["summary"] is None and "JSON list" in info["damaged"][0]


def test_the_openapi_schema_documents_every_error_answer(client):
    schema = client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        responses = ops["get"]["responses"]
        for code in ("400", "404", "422"):
            assert code in responses, (path, code)
        ref = responses["422"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/Detail"), (path, ref)
    assert schema["components"]["schemas"]["Detail"]["properties"]["detail"]["type"] == "string"


schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed (pip install -e '.[test]')")


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(app, runs_dir, tmp_path):
    """A bounded property-based run over every operation (about 25 cases each, well under a minute)."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    counts = {"cases": 0, "5xx": 0}
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call()
            counts["cases"] += 1
            counts["5xx"] += response.status_code >= 500
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

        check()
    print(f"schemathesis: {counts['cases']} cases, {counts['5xx']} server errors")
    assert counts["cases"] >= 200 and counts["5xx"] == 0
