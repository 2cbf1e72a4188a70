"""Damaged files on disk: every file genlab reads back gives one line naming the file and what is
wrong, exit 2; commands over many runs skip a damaged one with a warning and go on."""

import json
import sqlite3

import pytest
from fault_helpers import assert_refused

NOT_A_DB = b"this is not a database, just text that happens to sit in runs.sqlite\n" * 20


@pytest.mark.parametrize("content, problem", [
    (NOT_A_DB, "not a readable SQLite database"),
    (b"", "it holds no table"),
])
@pytest.mark.parametrize("command", [["runs", "ls"], ["runs", "export"], ["runs", "show"]])
def test_runs_commands_on_a_damaged_store(cli, tmp_path, content, problem, command):
    (tmp_path / "runs.sqlite").write_bytes(content)
    args = [*command, tmp_path] + (["abc"] if command[1] == "show" else [])
    assert_refused(cli(*args), "runs.sqlite", "is damaged", problem)
    assert not (tmp_path / "export").exists()


def test_a_store_of_another_schema_is_refused(cli, tmp_path):
    con = sqlite3.connect(tmp_path / "runs.sqlite")
    con.execute("CREATE TABLE runs (id TEXT)")
    con.commit()
    con.close()
    assert_refused(cli("runs", "ls", tmp_path), "runs.sqlite", "lacks the column")


def test_sweep_into_a_damaged_store_refuses_and_leaves_it(cli, tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"grid": {"width": [8]}, "base": {"n_steps": 5, "eval_every": 5}}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.sqlite").write_bytes(NOT_A_DB)
    assert_refused(cli("sweep", tmp_path / "s.json", "--out", out, "--backend", "serial"), "runs.sqlite", "not a readable SQLite")
    assert (out / "runs.sqlite").read_bytes() == NOT_A_DB  # nothing overwritten


def test_runs_ls_skips_a_damaged_run_and_goes_on(cli, store_copy):
    con = sqlite3.connect(store_copy / "runs.sqlite")
    bad = con.execute("SELECT id FROM runs ORDER BY id").fetchone()[0]
    con.execute("UPDATE runs SET final = '{not json' WHERE id = ?", (bad,))
    con.commit()
    con.close()
    code, out, err = cli("runs", "ls", store_copy)
    assert code == 0, err
    assert f"skipping damaged run {bad}" in err and "final metrics is not JSON" in err
    assert bad not in out and "3 done" in out  # the other three are listed
    code, out, err = cli("runs", "export", store_copy, "--out", store_copy / "x")
    assert code == 0 and "(3 rows)" in out and f"skipping damaged run {bad}" in err
    assert_refused(cli("runs", "show", store_copy, bad[:6]), "runs.sqlite", "is not JSON")


