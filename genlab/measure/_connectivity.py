"""Mode connectivity: low-loss curves between two solutions (Garipov et al. 2018).

A quadratic Bezier curve ``phi(t) = (1 - t)^2 w_a + 2 t (1 - t) theta + t^2 w_b`` joins two
parameter sets ``w_a`` and ``w_b`` of one architecture. Its ends are the two solutions whatever the
control point ``theta``; at ``theta = (w_a + w_b) / 2`` it is the straight line
``(1 - t) w_a + t w_b``. :func:`bezier_curve` trains ``theta`` as Garipov et al. do: each step draws
``t ~ U[0, 1]`` and a minibatch and takes a gradient step on the loss at ``phi(t)``, which
minimizes the loss averaged uniformly over the curve. :func:`curve_losses` evaluates any such curve
(the straight line included) on a grid of ``t``.

The *barrier* of a path is ``max_t [L(phi(t)) - ((1 - t) L(w_a) + t L(w_b))]``, the largest rise
of the loss above the linear interpolation of the ends' losses (Frankle et al. 2020; Draxler et
al. 2018 take the rise above the higher end, which agrees when the ends' losses are equal):
~0 for a path along which the two solutions are connected, the same quantity
:func:`genlab.measure.interpolate` reports for the straight line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab._checks import check_float, check_int, fail
from genlab.measure._core import as_objective, generator, loss_value
from genlab.measure._landscape import _flat


@dataclass(frozen=True)
class CurveLosses:
    """Loss (and error, for classification) at points ``t`` of a path between two solutions.

    ``ts`` includes 0 and 1 (the two solutions); ``barrier`` and ``error_barrier`` are the largest
    rises of loss and error above the linear interpolation of the ends' values (see the module).
    """

    ts: np.ndarray
    losses: np.ndarray
    errors: np.ndarray | None
    barrier: float
    error_barrier: float | None
    n_forward: int


@dataclass(frozen=True)
class BezierCurve:
    """A trained quadratic Bezier curve between two solutions.

    ``control`` is the flat control point ``theta`` (shape ``(P,)``, the model's parameter
    order); ``train`` its losses on the training data; ``line`` the straight line's (the curve
    at its initial control point, the midpoint) on the same data and grid; ``history`` the
    minibatch loss at each step's sampled ``t`` (shape ``(n_steps,)``); ``control_shift`` the
    distance from the midpoint to the trained control point and ``distance`` ``||w_b - w_a||``.
    """

    control: torch.Tensor
    train: CurveLosses
    line: CurveLosses
    history: np.ndarray
    control_shift: float
    distance: float
    n_steps: int
    n_grad: int


def bezier_point(w_a: torch.Tensor, control: torch.Tensor, w_b: torch.Tensor, t) -> torch.Tensor:
    """``phi(t) = (1 - t)^2 w_a + 2 t (1 - t) control + t^2 w_b`` (flat parameter vectors)."""
    return (1 - t) ** 2 * w_a + 2 * t * (1 - t) * control + t**2 * w_b


def _barrier(ts: np.ndarray, values: np.ndarray) -> float:
    v0, v1 = values[ts == 0.0][0], values[ts == 1.0][0]
    return float(np.max(values - ((1 - ts) * v0 + ts * v1)))


def curve_losses(model_a, model_b, data, *, control=None, n_points: int = 21, loss=None,
                 train_mode: bool = False) -> CurveLosses:
    """Loss and error along the Bezier curve with ``control`` (``None``: the straight line).

    Parameters
    ----------
    model_a : nn.Module
        The first solution (t = 0); its architecture evaluates every point of the curve.
    model_b : nn.Module, state dict or flat tensor
        The second solution (t = 1), same architecture.
    data : dataset or (x, y)
        Where the loss is measured (a dataset's training split, or any ``(x, y)`` pair).
    control : Tensor (P,) or None
        The control point; ``None`` is the midpoint ``(w_a + w_b) / 2``, i.e. the straight line.
    n_points : int
        Evenly spaced ``t`` in [0, 1] (both ends included), at least 2.
    """
    owner = "curve_losses"
    n_points = check_int(n_points, "n_points", owner, low=2)
    obj = as_objective(model_a, data, loss=loss, train_mode=train_mode)
    f0 = obj.n_forward
    wa, wb = obj.theta, _flat(model_b, obj)
    if wb.shape != wa.shape:
        raise fail("model_b", owner, f"parameters of model_a's architecture ({wa.numel()} values)", wb.numel())
    theta = (wa + wb) / 2 if control is None else torch.as_tensor(control, dtype=wa.dtype).reshape(-1)
    if theta.shape != wa.shape:
        raise fail("control", owner, f"a flat tensor of {wa.numel()} values (model_a's parameters)", theta.numel())
    ts = np.linspace(0.0, 1.0, n_points)
    classification = obj.y is not None and not obj.y.dtype.is_floating_point
    losses, errors = [], []
    for t in ts:
        phi = bezier_point(wa, theta, wb, float(t))
        losses.append(obj.value(phi))
        if classification:
            errors.append(float((obj.outputs(phi).argmax(1) != obj.y).float().mean()))
    losses_a = np.array(losses)
    errors_a = np.array(errors) if classification else None
    return CurveLosses(ts, losses_a, errors_a, _barrier(ts, losses_a),
                       _barrier(ts, errors_a) if classification else None, obj.n_forward - f0)


def bezier_curve(model_a, model_b, data, *, n_steps: int = 2000, lr: float = 1e-3, batch_size: int | None = 128,
                 n_points: int = 21, loss=None, seed: int = 0) -> BezierCurve:
    """Train the control point of a quadratic Bezier curve from ``model_a`` to ``model_b``.

    Garipov et al.'s procedure: ``theta`` starts at the midpoint ``(w_a + w_b) / 2`` (the curve
    is then the straight line); each of ``n_steps`` Adam steps draws ``t ~ U[0, 1]`` and a
    minibatch (reshuffled every epoch) and descends the loss at ``phi(t)``, evaluated with
    ``torch.func.functional_call`` on a private copy of ``model_a`` in eval mode (no dropout
    masks; BatchNorm would use its stored statistics). The ends stay fixed. Neither model is
    changed.

    Parameters
    ----------
    data : dataset or (x, y)
        The training data of the curve (a dataset's training split).
    n_steps, lr, batch_size : int, float, int or None
        Adam steps, learning rate and minibatch size (``None``: full batch).
    n_points : int
        Grid of ``t`` on which the trained curve and the straight line are evaluated.
    seed : int
        Seeds the draws of ``t`` and the batch order.

    Examples
    --------
    Two lecture MLPs on MNIST-1D (experiment mode-connectivity, quick scale, seed 0):

    >>> curve = bezier_curve(net_a, net_b, data, n_steps=6000, lr=3e-3)  # doctest: +SKIP
    >>> curve.line.barrier, curve.train.barrier                         # doctest: +SKIP
    (6.2, 0.093)
    >>> curve_losses(net_a, net_b, (x_test, y_test), control=curve.control)  # doctest: +SKIP
    """
    owner = "bezier_curve"
    n_steps = check_int(n_steps, "n_steps", owner, low=0)
    lr = check_float(lr, "lr", owner, low=0.0, low_open=True)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", owner, low=1)
    obj = as_objective(model_a, data, loss=loss)
    wa, wb = obj.theta, _flat(model_b, obj)
    if wb.shape != wa.shape:
        raise fail("model_b", owner, f"parameters of model_a's architecture ({wa.numel()} values)", wb.numel())
    clone, x, y = obj.model, obj.x, obj.y
    buffers = dict(clone.named_buffers())
    n = x.shape[0]
    bs = n if batch_size is None else min(batch_size, n)
    g = generator(seed)
    control = ((wa + wb) / 2).clone().requires_grad_(True)
    opt = torch.optim.Adam([control], lr=lr)
    history = np.empty(n_steps)
    order, pos = torch.randperm(n, generator=g), 0
    for step in range(n_steps):
        if pos + bs > n:  # a new epoch: reshuffle (the last partial batch is dropped)
            order, pos = torch.randperm(n, generator=g), 0
        idx = order[pos:pos + bs]
        pos += bs
        t = float(torch.rand((), generator=g))
        with torch.enable_grad():
            phi = bezier_point(wa, control, wb, t)  # (P,), differentiable in the control point only
            out = torch.func.functional_call(clone, (obj.unflatten(phi), buffers), (x[idx],))
            value = loss_value(out, y[idx], obj.loss)
            opt.zero_grad()
            value.backward()
        opt.step()
        history[step] = float(value.detach())
    control = control.detach()
    train = curve_losses(model_a, wb, (x, y), control=control, n_points=n_points, loss=loss)
    line = curve_losses(model_a, wb, (x, y), control=None, n_points=n_points, loss=loss)
    return BezierCurve(control, train, line, history, float((control - (wa + wb) / 2).norm()),
                       float((wb - wa).norm()), n_steps, n_steps)
