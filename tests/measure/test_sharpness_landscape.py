"""Sharpness/flatness against closed forms on quadratics; landscapes: centring, seeds, filter norms."""

import math

import numpy as np
import pytest
import torch
from measure_helpers import assert_unchanged, small_problem, snapshot

from genlab.measure import (
    Objective,
    first_order_sharpness,
    interpolate,
    loss_landscape,
    pac_bayes_flatness,
    random_directions,
    worst_case_sharpness,
)


def diag_quadratic(diag, theta=None):
    a = torch.as_tensor(diag, dtype=torch.float64)
    theta = torch.zeros_like(a) if theta is None else torch.as_tensor(theta, dtype=torch.float64)
    return Objective(lambda t: 0.5 * (a * t * t).sum(), theta)


def test_worst_case_ascends_to_closed_form():
    a = np.array([4.0, 1.0, 0.5, 0.1])
    # l2 ball of radius r at the minimum: max 0.5 lambda_max r^2
    r = worst_case_sharpness(diag_quadratic(a), radius=0.1, norm="l2", n_steps=30, n_restarts=2, seed=0)
    assert r.sharpness == pytest.approx(0.5 * 4.0 * 0.01, rel=1e-3)
    # linf box: corner, 0.5 r^2 trace
    r = worst_case_sharpness(diag_quadratic(a), radius=0.1, norm="linf", n_steps=30, n_restarts=2, seed=0)
    assert r.sharpness == pytest.approx(0.5 * a.sum() * 0.01, rel=1e-6)
    assert r.n_grad == 60 and r.n_forward == 61


def test_worst_case_is_a_maximum_not_a_descent():
    model, data = small_problem(seed=4)
    snap = snapshot(model)
    r = worst_case_sharpness(model, data, radius=0.05, n_steps=10, seed=1)
    obj = Objective.from_model(model, data)
    g = torch.Generator().manual_seed(0)
    rand = [obj.value(obj.theta + 0.05 * (z := torch.randn(obj.n_params, generator=g)) / z.norm()) - obj.value()
            for _ in range(20)]
    assert r.sharpness > max(rand) > 0
    assert_unchanged(model, snap)


def test_first_order_sharpness_closed_form():
    a = np.array([2.0, 1.0])
    theta = np.array([1.0, 1.0])
    r = first_order_sharpness(diag_quadratic(a, theta), radius=0.1)
    g = a * theta
    new = theta + 0.1 * g / np.linalg.norm(g)
    assert r.sharpness == pytest.approx(0.5 * (a * new**2).sum() - 0.5 * (a * theta**2).sum(), rel=1e-12)


def test_pac_bayes_flatness_closed_form():
    # E[L(w + sigma z)] - L(w) = 0.5 sigma^2 tr(A) -> sigma* = sqrt(2 tol / tr A), up to MC error
    a = np.full(400, 0.5)
    r = pac_bayes_flatness(diag_quadratic(a), tolerance=0.1, n_draws=50, seed=0)
    exact = math.sqrt(2 * 0.1 / a.sum())
    assert r.sigma == pytest.approx(exact, rel=0.03)
    assert r.flatness == pytest.approx(1 / r.sigma**2)
    assert r.loss_increase <= 0.1


def test_landscape_centred_reproducible_and_model_untouched():
    model, data = small_problem(seed=5)
    snap = snapshot(model)
    a = loss_landscape(model, data, dims=2, n_points=7, span=0.5, seed=11)
    b = loss_landscape(model, data, dims=2, n_points=7, span=0.5, seed=11)
    c = loss_landscape(model, data, dims=2, n_points=7, span=0.5, seed=12)
    assert_unchanged(model, snap)
    np.testing.assert_array_equal(a.directions, b.directions)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.directions, c.directions)
    np.testing.assert_allclose(a.coords, -a.coords[::-1])
    assert a.coords[3] == 0.0
    assert a.center_loss == pytest.approx(Objective.from_model(model, data).value(), rel=1e-6)
    assert a.losses.shape == (7, 7) and a.n_forward == 49
    one = loss_landscape(model, data, dims=1, n_points=5, seed=0)
    assert one.losses.shape == (5,)


def test_filter_normalized_directions():
    model, _ = small_problem(seed=6)
    d = random_directions(model, n_directions=2, seed=3)
    assert d.shape[0] == 2
    entries = {}
    offset = 0
    for name, p in model.named_parameters():
        entries[name] = d[0, offset: offset + p.numel()].view(p.shape)
        offset += p.numel()
    for name, p in model.named_parameters():
        if p.dim() == 1:
            assert torch.all(entries[name] == 0), name  # biases zeroed
        else:
            np.testing.assert_allclose(entries[name].norm(dim=1).numpy(), p.detach().norm(dim=1).numpy(), rtol=1e-5)
    assert (d < 0).any()  # Gaussian, not uniform-positive


def test_interpolation_endpoints_and_barrier():
    model_a, data = small_problem(seed=7)
    model_b, _ = small_problem(seed=8)
    snap = snapshot(model_a)
    r = interpolate(model_a, model_b, data, n_points=11, alpha_range=(-0.5, 1.5))
    assert_unchanged(model_a, snap)
    la = Objective.from_model(model_a, data).value()
    lb = Objective.from_model(model_b, data).value()
    assert r.losses[r.alphas == 0][0] == pytest.approx(la, rel=1e-6)
    assert r.losses[r.alphas == 1][0] == pytest.approx(lb, rel=1e-6)
    assert r.errors is not None and r.errors.shape == r.alphas.shape
    same = interpolate(model_a, model_a.state_dict(), data, n_points=5)
    assert same.barrier == pytest.approx(0.0, abs=1e-6) and same.distance == 0.0
