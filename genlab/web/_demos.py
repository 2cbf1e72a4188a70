"""The stateless demos: each is a pure function of its parameters (and a seed) returning a dict.

One implementation, two front ends: every demo of an experiment's subject calls the
experiment's own functions (``genlab run NAME`` and the page compute with the same code;
tests/web/test_same_code.py checks the answers are equal). Initialization and gradient flow
use the lecture's net: input 128, four hidden layers of 128 units, a linear 128-wide output,
zero biases, weights ``scale * N(0, 2/128)`` (He at scale 1). The optimizer explorer fits
``y = w1 x + w2 x^3``; the backprop step-through traces ``L = (w x - y)^2 + lambda w^2`` and
checks every gradient against torch autograd.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from genlab.experiments.practice import _optimizers, _signal_propagation
from genlab.measure import LayerSignal
from genlab.measure import activation_curves as _activation_curves
from genlab.models import ACTIVATIONS as _MODEL_ACTIVATIONS

ACTIVATIONS = tuple(_MODEL_ACTIVATIONS)  # genlab.models' (nn.LeakyReLU's slope is PyTorch's 0.01)
LAYER_NAMES = ["x", "h1", "h2", "h3", "h4", "y"]


def _one_thread() -> None:
    if torch.get_num_threads() != 1:  # set per thread (a server's worker threads start with one per core)
        torch.set_num_threads(1)


def _summary(signal: LayerSignal) -> list[dict]:
    return [{"name": n, "std": float(sd), "mean": float(m), "frac_zero": float(z), "values": v.round(6).tolist()}
            for n, m, sd, z, v in zip(signal.names, signal.mean, signal.std, signal.frac_zero, signal.values)]


def init_explorer(scale: float = 1.0, mean: float = 0.0, std: float = 1.0, layer_norm: bool = False,
                  seed: int = 0) -> dict:
    """Activations of each layer of the 4x128 ReLU net after one forward pass of one input.

    The ``initialization`` experiment's net 0 of ``seed`` with one input
    (:func:`genlab.experiments.practice._signal_propagation.net_signals`): He init times
    ``scale``, zero biases, ``x ~ N(mean, std^2)``; ``layer_norm`` is ``MLP(norm='layer')``
    (on the pre-activation, gain 1, shift 0). Returns ``{"layers": [{"name", "std", "mean",
    "frac_zero", "values": 128 floats}, ...]}`` for x, h1..h4 and the linear output y.
    """
    _one_thread()
    acts, _ = _signal_propagation.net_signals(seed, 0, scale=scale, norm="layer" if layer_norm else None, input_mean=mean,
                                              input_std=std, n_inputs=1, gradients=False, reuse=True)
    return {"layers": _summary(acts)}


def gradient_flow(activation: str = "relu", scale: float = 1.0, seed: int = 0) -> dict:
    """Gradients dE/dh of each layer when a random unit vector is injected as dE/dy.

    The ``gradient-flow`` experiment's net 0 of ``seed`` with one input ``x ~ N(0, 1)`` and He
    weights times ``scale`` (:func:`~genlab.experiments.practice._signal_propagation.net_signals`);
    with sigmoid the gradient std shrinks layer by layer towards the input (vanishing gradients).
    """
    _one_thread()
    _, grads = _signal_propagation.net_signals(seed, 0, activation=activation, scale=scale, n_inputs=1, reuse=True)
    return {"activation": activation, "layers": _summary(grads)}


def activation_curves(z_max: float = 5.0, n_points: int = 401) -> dict:
    """Every activation g(z) and its derivative g'(z) on ``n_points`` of [-z_max, z_max].

    :func:`genlab.measure.activation_curves` on the ``gradient-flow`` experiment's grid: the
    derivative is autograd's of the modules the networks use (so the kinks of ReLU and
    LeakyReLU at 0 take torch's one-sided value). Also returns the largest |g'| of each (0.25
    for the sigmoid: why a deep sigmoid net's gradients vanish).
    """
    z = _signal_propagation.curve_grid(z_max, n_points)
    out = {"z": z.round(6).tolist(), "activations": {}}
    for name in ACTIVATIONS:
        g, dg = _activation_curves(name, z)
        out["activations"][name] = {"g": g.round(6).tolist(), "dg": dg.round(6).tolist(), "max_dg": float(np.abs(dg).max())}
    return out


def ema_trace(beta: float = 0.9, n_steps: int = 100, noise: float = 1.0, seed: int = 0) -> dict:
    """An exponential moving average of a noisy signal, with and without bias correction.

    The signal is ``g_t = 2 + sin(2 pi t / 50) + noise * N(0, 1)``; the averages are the
    ``optimizers`` experiment's :func:`~genlab.experiments.practice._optimizers.ema`:
    ``m_0 = 0``, ``m_t = beta m_{t-1} + (1 - beta) g_t`` and the corrected ``m_t / (1 - beta^t)``.
    The uncorrected average starts near 0 (biased towards its zero start); the corrected one
    starts on the signal. Effective window about ``1 / (1 - beta)`` steps.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_steps + 1)
    clean = 2.0 + np.sin(2 * np.pi * t / 50)
    g = clean + noise * rng.standard_normal(n_steps)
    raw = _optimizers.ema(g, beta, correct=False)
    corrected = _optimizers.ema(g, beta, correct=True)
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
    phi = _optimizers.features(x)  # (500, 2)
    w_star = _optimizers.least_squares_optimum(phi, y)
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
    phi, y, w_star, (a, b, c), contour = _optimizer_problem(0)
    lr = 10.0**log_lr
    full, losses = _optimizers.adam_family_path(phi, y, lr=lr, beta1=beta1, beta2=beta2, batch_size=batch_size, n_steps=n_steps,
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
