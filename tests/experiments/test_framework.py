"""The experiment framework as a user meets it: every experiment at smoke scale writes a complete
run directory with claims checked on every seed; seeds are independent replicates; runs resume,
are deterministic, refuse bad input before any work. Experiment-specific properties live in
tests/experiments/<lecture>/test_<name>.py."""

import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from experiment_helpers import summary_of

from genlab._checks import ParameterError
from genlab.experiments import (
    KINDS,
    ExperimentFailed,
    get_experiment,
    list_experiments,
    plot_run,
    run_experiment,
)
from genlab.experiments._params import Constraint
from genlab.sweep import open_store

NAMES = [e.name for e in list_experiments()]
LECTURE_ORDER = ["measuring", "overfitting", "expressivity", "practice", "d2l"]
DD = {"scale": "smoke", "backend": "serial"}
# Experiments whose metrics.csv has one column per metric (not yet the tidy long form of the others).
WIDE_METRICS = {"rnn-temperature", "model-families", "error-decomposition", "ratt-bound"}  # not metric/value rows


def test_readme_catalogue_lists_every_experiment_under_its_lecture():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {line.split("(`")[1].split("`)")[0]: line for line in readme.splitlines()
            if line.startswith("| ") and "(`" in line and "`) |" in line}
    for e in list_experiments():
        assert f"`{e.name}`" in rows.get(e.lecture, ""), f"README's catalogue misses {e.name} under {e.lecture}"


def test_catalogue_is_the_course_in_order():
    exps = list_experiments()
    assert NAMES[:8] == ["mnist1d-benchmark", "generalization-gap", "bias-variance", "variance-reduction",
                         "double-descent", "double-descent-linear", "knots", "hyperparameter-selection"]
    lectures = [e.lecture for e in exps]
    assert lectures == sorted(lectures, key=LECTURE_ORDER.index)  # grouped by lecture, in the course's order
    for e in exps:
        assert set(e.scales) == set(e.n_seeds) == set(e.estimates) == {"smoke", "quick", "paper"}
        assert e.question and e.metrics_doc and e.section and e.lecture in LECTURE_ORDER
        assert e.n_seeds["quick"] >= 3, f"{e.name}: a claim holding by luck must be visible at quick scale"


@pytest.mark.parametrize("name", NAMES)
def test_configs_declare_their_constraints(name):
    """Every config field says its allowed values once (no hand-written check per field)."""
    cls = get_experiment(name).config_cls
    undeclared = [f.name for f in dataclasses.fields(cls) if "constraint" not in f.metadata]
    assert not undeclared, undeclared
    assert "seed" not in {f.name for f in dataclasses.fields(cls)}  # the run's seeds are `seeds`


