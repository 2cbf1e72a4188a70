"""The demos' maths against independent oracles (torch autograd, closed forms, the lecture)."""

import math

import numpy as np
import pytest
import torch

from genlab.web import backprop_trace, gradient_flow, init_explorer, optimizer_path
from genlab.web._demos import ACTIVATIONS, PRESETS


def stds(result):
    return np.array([layer["std"] for layer in result["layers"]])


def test_init_he_scale_keeps_spread_and_small_scale_vanishes():
    he = stds(init_explorer(1.0))
    assert np.all((he[1:5] > 0.5) & (he[1:5] < 2.0))  # roughly constant under He
    small = stds(init_explorer(0.5))
    # Each ReLU layer multiplies the std by ~scale: 0.5^4 over four layers (loose band).
    assert 0.02 < small[4] / small[0] < 0.12
    assert np.all(np.diff(small[:5]) < 0)


def test_init_layer_norm_makes_every_layer_scale_free():
    # MLP(norm='layer') normalizes each pre-activation over its 128 features: LN(c W h) = LN(W h),
    # so the hidden layers do not depend on the He scale, and ReLU(N(0, 1)) has std ~0.584.
    small, large = init_explorer(0.2, layer_norm=True)["layers"], init_explorer(2.5, layer_norm=True)["layers"]
    for a, b in zip(small[1:5], large[1:5]):
        np.testing.assert_allclose(a["values"], b["values"], atol=1e-3)
        assert 0.45 < a["std"] < 0.72
    plain = stds(init_explorer(0.2))
    assert plain[4] < 0.01  # without LayerNorm the same scale vanishes


def _demo_net(seed, scale, activation="relu"):
    from genlab.models import MLP

    net = MLP(128, 128, width=128, depth=4, activation=activation, init="he_scaled", init_scale=scale, seed=1000 * seed)
    x = torch.randn(1, 128, generator=torch.Generator().manual_seed(1000 * seed + 500))
    return net, x


def test_init_matches_plain_numpy_forward():
    net, z = _demo_net(3, 1.3)
    h = (0.5 + 2.0 * z).numpy()[0].astype(np.float64)
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    for lin in layers[:-1]:
        h = np.maximum(lin.weight.detach().numpy() @ h + lin.bias.detach().numpy(), 0)
    out = init_explorer(1.3, 0.5, 2.0, seed=3)["layers"]
    np.testing.assert_allclose(out[4]["values"], h, atol=1e-4)
    np.testing.assert_allclose(out[5]["values"], layers[-1].weight.detach().numpy() @ h, atol=1e-4)


def test_gradient_flow_sigmoid_vanishes_relu_does_not():
    relu, sig = stds(gradient_flow("relu")), stds(gradient_flow("sigmoid"))
    assert sig[0] < 0.05 * relu[0]
    assert np.all(np.diff(sig[:5]) > 0)  # shrinks towards the input
    # The injected gradient is a unit vector: its std is 1/sqrt(128) up to the mean.
    assert abs(relu[-1] - 1 / math.sqrt(128)) < 0.01


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_flow_equals_vjp_of_torch_module(activation):
    # The oracle: torch.func.vjp of the whole net with the demo's own injected dE/dy.
    net, x = _demo_net(0, 1.0, activation)
    layers = gradient_flow(activation)["layers"]
    _, vjp = torch.func.vjp(net, x)
    (gx,) = vjp(torch.tensor([layers[-1]["values"]], dtype=torch.float32))
    np.testing.assert_allclose(layers[0]["values"], gx[0].detach().numpy(), atol=1e-5)


def test_optimizer_presets_and_optimum():
    from genlab.web._datasets import optimizer_data

    x, y = optimizer_data(0)
    phi = np.stack([x, x**3], 1)
    w_star = np.linalg.lstsq(phi, y, rcond=None)[0]
    adam = optimizer_path(**PRESETS["adam"])
    np.testing.assert_allclose(adam["optimum"], w_star, rtol=1e-10)
    assert adam["path"][0] == [0.0, 0.0]
    assert np.linalg.norm(np.array(adam["path"][-1]) - w_star) < 0.4
    sgd = optimizer_path(**PRESETS["sgd"])
    assert sgd["final_rmse"] > adam["final_rmse"]  # SGD crawls along the flat direction


