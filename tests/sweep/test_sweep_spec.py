"""Sweep declaration: ids, expansion, grouping, file formats and bad-input errors."""

import json

import pytest

from genlab._checks import ParameterError, UserError
from genlab.sweep import (
    BUILTIN_SWEEPS,
    DEFAULTS,
    Sweep,
    load_sweep,
    make_groups,
    run_id,
    sweep_from_dict,
)


def test_run_id_is_canonical_and_sensitive():
    a = {**DEFAULTS, "width": 8, "data": {"n_samples": 100, "seed": 1}}
    b = dict(reversed(list(a.items())))  # key order must not matter
    b["data"] = {"seed": 1, "n_samples": 100}
    assert run_id(a) == run_id(b)
    assert run_id(a) != run_id({**a, "width": 9})
    assert run_id(a) != run_id({**a, "lr": 0.1 + 1e-12})
    assert len(run_id(a)) == 16


def test_grid_expansion_and_grouping():
    s = Sweep(base={"n_steps": 10}, grid={"width": [8, 16, 32], "seed": [0, 1], "lr": [0.1, 0.2], "label_noise": [0.0, 0.1]})
    runs = s.runs()
    assert len(runs) == 3 * 2 * 2 * 2 == len({r.id for r in runs})
    groups = make_groups(runs)
    # width changes shapes: one group per width; seed, lr and label noise are batched.
    assert len(groups) == 3
    for g in groups:
        assert len({r.config["width"] for r in g.runs}) == 1 and len(g.runs) == 8
    assert all(r.config["n_steps"] == 10 for r in runs)
    # The same declaration gives the same ids (resume depends on it).
    assert [r.id for r in Sweep(base={"n_steps": 10}, grid=dict(s.grid)).runs()] == [r.id for r in runs]


def test_shape_axes_split_groups_and_chunks():
    runs = Sweep(grid={"depth": [1, 2], "n_train": [100, 200], "seed": list(range(5))}).runs()
    assert len(make_groups(runs)) == 4
    chunked = make_groups(runs, max_group_size=2)
    assert len(chunked) == 4 * 3 and sorted(len(g.runs) for g in chunked)[:4] == [1, 1, 1, 1]


def test_random_axes_are_seeded_and_in_range():
    decl = {"grid": {"width": [8, 16]}, "random": {"n_samples": 5, "seed": 3,
            "lr": {"log_uniform": [1e-3, 1e-1]}, "momentum": {"uniform": [0.0, 0.9]},
            "depth": {"int_uniform": [1, 3]}, "activation": {"choice": ["relu", "tanh"]}}}
    runs = sweep_from_dict(decl).runs()
    assert len(runs) == 10
    assert [r.id for r in runs] == [r.id for r in sweep_from_dict(decl).runs()]
    assert all(1e-3 <= r.config["lr"] <= 1e-1 and 0 <= r.config["momentum"] <= 0.9 for r in runs)
    assert {r.config["depth"] for r in runs} <= {1, 2, 3}
    other = sweep_from_dict({**decl, "random": {**decl["random"], "seed": 4}}).runs()
    assert {r.id for r in other} != {r.id for r in runs}


def test_unknown_axis_suggests_closest():
    with pytest.raises(ParameterError, match=r"Unknown grid axis 'widht'.*Did you mean 'width'\?"):
        Sweep(grid={"widht": [8]})
    with pytest.raises(ParameterError, match=r"Did you mean 'weight_decay'"):
        Sweep(random={"weight_decy": {"uniform": [0, 1]}})


@pytest.mark.parametrize("grid, pattern", [
    ({"width": []}, r"grid axis 'width' .* must be a non-empty list"),
    ({"seed": 3}, r"grid axis 'seed' .* must be a non-empty list"),
    ({"width": [8, 0]}, r"width=0: The 'width' parameter of Sweep must be an int in the range \[1, inf\)\. Got 0"),
    ({"lr": [0.1, -1.0]}, r"lr=-1.0: The 'lr' parameter of TrainConfig"),
    ({"optimizer": ["sgd", "adamm"]}, r"optimizer='adamm'"),
    ({"label_noise": [1.5]}, r"label_noise"),
    ({"dataset": ["mnist1"]}, r"Did you mean 'mnist1d'"),
    ({"activation": ["relu", "bogus"]}, r"activation='bogus': The 'activation' parameter of Sweep must be one of"),
    ({"init": ["bogus"]}, r"The 'init' parameter of Sweep must be one of"),
    ({"init_scale": [0.0]}, r"The 'init_scale' parameter of Sweep"),
    ({"data": [{"bogus": 1}]}, r"option\(s\) 'bogus' that dataset 'mnist1d' does not take"),
    ({"data": [{"n_samples": -5}]}, r"'n_samples' parameter of make_mnist1d"),
    ({"n_train": [100, 100000]}, r"n_train=100000: The 'n_train' parameter of Sweep must be at most the dataset's 4000"),
])
def test_invalid_grid_values_are_refused_before_work(grid, pattern):
    with pytest.raises(ParameterError, match=pattern):
        Sweep(grid=grid)


def test_a_sweep_file_names_its_format(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid:\n  width: [8]\n")
    with pytest.raises(UserError, match=r"must end in .toml or .json.*Got '.yaml'"):
        load_sweep(p)


def test_bad_random_distribution():
    with pytest.raises(ParameterError, match="random axis 'lr'"):
        Sweep(random={"lr": {"normal": [0, 1]}})
    with pytest.raises(ParameterError, match="log_uniform bounds > 0"):
        Sweep(random={"lr": {"log_uniform": [0, 1]}})


def test_files_toml_and_json(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('name = "t"\n[base]\nn_steps = 20\ndata = {n_samples = 200}\n[grid]\nwidth = [8, 16]\nseed = [0, 1]\n')
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"name": "t", "base": {"n_steps": 20, "data": {"n_samples": 200}}, "grid": {"width": [8, 16], "seed": [0, 1]}}))
    a, b = load_sweep(toml), load_sweep(js)
    assert [r.id for r in a.runs()] == [r.id for r in b.runs()] and len(a.runs()) == 4
    with pytest.raises(ParameterError, match="Unknown top-level key 'gird'.*Did you mean 'grid'"):
        sweep_from_dict({"gird": {}})
    (tmp_path / "bad.toml").write_text("[grid\n")
    with pytest.raises(UserError, match="Cannot parse sweep file"):
        load_sweep(tmp_path / "bad.toml")
    with pytest.raises(UserError, match="Did you mean 'demo'"):
        load_sweep("dem")


def test_builtin_sweeps_are_valid():
    assert len(load_sweep("bench").runs()) == 64
    for name in BUILTIN_SWEEPS:
        assert load_sweep(name).runs()