@pytest.mark.parametrize("name", NAMES)
def test_run_directory_structure_and_claims(smoke, name):
    run_dir = smoke(name)
    config = json.loads((run_dir / "config.json").read_text())
    summary = summary_of(run_dir)
    experiment = get_experiment(name)
    seeds = list(range(experiment.n_seeds["smoke"]))
    assert config["experiment"] == name and config["scale"] == "smoke" and config["seeds"] == seeds
    assert summary["experiment"] == name and summary["wall_time_s"] > 0 and summary["seeds"] == seeds
    assert summary["command"].startswith(f"genlab run {name} --scale smoke --seed 0 --seeds {len(seeds)}")
    assert summary["figures"] and all((run_dir / f).is_file() for f in summary["figures"])
    assert {f.rsplit(".", 1)[1] for f in summary["figures"]} == {"png", "svg"}
    assert summary["claims"], "an experiment states its claims"
    for c in summary["claims"]:
        assert c["kind"] in KINDS and c["source"] and c["seeds"] == seeds
        assert len(c["values"]) == len(c["holds"]) == len(seeds)
        assert c["n_holding"] == sum(c["holds"]) and c["verdict"] == (
            "holds" if all(c["holds"]) else "partly" if any(c["holds"]) else "fails")
        if c["kind"] == "published":
            assert c["published"] is not None and c["band"] is not None, c["name"]
        if c["band"] is not None:
            lo, hi = c["band"]
            assert lo < hi or lo == hi, c["name"]
            assert (lo, hi) != (float("-inf"), float("inf")), f"{c['name']}: a band that nothing can miss"
    counts = summary["claim_counts"]
    assert counts["n"] == len(summary["claims"]) == sum(counts[k]["n"] for k in KINDS)
    for c in summary["comparisons"]:
        assert set(c) == {"quantity", "measured", "published", "note"}
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert len(metrics) > 0
    if name not in WIDE_METRICS:
        assert {"metric", "value"} <= set(metrics.columns)  # tidy: one row per value
    assert set(experiment.series) <= set(metrics.columns)
    readme = (run_dir / "README.md").read_text()
    assert "## Claims: claims holding in all seeds:" in readme and "| claim | reference |" in readme
    assert "not expected to hold" in readme  # smoke scale says so
    tasks = summary["tasks"]
    assert tasks["computed"] == tasks["n_tasks"] >= 1 and tasks["reused"] == 0 and tasks["backend"] == "local"
    with open_store(run_dir / "tasks") as store:
        runs = store.runs(flatten=False)
        assert len(runs) == tasks["n_tasks"] and (runs.status == "done").all() and store.integrity() == "ok"


@pytest.mark.parametrize("name", ["double-descent", "mnist1d-benchmark"])
def test_plot_redraws_from_stored_data(smoke, name):
    run_dir = smoke(name)
    pngs = sorted(run_dir.glob("*.png"))
    for p in pngs:
        p.unlink()
    names = plot_run(run_dir)
    assert all((run_dir / n).is_file() for n in names) and len(list(run_dir.glob("*.png"))) == len(pngs)


def same_results(a, b):
    """Two run directories hold the same numbers: metrics.csv, claims, comparisons and headline."""
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
    sa, sb = summary_of(a), summary_of(b)
    assert sa["claims"] == sb["claims"] and sa["comparisons"] == sb["comparisons"] and sa["metrics"] == sb["metrics"]


def test_runs_are_deterministic_and_rerunning_reuses_the_store(tmp_path):
    a = run_experiment("double-descent", seed=3, out=tmp_path / "a", **DD)
    b = run_experiment("double-descent", seed=3, out=tmp_path / "b", **DD)
    same_results(a, b)
    run_experiment("double-descent", seed=3, out=a, **DD)  # the same configuration: read back
    tasks = summary_of(a)["tasks"]
    # smoke widths 2, 4, 8, 16: 2, 4 and 8 train padded to 8 in one task, 16 in another
    assert (tasks["n_tasks"], tasks["reused"], tasks["computed"], tasks["backend"]) == (2, 2, 0, "none")
    same_results(a, b)
    run_experiment("double-descent", seed=3, out=a, fresh=True, **DD)
    assert (summary_of(a)["tasks"]["reused"], summary_of(a)["tasks"]["computed"]) == (0, 2)
    run_experiment("double-descent", seed=3, out=a, n_steps=40, **DD)  # another configuration replaces it
    assert (summary_of(a)["tasks"]["reused"], summary_of(a)["tasks"]["computed"]) == (0, 2)
    assert json.loads((a / "config.json").read_text())["config"]["n_steps"] == 40


def test_seeds_are_independent_replicates(tmp_path):
    """--seeds: a seed's numbers do not depend on which other seeds share its populations."""
    both = run_experiment("double-descent", seeds=[3, 5], out=tmp_path / "both", **DD)
    alone = run_experiment("double-descent", seeds=[5], out=tmp_path / "alone", **DD)
    s_both, s_alone = summary_of(both), summary_of(alone)
    assert s_both["seeds"] == [3, 5] and s_alone["seeds"] == [5]
    assert s_both["command"].endswith("--seeds 3,5")
    m_both, m_alone = (pd.read_csv(d / "metrics.csv") for d in (both, alone))
    m_both = m_both[m_both.seed == 5].reset_index(drop=True)
    pd.testing.assert_frame_equal(m_both.drop(columns="value"), m_alone.drop(columns="value"))
    assert (m_both.value - m_alone.value).abs().max() < 1e-6
    for cb, ca in zip(s_both["claims"], s_alone["claims"]):
        assert cb["name"] == ca["name"] and abs(cb["values"][1] - ca["values"][0]) < 1e-3
    n = run_experiment("double-descent", seed=7, seeds=2, out=tmp_path / "n", **DD)
    assert summary_of(n)["seeds"] == [7, 8]


