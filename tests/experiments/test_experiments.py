"""Every experiment at smoke scale: the run directory's structure, redrawing, and a property of
its phenomenon. Quick-scale checks of the phenomena are marked slow (CI runs them)."""

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
import torch

from genlab._checks import ParameterError
from genlab.experiments import (
    ExperimentFailed,
    get_experiment,
    list_experiments,
    plot_run,
    run_experiment,
)
from genlab.sweep import open_store

torch.set_num_threads(1)
NAMES = [e.name for e in list_experiments()]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {name: run_experiment(name, scale="smoke", seed=0, out=root / name) for name in NAMES}


def test_catalogue_is_the_lecture():
    assert NAMES == ["mnist1d-benchmark", "generalization-gap", "bias-variance", "variance-reduction",
                     "double-descent", "double-descent-linear", "knots", "hyperparameter-selection"]
    for e in list_experiments():
        assert set(e.scales) == {"smoke", "quick", "paper"} and e.question and e.metrics_doc


@pytest.mark.parametrize("name", NAMES)
def test_run_directory_structure(smoke_runs, name):
    run_dir = smoke_runs[name]
    config = json.loads((run_dir / "config.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert config["experiment"] == name and config["scale"] == "smoke" and config["seed"] == 0
    assert summary["experiment"] == name and summary["wall_time_s"] > 0
    assert summary["command"].startswith(f"genlab run {name} --scale smoke --seed 0")
    assert summary["figures"] and all((run_dir / f).is_file() for f in summary["figures"])
    assert {f.rsplit(".", 1)[1] for f in summary["figures"]} == {"png", "svg"}
    assert summary["comparisons"]
    for c in summary["comparisons"]:
        assert set(c) >= {"quantity", "measured", "published", "band", "inside", "note"}
        if c["band"] is not None:
            assert c["inside"] == (c["band"][0] <= c["measured"] <= c["band"][1])
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert {"metric", "value"} <= set(metrics.columns) and len(metrics) > 0
    readme = (run_dir / "README.md").read_text()
    assert "| quantity | measured | published |" in readme
    # The work went through the sweep runner: every task committed to the run's store.
    tasks = summary["tasks"]
    assert tasks["computed"] == tasks["n_tasks"] >= 1 and tasks["reused"] == 0 and tasks["backend"] == "local"
    with open_store(run_dir / "tasks") as store:
        runs = store.runs(flatten=False)
        assert len(runs) == tasks["n_tasks"] and (runs.status == "done").all() and store.integrity() == "ok"


@pytest.mark.parametrize("name", ["bias-variance", "knots", "generalization-gap"])
def test_plot_redraws_from_stored_data(smoke_runs, name):
    run_dir = smoke_runs[name]
    pngs = sorted(run_dir.glob("*.png"))
    for p in pngs:
        p.unlink()
    names = plot_run(run_dir)
    assert all((run_dir / n).is_file() for n in names) and len(list(run_dir.glob("*.png"))) == len(pngs)


def comparison(run_dir, prefix):
    summary = json.loads((run_dir / "summary.json").read_text())
    return next(c for c in summary["comparisons"] if c["quantity"].startswith(prefix))


def test_bias_variance_identity_is_exact(smoke_runs):
    metrics = pd.read_csv(smoke_runs["bias-variance"] / "metrics.csv")
    cap = metrics[metrics.curve == "capacity"].pivot(index="hidden", columns="metric", values="value")
    assert ((cap.expected_error - (cap.bias2 + cap.variance + cap.noise)).abs() < 1e-12).all()
    # The empirical error (fresh noisy test draws) agrees with the analytic one to Monte Carlo accuracy.
    assert ((cap.empirical_error - cap.expected_error).abs() / cap.expected_error < 0.1).all()
    assert comparison(smoke_runs["bias-variance"], "capacity minimising")["inside"]


def test_linear_double_descent_peaks_at_p_equals_n(smoke_runs):
    assert comparison(smoke_runs["double-descent-linear"], "Legendre: P of the median")["inside"]  # N +- 1
    assert comparison(smoke_runs["double-descent-linear"], "Diabetes: N of the smallest")["measured"] == 10


def test_knots_median_never_rises(smoke_runs):
    assert comparison(smoke_runs["knots"], "times the median")["measured"] == 0


def test_generalization_gap_training_reduces_training_error(smoke_runs):
    metrics = pd.read_csv(smoke_runs["generalization-gap"] / "metrics.csv")
    train = metrics[(metrics.split == "train") & (metrics.metric == "error")].groupby("step").value.mean()
    assert train.iloc[-1] < train.iloc[0] - 0.2


def test_variance_reduction_bagging_reduces_variance(smoke_runs):
    assert comparison(smoke_runs["variance-reduction"], "variance: mean of 4")["inside"]


def test_hyperparameter_selection_test_pick_flatters(smoke_runs):
    c = comparison(smoke_runs["hyperparameter-selection"], "test error of the configuration chosen on test")
    assert c["inside"]  # never worse than the honest pick, by construction


def summary_of(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def same_results(a, b):
    """Two run directories hold the same numbers: metrics.csv, comparisons and headline."""
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
    sa, sb = summary_of(a), summary_of(b)
    assert sa["comparisons"] == sb["comparisons"] and sa["metrics"] == sb["metrics"]


def test_runs_are_deterministic_and_rerunning_reuses_the_store(tmp_path):
    a = run_experiment("knots", scale="smoke", seed=3, out=tmp_path / "a", backend="serial")
    b = run_experiment("knots", scale="smoke", seed=3, out=tmp_path / "b", backend="serial")
    pd.testing.assert_frame_equal(pd.read_csv(a / "metrics.csv"), pd.read_csv(b / "metrics.csv"))
    # The same configuration again: its tasks are read back, nothing is recomputed.
    run_experiment("knots", scale="smoke", seed=3, out=a, backend="serial")
    tasks = summary_of(a)["tasks"]
    assert (tasks["n_tasks"], tasks["reused"], tasks["computed"], tasks["backend"]) == (2, 2, 0, "none")
    same_results(a, b)
    # --fresh starts over; another configuration replaces the directory.
    run_experiment("knots", scale="smoke", seed=3, out=a, backend="serial", fresh=True)
    assert (summary_of(a)["tasks"]["reused"], summary_of(a)["tasks"]["computed"]) == (0, 2)
    run_experiment("knots", scale="smoke", seed=3, out=a, backend="serial", n_draws=41)
    assert (summary_of(a)["tasks"]["reused"], summary_of(a)["tasks"]["computed"]) == (0, 2)
    assert json.loads((a / "config.json").read_text())["config"]["n_draws"] == 41


def test_out_that_is_not_a_run_directory_is_left_alone(tmp_path):
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    (precious / "important.txt").write_text("keep")
    with pytest.raises(ParameterError, match="'--out' parameter.*holds 2 other entries"):
        run_experiment("knots", scale="smoke", out=precious, backend="serial")
    assert (precious / "important.txt").read_text() == "keep" and (precious / "sub").is_dir()
    assert sorted(p.name for p in precious.iterdir()) == ["important.txt", "sub"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (run_experiment("knots", scale="smoke", out=empty, backend="serial") / "summary.json").exists()


def test_interrupted_run_computes_only_the_missing_tasks(tmp_path, smoke_runs):
    """A run whose first tasks were committed before it stopped (no summary.json yet): the
    next run reads them back, computes the others, and ends with the uninterrupted numbers."""
    out = run_experiment("bias-variance", scale="smoke", out=tmp_path / "bv", backend="serial")
    with open_store(out / "tasks") as store:
        ids = list(store.runs(flatten=False).sort_values("started").id)
    lost = ids[-5:]  # the last five tasks were still running when it was killed
    con = sqlite3.connect(out / "tasks" / "runs.sqlite")
    con.executemany("DELETE FROM records WHERE run_id = ?", [(i,) for i in lost])
    con.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in lost])
    con.commit()
    con.close()
    (out / "summary.json").unlink()
    run_experiment("bias-variance", scale="smoke", out=out, backend="serial")
    tasks = summary_of(out)["tasks"]
    assert (tasks["n_tasks"], tasks["reused"], tasks["computed"]) == (16, 11, 5)
    same_results(out, smoke_runs["bias-variance"])  # and the serial backend gave the local numbers
    assert "resumed: 11 of 16 task(s)" in (out / "README.md").read_text()


def test_a_failing_task_is_reported_and_the_others_kept(tmp_path, capsys, monkeypatch):
    from genlab.experiments import _double_descent

    # Width 0 is refused when planning; let it through so that its task fails (MLP refuses it).
    monkeypatch.setattr(_double_descent, "check_values", lambda *args, **kwargs: None)
    out = tmp_path / "dd"
    with pytest.raises(ExperimentFailed, match=r"1 of 3 task\(s\) of double-descent failed after their retries"):
        run_experiment("double-descent", scale="smoke", out=out, backend="serial", widths=(2, 0, 4))
    with open_store(out / "tasks") as store:
        runs = store.runs(flatten=False)
        assert sorted(runs.status) == ["done", "done", "failed"] and (runs.attempts[runs.status == "failed"] == 3).all()
    assert not (out / "summary.json").exists()
    from genlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "double-descent", "--scale", "smoke", "--out", str(out), "--backend", "serial", "--set", "widths=[2,0,4]"])
    cap = capsys.readouterr()
    assert exc.value.code == 1 and "Traceback" not in cap.err and "run the same command again" in cap.err
    assert "2 already done, running 1 task(s)" in cap.out  # the finished widths were kept