def test_optimizer_adam_matches_torch_adam_full_batch():
    from genlab.web._datasets import optimizer_data

    x, y = optimizer_data(0)
    ours = optimizer_path(-1.5, 0.9, 0.999, batch_size=256, n_steps=30, seed=5)
    rng = np.random.default_rng(5)
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=10**-1.5, betas=(0.9, 0.999), eps=1e-8)
    phi = torch.as_tensor(np.stack([x, x**3], 1))
    yt = torch.as_tensor(y)
    for _ in range(30):
        idx = torch.as_tensor(rng.choice(len(y), size=256, replace=False))
        opt.zero_grad()
        torch.mean((phi[idx] @ w - yt[idx]) ** 2).backward()
        opt.step()
    np.testing.assert_allclose(ours["path"][-1], w.detach().numpy(), atol=1e-5)


def test_optimizer_divergence_is_reported():
    out = optimizer_path(0.5, 0.0, 0.0, batch_size=256, n_steps=300)
    assert out["diverged"] and out["final_rmse"] is None or out["final_rmse"] > 1e3


def test_backprop_lecture_values_and_autograd():
    out = backprop_trace()
    assert out["values"] == {"x": 2.0, "y": 3.0, "w": 1.0, "z": 2.0, "Ld": 1.0, "Lr": pytest.approx(0.1), "L": pytest.approx(1.1)}
    assert out["grads"]["w"] == pytest.approx(-3.8)
    assert out["grads"]["z"] == pytest.approx(-2.0)
    assert out["max_abs_diff"] < 1e-12
    assert [s["phase"] for s in out["steps"]] == ["forward"] * 7 + ["backward"] * 7


def test_backprop_finite_differences_any_point():
    x, y, w, lam = 1.5, -0.5, 0.7, 0.3
    grads = backprop_trace(x, y, w, lam)["grads"]

    def loss(x, y, w):
        return (w * x - y) ** 2 + lam * w**2

    h = 1e-6
    assert grads["w"] == pytest.approx((loss(x, y, w + h) - loss(x, y, w - h)) / (2 * h), rel=1e-6)
    assert grads["x"] == pytest.approx((loss(x + h, y, w) - loss(x - h, y, w)) / (2 * h), rel=1e-6)


def test_activation_derivatives_match_finite_differences():
    import numpy as np

    from genlab.web._demos import activation_curves

    d = activation_curves(4.0, n_points=801)
    z = np.array(d["z"])
    for name, a in d["activations"].items():
        g, dg = np.array(a["g"]), np.array(a["dg"])
        fd = np.gradient(g, z)
        away = np.abs(z) > 0.05  # ReLU and LeakyReLU have a kink at 0
        assert np.max(np.abs(fd[away][1:-1] - dg[away][1:-1])) < 1e-3, name
    assert d["activations"]["sigmoid"]["max_dg"] == pytest.approx(0.25, abs=1e-4)
    assert d["activations"]["tanh"]["max_dg"] == pytest.approx(1.0, abs=1e-3)


def test_ema_bias_correction_against_a_plain_loop():
    import numpy as np

    from genlab.web._demos import ema_trace

    d = ema_trace(beta=0.95, n_steps=60, noise=0.5, seed=2)
    g, m = np.array(d["signal"]), 0.0
    for t, gt in enumerate(g, start=1):
        m = 0.95 * m + 0.05 * gt
        assert d["ema"][t - 1] == pytest.approx(m, abs=1e-5)
        assert d["ema_corrected"][t - 1] == pytest.approx(m / (1 - 0.95**t), abs=1e-4)
    assert d["bias_first"] > 1.5 and abs(d["bias_first_corrected"]) < 1.0  # m_1 = 0.05 g_1 is far below 2