def test_interrupted_run_computes_only_the_missing_tasks(tmp_path, smoke):
    """A run whose first tasks were committed before it stopped (no summary.json yet): the
    next run reads them back, computes the others, and ends with the uninterrupted numbers."""
    out = run_experiment("double-descent", out=tmp_path / "dd", **DD)
    with open_store(out / "tasks") as store:
        ids = list(store.runs(flatten=False).sort_values("started").id)
    lost = ids[-1:]  # the last task (of two: smoke widths 2, 4, 8 padded to 8, and 16) was still running
    con = sqlite3.connect(out / "tasks" / "runs.sqlite")
    con.executemany("DELETE FROM records WHERE run_id = ?", [(i,) for i in lost])
    con.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in lost])
    con.commit()
    con.close()
    (out / "summary.json").unlink()
    run_experiment("double-descent", out=out, **DD)
    tasks = summary_of(out)["tasks"]
    assert (tasks["n_tasks"], tasks["reused"], tasks["computed"]) == (2, 1, 1)
    same_results(out, smoke("double-descent"))  # and the serial backend gave the local numbers
    assert "resumed: 1 of 2 task(s)" in (out / "README.md").read_text()


def test_a_failing_task_is_reported_and_the_others_kept(tmp_path, capsys, monkeypatch):
    # Width 0 is refused when planning; let it through so that its task fails (MLP refuses it).
    check = Constraint.check
    monkeypatch.setattr(Constraint, "check", lambda self, v, n, o: tuple(v) if n == "widths" else check(self, v, n, o))
    out = tmp_path / "dd"
    with pytest.raises(ExperimentFailed, match=r"1 of 3 task\(s\) of double-descent failed after their retries"):
        run_experiment("double-descent", out=out, widths=(2, 0, 4), pad_to=1, **DD)
    with open_store(out / "tasks") as store:
        runs = store.runs(flatten=False)
        assert sorted(runs.status) == ["done", "done", "failed"] and (runs.attempts[runs.status == "failed"] == 3).all()
    assert not (out / "summary.json").exists()
    from genlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "double-descent", "--scale", "smoke", "--out", str(out), "--backend", "serial", "--set", "widths=[2,0,4]", "--set", "pad_to=1"])
    cap = capsys.readouterr()
    assert exc.value.code == 1 and "Traceback" not in cap.err and "run the same command again" in cap.err
    assert "2 already done, running 1 task(s)" in cap.out  # the finished widths were kept


def test_bad_input():
    with pytest.raises(ParameterError, match="Did you mean 'double-descent'"):
        get_experiment("double-descend")
    with pytest.raises(ParameterError, match="'scale' parameter"):
        run_experiment("double-descent", scale="huge")
    with pytest.raises(ParameterError, match="Did you mean 'n_steps'"):
        run_experiment("double-descent", scale="smoke", n_step=3)
    with pytest.raises(ParameterError, match="'seeds' parameter of double-descent must be a non-empty list of distinct"):
        run_experiment("double-descent", scale="smoke", seeds=[1, 1])
    with pytest.raises(ParameterError, match="'seeds' parameter of genlab run double-descent must be an int in the range"):
        run_experiment("double-descent", scale="smoke", seeds=0)


