"""implicit-bias: the interpolants, GD's limit, the diagonal network's alpha sweep, claims that can fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab._checks import ParameterError
from genlab.experiments import run_experiment
from genlab.experiments.overfitting._implicit_bias import (
    ImplicitBiasConfig,
    features,
    gd_diagonal,
    gd_linear,
    gd_linear_loop,
    implicit_bias_claims,
    min_l1,
    min_l2,
    min_weighted_l1,
    sgd_diagonal,
    target_theta,
)


def _problem(seed=0, n=20, m=100):
    x = np.random.default_rng(seed).uniform(0, 1, n)
    F = features(x, m)
    return F, F @ target_theta(m)


def test_smoke_interpolants_and_gd_limit(smoke):
    run_dir = smoke("implicit-bias")
    m = pd.read_csv(run_dir / "metrics.csv")
    res = m[m.metric == "train_residual"].set_index(["seed", "solver"]).value
    for s in (0, 1):
        assert res[(s, "min_l2")] < 1e-9 and res[(s, "min_l1")] < 1e-6  # both interpolate
    l1 = m[m.metric == "l1_norm"].pivot_table(index="seed", columns="solver", values="value")
    assert (l1.min_l1 <= l1.min_l2 + 1e-9).all() and (l1.min_l1 <= l1.target + 1e-6).all()  # L1 is minimal
    assert all(c["n_seeds"] == 2 for c in summary_of(run_dir)["claims"])


def test_features_are_the_seeds_fourier_map():
    F = features(np.array([0.1]), 3)
    k = np.arange(1, 4)
    assert np.allclose(F[0], np.r_[np.cos(0.2 * np.pi * k) / k, np.sin(0.2 * np.pi * k) / k])
    assert target_theta(10)[[2, 6, 14]].tolist() == [3.0, 7.0, -5.0]


def test_min_norm_interpolants_are_minimal():
    F, y = _problem()
    l2, l1 = min_l2(F, y), min_l1(F, y)
    rng = np.random.default_rng(1)
    null = np.linalg.svd(F)[2][F.shape[0]:].T  # basis of the null space
    for _ in range(20):
        other = l2 + null @ rng.normal(0, 0.1, null.shape[1])  # another interpolant
        assert np.linalg.norm(other) > np.linalg.norm(l2)
        assert np.abs(l1 + null @ rng.normal(0, 0.01, null.shape[1])).sum() >= np.abs(l1).sum() - 1e-9
    assert np.allclose(F @ l1, y, atol=1e-8)


def test_gd_from_zero_stays_in_the_row_space():
    F, y = _problem(2)
    theta = gd_linear(F, y, 500)
    null = np.linalg.svd(F)[2][F.shape[0]:]
    assert np.max(np.abs(null @ theta)) < 1e-10
    start = np.ones(F.shape[1])  # a GD started elsewhere keeps its null-space part: not the min-L2 solution
    assert np.max(np.abs(null @ start)) > 0.1


def test_gd_by_repeated_squaring_is_the_plain_loop():
    """The composed GD map gives the plain loop's iterate (odd step counts too), and 2^30 steps
    reach the pseudo-inverse even for draws with two close points (seeds 3 and 4: 20,000 plain
    steps left them 3 % and 7 % away)."""
    F, y = _problem(2)
    for steps in (1, 2, 7, 1000, 1537):
        assert np.max(np.abs(gd_linear(F, y, steps) - gd_linear_loop(F, y, steps))) < 1e-11, steps
    for seed in (3, 4):  # the run's data draws of seeds 3 and 4 (seed_task's generator)
        F = features(np.random.default_rng(1000 * seed + 7).uniform(0, 1, 20), 100)
        y = F @ target_theta(100)
        l2 = np.linalg.pinv(F, rcond=1e-12) @ y
        assert np.linalg.norm(gd_linear_loop(F, y, 20_000) - l2) / np.linalg.norm(l2) > 0.02
        assert np.linalg.norm(gd_linear(F, y, 2**30) - l2) / np.linalg.norm(l2) < 1e-5


def test_diagonal_network_small_init_is_sparse_large_init_is_not():
    F, y = _problem()
    small, large = gd_diagonal(F, y, 0.01, 20_000, 0.05), gd_diagonal(F, y, 1.0, 20_000, 0.05)
    assert np.abs(small).sum() < 0.7 * np.abs(large).sum()
    with pytest.raises(FloatingPointError, match="diag_lr"):
        gd_diagonal(F, y, 1.0, 200, 50.0)


def test_label_noise_sgd_step_is_autograd_sgd():
    """sgd_diagonal's hand-written step equals torch autograd on (1/2)(f(x_i) - y_i - delta eps)^2,
    with the same sample order and noise signs (replayed from the same generator)."""
    torch = pytest.importorskip("torch")
    F, y = _problem(1, n=8, m=12)
    deltas, steps, lr, seed = [0.0, 0.7], 40, 0.01, 5
    ours = sgd_diagonal(F, y, 0.5, deltas, steps, lr, seed)
    rng = np.random.default_rng(seed)
    order = rng.integers(0, len(y), steps)
    signs = rng.choice([-1.0, 1.0], size=(steps, len(deltas)))
    Ft, yt = torch.tensor(F), torch.tensor(y)
    for k, d in enumerate(deltas):
        u = torch.full((F.shape[1],), 0.5, dtype=torch.float64, requires_grad=True)
        v = torch.full((F.shape[1],), 0.5, dtype=torch.float64, requires_grad=True)
        for t in range(steps):
            loss = 0.5 * ((u * u - v * v) @ Ft[order[t]] - yt[order[t]] - d * signs[t, k]) ** 2
            gu, gv = torch.autograd.grad(loss, (u, v))
            with torch.no_grad():
                u -= lr * gu
                v -= lr * gv
        assert np.max(np.abs((u * u - v * v).detach().numpy() - ours[k])) < 1e-12
    assert np.max(np.abs(ours[0] - ours[1])) > 1e-4  # the label noise did something
    with pytest.raises(FloatingPointError, match="sgd_lr"):
        sgd_diagonal(F, y, 1.0, [0.0], 500, 100.0, 0)


def test_min_weighted_l1_is_minimal_and_interpolates():
    F, y = _problem()
    w = (F**2).sum(0)
    theta = min_weighted_l1(F, y, w)
    assert np.allclose(F @ theta, y, atol=1e-8)
    null = np.linalg.svd(F)[2][F.shape[0]:].T
    rng = np.random.default_rng(3)
    for _ in range(20):
        assert w @ np.abs(theta + null @ rng.normal(0, 0.01, null.shape[1])) >= w @ np.abs(theta) - 1e-9
    assert w @ np.abs(theta) < w @ np.abs(min_l1(F, y)) - 1e-6  # a different norm, a different minimizer


def test_config_checks():
    with pytest.raises(ParameterError, match="sgd_alpha"):
        ImplicitBiasConfig(sgd_alpha=0.3)
    with pytest.raises(ParameterError, match="alphas"):
        ImplicitBiasConfig(alphas=(0.01, 1.0))
    with pytest.raises(ParameterError, match="n_freq"):
        ImplicitBiasConfig(n_train=50, n_freq=20)


def _synthetic(dist_gd=1e-6, err_l2=0.4, l1_small=15.0, sgd=True, wl1=(10.0, 8.0, 6.0, 5.0), l1=(40.0, 42.0, 48.0, 60.0),
               dist_sgd=0.01):
    rows = []
    for s in (0, 1):
        def add(solver, alpha=np.nan, s=s, label_noise=np.nan, **vals):
            rows.extend({"seed": s, "solver": solver, "alpha": alpha, "label_noise": label_noise, "metric": k, "value": v}
                        for k, v in vals.items())
        add("min_l1", test_error=0.0, dist_to_min_l2=0.7, dist_to_min_l1=0.0, l1_norm=15.0)
        add("min_l2", test_error=err_l2, dist_to_min_l2=0.0, dist_to_min_l1=0.7, l1_norm=45.0)
        add("gd_linear", test_error=err_l2, dist_to_min_l2=dist_gd, dist_to_min_l1=0.7, l1_norm=45.0)
        add("diagonal", 1.0, test_error=0.35, dist_to_min_l2=0.1, dist_to_min_l1=0.6, l1_norm=41.0)
        add("diagonal", 0.01, test_error=0.0, dist_to_min_l2=0.97, dist_to_min_l1=0.01 if l1_small == 15.0 else 0.5,
            l1_norm=l1_small)
        if sgd:
            for j, d in enumerate((0.0, 0.5, 1.0, 1.5)):
                add("sgd", 1.0, label_noise=d, weighted_l1_norm=wl1[j], l1_norm=l1[j], test_error=0.3,
                    dist_to_gd=dist_sgd if d == 0 else 0.3)
    return pd.DataFrame(rows)


def test_claims_hold_on_good_metrics_and_fail_on_violating_ones():
    assert all(all(c.holds) for c in implicit_bias_claims((0, 1), _synthetic()))
    bad = _synthetic(dist_gd=0.7, err_l2=0.0, l1_small=40.0)  # GD not at pinv, L2 as good as L1, no L1 drift
    claims = implicit_bias_claims((0, 1), bad)
    for prefix in ("min-L2 interpolant", "GD from theta = 0", "diagonal net, alpha = 0.01", "diagonal net: L1 norm"):
        check_claims_fail(claims, prefix)
    swapped = _synthetic()
    swapped.loc[swapped.solver == "min_l1", "value"] = [0.4, 0.0, 0.7, 45.0] * 2  # min-L1 does not recover
    big = swapped[(swapped.solver == "diagonal") & (swapped.alpha == 1.0) & (swapped.metric == "dist_to_min_l2")].index
    swapped.loc[big, "value"] = 0.9  # the large-alpha solution is not L2-like
    claims = implicit_bias_claims((0, 1), swapped)
    check_claims_fail(claims, "min-L1 interpolant")
    check_claims_fail(claims, "diagonal net, alpha = 1")


def test_sgd_claims_fail_without_the_label_noise_effect():
    assert len(implicit_bias_claims((0, 1), _synthetic(sgd=False))) == 6  # no SGD rows: no SGD claims
    # label noise that changes nothing (the weighted norm flat, the L1 norm flat), SGD far from GD
    claims = implicit_bias_claims((0, 1), _synthetic(wl1=(10.0, 10.1, 9.9, 10.0), l1=(40.0,) * 4, dist_sgd=0.3))
    for prefix in ("plain SGD", "label-noise SGD, delta = 1.5: weighted", "label-noise SGD: Spearman",
                   "label-noise SGD, delta = 1.5: plain L1"):
        check_claims_fail(claims, prefix)
    rising = implicit_bias_claims((0, 1), _synthetic(wl1=(5.0, 6.0, 8.0, 10.0)))  # the wrong direction
    check_claims_fail(rising, "label-noise SGD: Spearman")


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment("implicit-bias", scale="quick", out=tmp_path / "implicit-bias")
    for c in summary_of(run_dir)["claims"]:
        assert c["verdict"] == "holds", c
