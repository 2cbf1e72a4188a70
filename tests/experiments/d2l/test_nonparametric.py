"""nonparametric: 1-NN training error exactly 0, the shift distance against a plain loop, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, claim, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.d2l._nonparametric import (
    DATASETS,
    DISTANCES,
    NonparametricConfig,
    datasets,
    kernel_gd_prediction,
    knn_errors,
    ntk_gd,
    ntk_jacobian,
    ntk_net,
    shift_distances,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1, 2)
KS = (1, 5)
# test error (%) at k = 1 in the lecture's picture: the shift distance wins on MNIST-1D, loses when shuffled
GOOD = {("mnist1d", "euclidean"): 43, ("mnist1d", "manhattan"): 45, ("mnist1d", "cosine"): 48, ("mnist1d", "shift"): 33,
        ("shuffled", "euclidean"): 43, ("shuffled", "manhattan"): 45, ("shuffled", "cosine"): 48, ("shuffled", "shift"): 60}


WIDTHS = (16, 256, 4096)


def synthetic(test=None, train_k1=0.0, distance=(0.3, 0.12, 0.05), change=(1.0, 0.1, 0.02)):
    table = {**GOOD, **(test or {})}
    rows = [{"seed": s, "part": "kernel", "width": w, "metric": metric, "value": v}
            for s in SEEDS for metric, values in (("ntk_distance", distance), ("ntk_change", change))
            for w, v in zip(WIDTHS, values)]
    for s in SEEDS:
        for (d, dist), e in table.items():
            for k in KS:
                rows.append({"seed": s, "dataset": d, "distance": dist, "k": k, "metric": "test_error", "value": e / 100})
                rows.append({"seed": s, "dataset": d, "distance": dist, "k": k, "metric": "train_error",
                             "value": (train_k1 if (d, dist) == ("mnist1d", "cosine") else 0.0) if k == 1 else 0.2})
    return [TaskOutput(rows)]


CFG = NonparametricConfig(seeds=SEEDS, ks=KS)


def test_claims_hold_on_the_lectures_picture():
    out = summarize(CFG, synthetic())
    assert all(all(c.holds) for c in out.claims), [(c.name, c.values) for c in out.claims if not all(c.holds)]


@pytest.mark.parametrize("test, train_k1, prefix", [
    (None, 0.01, "1-NN training error"),
    ({("mnist1d", "shift"): 44}, 0.0, "on MNIST-1D the shift distance beats"),
    ({("shuffled", "shift"): 33}, 0.0, "on shuffled MNIST-1D the shift distance's advantage is gone"),
])
def test_each_claim_fails_on_violating_results(test, train_k1, prefix):
    check_claims_fail(summarize(CFG, synthetic(test, train_k1)).claims, prefix)


@pytest.mark.parametrize("distance, change, prefix", [
    ((0.3, 0.25, 0.2), (1.0, 0.1, 0.02), "kernel view: distance between"),  # the predictors do not meet
    ((0.3, 0.3, 0.3), (1.0, 0.1, 0.02), "kernel view: log-log slope"),
    ((0.3, 0.12, 0.05), (1.0, 0.6, 0.3), "kernel view: relative change"),  # the kernel moves: not lazy
])
def test_each_kernel_view_claim_fails_on_violating_results(distance, change, prefix):
    check_claims_fail(summarize(CFG, synthetic(distance=distance, change=change)).claims, prefix)


def _ntk_problem(m=32, n=6):
    g = torch.Generator().manual_seed(0)
    p = {k: torch.randn(m, generator=g, dtype=torch.float64) for k in ("w", "b", "a")}
    x = torch.linspace(-1, 1, n, dtype=torch.float64)
    return p, x, torch.sin(np.pi * x)


def test_ntk_jacobian_is_the_analytic_one():
    p, x, _ = _ntk_problem()
    K = ntk_jacobian(p, x) @ ntk_jacobian(p, x).T
    z = x[:, None] * p["w"] + p["b"]  # K(x, x') = (1/m) sum_j [relu(z) relu(z') + a_j^2 1(z > 0) 1(z' > 0) (x x' + 1)]
    h, d = torch.relu(z), (z > 0).double() * p["a"]
    analytic = (h @ h.T + (d @ d.T) * (x[:, None] * x[None, :] + 1)) / len(p["a"])
    assert torch.allclose(K, analytic, atol=1e-12)


def test_ntk_gd_is_gradient_descent_by_autograd():
    p, x, y = _ntk_problem()
    q = {k: v.clone().requires_grad_() for k, v in p.items()}
    for _ in range(5):
        loss = 0.5 * ((ntk_net(q, x) - y) ** 2).mean()
        grads = torch.autograd.grad(loss, list(q.values()))
        with torch.no_grad():
            for v, g in zip(q.values(), grads):
                v -= 0.3 * g
    mine = ntk_gd(p, x, y, 0.3, 5)
    for k in ("w", "b", "a"):
        assert torch.allclose(mine[k], q[k], atol=1e-13), k


def test_kernel_prediction_is_the_linearized_networks_gd():
    p, x, y = _ntk_problem()
    grid = torch.linspace(-1, 1, 9, dtype=torch.float64)
    J, J_grid = ntk_jacobian(p, x), ntk_jacobian(p, grid)
    theta, lr, n = torch.zeros(J.shape[1], dtype=torch.float64), 0.2, len(x)
    f0 = ntk_net(p, x)
    for _ in range(300):  # GD on the linearization f0 + J theta, a plain loop
        theta -= lr * J.T @ (f0 + J @ theta - y) / n
    loop = ntk_net(p, grid) + J_grid @ theta
    closed = kernel_gd_prediction(J @ J.T, J_grid @ J.T, f0 - y, ntk_net(p, grid), lr, 300)
    assert torch.allclose(closed, loop, atol=1e-10)


def test_shift_distance_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 12)), rng.standard_normal((7, 12))
    loop = np.array([[min(np.linalg.norm(x - np.roll(y, s)) for s in range(12)) for y in b] for x in a])
    assert np.allclose(shift_distances(a, b), loop)
    assert np.allclose(shift_distances(b, np.roll(b, 5, axis=1)).diagonal(), 0.0, atol=1e-6)  # shift-invariant


def test_fixed_permutation_leaves_plain_distances_unchanged():
    data = datasets(300, 100, 0)
    for dist in ("euclidean", "manhattan", "cosine"):  # a fixed permutation of coordinates is invisible to them
        assert knn_errors(data["mnist1d"], dist, (1, 3), 50) == knn_errors(data["shuffled"], dist, (1, 3), 50)
    assert knn_errors(data["mnist1d"], "shift", (1,), 50) != knn_errors(data["shuffled"], "shift", (1,), 50)


def test_smoke_one_nn_training_error_is_exactly_zero(smoke):
    run_dir = smoke("nonparametric")
    m = pd.read_csv(run_dir / "metrics.csv")
    k1 = m[(m.metric == "train_error") & (m.k == 1)]
    assert len(k1) == 2 * len(DATASETS) * len(DISTANCES) and (k1.value == 0.0).all()
    assert (m[(m.metric == "train_error") & (m.k == 5)].value > 0).any()  # k > 1 no longer memorizes
    assert claim(run_dir, "1-NN training error")["verdict"] == "holds"
    kern = m[m.part == "kernel"]
    assert set(kern[kern.metric == "ntk_distance"].width) == {16, 64}
    curves = kern[kern.metric.isin(["net_prediction", "kernel_prediction"])]
    assert curves.groupby(["seed", "width", "metric"]).size().eq(201).all()
    assert (kern[kern.metric == "train_mse"].value > 0).all()
    assert summary_of(run_dir)["experiment"] == "nonparametric"


@pytest.mark.slow
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    summary = summary_of(run_experiment("nonparametric", scale="quick", out=tmp_path / "nonparametric"))
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"] if c["verdict"] != "holds"]