def genlab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_cli_list_run_plot(tmp_path):
    proc = genlab("list")
    assert proc.returncode == 0 and "double-descent" in proc.stdout and "GPU advised" in proc.stdout
    out = tmp_path / "dd"
    proc = genlab("run", "double-descent", "--scale", "smoke", "--seeds", "0,2", "--out", str(out), "--set", "n_steps=30")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "config.json").read_text())["config"]["n_steps"] == 30
    assert "claims holding in all seeds:" in proc.stdout and "s0: " in proc.stdout and "s2: " in proc.stdout
    proc = genlab("plot", str(out))
    assert proc.returncode == 0 and "double_descent.png" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "double-descend"], "Did you mean 'double-descent'?"),
        (["run", "double-descent", "--scale", "big"], "'scale' parameter"),
        (["run", "double-descent", "--set", "n_steps=-1"], "'n_steps' parameter"),
        (["run", "double-descent", "--seed", "4294967296"],
         "'seed' parameter of genlab run double-descent must be an int in the range [0, 40000]"),
        (["run", "double-descent", "--seeds", "two"], "'--seeds' parameter of genlab run must be a count N"),
        (["run", "double-descent", "--set", "nonsense"], "KEY=VALUE"),
        (["plot", "/nonexistent"], "'run_dir' parameter"),
        (["run", "double-descent", "--scheduler", "tcp://127.0.0.1:9"], "'--scheduler' parameter of genlab run needs --backend dask"),
        (["run", "double-descent", "--scale", "smoke", "--set", "seed=3"], "(use --seed 3)"),
        (["run", "double-descent", "--scale", "smoke", "--set", "seeds=3"], "(use --seeds 3)"),
        (["run", "double-descent", "--scale", "smoke", "--set", "widths=5"], "'widths' parameter of double-descent"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    proc = genlab(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and needle in proc.stderr, proc.stderr
    assert not (tmp_path / "runs").exists()


def genlab_here(capsys, *args) -> tuple[int, str]:
    """``genlab ARGS`` in this process (fast): its exit code and stderr."""
    from genlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "double-descent", "--set", "seed=3"], "Got 'seed=3' instead (use --seed 3)"),
        (["run", "double-descent", "--set", "scale=paper"], "(use --scale paper)"),
        (["run", "double-descent", "--set", "out=x"], "(use --out DIR)"),
        (["run", "double-descent", "--set", "name=knots"], "not one of genlab run's own options"),
        (["run", "double-descent", "--set", "widths=5"],
         "The 'widths' parameter of double-descent must be a non-empty list of distinct ints in the range [1, inf). Got 5 instead."),
        (["run", "double-descent", "--set", "widths=[]"], "'widths' parameter of double-descent must be a non-empty list"),
        (["run", "double-descent", "--set", 'widths=["a"]'], "Got ['a'] instead."),
        (["run", "double-descent", "--set", "widths=[6,6]"], "distinct"),
        (["run", "double-descent", "--set", "label_noise=2"],
         "The 'label_noise' parameter of double-descent must be a float in the range [0.0, 1.0]. Got 2 instead."),
        (["run", "double-descent", "--set", "batch_size=0"], "'batch_size' parameter of double-descent must be an int in the range [1, inf) or null"),
        (["run", "double-descent", "--set", "optimizer=bogus"], "'optimizer' parameter of double-descent must be one of"),
        (["run", "mnist1d-benchmark", "--set", "models=mlp"],
         "must be a non-empty list of distinct names among {'logistic', 'mlp', 'cnn', 'gru'}. Got 'mlp' instead."),
        (["run", "mnist1d-benchmark", "--set", "gru_steps=0"], "'gru_steps' parameter of mnist1d-benchmark"),
        (["run", "mnist1d-benchmark", "--set", "lr=-1"], "'lr' parameter of mnist1d-benchmark must be a float in the range (0.0, inf)"),
        (["run", "double-descent", "--seeds", "1,1"], "'seeds' parameter of double-descent must be a non-empty list of distinct"),
        (["run", "double-descent", "--seeds", "40001"], "'seeds' parameter of genlab run double-descent"),
        (["run", "double-descent", "--out", "afile/sub"], "'--out' parameter of genlab run must be a directory that can be "
         "created and written. Got 'afile/sub' instead ('"),
        (["run", "double-descent", "--out", "afile"], "Got 'afile' instead (it is a file)"),
        (["run", "double-descent", "--out", "/proc/nope"], "'--out' parameter of genlab run"),
        (["reproduce", "--seeds", "0"], "'seeds' parameter of genlab reproduce must be an int in the range [1, "),
        (["reproduce", "--seeds", "x"], "'--seeds' parameter of genlab reproduce"),
    ],
)
def test_bad_run_input_is_refused_before_any_work(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    extra = ["--scale", "smoke"] + (["--backend", "serial"] if args[0] == "run" else [])
    code, err = genlab_here(capsys, *args, *extra)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing was written


def test_reproduce_command_round_trips_the_overrides(tmp_path):
    """The recorded command, pasted in a shell, gives the same configuration (lists included)."""
    import shlex

    from genlab.experiments._cli import _parse_overrides, parse_seeds
    from genlab.experiments._framework import make_config

    out = run_experiment("double-descent", seed=2, out=tmp_path / "dd", widths=(3, 5), n_steps=20, **DD)
    command = summary_of(out)["command"]
    assert f"Reproduce: `{command}`" in (out / "README.md").read_text()
    args = shlex.split(command)
    assert args[:3] == ["genlab", "run", "double-descent"]
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    seed, seeds = int(args[args.index("--seed") + 1]), parse_seeds(args[args.index("--seeds") + 1])
    scale = args[args.index("--scale") + 1]
    config = make_config(get_experiment("double-descent"), scale, seed, _parse_overrides(sets), seeds)
    assert json.loads(json.dumps(dataclasses.asdict(config))) == json.loads((out / "config.json").read_text())["config"]


def test_genlab_run_killed_with_sigkill_resumes_where_it_stopped(tmp_path):
    """SIGKILL (driver and workers) after the first committed task; the rerun trains only the
    tasks not committed (their rows are new, the others untouched) and ends with the numbers of
    an uninterrupted run."""
    args = ["run", "double-descent", "--scale", "smoke", "--workers", "1", "--set", "n_steps=800",
            "--set", "widths=[2,4,8,16]", "--set", "pad_to=1"]  # four tasks, one per width
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "genlab", *args, "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "tasks" / "runs.sqlite"
    deadline, n = time.time() + 120, 0
    while n == 0 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
        if db.exists():
            try:
                with contextlib.closing(sqlite3.connect(db)) as con:  # an open reader would stall recovery
                    n = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with open_store(out / "tasks") as store:
        before = store.runs(flatten=False).set_index("id")
    assert 0 < len(before) < 4 and not (out / "summary.json").exists(), len(before)
    restart = time.time()
    resumed = genlab(*args, "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(before)} already done, running {4 - len(before)} task(s)" in resumed.stdout
    with open_store(out / "tasks") as store:
        after = store.runs(flatten=False).set_index("id")
    assert len(after) == 4 and (after.status == "done").all()
    kept = after.loc[before.index]
    assert (kept.started == before.started).all() and (kept.worker == before.worker).all()  # not retrained
    assert (after.drop(before.index).started >= restart).all()  # trained by the rerun, once each
    tasks = summary_of(out)["tasks"]
    assert (tasks["reused"], tasks["computed"]) == (len(before), 4 - len(before))
    whole = run_experiment("double-descent", scale="smoke", out=tmp_path / "whole", n_steps=800, widths=(2, 4, 8, 16),
                           pad_to=1)
    same_results(out, whole)


def test_dask_backend_gives_the_local_numbers(tmp_path, smoke):
    pytest.importorskip("distributed")
    out = tmp_path / "dask"
    proc = genlab("run", "double-descent", "--scale", "smoke", "--backend", "dask", "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "dask (LocalCluster on 127.0.0.1, 1 worker(s))" in proc.stdout and summary_of(out)["tasks"]["backend"] == "dask"
    same_results(out, smoke("double-descent"))