@pytest.mark.parametrize("name, content, needle", [
    ("list.json", "[1, 2, 3]", "must hold a table (name, base, grid, random). Got a list instead"),
    ("str.json", '"width"', "Got a string instead"),
    ("latin1.toml", b"name = \"caf\xe9\"\n[grid]\nwidth = [8]\n", "not UTF-8 text (byte 11 is 0xe9)"),
    ("binary.json", bytes(range(256)), "not UTF-8"),
    ("grid_list.toml", "grid = [1, 2]\n", "The [grid] of the sweep file"),
    ("base_str.json", '{"base": "x", "grid": {"width": [8]}}', "The [base] of the sweep file"),
    ("deep.json", "[" * 100000 + "]" * 100000, "nested too deeply"),
    ("badname.json", '{"name": "../../etc", "grid": {"width": [8]}}', "The 'name' of the sweep file"),
    ("strbounds.toml", '[random]\nlr = {log_uniform = ["a", "b"]}\n', "needs [low, high] with finite numbers"),
    ("huge.toml", "[grid]\n" + "\n".join(f"{k} = {list(range(1, 101))}" for k in ("width", "seed", "depth")),
     "declares 1,000,000 runs"),
])
def test_hostile_sweep_files(cli, tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_refused(cli("sweep", path, "--out", tmp_path / "o"), needle)
    assert not (tmp_path / "o").exists()


# -- genlab plot RUN ------------------------------------------------------------------------------
@pytest.mark.parametrize("content, needle", [
    ("{truncated", "not valid JSON"),
    ("[]", "must hold a JSON object, not a list"),
    ('{"title": "x"}', "lacks the key 'experiment'"),
    ('{"experiment": "no-such-thing"}', "'no-such-thing' is not one of"),
    ("", "it is empty"),
    (b"\xff\xfe{}", "not UTF-8"),
])
def test_plot_with_a_damaged_summary(cli, run_copy, content, needle):
    path = run_copy / "summary.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_refused(cli("plot", run_copy), "summary.json", "is damaged", needle)


@pytest.mark.parametrize("content, needle", [
    ("a,b\n1,2\n", "lacks 'part'"),  # the columns the figures read are gone
    ("", "it is empty"),
    ('x\n"unterminated\n', "not a valid CSV"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
])
def test_plot_with_a_damaged_metrics_csv(cli, run_copy, content, needle):
    path = run_copy / "metrics.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_refused(cli("plot", run_copy), "metrics.csv", "is damaged", needle)


def test_plot_of_an_intact_run_still_works(cli, run_copy):
    code, out, err = cli("plot", run_copy)
    assert code == 0 and out.count(".svg") >= 1, err


# -- genlab report DIR ------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", [
    lambda run: (run / "summary.json").write_text("{oops"),
    lambda run: (run / "summary.json").write_text('{"experiment": "x", "comparisons": 3}'),
    lambda run: (run / "summary.json").write_text('{"experiment": "x", "figures": ["../../etc/passwd"]}'),
    lambda run: (run / "config.json").write_bytes(b"\xff\x00"),
])
def test_report_skips_one_damaged_run_and_reports_the_others(cli, run_copy, damage):
    import shutil

    runs = run_copy.parent
    broken = runs / "broken-run"
    shutil.copytree(run_copy, broken)
    damage(broken)
    code, out, err = cli("report", runs)
    assert code == 0, err
    assert "warning: skipping damaged run" in err and "broken-run" in err and "is damaged" in err
    html = (runs / "report.html").read_text()
    assert "Damaged runs (skipped)" in html and "broken-run" in html
    assert 'id="exp-variance-reduction"' in html  # the intact run is reported
    assert "root:" not in html  # no file outside the run directory was embedded


def test_report_with_only_damaged_runs_is_one_line(cli, run_copy):
    (run_copy / "summary.json").write_text("[]")
    assert_refused(cli("report", run_copy.parent), "Every run in", "is damaged")


def test_report_skips_a_symlink_to_a_run_outside(cli, run_copy, tmp_path):
    import shutil

    outside = tmp_path / "elsewhere" / "secret-run"
    shutil.copytree(run_copy, outside)
    (run_copy.parent / "linked").symlink_to(outside, target_is_directory=True)
    code, _out, err = cli("report", run_copy.parent)
    assert code == 0 and "linked" in err and "symbolic link" in err


# -- genlab measure NAME --run RUN ----------------------------------------------------------------
@pytest.mark.parametrize("damage, file, needle", [
    (lambda r: (r / "models" / "index.json").write_text("{"), "index.json", "not valid JSON"),
    (lambda r: (r / "models" / "index.json").write_text("[1]"), "index.json", "must hold a JSON object"),
    (lambda r: (r / "models" / "index.json").write_text("{}"), "index.json", "lists no model"),
    (lambda r: (r / "models" / "index.json").write_text('{"m0": 5}'), "index.json", "must be an object with a 'factory'"),
    (lambda r: (r / "models" / "index.json").write_text('{"m0": {"factory": "genlab.models.Nope"}}'), "index.json", "does not exist"),
    (lambda r: (r / "models" / "index.json").write_text('{"m0": {"factory": "genlab.models.MLP", "kwargs": {"widht": 3}}}'),
     "index.json", "cannot be built from its kwargs"),
    (lambda r: (r / "models" / "m1.pt").unlink(), "m1.pt", "it is missing"),
    (lambda r: (r / "models" / "m1.pt").write_bytes(b"garbage" * 10), "m1.pt", "not a state dict"),
    (lambda r: (r / "models" / "m1.pt").write_bytes((r / "models" / "m1.pt").read_bytes()[:300]), "m1.pt", "not a state dict"),
    (lambda r: (r / "config.json").write_text("{"), "config.json", "not valid JSON"),
])
def test_measure_with_a_damaged_index(cli, models_run, damage, file, needle):
    damage(models_run)
    assert_refused(cli("measure", "norms", "--run", models_run), file, "is damaged", needle)


def test_measure_of_an_intact_run_still_works(cli, models_run):
    code, out, err = cli("measure", "norms", "--run", models_run)
    assert code == 0 and "m0" in out and "m1" in out, err
