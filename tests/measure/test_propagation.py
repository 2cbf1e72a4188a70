"""Signal propagation at init: activation_stats / gradient_stats against plain loops, mean field against Monte Carlo."""

import math

import numpy as np
import pytest
import torch

from genlab.measure import activation_curves, activation_stats, gradient_stats, mean_field_profile
from genlab.models import MLP


def _net(**kw):
    return MLP(16, 8, width=16, depth=3, init="he_scaled", seed=3, **kw)


def _plain_forward(net, x):
    """The oracle: the MLP's layers by hand (no hooks)."""
    layers, h = [x], x
    for lin in net.linears[:-1]:
        h = net.act(lin(h))
        layers.append(h)
    layers.append(net.linears[-1](h))
    return layers


def test_activation_stats_match_a_plain_forward_loop():
    net = _net(activation="tanh")
    x = torch.randn(32, 16, generator=torch.Generator().manual_seed(0))
    got = activation_stats(net, x)
    want = [t.detach().double().numpy().ravel() for t in _plain_forward(net, x)]
    assert got.names == ("x", "h1", "h2", "h3", "y")
    for v, w in zip(got.values, want):
        np.testing.assert_allclose(v, w, rtol=1e-6)
    np.testing.assert_allclose(got.std, [w.std() for w in want], rtol=1e-6)


def test_gradient_stats_match_autograd_of_a_plain_loop_and_leave_the_model_alone():
    net = _net(activation="relu")
    before = [p.detach().clone() for p in net.parameters()]
    net.train()
    x = torch.randn(32, 16, generator=torch.Generator().manual_seed(1))
    g_out = torch.randn(32, 8, generator=torch.Generator().manual_seed(2))
    got = gradient_stats(net, x, g_out)
    assert net.training and all(p.grad is None for p in net.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    xr = x.clone().requires_grad_(True)
    layers = _plain_forward(net, xr)
    for t in layers[1:-1]:
        t.retain_grad()
    layers[-1].backward(g_out)
    want = [xr.grad] + [t.grad for t in layers[1:-1]] + [g_out]
    for v, w in zip(got.values, want):
        np.testing.assert_allclose(v, w.double().numpy().ravel(), rtol=1e-5, atol=1e-7)


def test_default_injected_gradient_is_a_unit_vector_per_sample():
    got = gradient_stats(_net(), torch.randn(10, 16), seed=4)
    y = got.values[-1].reshape(10, 8)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, rtol=1e-6)


def test_activation_curves_derivatives():
    z = np.linspace(-4, 4, 81)
    g, dg = activation_curves("sigmoid", z)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(g, s, rtol=1e-12)
    np.testing.assert_allclose(dg, s * (1 - s), rtol=1e-10)
    assert activation_curves("relu", [-1.0, 2.0])[1].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "relu"])
def test_mean_field_matches_monte_carlo_of_the_recursion(activation):
    # Independent estimate: sample z ~ N(0, q) directly (no quadrature) through the same recursion.
    rng = np.random.default_rng(0)
    act = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0),
           "gelu": lambda z: z * 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))}[activation]
    mf = mean_field_profile(activation, 3, weight_var=2.0, bias_var=0.1, input_mean=1.0, input_std=2.0)
    q = 2.0 * 5.0 + 0.1
    for k in range(1, 4):
        assert mf.q[k] == pytest.approx(q, rel=1e-6 if k == 1 else 0.01)
        h = act(math.sqrt(q) * rng.standard_normal(400_000))
        assert mf.act_std[k] == pytest.approx(h.std(), rel=0.01)
        q = 2.0 * np.mean(h**2) + 0.1
    assert mf.act_std[-1] == pytest.approx(math.sqrt(q), rel=0.01)


def test_mean_field_relu_he_is_flat_and_gradients_too():
    mf = mean_field_profile("relu", 5, weight_var=2.0, grad_out_var=1 / 128)
    np.testing.assert_allclose(mf.q[1:], 2.0, rtol=1e-9)
    np.testing.assert_allclose(mf.grad_std[:-1], math.sqrt(2 / 128), rtol=1e-9)  # dE/dx .. dE/dh5