def test_bad_input():
    with pytest.raises(ParameterError, match="Did you mean 'knots'"):
        get_experiment("knot")
    with pytest.raises(ParameterError, match="'scale' parameter"):
        run_experiment("knots", scale="huge")
    with pytest.raises(ParameterError, match="Did you mean 'n_draws'"):
        run_experiment("knots", scale="smoke", n_draw=3)


def genlab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_cli_list_run_plot(tmp_path):
    proc = genlab("list")
    assert proc.returncode == 0 and "double-descent" in proc.stdout and "GPU advised" in proc.stdout
    out = tmp_path / "bv"
    proc = genlab("run", "bias-variance", "--scale", "smoke", "--out", str(out), "--set", "max_hidden=6")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "config.json").read_text())["config"]["max_hidden"] == 6
    proc = genlab("plot", str(out))
    assert proc.returncode == 0 and "bias_variance.png" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "bias-varianse"], "Did you mean 'bias-variance'?"),
        (["run", "knots", "--scale", "big"], "'scale' parameter"),
        (["run", "knots", "--set", "n_draws=-1"], "'n_draws' parameter"),
        (["run", "knots", "--seed", "4294967296"], "'seed' parameter of genlab run knots must be an int in the range [0, 40000]"),
        (["run", "knots", "--set", "nonsense"], "KEY=VALUE"),
        (["plot", "/nonexistent"], "'run_dir' parameter"),
        (["run", "knots", "--scheduler", "tcp://127.0.0.1:9"], "'--scheduler' parameter of genlab run needs --backend dask"),
        (["run", "bias-variance", "--scale", "smoke", "--set", "seed=3"], "(use --seed 3)"),
        (["run", "bias-variance", "--scale", "smoke", "--set", "data_sizes=5"], "'data_sizes' parameter of bias-variance"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    proc = genlab(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and needle in proc.stderr
    assert not (tmp_path / "runs").exists()


def genlab_here(capsys, *args) -> tuple[int, str]:
    """``genlab ARGS`` in this process (fast): its exit code and stderr."""
    from genlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().err


GG = ["run", "generalization-gap", "--scale", "smoke", "--backend", "serial", "--set"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        # keys that are genlab run's own options
        (["run", "bias-variance", "--set", "seed=3"], "Got 'seed=3' instead (use --seed 3)"),
        (["run", "bias-variance", "--set", "scale=paper"], "(use --scale paper)"),
        (["run", "bias-variance", "--set", "out=x"], "(use --out DIR)"),
        (["run", "bias-variance", "--set", "name=knots"], "not one of genlab run's own options"),
        # list fields
        (["run", "bias-variance", "--set", "data_sizes=5"],
         "The 'data_sizes' parameter of bias-variance must be a non-empty list of distinct ints in the range [2, inf). Got 5 instead."),
        (["run", "bias-variance", "--set", "data_sizes=[]"], "'data_sizes' parameter of bias-variance must be a non-empty list"),
        (["run", "bias-variance", "--set", 'data_sizes=["a"]'], "Got ['a'] instead."),
        (["run", "bias-variance", "--set", "data_sizes=[-1]"], "Got [-1] instead."),
        (["run", "bias-variance", "--set", "data_sizes=[6,6]"], "distinct"),
        (["run", "knots", "--set", "knot_counts=[]"], "'knot_counts' parameter of knots"),
        (["run", "knots", "--set", "knot_counts=[-1]"], "in the range [0, inf) that includes 4. Got [-1] instead."),
        (["run", "double-descent-linear", "--set", "feature_counts=[]"], "'feature_counts' parameter of double-descent-linear"),
        (["run", "double-descent-linear", "--set", "diabetes_sizes=[500]"], "in the range [1, 441]"),
        (["run", "variance-reduction", "--set", "data_sizes=[]"], "'data_sizes' parameter of variance-reduction"),
        (["run", "variance-reduction", "--set", "bag_sizes=[0]"], "'bag_sizes' parameter of variance-reduction"),
        (["run", "double-descent", "--set", "widths=[0]"], "'widths' parameter of double-descent"),
        (["run", "double-descent", "--set", "n_seeds=0"], "'n_seeds' parameter of double-descent"),
        (["run", "hyperparameter-selection", "--set", "lrs=[]"], "'lrs' parameter of hyperparameter-selection"),
        (["run", "mnist1d-benchmark", "--set", "models=mlp"],
         "must be a non-empty list of distinct names among {'logistic', 'mlp', 'cnn', 'gru'}. Got 'mlp' instead."),
        # training settings, checked as the TrainConfig the tasks build, named as the --set key
        ([*GG, "lr=-1"], "The 'lr' parameter of generalization-gap must be a float in the range [0.0, inf). Got -1 instead."),
        ([*GG, "n_steps=0"], "'n_steps' parameter of generalization-gap"),
        ([*GG, "batch_size=0"], "'batch_size' parameter of generalization-gap"),
        ([*GG, "schedule=bogus"], "'schedule' parameter of generalization-gap must be one of {'constant', "),
        ([*GG, "eval_every=0"], "'eval_every' parameter of generalization-gap"),
        (["run", "double-descent", "--set", "optimizer=bogus"], "'optimizer' parameter of double-descent must be one of"),
        (["run", "mnist1d-benchmark", "--set", "gru_steps=0"], "'gru_steps' parameter of mnist1d-benchmark"),
        # --out
        (["run", "bias-variance", "--out", "afile/sub"], "'--out' parameter of genlab run must be a directory that can be "
         "created and written. Got 'afile/sub' instead ('"),
        (["run", "bias-variance", "--out", "afile"], "Got 'afile' instead (it is a file)"),
        (["run", "bias-variance", "--out", "/proc/nope"], "'--out' parameter of genlab run"),
    ],
)
def test_bad_run_input_is_refused_before_any_work(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    code, err = genlab_here(capsys, *args, "--scale", "smoke", "--backend", "serial")
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing was written


def test_reproduce_command_round_trips_the_overrides(tmp_path):
    """The recorded command, pasted in a shell, gives the same configuration (lists included)."""
    import shlex

    from genlab.experiments._cli import _parse_overrides
    from genlab.experiments._framework import make_config

    out = run_experiment("bias-variance", scale="smoke", seed=2, out=tmp_path / "bv", backend="serial",
                         data_sizes=(6, 100), max_hidden=4)
    command = json.loads((out / "summary.json").read_text())["command"]
    assert f"Reproduce: `{command}`" in (out / "README.md").read_text()
    args = shlex.split(command)
    assert args[:3] == ["genlab", "run", "bias-variance"]
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    seed = int(args[args.index("--seed") + 1])
    scale = args[args.index("--scale") + 1]
    config = make_config(get_experiment("bias-variance"), scale, seed, _parse_overrides(sets))
    assert json.loads(json.dumps(dataclasses.asdict(config))) == json.loads((out / "config.json").read_text())["config"]


def test_genlab_run_killed_with_sigkill_resumes_where_it_stopped(tmp_path):
    """SIGKILL (driver and workers) after the first committed task; the rerun trains only the
    tasks not committed (their rows are new, the others untouched) and ends with the numbers of
    an uninterrupted run."""
    args = ["run", "double-descent", "--scale", "smoke", "--workers", "1", "--set", "n_steps=800",
            "--set", "widths=[2,4,8,16]"]
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
    whole = run_experiment("double-descent", scale="smoke", out=tmp_path / "whole", n_steps=800, widths=(2, 4, 8, 16))
    same_results(out, whole)


def test_dask_backend_gives_the_local_numbers(tmp_path, smoke_runs):
    pytest.importorskip("distributed")
    out = tmp_path / "dask"
    proc = genlab("run", "hyperparameter-selection", "--scale", "smoke", "--backend", "dask", "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "dask (LocalCluster on 127.0.0.1, 1 worker(s))" in proc.stdout and summary_of(out)["tasks"]["backend"] == "dask"
    same_results(out, smoke_runs["hyperparameter-selection"])


@pytest.mark.slow
def test_quick_generalization_gap_reproduces_fig_8_2(tmp_path):
    run = run_experiment("generalization-gap", scale="quick", out=tmp_path / "gg")
    assert comparison(run, "final training error")["inside"]
    assert comparison(run, "final test error")["inside"]
    assert comparison(run, "final / minimum test loss")["inside"]


@pytest.mark.slow
def test_quick_double_descent_peak_with_noise_only(tmp_path):
    run = run_experiment("double-descent", scale="quick", out=tmp_path / "dd")
    assert comparison(run, "noisy: width of the test-error peak")["inside"]
    assert comparison(run, "noisy: test-error rise")["inside"]
    assert comparison(run, "noisy: test error at the largest width")["inside"]  # second descent
    # Without noise, no peak of that size (at 2,000 training signals the clean curve still wobbles
    # by ~2 points between widths; the report shows the [0, 2] band against the book's steady fall).
    assert comparison(run, "clean: largest rise")["measured"] < comparison(run, "noisy: test-error rise")["measured"]


@pytest.mark.slow
def test_quick_benchmark_ordering(tmp_path):
    run = run_experiment("mnist1d-benchmark", scale="quick", out=tmp_path / "bench")
    assert comparison(run, "ordering")["inside"]


def test_runs_save_their_models_for_genlab_measure(smoke_runs):
    run_dir = smoke_runs["generalization-gap"]
    index = json.loads((run_dir / "models" / "index.json").read_text())
    assert set(index) == {"seed-0", "seed-1"} and index["seed-0"]["factory"] == "genlab.models.MLP"
    proc = genlab("measure", "norms", "--run", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "seed-0" in proc.stdout
