"""Input that must be refused (one line, exit 2) before any work: empty sweeps, LIKE wildcards in
a run prefix, a negative seed, output folders that are not ours, sizes that cannot fit."""

import json

import pytest
from fault_helpers import TOY, assert_refused


@pytest.mark.parametrize("name, content, needle", [
    ("empty.toml", "", "Got an empty document instead"),
    ("empty.json", "", "Got an empty document instead"),
    ("blank.json", "  \n", "Got an empty document instead"),
    ("obj.json", "{}", "Got an empty document instead"),
    ("nogrid.toml", "[grid]\n", "Got a [grid] without axes instead"),
    ("nogrid2.toml", "[base]\nwidth = 8\n[grid]\n", "Got a [grid] without axes instead"),
    ("norandom.toml", "[random]\nn_samples = 3\n", "Got a [random] without axes instead"),
])
def test_a_sweep_without_axes_is_refused(cli, tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_text(content)
    assert_refused(cli("sweep", path, "--out", tmp_path / "o"), "must declare at least one axis", needle)
    assert not (tmp_path / "o").exists()


def test_run_prefix_is_not_a_like_pattern(cli, tmp_path):
    from genlab.sweep._spec import Run
    from genlab.sweep._store import Store

    with Store(tmp_path, create=True) as store:  # two runs with chosen ids
        runs = [Run("0cfd5aaaaaaaaaaa", "g", {"width": 8}), Run("1bcd2bbbbbbbbbbb", "g", {"width": 9})]
        store.commit_group("s", runs, None, attempts=1, error="kept for the test")
    assert_refused(cli("runs", "show", tmp_path, "_cfd5"), "no run", "'_cfd5'")
    assert_refused(cli("runs", "show", tmp_path, "%"), "no run", "'%'")
    assert_refused(cli("runs", "show", tmp_path, "_"), "no run")
    code, out, err = cli("runs", "show", tmp_path, "0cfd5")
    assert code == 0 and "run 0cfd5aaaaaaaaaaa" in out, err
    assert_refused(cli("runs", "show", tmp_path, ""), "2 runs")  # the empty prefix is ambiguous


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_measure_seed_out_of_range(cli, models_run, seed):
    assert_refused(cli("measure", "sharpness", "--run", models_run, "--seed", seed), "'--seed'", "genlab measure", seed)
    assert not (models_run / "measure-sharpness.json").exists()


SWEEP = {"grid": {"width": [8]}, "base": {"n_steps": 5, "eval_every": 5, "data": {"n_samples": 300}}}


def test_sweep_into_a_run_directory_is_refused(cli, run_copy, tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SWEEP))
    before = sorted(p.name for p in run_copy.iterdir())
    assert_refused(cli("sweep", tmp_path / "s.json", "--out", run_copy), "must not be a `genlab run` directory")
    assert sorted(p.name for p in run_copy.iterdir()) == before  # no runs.sqlite, no weights/


def test_sweep_into_a_foreign_folder_is_refused(cli, tmp_path, monkeypatch):
    (tmp_path / "s.json").write_text(json.dumps(SWEEP))
    monkeypatch.chdir(tmp_path)  # the working directory holds s.json (and the user's things)
    (tmp_path / "notes.txt").write_text("mine")
    assert_refused(cli("sweep", "s.json", "--out", "."), "must be a new or empty directory", "notes.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "s.json"]


def test_sweep_resumes_into_its_own_folder(cli, store_copy, tmp_path):
    """The refusal above spares a sweep directory: a rerun there resumes."""
    (tmp_path / "toy.json").write_text(json.dumps(TOY))
    # The toy store was trained by a test group function: a real resume would retrain nothing.
    code, out, err = cli("sweep", tmp_path / "toy.json", "--out", store_copy, "--backend", "serial")
    assert code == 0 and "4 already done" in out, err


def test_reproduce_into_a_foreign_folder_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.tex").write_text("mine")
    assert_refused(cli("reproduce", "--scale", "smoke", "--only", "knots", "--out", "."),
                   "genlab reproduce", "must be a new or empty directory", "thesis.tex")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


def test_serve_with_a_missing_runs_directory(cli, tmp_path):
    assert_refused(cli("serve", "--runs", tmp_path / "nope", "--port", "8"), "'--runs'", "does not exist")


# -- sizes that cannot fit ------------------------------------------------------------------------------
@pytest.mark.parametrize("base, grid, needle", [
    ({}, {"width": [10**6]}, "of memory"),
    ({"n_steps": 10**12}, {"width": [8]}, "of compute"),
    ({"depth": 50}, {"width": [20000], "seed": list(range(40))}, "of memory"),
])
def test_sweep_too_large_is_refused_with_the_estimate(cli, tmp_path, base, grid, needle):
    (tmp_path / "big.json").write_text(json.dumps({"base": {"data": {"n_samples": 300}, **base}, "grid": grid}))
    assert_refused(cli("sweep", tmp_path / "big.json", "--out", tmp_path / "o"), "needs at least", needle,
                   "estimated before any work")
    assert not (tmp_path / "o").exists()


def test_a_sweep_that_fits_says_its_estimate(cli, tmp_path):
    from genlab.sweep import load_sweep
    from genlab.sweep._runner import check_sizes, make_groups

    text = check_sizes(make_groups(load_sweep("demo").runs()), "test")
    assert text.startswith("size estimate (lower bounds):") and "largest group" in text


@pytest.mark.parametrize("name, override, needle", [
    ("double-descent", "widths=[1000000]", "of memory"),
    ("generalization-gap", "n_steps=1000000000000", "of compute"),
    ("hyperparameter-selection", "widths=[1000000]", "of memory"),
    ("knots", "adam_epochs=1000000000000", "of compute"),
    ("variance-reduction", "n_repeats=1000000000000", "of compute"),
])
def test_run_overrides_too_large_are_refused(cli, tmp_path, name, override, needle):
    assert_refused(cli("run", name, "--scale", "smoke", "--backend", "serial", "--set", override, "--out", tmp_path / "o"),
                   f"genlab run {name}", "needs at least", needle, override.split("=")[0])
    assert not (tmp_path / "o").exists()


def test_size_estimate_is_a_lower_bound_of_a_real_group():
    """The estimate must not exceed what training really allocates (it refuses only the
    impossible): the parameters and Adam state of a 64-member population, measured."""
    from genlab._sizes import mlp_estimate, mlp_params
    from genlab.models import MLP

    model = MLP(40, 10, width=64, depth=2)
    assert mlp_params(40, 10, 64, 2) == sum(p.numel() for p in model.parameters())
    memory, seconds = mlp_estimate(n_members=64, in_features=40, out_features=10, width=64, depth=2, n_train=4000,
                                   n_eval=5000, batch_size=100, n_steps=1000, eval_every=100, copies=4)
    params_bytes = 4 * 64 * mlp_params(40, 10, 64, 2)
    assert 4 * params_bytes <= memory <= 4 * params_bytes + 4 * (64 * 2 * 100 * 138 + 9000 * 40)
    assert 0 < seconds < 60  # a real population of this size trains in well under a minute
