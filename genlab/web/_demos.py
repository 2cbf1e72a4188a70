"""The stateless demos: each is a pure function of its parameters (and a seed) returning a dict.

Initialization and gradient flow use the lecture's net: input 128, four hidden layers of 128
units, a linear 128-wide output, zero biases, weights ``scale * N(0, 2/128)`` (He at scale 1).
The optimizer explorer fits ``y = w1 x + w2 x^3``; the backprop step-through traces
``L = (w x - y)^2 + lambda w^2`` and checks every gradient against torch autograd.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

WIDTH = 128
N_HIDDEN = 4
ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "leaky_relu", "elu")
_ACT = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": torch.nn.functional.gelu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.1),  # the lecture's max(0.1 z, z)
    "elu": torch.nn.functional.elu,
}


@lru_cache(maxsize=64)
def _base_net(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit-variance weights (5, 128, 128), an input draw z (128,) and a unit output gradient."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(N_HIDDEN + 1, WIDTH, WIDTH, generator=g, dtype=torch.float64)
    z = torch.randn(WIDTH, generator=g, dtype=torch.float64)
    grad_out = torch.randn(WIDTH, generator=g, dtype=torch.float64)
    return weights, z, grad_out / grad_out.norm()


def _layer_norm(h: torch.Tensor) -> torch.Tensor:
    # Over the 128 features of the single sample, no learnable gain/shift (as in the lecture).
    return (h - h.mean()) / torch.sqrt(h.var(unbiased=False) + 1e-5)


def _forward(scale: float, mean: float, std: float, activation: str, layer_norm: bool, seed: int):
    """Forward pass keeping every layer's output; returns (list of tensors, weights)."""
    if torch.get_num_threads() != 1:  # set per thread (a server's worker threads start with one per core)
        torch.set_num_threads(1)
    base, z, grad_out = _base_net(seed)
    weights = base * (scale * math.sqrt(2.0 / WIDTH))
    act = _ACT[activation]
    x = (mean + std * z).requires_grad_(True)
    layers = [x]
    h = x
    for i in range(N_HIDDEN + 1):
        h = weights[i] @ h  # (128,)
        if i < N_HIDDEN:
            h = act(h)
        if layer_norm:
            h = _layer_norm(h)
        if h.requires_grad:
            h.retain_grad()
        layers.append(h)
    return layers, grad_out


LAYER_NAMES = ["x", "h1", "h2", "h3", "h4", "y"]


def _summary(values: list[np.ndarray]) -> list[dict]:
    return [{"name": n, "std": float(v.std()), "mean": float(v.mean()),
             "frac_zero": float(np.mean(v == 0.0)), "values": v.round(6).tolist()}
            for n, v in zip(LAYER_NAMES, values)]


def init_explorer(scale: float = 1.0, mean: float = 0.0, std: float = 1.0, layer_norm: bool = False,
                  seed: int = 0) -> dict:
    """Activations of each layer of the 4x128 ReLU net after one forward pass of one input.

    Returns ``{"layers": [{"name", "std", "mean", "frac_zero", "values": 128 floats}, ...]}``
    for x, h1..h4 and the linear output y. At ``scale=1`` (exact He) the std stays roughly
    constant across layers; it shrinks like ``scale**l`` below 1 and grows above.
    """
    with torch.no_grad():
        layers, _ = _forward(scale, mean, std, "relu", layer_norm, seed)
    return {"layers": _summary([h.detach().numpy() for h in layers])}


def gradient_flow(activation: str = "relu", scale: float = 1.0, seed: int = 0) -> dict:
    """Gradients dE/dh of each layer when a random unit vector is injected as dE/dy.

    The input is ``x ~ N(0, 1)`` and the weights are He times ``scale``; with sigmoid or tanh
    the gradient std shrinks layer by layer towards the input (vanishing gradients).
    """
    layers, grad_out = _forward(scale, 0.0, 1.0, activation, False, seed)
    layers[-1].backward(grad_out)
    return {"activation": activation, "layers": _summary([h.grad.numpy() for h in layers])}


