"""Linear regions of hand-built ReLU networks, binned mutual information against sklearn, and
the gradient noise scale against a per-sample autograd loop."""

import math

import numpy as np
import pytest
import torch
from measure_helpers import assert_unchanged, small_problem, snapshot
from torch import nn

from genlab.measure import count_linear_regions, gradient_noise_scale, mutual_information
from genlab.models import MLP


def hand_1d(breakpoints):
    """f(x) = sum_i relu(x - b_i): breakpoints exactly at b_i."""
    k = len(breakpoints)
    net = nn.Sequential(nn.Linear(1, k), nn.ReLU(), nn.Linear(k, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(-torch.tensor(breakpoints))
        net[2].weight.fill_(1.0)
        net[2].bias.zero_()
    return net


def test_1d_regions_and_breakpoints_of_hand_built_net():
    bps = [-0.7, -0.1, 0.25, 0.8]
    net = hand_1d(bps)
    r = count_linear_regions(net, -1.0, 1.0, resolution=1000)
    assert r.n_regions == 5
    np.testing.assert_allclose(-1 + 2 * r.breakpoints, bps, atol=1e-8)
    # a sub-interval containing two breakpoints
    assert count_linear_regions(net, 0.0, 1.0, resolution=500).n_regions == 3


def test_2d_regions_of_line_arrangement():
    # 3 lines in general position, all crossings inside [-1,1]^2: 1 + 3 + 3 = 7 regions
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    c = torch.tensor([0.2, -0.3, 0.4])
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        net[0].weight.copy_(w)
        net[0].bias.copy_(-c)
    plane = (np.zeros(2), np.array([1.0, 0]), np.array([0, 1.0]), (-1, 1), (-1, 1))
    assert count_linear_regions(net, None, plane=plane, resolution=300).n_regions == 7


def test_regions_of_genlab_mlp_untouched():
    model = MLP(1, 1, width=6, depth=2, seed=0)
    snap = snapshot(model)
    r = count_linear_regions(model, -3.0, 3.0, resolution=2000)
    assert_unchanged(model, snap)
    assert 1 <= r.n_regions <= 1 + 6 + 6 * 7  # a loose upper bound for 2 layers of 6


def test_mutual_information_against_sklearn():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=500)
    act = y[:, None] + rng.normal(scale=0.7, size=(500, 2))
    r = mutual_information(act, y, n_bins=6)
    lo, hi = act.min(), act.max()
    binned = np.digitize(act, np.linspace(lo, hi, 7)[1:-1])
    t = binned[:, 0] * 10 + binned[:, 1]
    assert r.i_ty == pytest.approx(mutual_info_score(t, y) / math.log(2), rel=1e-10)
    assert r.i_xt == pytest.approx(mutual_info_score(t, np.arange(500)) / math.log(2), rel=1e-10)
    assert r.i_ty <= min(r.i_xt, 2.0) + 1e-12
    fine = mutual_information(act, y, n_bins=10000)
    assert fine.i_xt == pytest.approx(math.log2(500))  # every sample its own bin


def test_gradient_noise_scale_against_loop():
    model, data = small_problem(seed=3)
    snap = snapshot(model)
    r = gradient_noise_scale(model, data, chunk_size=10)
    assert_unchanged(model, snap)
    x, y = data
    grads = []
    for xi, yi in zip(x, y):
        model.zero_grad()
        nn.functional.cross_entropy(model(xi[None]), yi[None]).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double())
        model.zero_grad(set_to_none=True)
    g = torch.stack(grads)
    mean = g.mean(0)
    trace = ((g - mean) ** 2).sum(1).sum() / (len(g) - 1)
    assert r.trace_cov == pytest.approx(float(trace), rel=1e-4)
    assert r.b_simple == pytest.approx(float(trace / (mean @ mean)), rel=1e-4)
    assert r.n_samples == 64


def test_information_plane_matches_direct_activations():
    from genlab.measure import information_plane

    model = MLP(5, 3, width=8, depth=2, activation="tanh", seed=0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 5, generator=g)
    y = torch.randint(0, 3, (300,), generator=g)
    points = information_plane(model, (x, y), n_bins=8)
    assert len(points) == 2
    with torch.no_grad():
        h1 = torch.tanh(model.linears[0](x))
    direct = mutual_information(h1.numpy(), y.numpy(), n_bins=8)
    assert points[0].i_xt == pytest.approx(direct.i_xt) and points[0].i_ty == pytest.approx(direct.i_ty)
    for p in points:
        assert 0 <= p.i_ty <= min(p.i_xt, math.log2(3)) + 1e-9
