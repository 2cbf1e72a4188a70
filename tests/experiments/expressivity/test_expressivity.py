"""expressivity: exact piece counts, the step construction, region counts, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, claim, summary_of

from genlab._checks import ParameterError
from genlab.experiments import run_experiment
from genlab.experiments.expressivity._expressivity import (
    ExpressivityConfig,
    exact_pieces,
    expressivity_claims,
    grid_pieces,
    seed_task,
    step_network,
    tent_network,
    trained_task,
)
from genlab.models import MLP


def test_smoke_tent_has_exactly_2_to_the_k_pieces(smoke):
    run_dir = smoke("expressivity")
    m = pd.read_csv(run_dir / "metrics.csv")
    tent = m[m.part == "tent"]
    for metric in ("pieces_exact", "pieces_grid", "regions_exact"):
        t = tent[tent.metric == metric]
        assert len(t) and (t.value == 2.0 ** t.k).all(), t
    step = m[(m.part == "step") & (m.metric == "max_error_off_ramps")]
    assert (step.value < 1e-9).all()
    assert claim(run_dir, "tent map: max over")["verdict"] == "holds"
    assert all(c["n_seeds"] == 2 for c in summary_of(run_dir)["claims"])


def test_tent_network_is_the_composed_tent_map():
    x = np.linspace(0, 1, 1001)
    for k in (1, 3, 6):
        y = x.copy()
        for _ in range(k):
            y = np.where(y <= 0.5, 2 * y, 2 * (1 - y))
        for rng in (None, np.random.default_rng(k)):
            with torch.no_grad():
                out = tent_network(k, rng)(torch.as_tensor(x)[:, None])[:, 0].numpy()
            assert np.max(np.abs(out - y)) < 1e-12


def test_exact_count_agrees_with_a_dense_grid_of_activation_patterns():
    x = torch.linspace(-3, 3, 400_001, dtype=torch.float64)[:, None]
    for depth, width, seed in ((1, 8, 0), (3, 6, 1), (5, 4, 2)):
        model = MLP(1, 1, width=width, depth=depth, seed=seed).double()
        regions, pieces = exact_pieces(model, -3.0, 3.0)
        with torch.no_grad():
            h, pattern = x, []
            for lin in model.linears[:-1]:
                z = lin(h)
                pattern.append(z > 0)
                h = torch.relu(z)
        p = torch.cat(pattern, 1).numpy()
        assert regions == 1 + int(np.sum(np.any(p[1:] != p[:-1], axis=1)))
        assert 1 <= pieces <= regions
        if depth == 1:
            assert regions <= width + 1  # a hyperplane arrangement on a line


def test_a_wrong_tent_bias_does_not_give_2_to_the_k_pieces():
    net = tent_network(4)
    with torch.no_grad():
        net.linears[1].bias[1] = -0.4
    assert exact_pieces(net, 0.0, 1.0)[1] != 16
    assert grid_pieces(net, 12) != 16


def test_step_network_reproduces_the_lecture_rect():
    def relu(v):
        return np.maximum(v, 0)

    def rect(x, a, b, h, eps=1e-7):  # the lecture's code (seed 002)
        return h / eps * (relu(x - a) - relu(x - (a + eps)) - relu(x - b) + relu(x - (b + eps)))

    x = np.linspace(-3, 3, 1000)
    net = step_network(np.array([[0.0, 1.0]]), np.array([1.3]), 1e-7)
    assert net.width == 4
    with torch.no_grad():
        out = net(torch.as_tensor(x)[:, None])[:, 0].numpy()
    assert np.max(np.abs(out - rect(x, 0, 1, 1.3))) < 1e-6


def test_config_refuses_unequal_budgets_and_missing_shallow():
    with pytest.raises(ParameterError, match="architectures"):
        ExpressivityConfig(architectures=("1x80", "4x16"))
    with pytest.raises(ParameterError, match="architectures"):
        ExpressivityConfig(architectures=("4x8", "1x80"))
    with pytest.raises(ParameterError, match="DEPTHxWIDTH"):
        ExpressivityConfig(architectures=("1x80", "4by8"))


def _metrics(seeds=(0, 1)):
    rows = []
    for s in seeds:
        rows += seed_task(s, [1, 2, 3], 10, 2, 1e-3, [[1, 80], [4, 8]], 2).records
    return pd.DataFrame(rows)


def test_claims_hold_on_real_metrics_and_fail_on_violating_ones():
    m = _metrics()
    claims = expressivity_claims((0, 1), m, 10)
    assert all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims]
    bad = m.copy()
    tent = (bad.part == "tent") & bad.metric.isin(["pieces_exact", "pieces_grid"])
    bad.loc[tent, "value"] = 2.0 ** bad.loc[tent, "k"] - 1  # one piece short: a shallow net's k + 1 style count
    step = (bad.part == "step") & (bad.metric == "max_error_off_ramps")
    bad.loc[step, "value"] = 0.01
    rand = (bad.part == "random") & (bad.metric == "regions") & (bad.arch == "4x8")
    bad.loc[rand, "value"] = 1000.0  # exponentially many regions at init: not what random nets do
    claims = expressivity_claims((0, 1), bad, 10)
    for prefix in ("tent map: max over", "tent map: same", "step function", "random nets at init", "random deep nets"):
        check_claims_fail(claims, prefix)


def test_smoke_trained_part_counts_regions_exactly_and_fits_rows(smoke):
    m = pd.read_csv(smoke("expressivity") / "metrics.csv")
    t = m[m.part == "trained"].pivot_table(index=["seed", "arch", "net"], columns="metric", values="value")
    assert len(t) == 2 * 2 * 2 and (t.params == 361).all()
    assert (t.pieces_trained <= t.regions_trained).all() and (t.regions_trained >= 1).all()
    shallow = t.xs("1x120", level="arch")
    assert (shallow.regions_trained <= 121).all() and (shallow.regions_init <= 121).all()  # width + 1 on a line
    assert (t.test_mse > 0).all() and np.isfinite(t.train_mse).all()
    fit = m[m.part == "fit"]
    assert set(fit.arch) == {"target", "1x120", "4x10"} and len(fit[(fit.seed == 0) & (fit.arch == "target")]) == 401


def _trained_metrics(seeds=(0, 1)):
    rows = []
    for s in seeds:
        rows += trained_task(s, [[1, 120], [4, 10]], 4.0, 60, 2, 10, 1e-2).records
    return pd.DataFrame(rows)


def test_trained_claims_fail_on_violating_metrics():
    m = pd.concat([_metrics(), _trained_metrics()], ignore_index=True)
    good = m.copy()
    t = good.part == "trained"
    deep, shallow = t & (good.arch == "4x10"), t & (good.arch == "1x120")
    good.loc[deep & (good.metric == "test_mse"), "value"] = 0.001
    good.loc[shallow & (good.metric == "test_mse"), "value"] = 0.03
    good.loc[deep & (good.metric == "pieces_trained"), "value"] = 30.0
    claims = expressivity_claims((0, 1), good, 10, 4.0)
    assert len(claims) == 8 and all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims]
    bad = good.copy()
    bad.loc[deep & (bad.metric == "test_mse"), "value"] = 0.03  # deep no better than shallow
    bad.loc[deep & (bad.metric == "pieces_trained"), "value"] = 2.0**12  # exponentially many pieces
    bad.loc[shallow & (bad.metric == "regions_trained"), "value"] = 500.0  # > 2 regions per neuron
    claims = expressivity_claims((0, 1), bad, 10, 4.0)
    for prefix in ("trained, equal budget", "trained 4x10 (best init)", "trained nets: max over"):
        check_claims_fail(claims, prefix)
    few = good.copy()
    few.loc[deep & (few.metric == "pieces_trained"), "value"] = 5.0  # too few pieces to follow 4 periods
    check_claims_fail(expressivity_claims((0, 1), few, 10, 4.0), "trained 4x10 (best init)")


def test_config_refuses_unequal_trained_budgets():
    with pytest.raises(ParameterError, match="fit_architectures"):
        ExpressivityConfig(fit_architectures=("1x120", "4x16"))


@pytest.mark.quick
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment("expressivity", scale="quick", out=tmp_path / "expressivity")
    for c in summary_of(run_dir)["claims"]:
        assert c["verdict"] == "holds", c