def activation_curves(z_max: float = 5.0, n_points: int = 401) -> dict:
    """Every activation g(z) and its derivative g'(z) on ``n_points`` of [-z_max, z_max].

    The derivative comes from torch autograd of the same function the networks use (so the
    kinks of ReLU and LeakyReLU at 0 take torch's one-sided value). Also returns the largest
    |g'| of each (0.25 for the sigmoid: why a deep sigmoid net's gradients vanish).
    """
    z = torch.linspace(-z_max, z_max, n_points, dtype=torch.float64, requires_grad=True)
    out = {"z": z.detach().numpy().round(6).tolist(), "activations": {}}
    for name, act in _ACT.items():
        g = act(z)
        (dg,) = torch.autograd.grad(g.sum(), z)
        out["activations"][name] = {"g": g.detach().numpy().round(6).tolist(), "dg": dg.numpy().round(6).tolist(),
                                    "max_dg": float(dg.abs().max())}
    return out


def ema_trace(beta: float = 0.9, n_steps: int = 100, noise: float = 1.0, seed: int = 0) -> dict:
    """An exponential moving average of a noisy signal, with and without bias correction.

    The signal is ``g_t = 2 + sin(2 pi t / 50) + noise * N(0, 1)``; ``m_0 = 0``,
    ``m_t = beta m_{t-1} + (1 - beta) g_t`` and the corrected ``m_t / (1 - beta^t)``. The
    uncorrected average starts near 0 (biased towards its zero start); the corrected one
    starts on the signal. Effective window about ``1 / (1 - beta)`` steps.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_steps + 1)
    clean = 2.0 + np.sin(2 * np.pi * t / 50)
    g = clean + noise * rng.standard_normal(n_steps)
    m, raw = 0.0, np.empty(n_steps)
    for i, gi in enumerate(g):
        m = beta * m + (1 - beta) * gi
        raw[i] = m
    corrected = raw / (1 - beta**t)
    return {"t": t.tolist(), "signal": g.round(6).tolist(), "clean": clean.round(6).tolist(),
            "ema": raw.round(6).tolist(), "ema_corrected": corrected.round(6).tolist(),
            "window": 1 / (1 - beta) if beta < 1 else None,
            "bias_first": float(clean[0] - raw[0]), "bias_first_corrected": float(clean[0] - corrected[0])}


# ---------------------------------------------------------------- optimizer explorer
PRESETS = {
    "sgd": {"log_lr": -1.0, "beta1": 0.0, "beta2": 0.0},
    "momentum": {"log_lr": -1.0, "beta1": 0.9, "beta2": 0.0},
    "rmsprop": {"log_lr": -1.3, "beta1": 0.0, "beta2": 0.999},
    "adam": {"log_lr": -1.3, "beta1": 0.9, "beta2": 0.999},
}
W1_RANGE, W2_RANGE = (-1.0, 6.0), (-6.0, 2.0)


@lru_cache(maxsize=4)
def _optimizer_problem(seed: int):
    from genlab.web._datasets import optimizer_data

    x, y = optimizer_data(seed)
    phi = np.stack([x, x**3], axis=1)  # (500, 2)
    w_star = np.linalg.lstsq(phi, y, rcond=None)[0]
    # The MSE is the quadratic w^T A w - 2 b^T w + c; contours come from it in closed form.
    a, b, c = phi.T @ phi / len(y), phi.T @ y / len(y), float(y @ y / len(y))
    w1 = np.linspace(*W1_RANGE, 43)  # coarse is enough for a quadratic and keeps redraws fast
    w2 = np.linspace(*W2_RANGE, 49)
    g1, g2 = np.meshgrid(w1, w2)  # (49, 43)
    mse = a[0, 0] * g1**2 + 2 * a[0, 1] * g1 * g2 + a[1, 1] * g2**2 - 2 * (b[0] * g1 + b[1] * g2) + c
    contour = {"w1": w1.tolist(), "w2": w2.tolist(), "rmse": np.sqrt(np.maximum(mse, 0)).round(4).tolist()}
    return phi, y, w_star, (a, b, c), contour


def optimizer_path(log_lr: float = -1.3, beta1: float = 0.9, beta2: float = 0.999, batch_size: int = 32,
                   n_steps: int = 200, seed: int = 0, eps: float = 1e-8) -> dict:
    """Mini-batch path of an Adam-family optimizer on ``y = w1 x + w2 x^3`` from the origin.

    ``beta1 = 0`` uses the raw gradient (no momentum); ``beta2 = 0`` switches the second-moment
    scaling off (plain SGD step), so (0, 0) is SGD, (0.9, 0) momentum, (0, 0.999)
    RMSprop-like and (0.9, 0.999) Adam; both moments are bias-corrected as in Adam.
    Returns the path ``(n_steps + 1, 2)``, the mini-batch losses, the analytic optimum and the
    sqrt(MSE) contour grid.
    """
    # The experiment's rule: one implementation for the demo and `genlab run optimizers`.
    from genlab.experiments.practice._optimizers import adam_family_path

    phi, y, w_star, (a, b, c), contour = _optimizer_problem(0)
    lr = 10.0**log_lr
    full, losses = adam_family_path(phi, y, lr=lr, beta1=beta1, beta2=beta2, batch_size=batch_size, n_steps=n_steps,
                                    seed=seed, eps=eps)
    kept = ~np.isnan(full).any(axis=1)  # a diverging path stops where it left |w| < 1e6
    path = full[: int(kept.argmin()) if not kept.all() else len(full)]
    batch_loss = [float(v) for v in losses[: len(path) if len(path) < n_steps + 1 else n_steps]]
    final_mse = float(path[-1] @ a @ path[-1] - 2 * b @ path[-1] + c)
    return {"path": path.round(6).tolist(), "batch_loss": batch_loss, "optimum": w_star.tolist(),
            "optimum_rmse": float(math.sqrt(max(w_star @ a @ w_star - 2 * b @ w_star + c, 0))),
            "final_rmse": math.sqrt(final_mse) if np.isfinite(final_mse) and final_mse >= 0 else None,
            "diverged": len(path) < n_steps + 1, "contour": contour, "lr": lr}


# ---------------------------------------------------------------- backprop step-through
def backprop_trace(x: float = 2.0, y: float = 3.0, w: float = 1.0, lam: float = 0.1) -> dict:
    """Forward then backward through ``z = w x, Ld = (z - y)^2, Lr = lam w^2, L = Ld + Lr``.

    Each step names a node, the phase, the line of code and the value or gradient it computes
    (by hand, the chain rule); ``autograd`` holds torch's gradients of the same graph, and
    ``max_abs_diff`` the largest disagreement (0 up to rounding).
    """
    z = w * x
    ld, lr_ = (z - y) ** 2, lam * w**2
    loss = ld + lr_
    forward = [("x", x, "x, y = 2.0, 3.0"), ("y", y, "x, y = 2.0, 3.0"),
               ("w", w, "w = tensor(1., requires_grad=True)"), ("z", z, "z = w * x"),
               ("Ld", ld, "L_d = (z - y)**2"), ("Lr", lr_, "L_r = lam * w**2"), ("L", loss, "L = L_d + L_r")]
    g = {"L": 1.0}
    g["Ld"] = g["L"]  # dL/dLd = 1
    g["Lr"] = g["L"]
    g["z"] = g["Ld"] * 2 * (z - y)
    g["y"] = g["Ld"] * -2 * (z - y)
    g["x"] = g["z"] * w
    g["w"] = g["z"] * x + g["Lr"] * 2 * lam * w  # two paths into w add up
    why = {"L": "dL/dL = 1", "Ld": "dL/dLd = 1", "Lr": "dL/dLr = 1", "z": "dL/dz = dL/dLd * 2(z - y)",
           "y": "dL/dy = dL/dLd * -2(z - y)", "x": "dL/dx = dL/dz * w",
           "w": "dL/dw = dL/dz * x + dL/dLr * 2 lam w"}
    steps = [{"phase": "forward", "node": n, "value": v, "code": c} for n, v, c in forward]
    steps += [{"phase": "backward", "node": n, "grad": g[n], "rule": why[n], "code": "L.backward()"}
              for n in ("L", "Ld", "Lr", "z", "y", "x", "w")]
    # The oracle: the same graph in torch, every leaf and intermediate asked for its gradient.
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in (("x", x), ("y", y), ("w", w))}
    tz = t["w"] * t["x"]
    tld = (tz - t["y"]) ** 2
    tlr = lam * t["w"] ** 2
    tl = tld + tlr
    for node in (tz, tld, tlr, tl):
        node.retain_grad()
    tl.backward()
    auto = {"x": t["x"].grad, "y": t["y"].grad, "w": t["w"].grad, "z": tz.grad, "Ld": tld.grad, "Lr": tlr.grad, "L": tl.grad}
    auto = {k: float(v) for k, v in auto.items()}
    return {"steps": steps, "grads": g, "autograd": auto,
            "values": {n: v for n, v, _ in forward},
            "max_abs_diff": max(abs(g[k] - auto[k]) for k in g)}
